# SPDX-License-Identifier: MIT
"""PyTorch interchange: ``Network.to_torch`` and ``Network.from_torch``.

Needs PyTorch (``torch==2.13.0``, the CPU wheel): CI installs it in its step
"ONNX export and PyTorch interchange"; elsewhere these tests skip.
"""
import subprocess
import sys

import numpy as np
import pytest
from cli_helpers import hiding
from helpers import ACTIVATIONS, OUTPUTS, SHAPES, assert_close

import nncore

torch = pytest.importorskip("torch")
nn = torch.nn


def outputs(module, X):
    with torch.no_grad():
        return module(torch.from_numpy(X)).numpy()


@pytest.mark.parametrize("shape", SHAPES, ids=str)
@pytest.mark.parametrize("output", OUTPUTS)
@pytest.mark.parametrize("activation", ACTIVATIONS)
def test_to_torch_equals_forward_and_round_trip_is_bit_exact(activation, output, shape,
                                                              dtype, rng):
    if output == "softmax" and shape[-1] < 2:
        pytest.skip("a softmax needs two units")
    net = nncore.Network(shape, activation=activation, output=output, dtype=dtype,
                         seed=int(rng.integers(1000)))
    module = net.to_torch()
    assert isinstance(module, nn.Sequential)
    expected_dtype = getattr(torch, np.dtype(dtype).name)
    assert all(p.dtype == expected_dtype for p in module.parameters())
    for n, scale in ((1, 1.0), (9, 3.0), (200, 30.0)):
        X = (rng.normal(size=(n, shape[0])) * scale).astype(dtype)
        Y = outputs(module, X)
        assert Y.dtype == np.dtype(dtype)
        assert_close(Y, net.forward(X), dtype, f"{activation}/{output}, batch {n}")
    back = nncore.Network.from_torch(module)
    assert back.layer_sizes == net.layer_sizes and back.dtype == net.dtype
    assert back.output == net.output
    if len(shape) > 2:
        assert back.activation == net.activation
    assert np.array_equal(back.params, net.params)
    for w, v in zip(back.weights, net.weights):
        assert w.tobytes() == v.tobytes()


def test_module_layout_follows_the_network():
    net = nncore.Network([3, 4, 5, 2], activation="relu", output="softmax", seed=0)
    kinds = [type(m) for m in net.to_torch()]
    assert kinds == [nn.Linear, nn.ReLU, nn.Linear, nn.ReLU, nn.Linear, nn.Softmax]
    assert net.to_torch()[-1].dim == 1
    bare = nncore.Network([3, 4, 1], activation="identity", output="identity")
    assert [type(m) for m in bare.to_torch()] == [nn.Linear, nn.Linear]


def test_torch_module_round_trip_is_bit_exact(dtype):
    torch.manual_seed(0)
    module = nn.Sequential(nn.Linear(5, 7), nn.Tanh(), nn.Linear(7, 3), nn.Tanh(),
                           nn.Linear(3, 3), nn.Sigmoid())
    module = module.to(getattr(torch, np.dtype(dtype).name))
    net = nncore.Network.from_torch(module, seed=0)
    assert (net.activation, net.output, net.dtype) == ("tanh", "sigmoid", np.dtype(dtype))
    back = net.to_torch()
    linear_in = [m for m in module if isinstance(m, nn.Linear)]
    linear_out = [m for m in back if isinstance(m, nn.Linear)]
    for a, b in zip(linear_in, linear_out):
        assert torch.equal(a.weight, b.weight) and torch.equal(a.bias, b.bias)
    X = np.random.default_rng(0).normal(size=(4, 5)).astype(dtype)
    assert_close(net.forward(X), outputs(module, X), dtype)


def test_identity_modules_and_softmax_over_the_last_dim_are_understood():
    module = nn.Sequential(nn.Linear(2, 3), nn.Identity(), nn.Linear(3, 2), nn.Identity())
    net = nncore.Network.from_torch(module)
    assert (net.activation, net.output) == ("identity", "identity")
    module = nn.Sequential(nn.Linear(2, 3), nn.ReLU(inplace=True), nn.Linear(3, 2),
                           nn.Softmax(dim=-1))
    net = nncore.Network.from_torch(module)
    assert (net.activation, net.output) == ("relu", "softmax")
    X = np.random.default_rng(0).normal(size=(3, 2)).astype(np.float32)
    assert_close(net.forward(X), outputs(module, X), np.float32)


def test_copies_are_independent():
    net = nncore.Network([2, 3, 2], seed=0)
    before = net.params.copy()
    module = net.to_torch()
    with torch.no_grad():
        module[0].weight.add_(1.0)
    assert np.array_equal(net.params, before)
    back = nncore.Network.from_torch(module)
    with torch.no_grad():
        module[0].weight.zero_()
    assert back.weights[0][0, 0] != 0


def test_trained_network_moves_to_torch_and_back():
    X = np.random.default_rng(1).normal(size=(64, 4))
    y = (X[:, 0] > X[:, 1]).astype(int)
    net = nncore.Network([4, 6, 2], activation="tanh", seed=0)
    net.fit(X, y, epochs=3, seed=0)
    back = nncore.Network.from_torch(net.to_torch())
    assert np.array_equal(back.forward(X), net.forward(X))


def test_linear_without_bias_gets_zero_biases():
    module = nn.Sequential(nn.Linear(3, 2, bias=False, dtype=torch.float64))
    net = nncore.Network.from_torch(module)
    assert net.output == "identity" and not net.biases[0].any()
    X = np.eye(3)
    assert_close(net.forward(X), outputs(module, X), np.float64)


@pytest.mark.parametrize("build, error, match", [
    (lambda: nn.Linear(2, 2), TypeError, "must be a torch.nn.Sequential .* got Linear"),
    (lambda: nn.Sequential(), ValueError, "empty Sequential"),
    (lambda: nn.Sequential(nn.ReLU(), nn.Linear(2, 2)), TypeError,
     r"layer 0 \(ReLU\): module must start with a Linear"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Dropout(), nn.Linear(3, 2)), TypeError,
     r"layer 1 \(Dropout\): not a layer nncore has"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Conv1d(1, 1, 1)), TypeError,
     r"layer 2 \(Conv1d\): not a layer nncore has"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Tanh(), nn.Linear(3, 2)),
     TypeError, r"layer 2 \(Tanh\): expected a Linear layer here"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 2), nn.Tanh()),
     ValueError, r"layer 3 \(Tanh\): nncore's output is softmax, sigmoid or identity"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=1), nn.Linear(3, 2)),
     ValueError, r"layer 1 \(Softmax\): softmax is only an output"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Softmax(dim=0)), ValueError,
     r"layer 1 \(Softmax\): .* \(dim=1\), got dim=0"),
    (lambda: nn.Sequential(nn.Linear(2, 1), nn.Softmax(dim=1)), ValueError,
     r"layer 1 \(Softmax\): a softmax over one unit"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.Tanh(),
                           nn.Linear(3, 2)), ValueError,
     r"layer 3 \(Tanh\): nncore uses one activation for every hidden layer; this "
     "module has relu and tanh"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(3, 3), nn.Linear(3, 2)),
     ValueError, r"layer 2 \(Linear\) has no activation after it, but nncore uses one "
     "activation for every hidden layer; this module has relu and identity"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.ReLU(), nn.Linear(4, 2)), ValueError,
     r"layer 2 \(Linear\): takes 4 inputs, but the layer before gives 3"),
    (lambda: nn.Sequential(nn.Linear(2, 3), nn.Linear(3, 2, dtype=torch.float64)),
     ValueError, r"module mixes dtypes \['float32', 'float64'\]"),
    (lambda: nn.Sequential(nn.Linear(2, 3, dtype=torch.float16)), ValueError,
     r"layer 0 \(Linear\): dtype torch.float16; nncore computes in float32 or float64"),
])
def test_unsupported_modules_are_refused_naming_the_layer(build, error, match):
    with pytest.raises(error, match=match):
        nncore.Network.from_torch(build())


def test_non_finite_weights_are_refused():
    module = nn.Sequential(nn.Linear(2, 3), nn.Sigmoid(), nn.Linear(3, 2))
    with torch.no_grad():
        module[2].bias[1] = float("nan")
    with pytest.raises(ValueError, match=r"layer 2 \(Linear\): its weights or bias are "
                                         "not all finite"):
        nncore.Network.from_torch(module)


def test_without_torch_the_error_says_what_to_install(tmp_path):
    code = ("import nncore\n"
            "for call in (lambda: nncore.Network([2, 2]).to_torch(),\n"
            "             lambda: nncore.Network.from_torch(None)):\n"
            "    try:\n        call()\n"
            "    except ImportError as e:\n        print(e)\n")
    result = subprocess.run([sys.executable, "-c", code], env=hiding(tmp_path, "torch"),
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 0, result.stderr
    assert result.stdout.splitlines() == [
        "Network.to_torch needs PyTorch: pip install torch",
        "Network.from_torch needs PyTorch: pip install torch"]


@pytest.mark.parametrize("method", ["to_torch", "from_torch"])
def test_the_docstring_examples_run(method):
    # Skipped by the doctest run (which has no PyTorch); run here, unskipped.
    import doctest
    import re
    doc = re.sub(r"\s*# doctest: \+SKIP", "", getattr(nncore.Network, method).__doc__)
    test = doctest.DocTestParser().get_doctest(doc, {}, method, None, 0)
    runner = doctest.DocTestRunner(optionflags=doctest.NORMALIZE_WHITESPACE)
    runner.run(test)
    assert runner.summarize(verbose=False) == (0, 3)


def test_every_activation_and_output_of_nncore_has_a_torch_module():
    # A new activation in nncore._params fails here until the export knows it.
    from nncore import _params, _torch
    for name in set(_params.ACTIVATIONS) | set(_params.OUTPUTS):
        _torch._activation_module(torch, name)        # KeyError for an unknown one
    assert set(ACTIVATIONS) == set(_params.ACTIVATIONS)
    assert set(OUTPUTS) == set(_params.OUTPUTS)
