# SPDX-License-Identifier: MIT
"""Textbook multilayer perceptron in pure Python: the oracle the compiled kernels are tested by.

Standard library only (``math`` and lists of lists, every number a Python float), so the oracle
shares no BLAS, layout or broadcasting assumptions with the code under test. Conventions, the same
as ``pyx/_core.pyx``: a layer is ``(W, b)``, ``W`` a list of ``n_out`` rows of ``n_in`` floats with
``W[j][i]`` the weight from input ``i`` to unit ``j`` and ``b[j]`` the weight of a constant input 1;
``z = W a_in + b`` and ``a = f(z)``, with ``f`` the hidden activation (sigmoid, tanh, relu,
identity) and, on the last layer, the output function (softmax, sigmoid, identity); derivatives
are written in terms of ``a``. The per-sample error is computed from the logits ``z`` (categorical
cross-entropy for softmax, binary cross-entropy for sigmoid, half squared error for identity), so
it is finite for every finite ``z`` and the output error term is always ``delta = a - t``. Hidden
error terms are ``delta_prev[i] = (sum_j delta[j] W[j][i]) f'(a_prev[i])`` with the weights before
the update; the per-sample gradient is ``dW[j][i] = delta[j] a_in[i]``, ``db[j] = delta[j]``. A
batch's loss and gradient are the means over its samples (summed in sample order, then divided by
the batch length), and `update` does ``W -= lr dW``, ``b -= lr db`` in place. The sample order is
always an argument: nothing in this module is random.
"""
from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any, Protocol, TypeAlias

# The oracle's data: lists of Python floats.
Vector: TypeAlias = list[float]
Matrix: TypeAlias = list[list[float]]
Layer: TypeAlias = tuple[Matrix, Vector]


class _HasToList(Protocol):
    def tolist(self) -> Any: ...


# A layer's weights as from_arrays takes them: nested sequences or an array.
_Nested: TypeAlias = Sequence[Sequence[float]] | _HasToList


class _NetworkLike(Protocol):
    """What from_network reads (nncore.Network has it; no import of nncore needed)."""

    @property
    def weights(self) -> Sequence[Any]: ...
    @property
    def biases(self) -> Sequence[Any]: ...
    @property
    def activation(self) -> str: ...
    @property
    def output(self) -> str: ...

HIDDEN_ACTIVATIONS = ("sigmoid", "tanh", "relu", "identity")
OUTPUTS = ("softmax", "sigmoid", "identity")


@dataclass
class ReferenceNetwork:
    """A multilayer perceptron held as plain lists.

    Parameters
    ----------
    layers : list of (W, b)
        ``W`` is ``n_out`` rows of ``n_in`` floats, ``W[j][i]`` the weight from input ``i`` to
        unit ``j``; ``b`` is ``n_out`` floats. Copied, so training never touches the caller's data.
    activation : {"sigmoid", "tanh", "relu", "identity"}
        Activation of the hidden layers.
    output : {"softmax", "sigmoid", "identity"}
        Output function of the last layer; it also selects the loss.

    Raises
    ------
    ValueError
        For an unknown activation or output.

    Examples
    --------
    Two inputs, two sigmoid hidden units, one identity output:

    >>> from nncore import reference as ref
    >>> net = ref.ReferenceNetwork([([[1, 0], [0, 1]], [0, 0]), ([[1, -1]], [0.5])],
    ...                            "sigmoid", "identity")
    >>> net.layers[1]
    ([[1.0, -1.0]], [0.5])
    >>> ref.predict(net, [[0.0, 0.0]])
    [[0.5]]
    """

    layers: list[Layer]
    activation: str
    output: str

    def __post_init__(self) -> None:
        if self.activation not in HIDDEN_ACTIVATIONS or self.output not in OUTPUTS:
            raise ValueError(f"unknown activation/output {self.activation!r}/{self.output!r}")
        self.layers = [([[float(w) for w in row] for row in W], [float(v) for v in b])
                       for W, b in self.layers]


def from_arrays(weights: Iterable[_Nested], biases: Iterable[Iterable[float]],
                activation: str, output: str) -> ReferenceNetwork:
    """Build a network from per-layer arrays in scikit-learn's orientation.

    Parameters
    ----------
    weights : sequence of nested sequences, each of shape (n_in, n_out)
        ``weights[l][i][j]`` is the weight from input ``i`` to unit ``j`` (like ``coefs_``, the
        transpose of ``W``). Objects with ``tolist()``, such as NumPy arrays, are accepted.
    biases : sequence of nested sequences, each of shape (n_out,)
        ``biases[l][j]`` is the bias of unit ``j`` of layer ``l`` (like ``intercepts_``).
    activation, output : str
        See `ReferenceNetwork`.

    Returns
    -------
    ReferenceNetwork
        A copy that shares no data with ``weights`` or ``biases``.

    Examples
    --------
    >>> from nncore import reference as ref
    >>> net = ref.from_arrays([[[1, 2, 3], [4, 5, 6]]], [[0, 0, 0]], "identity", "identity")
    >>> net.layers[0][0]       # W: 3 rows (units) of 2 inputs
    [[1.0, 4.0], [2.0, 5.0], [3.0, 6.0]]
    """
    layers = []
    for coef, intercept in zip(weights, biases, strict=True):
        # tolist() turns a NumPy array into nested lists without importing NumPy.
        coef = coef.tolist() if hasattr(coef, "tolist") else coef
        n_in, n_out = len(coef), len(coef[0])
        W = [[float(coef[i][j]) for i in range(n_in)] for j in range(n_out)]
        layers.append((W, [float(v) for v in intercept]))
    return ReferenceNetwork(layers, activation, output)


def from_network(net: _NetworkLike) -> ReferenceNetwork:
    """Copy an ``nncore.Network`` into a `ReferenceNetwork`.

    Parameters
    ----------
    net : nncore.Network
        Or anything with ``weights`` (n_in, n_out) and ``biases`` (n_out,) per layer,
        ``activation`` and ``output``; see `from_arrays`.

    Returns
    -------
    ReferenceNetwork
        A copy: training either network leaves the other unchanged.

    Examples
    --------
    >>> import nncore
    >>> from nncore import reference as ref
    >>> net = nncore.Network([3, 4, 2], seed=0)
    >>> twin = ref.from_network(net)
    >>> X = [[0.1, 0.2, 0.3]]
    >>> abs(ref.predict(twin, X)[0][0] - float(net.forward(X)[0, 0])) < 1e-12
    True
    """
    return from_arrays(net.weights, net.biases, net.activation, net.output)


def to_arrays(net: ReferenceNetwork) -> tuple[list[Matrix], list[Vector]]:
    """Per-layer weights and biases in the orientation of `from_arrays`, for comparisons.

    Parameters
    ----------
    net : ReferenceNetwork
        The network to read; not changed.

    Returns
    -------
    weights : list of list of list of float
        Per layer, ``n_in`` rows of ``n_out`` floats (the transpose of ``W``), fresh lists.
    biases : list of list of float
        Per layer, ``n_out`` floats, fresh lists.

    Examples
    --------
    >>> from nncore import reference as ref
    >>> net = ref.from_arrays([[[1, 2, 3], [4, 5, 6]]], [[7, 8, 9]], "identity", "identity")
    >>> ref.to_arrays(net)
    ([[[1.0, 2.0, 3.0], [4.0, 5.0, 6.0]]], [[7.0, 8.0, 9.0]])
    """
    weights = [[[row[i] for row in W] for i in range(len(W[0]))] for W, _ in net.layers]
    return weights, [list(b) for _, b in net.layers]


def sigmoid(z: float) -> float:
    """Logistic function ``1 / (1 + exp(-z))`` of a float, without overflow for any ``z``.

    Parameters
    ----------
    z : float
        Any finite or infinite float.

    Returns
    -------
    float
        In [0, 1].

    Examples
    --------
    >>> from nncore.reference import sigmoid
    >>> sigmoid(0.0), sigmoid(-1000.0), sigmoid(1000.0)
    (0.5, 0.0, 1.0)
    """
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)  # z < 0: exp(-z) could overflow, exp(z) cannot
    return e / (1.0 + e)


def softplus(z: float) -> float:
    """``log(1 + exp(z))`` of a float, as ``max(z, 0) + log1p(exp(-|z|))``: never overflows.

    Parameters
    ----------
    z : float
        Any finite float.

    Returns
    -------
    float
        Positive; about ``z`` for large ``z``.

    Examples
    --------
    >>> import math
    >>> from nncore.reference import softplus
    >>> softplus(0.0) == math.log(2.0), softplus(1000.0)
    (True, 1000.0)
    """
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def softmax(z: Sequence[float]) -> Vector:
    """Softmax of the logits ``z`` (n_out,), shifted by their maximum so no exp overflows.

    Parameters
    ----------
    z : sequence of float, shape (n_out,)
        The logits.

    Returns
    -------
    list of float, shape (n_out,)
        Positive, summing to 1.

    Examples
    --------
    >>> from nncore.reference import softmax
    >>> softmax([0.0, 0.0])
    [0.5, 0.5]
    >>> softmax([1000.0, 1000.0, 1000.0 + 0.0])[0] == 1 / 3
    True
    """
    m = max(z)
    e = [math.exp(z_j - m) for z_j in z]
    total = 0.0
    for e_j in e:
        total += e_j
    return [e_j / total for e_j in e]


def activate(name: str, z: Sequence[float]) -> Vector:
    """Apply an activation: ``a`` (n_out,) from pre-activations ``z`` (n_out,).

    Parameters
    ----------
    name : {"sigmoid", "tanh", "relu", "identity", "softmax"}
        A hidden activation or an output function.
    z : sequence of float, shape (n_out,)
        The pre-activations of one layer.

    Returns
    -------
    list of float, shape (n_out,)
        The activations ``a = f(z)``.

    Raises
    ------
    ValueError
        For an unknown name.

    Examples
    --------
    >>> from nncore.reference import activate
    >>> activate("relu", [-1.0, 2.0]), activate("sigmoid", [0.0])
    ([0.0, 2.0], [0.5])
    """
    if name == "sigmoid":
        return [sigmoid(z_j) for z_j in z]
    if name == "tanh":
        return [math.tanh(z_j) for z_j in z]
    if name == "relu":
        return [z_j if z_j > 0.0 else 0.0 for z_j in z]
    if name == "identity":
        return list(z)
    if name == "softmax":
        return softmax(z)
    raise ValueError(f"unknown activation {name!r}")


def derivative(name: str, a: Sequence[float]) -> Vector:
    """Differentiate hidden activation ``name``: ``f'(z)`` (n_out,) from ``a = f(z)`` (n_out,).

    Parameters
    ----------
    name : {"sigmoid", "tanh", "relu", "identity"}
    a : sequence of float, shape (n_out,)
        The activations, not the pre-activations.

    Returns
    -------
    list of float, shape (n_out,)
        ``f'(z)`` for each unit.

    Raises
    ------
    ValueError
        For an unknown name.

    Examples
    --------
    >>> from nncore.reference import derivative
    >>> derivative("sigmoid", [0.5]), derivative("tanh", [0.0]), derivative("relu", [0.0, 3.0])
    ([0.25], [1.0], [0.0, 1.0])
    """
    if name == "sigmoid":
        return [a_j * (1.0 - a_j) for a_j in a]
    if name == "tanh":
        return [1.0 - a_j * a_j for a_j in a]
    if name == "relu":
        return [1.0 if a_j > 0.0 else 0.0 for a_j in a]
    if name == "identity":
        return [1.0 for _ in a]
    raise ValueError(f"unknown activation {name!r}")


def weighted_sum(W: Sequence[Sequence[float]], b: Sequence[float],
                 a_in: Sequence[float]) -> Vector:
    """Compute one layer's pre-activations ``z_j = sum_i W[j][i] a_in[i] + b[j]`` (n_out,).

    Parameters
    ----------
    W : sequence of sequences of float, shape (n_out, n_in)
        The layer's weights, one row per unit.
    b : sequence of float, shape (n_out,)
        The layer's biases.
    a_in : sequence of float, shape (n_in,)
        The activations of the layer below (or the input sample).

    Returns
    -------
    list of float, shape (n_out,)
        The pre-activations ``z``.

    Examples
    --------
    >>> from nncore.reference import weighted_sum
    >>> weighted_sum([[1.0, 2.0], [3.0, 4.0]], [0.5, -0.5], [1.0, 1.0])
    [3.5, 6.5]
    """
    z = []
    for j in range(len(W)):
        total = 0.0
        for i in range(len(a_in)):
            total += W[j][i] * a_in[i]
        z.append(total + b[j])
    return z


def feedforward(net: ReferenceNetwork, x: Sequence[float]) -> tuple[list[Vector], list[Vector]]:
    """Forward pass of one sample ``x`` (n_features,).

    Parameters
    ----------
    net : ReferenceNetwork
        The network; not changed.
    x : sequence of float, shape (n_features,)
        One sample.

    Returns
    -------
    zs : list of lists
        Pre-activations of every layer, in layer order.
    activations : list of lists
        Activations of every layer, in layer order. The input ``x`` is NOT included:
        ``activations[l]`` is the output of layer ``l`` and ``activations[-1]`` the network's.

    Examples
    --------
    >>> from nncore import reference as ref
    >>> net = ref.ReferenceNetwork([([[1, 0], [0, 1]], [0, 0]), ([[1, -1]], [0.5])],
    ...                            "relu", "identity")
    >>> ref.feedforward(net, [2.0, -3.0])
    ([[2.0, -3.0], [2.5]], [[2.0, 0.0], [2.5]])
    """
    zs, activations = [], []
    a = [float(x_i) for x_i in x]
    for l, (W, b) in enumerate(net.layers):
        z = weighted_sum(W, b, a)
        a = activate(net.output if l == len(net.layers) - 1 else net.activation, z)
        zs.append(z)
        activations.append(a)
    return zs, activations


def sample_loss(net: ReferenceNetwork, z_out: Sequence[float], a_out: Sequence[float],
                t: Sequence[float]) -> float:
    """Error of one sample for ``net.output``, from the logits, so finite for any finite ``z_out``.

    Parameters
    ----------
    net : ReferenceNetwork
        Its ``output`` selects the error function.
    z_out, a_out : sequence of float, shape (n_out,)
        Pre-activations and activations of the output layer.
    t : sequence of float, shape (n_out,)
        Target (one-hot for softmax).

    Returns
    -------
    float
        The sample's error, >= 0.

    Notes
    -----
    softmax: ``-sum_j t_j (z_j - m - log sum_j' exp(z_j' - m))`` with ``m = max(z)``;
    sigmoid: ``sum_j softplus(z_j) - t_j z_j``; identity: ``0.5 sum_j (a_j - t_j)^2``.

    Examples
    --------
    Two equal logits give each class probability 1/2, so the error is ``log 2``:

    >>> import math
    >>> from nncore import reference as ref
    >>> net = ref.ReferenceNetwork([([[0.0], [0.0]], [0.0, 0.0])], "sigmoid", "softmax")
    >>> ref.sample_loss(net, [0.0, 0.0], [0.5, 0.5], [1.0, 0.0]) == math.log(2.0)
    True
    """
    error = 0.0
    if net.output == "softmax":
        m = max(z_out)
        total = 0.0
        for z_j in z_out:
            total += math.exp(z_j - m)
        for j in range(len(z_out)):
            error -= t[j] * (z_out[j] - m - math.log(total))
    elif net.output == "sigmoid":
        # -t log s(z) - (1 - t) log(1 - s(z)), rewritten so no probability is ever 0 or 1.
        for j in range(len(z_out)):
            error += softplus(z_out[j]) - t[j] * z_out[j]
    else:
        for j in range(len(a_out)):
            error += 0.5 * (a_out[j] - t[j]) ** 2
    return error


def output_error(a_out: Sequence[float], t: Sequence[float]) -> Vector:
    """Output error term ``delta_j = a_j - t_j``, the same for all three canonical pairs.

    Parameters
    ----------
    a_out, t : sequence of float, shape (n_out,)
        Output activations and target.

    Returns
    -------
    list of float, shape (n_out,)
        ``a - t``, the derivative of the error with respect to the output pre-activations.

    Examples
    --------
    >>> from nncore.reference import output_error
    >>> output_error([0.75, 0.25], [1.0, 0.0])
    [-0.25, 0.25]
    """
    return [a_out[j] - t[j] for j in range(len(a_out))]


def error_terms(net: ReferenceNetwork, activations: Sequence[Sequence[float]],
                x: Sequence[float], delta_out: Vector) -> list[Vector]:
    """Back-propagate the output error term ``delta_out`` through the hidden layers.

    Parameters
    ----------
    net : ReferenceNetwork
        The network, with the weights the forward pass used.
    activations : list of lists
        As returned by `feedforward` (``x`` not included).
    x : list of float, shape (n_features,)
        The input sample. Unused (the input has no error term), accepted so that the call
        carries the whole forward state, as the kernels' does.
    delta_out : list of float, shape (n_out,)
        From `output_error`.

    Returns
    -------
    list of lists
        Error terms of every layer in LAYER ORDER, so ``deltas[l]`` goes with ``net.layers[l]``
        and ``deltas[-1]`` is ``delta_out``.

    Examples
    --------
    With identity hidden units the hidden error term is ``W^T delta_out``:

    >>> from nncore import reference as ref
    >>> net = ref.ReferenceNetwork([([[1, 0], [0, 1]], [0, 0]), ([[2, -1]], [0])],
    ...                            "identity", "identity")
    >>> zs, activations = ref.feedforward(net, [1.0, 1.0])
    >>> ref.error_terms(net, activations, [1.0, 1.0], [0.5])
    [[1.0, -0.5], [0.5]]
    """
    deltas = [delta_out]
    for l in range(len(net.layers) - 1, 0, -1):
        W, _ = net.layers[l]
        delta, f_prime = deltas[0], derivative(net.activation, activations[l - 1])
        delta_prev = []
        for i in range(len(W[0])):
            total = 0.0
            for j in range(len(W)):
                total += delta[j] * W[j][i]
            delta_prev.append(total * f_prime[i])
        deltas.insert(0, delta_prev)
    return deltas


def sample_gradients(net: ReferenceNetwork, x: Sequence[float],
                     t: Sequence[float]) -> tuple[float, list[Matrix], list[Vector]]:
    """Error and gradient of one sample.

    Parameters
    ----------
    net : ReferenceNetwork
        The network; not changed.
    x : sequence of float, shape (n_features,)
        One sample.
    t : sequence of float, shape (n_out,)
        Target (one-hot for softmax).

    Returns
    -------
    loss : float
        The sample's error, as `sample_loss` gives it.
    dW : list, per layer, of ``n_out`` rows of ``n_in`` floats
        Gradient of the error for each weight, in the orientation of ``W``.
    db : list, per layer, of ``n_out`` floats
        Gradient of the error for each bias.

    Examples
    --------
    One identity unit ``z = 2 x``, input 1, target 0: the error ``0.5 z^2`` is 2 and its
    gradients are ``z x = 2`` for the weight and ``z = 2`` for the bias:

    >>> from nncore import reference as ref
    >>> net = ref.ReferenceNetwork([([[2.0]], [0.0])], "identity", "identity")
    >>> ref.sample_gradients(net, [1.0], [0.0])
    (2.0, [[[2.0]]], [[2.0]])
    """
    zs, activations = feedforward(net, x)
    error = sample_loss(net, zs[-1], activations[-1], t)
    deltas = error_terms(net, activations, x, output_error(activations[-1], t))
    inputs = [[float(x_i) for x_i in x]] + activations[:-1]  # a_in of every layer
    dW = [[[delta_j * a_i for a_i in a_in] for delta_j in delta]
          for a_in, delta in zip(inputs, deltas)]
    return error, dW, [list(delta) for delta in deltas]


def predict(net: ReferenceNetwork, X: Sequence[Sequence[float]]) -> list[Vector]:
    """Output vectors of the samples ``X`` (a list of sample lists), in order.

    Parameters
    ----------
    net : ReferenceNetwork
        The network; not changed.
    X : sequence of sequences of float, shape (n_samples, n_features)
        The samples.

    Returns
    -------
    list of lists of float, shape (n_samples, n_out)
        The output layer's activations for each sample.

    Examples
    --------
    >>> from nncore import reference as ref
    >>> net = ref.ReferenceNetwork([([[2.0]], [1.0])], "identity", "identity")
    >>> ref.predict(net, [[0.0], [1.0], [2.0]])
    [[1.0], [3.0], [5.0]]
    """
    return [feedforward(net, x)[1][-1] for x in X]


def loss(net: ReferenceNetwork, X: Sequence[Sequence[float]],
         T: Sequence[Sequence[float]]) -> float:
    """Mean per-sample error over the samples ``X`` with targets ``T`` (lists of lists).

    Parameters
    ----------
    net : ReferenceNetwork
        The network; not changed.
    X : sequence of sequences of float, shape (n_samples, n_features)
        The samples.
    T : sequence of sequences of float, shape (n_samples, n_out)
        Their targets (one-hot rows for softmax).

    Returns
    -------
    float
        The mean of `sample_loss` over the samples.

    Examples
    --------
    >>> from nncore import reference as ref
    >>> net = ref.ReferenceNetwork([([[1.0]], [0.0])], "identity", "identity")
    >>> ref.loss(net, [[1.0], [3.0]], [[0.0], [0.0]])    # (0.5 + 4.5) / 2
    2.5
    """
    total = 0.0
    for k in range(len(X)):
        zs, activations = feedforward(net, X[k])
        total += sample_loss(net, zs[-1], activations[-1], T[k])
    return total / len(X)


def gradients(net: ReferenceNetwork, X: Sequence[Sequence[float]],
              T: Sequence[Sequence[float]]) -> tuple[list[Matrix], list[Vector]]:
    """Mean per-sample gradient over ``X``, ``T``: ``(dW, db)`` in the orientation of ``W``.

    Parameters
    ----------
    net : ReferenceNetwork
        The network; not changed.
    X : sequence of sequences of float, shape (n_samples, n_features)
        The samples.
    T : sequence of sequences of float, shape (n_samples, n_out)
        Their targets (one-hot rows for softmax).

    Returns
    -------
    dW : list, per layer, of ``n_out`` rows of ``n_in`` floats
        Gradient of the mean error for each weight.
    db : list, per layer, of ``n_out`` floats
        Gradient of the mean error for each bias.

    Examples
    --------
    >>> from nncore import reference as ref
    >>> net = ref.ReferenceNetwork([([[1.0]], [0.0])], "identity", "identity")
    >>> ref.gradients(net, [[1.0], [3.0]], [[0.0], [0.0]])   # means of z x and of z
    ([[[5.0]]], [[2.0]])
    """
    dW = [[[0.0] * len(W[0]) for _ in W] for W, _ in net.layers]
    db = [[0.0] * len(b) for _, b in net.layers]
    for k in range(len(X)):
        _, dW_k, db_k = sample_gradients(net, X[k], T[k])
        for l in range(len(dW)):
            for j in range(len(dW[l])):
                for i in range(len(dW[l][j])):
                    dW[l][j][i] += dW_k[l][j][i]
                db[l][j] += db_k[l][j]
    n_samples = len(X)
    dW = [[[g / n_samples for g in row] for row in dW_l] for dW_l in dW]
    return dW, [[g / n_samples for g in db_l] for db_l in db]


def update(net: ReferenceNetwork, dW: Sequence[Sequence[Sequence[float]]],
           db: Sequence[Sequence[float]], lr: float) -> None:
    """Gradient descent step in place: ``W[j][i] -= lr dW[j][i]``, ``b[j] -= lr db[j]``.

    Parameters
    ----------
    net : ReferenceNetwork
        Updated in place.
    dW, db : nested sequences of float
        As returned by `gradients`.
    lr : float
        The learning rate.

    Examples
    --------
    >>> from nncore import reference as ref
    >>> net = ref.ReferenceNetwork([([[1.0]], [0.0])], "identity", "identity")
    >>> ref.update(net, [[[5.0]]], [[2.0]], 0.1)
    >>> net.layers
    [([[0.5]], [-0.2])]
    """
    for (W, b), dW_l, db_l in zip(net.layers, dW, db):
        for j in range(len(W)):
            for i in range(len(W[j])):
                W[j][i] -= lr * dW_l[j][i]
            b[j] -= lr * db_l[j]


def train_step(net: ReferenceNetwork, X: Sequence[Sequence[float]],
               T: Sequence[Sequence[float]], lr: float) -> float:
    """One update with the batch's mean gradient; returns the mean loss from BEFORE the update.

    Parameters
    ----------
    net : ReferenceNetwork
        Updated in place.
    X : sequence of sequences of float, shape (n_samples, n_features)
        The batch's samples.
    T : sequence of sequences of float, shape (n_samples, n_out)
        Their targets (one-hot rows for softmax).
    lr : float
        The learning rate.

    Returns
    -------
    float
        The batch's mean loss before the update.

    Examples
    --------
    >>> from nncore import reference as ref
    >>> net = ref.ReferenceNetwork([([[1.0]], [0.0])], "identity", "identity")
    >>> ref.train_step(net, [[1.0], [3.0]], [[0.0], [0.0]], 0.1)
    2.5
    >>> net.layers
    [([[0.5]], [-0.2])]
    """
    batch_loss = loss(net, X, T)       # 1. error of the current weights
    dW, db = gradients(net, X, T)      # 2. forward, error terms, mean gradient
    update(net, dW, db, lr)            # 3. W -= lr * dW, in place
    return batch_loss


def train_epoch(net: ReferenceNetwork, X: Sequence[Sequence[float]],
                T: Sequence[Sequence[float]], lr: float, batch_size: int,
                order: Sequence[int]) -> float:
    """One epoch of mini-batch gradient descent, ``net`` updated in place.

    Parameters
    ----------
    net : ReferenceNetwork
        Updated in place.
    X, T : list of lists, shapes (n_samples, n_features) and (n_samples, n_out)
        The samples and their targets (one-hot rows for softmax).
    lr : float
        The learning rate.
    batch_size : int
        Consecutive slices of ``order`` of this length are the batches; the last may be shorter.
    order : sequence of int
        Sample indices in the order they are visited (nothing is drawn here).

    Returns
    -------
    float
        ``sum(batch_loss * batch_len) / len(order)``: the mean per-sample loss, each sample's
        taken before its batch's update.

    Examples
    --------
    Sample 1 first, then sample 0, one at a time:

    >>> from nncore import reference as ref
    >>> net = ref.ReferenceNetwork([([[1.0]], [0.0])], "identity", "identity")
    >>> X, T = [[1.0], [2.0]], [[0.0], [0.0]]
    >>> round(ref.train_epoch(net, X, T, 0.1, 1, [1, 0]), 12)    # (2.0 + 0.08) / 2
    1.04
    """
    total = 0.0
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        total += train_step(net, [X[k] for k in batch], [T[k] for k in batch], lr) * len(batch)
    return total / len(order)


def train(net: ReferenceNetwork, X: Sequence[Sequence[float]], T: Sequence[Sequence[float]],
          lr: float, batch_size: int, orders: Iterable[Sequence[int]]) -> list[float]:
    """Run `train_epoch` once per order in ``orders``; returns the list of epoch losses.

    Parameters
    ----------
    net : ReferenceNetwork
        Updated in place.
    X, T : list of lists, shapes (n_samples, n_features) and (n_samples, n_out)
        The samples and their targets (one-hot rows for softmax).
    lr : float
        The learning rate.
    batch_size : int
        Samples per update, as in `train_epoch`.
    orders : iterable of sequences of int
        One visiting order per epoch.

    Returns
    -------
    list of float
        The mean loss of each epoch, as `train_epoch` gives it.

    Examples
    --------
    >>> from nncore import reference as ref
    >>> net = ref.ReferenceNetwork([([[1.0]], [0.0])], "identity", "identity")
    >>> losses = ref.train(net, [[1.0], [2.0]], [[0.0], [0.0]], 0.1, 2, [[0, 1]] * 3)
    >>> [round(v, 6) for v in losses]
    [1.25, 0.545625, 0.241228]
    """
    return [train_epoch(net, X, T, lr, batch_size, order) for order in orders]
