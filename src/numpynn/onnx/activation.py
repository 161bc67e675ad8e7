"""Activations: one ONNX operator each, or (GELU, Softplus with beta and threshold, SiLU)
the formula as a few nodes, which ``load`` folds back into the one layer."""

from __future__ import annotations

import math

import numpy as np

from numpynn import layers as L

# --- export ------------------------------------------------------------------------------------


def _simple(op, **attributes):
    def export(layer, g, x, shape, name):
        values = {k: (v(layer) if callable(v) else v) for k, v in attributes.items()}
        return g.node(op, [x], name, **values)

    return export


def export_gelu(layer, g, x, shape, name):
    half = g.constant(0.5, f"{name}.half")
    one = g.constant(1.0, f"{name}.one")
    if layer.approximate == "tanh":  # 0.5 x (1 + tanh(sqrt(2/pi) (x + 0.044715 x^3)))
        cube = g.node("Mul", [g.node("Mul", [x, x], name), x], name)
        inner = g.node("Add", [x, g.node("Mul", [cube, g.constant(0.044715, name)], name)], name)
        scaled = g.node("Mul", [inner, g.constant(math.sqrt(2 / math.pi), name)], name)
        core = g.node("Tanh", [scaled], name)
    else:  # x Phi(x) = 0.5 x (1 + erf(x / sqrt(2)))
        core = g.node("Erf", [g.node("Div", [x, g.constant(math.sqrt(2), name)], name)], name)
    return g.node("Mul", [g.node("Mul", [x, half], name), g.node("Add", [core, one], name)], name)


def export_softplus(layer, g, x, shape, name):
    # log(1 + exp(beta x)) / beta, and x itself where beta x > threshold
    beta = g.constant(layer.beta, f"{name}.beta")
    bx = g.node("Mul", [x, beta], name)
    smooth = g.node("Div", [g.node("Softplus", [bx], name), beta], name)
    linear = g.node("Greater", [bx, g.constant(layer.threshold, f"{name}.threshold")], name)
    return g.node("Where", [linear, x, smooth], name)


def export_silu(layer, g, x, shape, name):  # x sigmoid(x)
    return g.node("Mul", [x, g.node("Sigmoid", [x], name)], name)


def export_activation(layer, g, x, shape, name):  # Activation("relu"): the layer it holds
    return g.layer(layer.activation, x, shape, name)


def export_passthrough(layer, g, x, shape, name):
    return x  # Dropout and Identity in eval mode: no node at all


# --- import ------------------------------------------------------------------------------------


def _one(cls, **attributes):
    """The importer of an operator that is the layer ``cls``, its arguments from attributes."""

    def load(im, node, a):
        im.add(node, cls(*[a.get(k, v) for k, v in attributes.items()]), node.input[:1])

    return load


def _softmax(cls):
    def load(im, node, a):
        rank = len(im.tensors[node.input[0]].shape)
        axis = a.get("axis", -1 if im.opset >= 13 else 1)
        if im.opset < 13 and axis % rank != rank - 1:
            im.fail(node, "before opset 13, only a softmax over the last axis is supported")
        im.add(node, cls(axis), node.input[:1])

    return load


def import_dropout(im, node, a):
    if len(node.output) > 1 and node.output[1] in im.consumers:
        im.fail(node, "the mask output is not supported")
    im.tensors[node.output[0]] = im.tensors[node.input[0]]  # eval mode: nothing


def import_div(im, node, a):
    divisor = im.constants.get(node.input[1])
    if divisor is not None and np.isclose(divisor, math.sqrt(2)).all() and fold_gelu(im, node):
        return
    im.fail(node, "a division is supported only inside GELU and Normalization")


def fold_gelu(im, node) -> bool:
    """GELU as ``export`` writes it, from its first node: Div(x, sqrt 2) for the exact
    form, Mul(x, x) for the tanh form; then (core + 1) * (x * 0.5)."""
    x = node.input[0]
    if node.op_type == "Div":
        chain = [im.step(node.output[0], "Erf")]
    else:
        chain = [im.step(node.output[0], "Mul", other=x)]
        for op, const, other in (
            ("Mul", 0.044715, None),
            ("Add", None, x),
            ("Mul", math.sqrt(2 / math.pi), None),
            ("Tanh", None, None),
        ):
            chain.append(chain[-1] and im.step(chain[-1].output[0], op, const, other))
    plus = chain[-1] and im.step(chain[-1].output[0], "Add", const=1.0)
    final = plus and im.step(plus.output[0], "Mul")
    half = final and im.producers.get(next(i for i in final.input if i != plus.output[0]))
    if half is None or half.op_type != "Mul" or im.step(half.output[0], "Mul") is not final:
        return False
    if x not in half.input or not np.isclose(im.constants.get(half.input[1], 0), 0.5):
        return False
    approximate = "none" if node.op_type == "Div" else "tanh"
    return im.fold(node, [*chain, plus, final, half], L.GELU(approximate), [x], final.output[0])


def fold_softplus(im, node) -> bool:
    """Softplus(beta, threshold) as ``export`` writes it, from Mul(x, beta):
    Where(beta x > threshold, x, Softplus(beta x) / beta)."""
    x, beta = node.input[0], im.constants[node.input[1]]
    bx = node.output[0]
    if beta.size != 1 or len(im.consumers.get(bx, [])) != 2:
        return False
    smooth = im.step(bx, "Softplus", alone=False)
    divided = smooth and im.step(smooth.output[0], "Div", const=float(beta))
    greater = im.step(bx, "Greater", alone=False)
    threshold = greater and im.constants.get(greater.input[1])
    where = greater and im.step(greater.output[0], "Where")
    if threshold is None or where is None or divided is None:
        return False
    if list(where.input) != [greater.output[0], x, divided.output[0]]:
        return False
    layer = L.Softplus(float(beta), float(threshold))
    return im.fold(node, [smooth, divided, greater, where], layer, [x], where.output[0])


EXPORTS = {
    L.Activation: export_activation,
    L.Dropout: export_passthrough,
    L.Identity: export_passthrough,
    L.ReLU: _simple("Relu"),
    L.LeakyReLU: _simple("LeakyRelu", alpha=lambda m: float(m.negative_slope)),
    L.ELU: _simple("Elu", alpha=lambda m: float(m.alpha)),
    L.Sigmoid: _simple("Sigmoid"),
    L.Tanh: _simple("Tanh"),
    L.Softmax: _simple("Softmax", axis=lambda m: m.axis),
    L.LogSoftmax: _simple("LogSoftmax", axis=lambda m: m.axis),
    L.GELU: export_gelu,
    L.Softplus: export_softplus,
    L.SiLU: export_silu,
}
IMPORTS = {
    "Relu": _one(L.ReLU),
    "LeakyRelu": _one(L.LeakyReLU, alpha=0.01),
    "Elu": _one(L.ELU, alpha=1.0),
    "Sigmoid": _one(L.Sigmoid),
    "Tanh": _one(L.Tanh),
    "Softplus": _one(L.Softplus),
    "Softmax": _softmax(L.Softmax),
    "LogSoftmax": _softmax(L.LogSoftmax),
    "Identity": _one(L.Identity),
    "Dropout": import_dropout,
    "Div": import_div,
}
