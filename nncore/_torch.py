# SPDX-License-Identifier: MIT
"""A Network as a ``torch.nn.Sequential`` and back (``Network.to_torch``,
``Network.from_torch``).

nncore's layer ``l`` holds its weights as rows of ``(n_out, n_in)`` (the
``weights`` property is their transposed view): exactly ``Linear.weight``,
so both directions copy the numbers unchanged and the round trip is bit for
bit. The activations map one to one: sigmoid, tanh, relu to ``Sigmoid``,
``Tanh``, ``ReLU``; identity to no module (``Identity`` is accepted back);
the softmax output to ``Softmax(dim=1)``. PyTorch is imported only here.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, cast

import numpy as np

from . import _validation
from ._typing import Activation, Output, Seed

if TYPE_CHECKING:
    from .network import Network

_DTYPES = {"float32": "float32", "float64": "float64"}


def _require_torch(what: str) -> Any:
    try:
        import torch  # type: ignore[import-not-found,import-untyped,unused-ignore]
    except ImportError as exc:
        raise ImportError(f"{what} needs PyTorch: pip install torch") from exc
    return torch


def _activation_module(torch: Any, name: str) -> Any:
    nn = torch.nn
    return {"sigmoid": nn.Sigmoid, "tanh": nn.Tanh, "relu": nn.ReLU,
            "softmax": lambda: nn.Softmax(dim=1), "identity": lambda: None}[name]()


def to_torch(net: Network) -> Any:
    """``net`` as a Sequential of Linear and activation modules (copies)."""
    torch = _require_torch("Network.to_torch")
    dtype = getattr(torch, net.dtype.name)
    layers = []
    n_layers = len(net.layer_sizes) - 1
    for l in range(n_layers):
        n_in, n_out = net.layer_sizes[l], net.layer_sizes[l + 1]
        linear = torch.nn.Linear(n_in, n_out, dtype=dtype)
        with torch.no_grad():
            linear.weight.copy_(torch.from_numpy(np.ascontiguousarray(net.weights[l].T)))
            linear.bias.copy_(torch.from_numpy(np.array(net.biases[l])))
        layers.append(linear)
        activation = _activation_module(torch, net.output if l == n_layers - 1
                                        else net.activation)
        if activation is not None:
            layers.append(activation)
    return torch.nn.Sequential(*layers)


def _where(index: int, module: Any) -> str:
    return f"layer {index} ({type(module).__name__})"


def _activation_name(torch: Any, index: int, module: Any, last: bool) -> str:
    """nncore's name of the activation module at ``index`` of the Sequential."""
    nn = torch.nn
    kinds = [(nn.Identity, "identity"), (nn.Sigmoid, "sigmoid")]
    if not last:
        kinds += [(nn.Tanh, "tanh"), (nn.ReLU, "relu")]
    for kind, name in kinds:
        if type(module) is kind:
            return name
    if last and type(module) is nn.Softmax:
        if module.dim not in (1, -1):
            raise ValueError(f"{_where(index, module)}: nncore's softmax output is over "
                             f"the units (dim=1), got dim={module.dim}")
        return "softmax"
    if not last and type(module) is nn.Softmax:
        raise ValueError(f"{_where(index, module)}: softmax is only an output in nncore, "
                         "not a hidden activation")
    if last and type(module) in (nn.Tanh, nn.ReLU):
        raise ValueError(f"{_where(index, module)}: nncore's output is softmax, sigmoid "
                         "or identity; a Tanh or ReLU output has no equivalent")
    raise TypeError(f"{_where(index, module)}: not a layer nncore has (Linear, Sigmoid, "
                    "Tanh, ReLU, Identity, and Softmax(dim=1) as the last)")


def from_torch(cls: type[Network], module: Any, seed: Seed) -> Network:
    """A ``cls`` with the weights of the Sequential ``module`` (see
    ``Network.from_torch``)."""
    torch = _require_torch("Network.from_torch")
    if not isinstance(module, torch.nn.Sequential):
        raise TypeError(f"module must be a torch.nn.Sequential of Linear layers and "
                        f"activations, got {type(module).__name__}")
    children = list(module)
    if not children:
        raise ValueError("module is an empty Sequential: it needs at least one Linear")
    # Each Linear, with the activation that follows it (identity when none).
    groups: list[tuple[int, Any, str, int]] = []
    index = 0
    while index < len(children):
        layer = children[index]
        if type(layer) is not torch.nn.Linear:
            if not groups:
                raise TypeError(f"{_where(index, layer)}: module must start with a "
                                "Linear layer")
            raise TypeError(f"{_where(index, layer)}: expected a Linear layer here (at "
                            "most one activation follows each Linear)"
                            if _is_activation(torch, layer) else
                            f"{_where(index, layer)}: not a layer nncore has (Linear, "
                            "Sigmoid, Tanh, ReLU, Identity, and Softmax(dim=1) as the "
                            "last)")
        following = children[index + 1] if index + 1 < len(children) else None
        if following is not None and type(following) is not torch.nn.Linear:
            last = index + 2 >= len(children)
            groups.append((index, layer, _activation_name(torch, index + 1, following,
                                                          last), index + 1))
            index += 2
        else:
            groups.append((index, layer, "identity", -1))
            index += 1
    hidden = groups[:-1]
    activations = {name for _, _, name, _ in hidden}
    if len(activations) > 1:
        first = hidden[0]
        for linear_at, linear, name, at in hidden:
            if name != first[2]:
                where = (f"{_where(at, children[at])}:" if at >= 0 else
                         f"{_where(linear_at, linear)} has no activation after it, but")
                raise ValueError(f"{where} nncore uses one activation for every hidden "
                                 f"layer; this module has {first[2]} and {name}")
    activation = activations.pop() if activations else "sigmoid"
    output = groups[-1][2]
    sizes = [groups[0][1].in_features]
    dtypes = set()
    arrays = []
    for at, linear, _, _ in groups:
        if linear.in_features != sizes[-1]:
            raise ValueError(f"{_where(at, linear)}: takes {linear.in_features} inputs, "
                             f"but the layer before gives {sizes[-1]}")
        sizes.append(linear.out_features)
        weight = linear.weight.detach().cpu()
        if str(weight.dtype).replace("torch.", "") not in _DTYPES:
            raise ValueError(f"{_where(at, linear)}: dtype {weight.dtype}; nncore "
                             "computes in float32 or float64")
        dtypes.add(str(weight.dtype).replace("torch.", ""))
        bias = (linear.bias.detach().cpu().numpy() if linear.bias is not None
                else np.zeros(linear.out_features, dtype=weight.numpy().dtype))
        weight = weight.numpy()
        if not (np.isfinite(weight).all() and np.isfinite(bias).all()):
            raise ValueError(f"{_where(at, linear)}: its weights or bias are not all "
                             "finite")
        arrays.append((weight, bias))
    if len(dtypes) > 1:
        raise ValueError(f"module mixes dtypes {sorted(dtypes)}; nncore's network has "
                         "one: convert it first (module.double() or module.float())")
    if output == "softmax" and sizes[-1] < 2:
        raise ValueError(f"{_where(len(children) - 1, children[-1])}: a softmax over "
                         "one unit is always 1; nncore needs at least 2 (use Sigmoid)")
    _validation.check_layer_sizes(sizes)
    net = cls(sizes, activation=cast(Activation, activation), output=cast(Output, output),
              dtype=dtypes.pop(), seed=seed)
    for l, (weight, bias) in enumerate(arrays):
        net.weights[l][...] = weight.T
        net.biases[l][...] = bias
    return net


def _is_activation(torch: Any, module: Any) -> bool:
    nn = torch.nn
    return type(module) in (nn.Identity, nn.Sigmoid, nn.Tanh, nn.ReLU, nn.Softmax)
