# SPDX-License-Identifier: MIT
"""Every public name has a numpydoc docstring with an Examples section.

The examples themselves run as doctests in CI:
``python -m pytest --doctest-modules nncore -q -p no:cacheprovider``
from the repository root. Here only their presence is checked, so that a new
public function without an example fails the ordinary test run.
"""
import inspect

import pytest

import nncore
import nncore.datasets
import nncore.reference


def public_names():
    names = {f"nncore.{name}": getattr(nncore, name) for name in nncore.__all__
             if name not in ("__version__", "simd")}      # data, not functions
    for name, member in vars(nncore.Network).items():
        if not name.startswith("_"):
            names[f"nncore.Network.{name}"] = member
    for module in (nncore.datasets, nncore.reference):
        for name, member in vars(module).items():
            if (not name.startswith("_") and callable(member)
                    and getattr(member, "__module__", None) == module.__name__):
                names[f"{module.__name__}.{name}"] = member
    return names


PUBLIC = public_names()


def test_the_list_is_complete():
    assert {"nncore.Network.fit", "nncore.Network.history", "nncore.load",
            "nncore.datasets.load_digits", "nncore.reference.train_epoch",
            "nncore.DivergenceError", "nncore.EpochInfo"} <= set(PUBLIC)


@pytest.mark.parametrize("name", sorted(PUBLIC))
def test_docstring_has_examples(name):
    doc = inspect.getdoc(PUBLIC[name])
    assert doc, f"{name} has no docstring"
    summary = doc.splitlines()[0]
    assert summary.strip() and summary.rstrip().endswith("."), (
        f"{name}: the first line must be a one-line summary ending in a period")
    assert "\nExamples\n--------\n" in doc, f"{name} has no numpydoc Examples section"
    assert ">>> " in doc.split("\nExamples\n--------\n", 1)[1], f"{name}: no example code"
