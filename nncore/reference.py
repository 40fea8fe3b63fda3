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
import math
from dataclasses import dataclass

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
    """

    layers: list
    activation: str
    output: str

    def __post_init__(self):
        if self.activation not in HIDDEN_ACTIVATIONS or self.output not in OUTPUTS:
            raise ValueError(f"unknown activation/output {self.activation!r}/{self.output!r}")
        self.layers = [([[float(w) for w in row] for row in W], [float(v) for v in b])
                       for W, b in self.layers]


def from_arrays(weights, biases, activation, output):
    """Build a network from per-layer arrays in scikit-learn's orientation.

    Parameters
    ----------
    weights : sequence of nested sequences, each of shape (n_in, n_out)
        ``weights[l][i][j]`` is the weight from input ``i`` to unit ``j`` (like ``coefs_``, the
        transpose of ``W``). Objects with ``tolist()``, such as NumPy arrays, are accepted.
    biases : sequence of nested sequences, each of shape (n_out,)
    activation, output : str
        See `ReferenceNetwork`.

    Returns
    -------
    ReferenceNetwork
        A copy that shares no data with ``weights`` or ``biases``.
    """
    layers = []
    for coef, intercept in zip(weights, biases, strict=True):
        # tolist() turns a NumPy array into nested lists without importing NumPy.
        coef = coef.tolist() if hasattr(coef, "tolist") else coef
        n_in, n_out = len(coef), len(coef[0])
        W = [[float(coef[i][j]) for i in range(n_in)] for j in range(n_out)]
        layers.append((W, [float(v) for v in intercept]))
    return ReferenceNetwork(layers, activation, output)


def from_network(net):
    """Copy an ``nncore.Network`` (``weights`` (n_in, n_out) and ``biases`` (n_out,) per layer,
    ``activation``, ``output``) into a `ReferenceNetwork`; see `from_arrays`."""
    return from_arrays(net.weights, net.biases, net.activation, net.output)


def to_arrays(net):
    """Return ``(weights, biases)``: fresh nested lists, weights (n_in, n_out) per layer.

    The orientation is that of `from_arrays` (the transpose of ``W``), for comparisons in tests.
    """
    weights = [[[row[i] for row in W] for i in range(len(W[0]))] for W, _ in net.layers]
    return weights, [list(b) for _, b in net.layers]


def sigmoid(z):
    """Logistic function ``1 / (1 + exp(-z))`` of a float, without overflow for any ``z``."""
    if z >= 0.0:
        return 1.0 / (1.0 + math.exp(-z))
    e = math.exp(z)  # z < 0: exp(-z) could overflow, exp(z) cannot
    return e / (1.0 + e)


def softplus(z):
    """``log(1 + exp(z))`` of a float, as ``max(z, 0) + log1p(exp(-|z|))``: never overflows."""
    return max(z, 0.0) + math.log1p(math.exp(-abs(z)))


def softmax(z):
    """Softmax of the logits ``z`` (n_out,), shifted by their maximum so no exp overflows."""
    m = max(z)
    e = [math.exp(z_j - m) for z_j in z]
    total = 0.0
    for e_j in e:
        total += e_j
    return [e_j / total for e_j in e]


def activate(name, z):
    """Activations ``a`` (n_out,) from pre-activations ``z`` (n_out,).

    ``name`` is a hidden activation or an output function: one of "sigmoid", "tanh", "relu",
    "identity", "softmax".
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


def derivative(name, a):
    """Derivatives ``f'(z)`` (n_out,) of hidden activation ``name``, from ``a = f(z)`` (n_out,)."""
    if name == "sigmoid":
        return [a_j * (1.0 - a_j) for a_j in a]
    if name == "tanh":
        return [1.0 - a_j * a_j for a_j in a]
    if name == "relu":
        return [1.0 if a_j > 0.0 else 0.0 for a_j in a]
    if name == "identity":
        return [1.0 for _ in a]
    raise ValueError(f"unknown activation {name!r}")


def weighted_sum(W, b, a_in):
    """Pre-activations ``z_j = sum_i W[j][i] a_in[i] + b[j]`` (n_out,) of one layer."""
    z = []
    for j in range(len(W)):
        total = 0.0
        for i in range(len(a_in)):
            total += W[j][i] * a_in[i]
        z.append(total + b[j])
    return z


def feedforward(net, x):
    """Forward pass of one sample ``x`` (n_features,).

    Returns
    -------
    zs : list of lists
        Pre-activations of every layer, in layer order.
    activations : list of lists
        Activations of every layer, in layer order. The input ``x`` is NOT included:
        ``activations[l]`` is the output of layer ``l`` and ``activations[-1]`` the network's.
    """
    zs, activations = [], []
    a = [float(x_i) for x_i in x]
    for l, (W, b) in enumerate(net.layers):
        z = weighted_sum(W, b, a)
        a = activate(net.output if l == len(net.layers) - 1 else net.activation, z)
        zs.append(z)
        activations.append(a)
    return zs, activations


def sample_loss(net, z_out, a_out, t):
    """Error of one sample for ``net.output``, from the logits, so finite for any finite ``z_out``.

    Parameters
    ----------
    net : ReferenceNetwork
    z_out, a_out : list of float, shape (n_out,)
        Pre-activations and activations of the output layer.
    t : list of float, shape (n_out,)
        Target (one-hot for softmax).

    Notes
    -----
    softmax: ``-sum_j t_j (z_j - m - log sum_j' exp(z_j' - m))`` with ``m = max(z)``;
    sigmoid: ``sum_j softplus(z_j) - t_j z_j``; identity: ``0.5 sum_j (a_j - t_j)^2``.
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


def output_error(a_out, t):
    """Output error term ``delta_j = a_j - t_j``, the same for all three canonical pairs."""
    return [a_out[j] - t[j] for j in range(len(a_out))]


def error_terms(net, activations, x, delta_out):
    """Back-propagate the output error term ``delta_out`` through the hidden layers.

    Parameters
    ----------
    net : ReferenceNetwork
    activations : list of lists
        As returned by `feedforward` (``x`` not included).
    x : list of float, shape (n_features,)
        The input sample. Unused (the input has no error term), accepted so that the call
        carries the whole forward state, as the kernels' does.
    delta_out : list of float, shape (n_out,)
        From `output_error`.

    Returns
    -------
    deltas : list of lists
        Error terms of every layer in LAYER ORDER, so ``deltas[l]`` goes with ``net.layers[l]``
        and ``deltas[-1]`` is ``delta_out``.
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


def sample_gradients(net, x, t):
    """Error and gradient of one sample.

    Returns
    -------
    loss : float
    dW : list, per layer, of ``n_out`` rows of ``n_in`` floats (the orientation of ``W``)
    db : list, per layer, of ``n_out`` floats
    """
    zs, activations = feedforward(net, x)
    error = sample_loss(net, zs[-1], activations[-1], t)
    deltas = error_terms(net, activations, x, output_error(activations[-1], t))
    inputs = [[float(x_i) for x_i in x]] + activations[:-1]  # a_in of every layer
    dW = [[[delta_j * a_i for a_i in a_in] for delta_j in delta]
          for a_in, delta in zip(inputs, deltas)]
    return error, dW, [list(delta) for delta in deltas]


def predict(net, X):
    """Output vectors of the samples ``X`` (a list of sample lists), in order."""
    return [feedforward(net, x)[1][-1] for x in X]


def loss(net, X, T):
    """Mean per-sample error over the samples ``X`` with targets ``T`` (lists of lists)."""
    total = 0.0
    for k in range(len(X)):
        zs, activations = feedforward(net, X[k])
        total += sample_loss(net, zs[-1], activations[-1], T[k])
    return total / len(X)


def gradients(net, X, T):
    """Mean per-sample gradient over ``X``, ``T``: ``(dW, db)`` in the orientation of ``W``."""
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


def update(net, dW, db, lr):
    """Gradient descent step in place: ``W[j][i] -= lr dW[j][i]``, ``b[j] -= lr db[j]``."""
    for (W, b), dW_l, db_l in zip(net.layers, dW, db):
        for j in range(len(W)):
            for i in range(len(W[j])):
                W[j][i] -= lr * dW_l[j][i]
            b[j] -= lr * db_l[j]


def train_step(net, X, T, lr):
    """One update with the batch's mean gradient; returns the mean loss from BEFORE the update."""
    batch_loss = loss(net, X, T)       # 1. error of the current weights
    dW, db = gradients(net, X, T)      # 2. forward, error terms, mean gradient
    update(net, dW, db, lr)            # 3. W -= lr * dW, in place
    return batch_loss


def train_epoch(net, X, T, lr, batch_size, order):
    """One epoch of mini-batch gradient descent, ``net`` updated in place.

    Parameters
    ----------
    net : ReferenceNetwork
    X, T : list of lists, shapes (n_samples, n_features) and (n_samples, n_out)
    lr : float
    batch_size : int
        Consecutive slices of ``order`` of this length are the batches; the last may be shorter.
    order : sequence of int
        Sample indices in the order they are visited (nothing is drawn here).

    Returns
    -------
    float
        ``sum(batch_loss * batch_len) / len(order)``: the mean per-sample loss, each sample's
        taken before its batch's update.
    """
    total = 0.0
    for start in range(0, len(order), batch_size):
        batch = order[start:start + batch_size]
        total += train_step(net, [X[k] for k in batch], [T[k] for k in batch], lr) * len(batch)
    return total / len(order)


def train(net, X, T, lr, batch_size, orders):
    """Run `train_epoch` once per order in ``orders``; returns the list of epoch losses."""
    return [train_epoch(net, X, T, lr, batch_size, order) for order in orders]
