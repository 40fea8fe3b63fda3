"""pytest plugin: scikit-learn's own tests of its multilayer perceptrons,
from the installed scikit-learn, run against nncore's classes.

``sklearn.neural_network.MLPClassifier`` and ``MLPRegressor`` are replaced by
nncore.sklearn's before the test module imports them, so every test in
``sklearn/neural_network/tests/test_mlp.py`` (as shipped in the installed
wheel; nothing is copied here) builds nncore's estimators. With
``--sklearn-classes`` nothing is replaced: the same run on scikit-learn's own
classes, the baseline. From the repository root::

    PYTHONPATH=tests/sklearn_suite python -m pytest -c tests/sklearn_suite/pytest.ini \\
        -p nncore_as_sklearn --pyargs sklearn.neural_network.tests.test_mlp
"""
import sklearn
import sklearn.neural_network


def pytest_addoption(parser):
    parser.addoption("--sklearn-classes", action="store_true",
                     help="run scikit-learn's own classes (the baseline)")


def pytest_configure(config):
    if config.getoption("--sklearn-classes"):
        return
    from nncore.sklearn import MLPClassifier, MLPRegressor
    sklearn.neural_network.MLPClassifier = MLPClassifier
    sklearn.neural_network.MLPRegressor = MLPRegressor


def pytest_report_header(config):
    import nncore
    whose = ("scikit-learn's" if config.getoption("--sklearn-classes")
             else f"nncore {nncore.__version__}'s")
    return (f"scikit-learn {sklearn.__version__}'s test_mlp.py on {whose} "
            "MLPClassifier and MLPRegressor")


def pytest_collection_modifyitems(config, items):
    # A module that imported the classes before the replacement would test
    # scikit-learn's: refuse to run rather than pass vacuously.
    if config.getoption("--sklearn-classes"):
        return
    from nncore.sklearn import MLPClassifier
    for item in items:
        module = getattr(item, "module", None)
        theirs = getattr(module, "MLPClassifier", MLPClassifier)
        if module is not None and theirs is not MLPClassifier:
            raise RuntimeError(f"{module.__name__} holds scikit-learn's MLPClassifier")
