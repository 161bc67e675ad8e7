"""BatchNorm, LayerNorm and Normalization: BatchNormalization, LayerNormalization and
(x - mean) / std, both ways."""

from __future__ import annotations

import numpy as np

from numpynn import layers as L
from numpynn.io import value_problem


def export_batch_norm(layer, g, x, shape, name):
    c = layer.num_features
    ones, zeros = np.ones(c), np.zeros(c)
    inputs = [
        x,
        g.constant(layer.weight.data if layer.affine else ones, f"{name}.weight"),
        g.constant(layer.bias.data if layer.affine else zeros, f"{name}.bias"),
        g.constant(layer.running_mean, f"{name}.running_mean"),
        g.constant(layer.running_var, f"{name}.running_var"),
    ]
    return g.node("BatchNormalization", inputs, name, epsilon=float(layer.eps))


def export_layer_norm(layer, g, x, shape, name):
    normalized = layer.normalized_shape
    affine = layer.elementwise_affine
    inputs = [
        x,
        g.constant(layer.weight.data if affine else np.ones(normalized), f"{name}.weight"),
        g.constant(layer.bias.data if affine else np.zeros(normalized), f"{name}.bias"),
    ]
    return g.node(
        "LayerNormalization", inputs, name, axis=-len(normalized), epsilon=float(layer.eps)
    )


def export_normalization(layer, g, x, shape, name):
    broadcast = [1] * len(shape)
    broadcast[layer.axis % len(shape)] = -1
    std = np.sqrt(layer.variance)
    std = np.where(std > 0, std, 1).astype(std.dtype)  # as the layer: constant features centred
    centred = g.node("Sub", [x, g.constant(layer.mean.reshape(broadcast), f"{name}.mean")], name)
    return g.node("Div", [centred, g.constant(std.reshape(broadcast), f"{name}.std")], name)


def import_batch_norm(im, node, a):
    if a.get("training_mode", 0):
        im.fail(node, "training_mode=1 is not supported")
    scale, bias, mean, var = (im.constant(node, n) for n in node.input[1:5])
    problem = value_problem("running_var", var)  # whatever the tensor's name
    if problem is not None:
        im.fail(node, f"the variance {node.input[4]!r} {problem}")
    rank = len(im.tensors[node.input[0]].shape)
    cls = L.BatchNorm2d if rank == 4 else L.BatchNorm1d
    layer = cls(
        len(mean), eps=a.get("epsilon", 1e-5), momentum=round(1 - a.get("momentum", 0.9), 12)
    )
    for target, value in ((layer.weight, scale), (layer.bias, bias)):
        im.fill(node, target, value)
    layer.running_mean[...], layer.running_var[...] = mean, var
    im.add(node, layer, node.input[:1])


def import_layer_norm(im, node, a):
    scale = im.constant(node, node.input[1])
    rank = len(im.tensors[node.input[0]].shape)
    if a.get("axis", -1) % rank != rank - scale.ndim:
        im.fail(node, f"axis {a.get('axis', -1)} does not match the scale's shape {scale.shape}")
    layer = L.LayerNorm(scale.shape, eps=a.get("epsilon", 1e-5))
    im.fill(node, layer.weight, scale)
    if len(node.input) > 2 and node.input[2]:
        im.fill(node, layer.bias, im.constant(node, node.input[2]))
    im.add(node, layer, node.input[:1])


def import_normalization(im, node):
    """(x - mean) / std from the Sub of a constant: a Normalization layer."""
    div = im.only_consumer(node.output[0], "Div")
    mean = im.constants[node.input[1]]
    std = im.constants.get(div.input[1]) if div is not None else None
    if std is None or std.shape != mean.shape or div.input[0] != node.output[0]:
        im.fail(node, "a subtraction of a constant is supported only as (x - mean) / std")
    rank = len(im.tensors[node.input[0]].shape)
    axes = [i for i, d in enumerate(mean.shape) if d != 1]
    if mean.ndim != rank or len(axes) > 1:
        im.fail(node, f"the mean's shape {mean.shape} is not along one axis")
    axis = axes[0] if axes else rank - 1
    variance = (std.astype(np.float64) ** 2).reshape(-1)
    layer = L.Normalization(axis=axis, mean=mean.reshape(-1), variance=variance)
    im.skip.add(id(div))
    im.add(node, layer, node.input[:1], div.output[0])


EXPORTS = {
    L.BatchNorm1d: export_batch_norm,
    L.BatchNorm2d: export_batch_norm,
    L.BatchNormalization: export_batch_norm,
    L.LayerNorm: export_layer_norm,
    L.Normalization: export_normalization,
}
IMPORTS = {
    "BatchNormalization": import_batch_norm,
    "LayerNormalization": import_layer_norm,
}
