"""Linear and Dense: Gemm on a matrix, MatMul (+ Add) on more axes; both read back."""

from __future__ import annotations

import numpy as np

from numpynn import layers as L


def export_linear(layer, g, x, shape, name):
    weight = layer.weight.data
    if len(shape) == 2:
        inputs = [x, g.constant(weight, f"{name}.weight")]
        if layer.bias is not None:
            inputs.append(g.constant(layer.bias.data, f"{name}.bias"))
        return g.node("Gemm", inputs, name, transB=1)
    out = g.node("MatMul", [x, g.constant(weight.T, f"{name}.weight")], name)
    if layer.bias is not None:
        out = g.node("Add", [out, g.constant(layer.bias.data, f"{name}.bias")], f"{name}/bias")
    return out


def import_gemm(im, node, a):
    if a.get("transA", 0):
        im.fail(node, "transA=1 is not supported")
    weight = im.constant(node, node.input[1])
    if a.get("alpha", 1.0) != 1.0:
        weight = weight * a["alpha"]
    weight = weight if a.get("transB", 0) else weight.T  # (out, in)
    bias = None
    if len(node.input) > 2 and node.input[2]:
        bias = im.constant(node, node.input[2]) * a.get("beta", 1.0)
        bias = np.broadcast_to(bias, (weight.shape[0],))
    _linear(im, node, weight, bias, node.output[0])


def import_matmul(im, node, a):
    if node.input[1] not in im.constants or im.constants[node.input[1]].ndim != 2:
        im.fail(node, "only a product with a constant matrix (a Linear layer) is supported")
    weight, bias, output = im.constants[node.input[1]].T, None, node.output[0]
    add = im.only_consumer(node.output[0], "Add")
    if add is not None:
        other = [i for i in add.input if i != node.output[0]]
        if len(other) == 1 and other[0] in im.constants:
            candidate = im.constants[other[0]]
            if candidate.shape == (weight.shape[0],):
                bias, output = candidate, add.output[0]
                im.skip.add(id(add))
    _linear(im, node, weight, bias, output)


def _linear(im, node, weight, bias, output):
    layer = L.Linear(weight.shape[1], weight.shape[0], bias=bias is not None)
    im.fill(node, layer.weight, weight)
    if bias is not None:
        im.fill(node, layer.bias, bias)
    im.add(node, layer, node.input[:1], output)


EXPORTS = {L.Linear: export_linear}
IMPORTS = {"Gemm": import_gemm, "MatMul": import_matmul}
