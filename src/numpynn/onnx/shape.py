"""Shapes and merges: Flatten and Reshape; Add, Subtract, Multiply, Average, Concatenate
as Sum, Sub, Mul, Mean, Concat; constants."""

from __future__ import annotations

import math

import numpy as np

from numpynn import layers as L
from numpynn.onnx import activation, normalization, recurrent

# --- export ------------------------------------------------------------------------------------


def export_reshape(layer, g, x, shape, name):
    out = layer.output_shape(shape)
    if sum(d is None for d in out) > 1:
        raise ValueError(f"onnx.export: {layer.describe()} on {shape}: sizes must be known")
    target = [-1 if d is None else d for d in out]
    return g.node("Reshape", [x, g.constant(np.array(target), f"{name}.shape")], name)


def export_merge(layer, g, xs, shapes, name):
    if isinstance(layer, L.Concatenate):
        return g.node("Concat", xs, name, axis=layer.axis)
    if isinstance(layer, L.Subtract):
        return g.node("Sub", xs, name)
    if isinstance(layer, L.Average):
        return g.node("Mean", xs, name)
    if isinstance(layer, L.Add):
        return g.node("Sum", xs, name)
    out = xs[0]  # Multiply: the product from left to right, as the layer computes it
    for x in xs[1:]:
        out = g.node("Mul", [out, x], name)
    return out


# --- import ------------------------------------------------------------------------------------


def import_constant(im, node, a):
    tensor = a.get("value")
    if tensor is None:
        im.fail(node, "only tensor constants are supported")
    im.constants[node.output[0]] = im.array(node, tensor)


def import_flatten(im, node, a):
    if a.get("axis", 1) != 1:
        im.fail(node, f"only axis=1 is supported, got {a.get('axis')}")
    im.add(node, L.Flatten(), node.input[:1])


def import_reshape(im, node, a):
    target = [int(d) for d in im.constant(node, node.input[1]).reshape(-1)]
    shape = im.tensors[node.input[0]].shape
    if (
        a.get("allowzero", 0)
        or target[:1] not in ([0], [-1])
        or (target[0] == -1 and -1 in target[1:])
    ):
        im.fail(node, f"the shape {target[:8]} must keep the batch first")
    if any(d == 0 for d in target[len(shape) :]):
        im.fail(node, f"the shape {target[:8]} copies a size (0) the input {shape} does not have")
    sample = [shape[i] if d == 0 else d for i, d in enumerate(target)][1:]
    _check_size(im, node, shape, sample)
    im.add(node, L.Reshape(*sample), node.input[:1])


def _check_size(im, node, shape, sample):
    """A Reshape keeps the number of values of each sample: refuse a target that does not
    (a huge one above all: no numpynn layer is built for it)."""
    if sample.count(-1) > 1 or any(d < -1 or d == 0 for d in sample):
        im.fail(node, f"the sample shape {sample[:8]} is not a shape (positive sizes, one -1)")
    values, known = math.prod(shape[1:]), math.prod(d for d in sample if d != -1)
    fits = values % known == 0 if -1 in sample else values == known
    if not fits:
        im.fail(node, f"the sample shape {sample[:8]} cannot hold the {values} values of {shape}")


def _merge(im, node, layer):
    if any(i in im.constants for i in node.input):
        im.fail(node, "an operation with a constant is not a numpynn layer")
    if len(node.input) == 1:
        layer = L.Identity()
    im.add(node, layer, list(node.input))


def import_add(im, node, a):
    _merge(im, node, L.Add())


def import_mul(im, node, a):
    if node.input[0] == node.input[1] and activation.fold_gelu(im, node):
        return
    if node.input[1] in im.constants and activation.fold_softplus(im, node):
        return
    _merge(im, node, L.Multiply())


def import_mean(im, node, a):
    _merge(im, node, L.Average())


def import_concat(im, node, a):
    if recurrent.concat_states(im, node):
        return
    if any(i in im.shape_values for i in node.input):
        return recurrent.shape_step(im, node, node.input)
    _merge(im, node, L.Concatenate(im.required(node, a, "axis")))


def import_sub(im, node, a):
    if node.input[1] not in im.constants:
        return _merge(im, node, L.Subtract())
    normalization.import_normalization(im, node)


_MERGES = (L.Add, L.Subtract, L.Multiply, L.Average, L.Concatenate)
EXPORTS = {L.Flatten: export_reshape, L.Reshape: export_reshape}
EXPORTS.update({cls: export_merge for cls in _MERGES})
IMPORTS = {
    "Constant": import_constant,
    "Flatten": import_flatten,
    "Reshape": import_reshape,
    "Add": import_add,
    "Sum": import_add,
    "Sub": import_sub,
    "Mul": import_mul,
    "Mean": import_mean,
    "Concat": import_concat,
}
