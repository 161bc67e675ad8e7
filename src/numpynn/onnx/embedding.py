"""Embedding: a Gather of rows of its table, the indices cast to int64; both ways."""

from __future__ import annotations

import math

from numpynn import layers as L
from numpynn.onnx import recurrent


def export_embedding(layer, g, x, shape, name):
    # the indices as int64: a float graph input (a Keras Input) is cast, and an input that
    # only feeds Embeddings is declared int64 instead (export's int64_inputs)
    indices = g.node("Cast", [x], f"{name}/indices", to=g.onnx.TensorProto.INT64)
    g.index_casts.add(indices)
    weight = g.constant(layer.weight.data, f"{name}.weight")
    return g.node("Gather", [weight, indices], name, axis=0)


def import_cast(im, node, a):
    if a.get("to") != im.onnx.TensorProto.INT64 or node.input[0] not in im.tensors:
        im.fail(node, "only a cast of an input to int64 (Embedding indices) is supported")
    im.tensors[node.output[0]] = im.tensors[node.input[0]]


def import_gather(im, node, a):
    """Rows of a constant table: an Embedding; or a step of a recurrent layer's result or of
    a shape computation around it (see recurrent.py)."""
    if recurrent.gather(im, node, a):
        return
    table = im.constants.get(node.input[0])
    if table is None or table.ndim != 2 or a.get("axis", 0) != 0:
        im.fail(node, "only rows of a constant 2-D table (an Embedding) are supported")
    if node.input[1] not in im.tensors:
        im.fail(node, "the indices must be computed from the inputs")
    _check_length(im, node, im.tensors[node.input[1]].shape)
    layer = L.Embedding(*table.shape)
    im.fill(node, layer.weight, table)
    im.add(node, layer, node.input[1:2])


def _check_length(im, node, shape):
    """Embedding's input check reads its indices as an array, so building the layer on a
    symbolic input touches (2, *shape[1:]) values: refuse more indices per sample than the
    file's size in bytes (or 65,536), sizes that no bytes of the file back."""
    count, limit = math.prod(shape[1:]), max(1 << 16, im.file_size)
    if count > limit:
        im.fail(node, f"its indices of shape {shape} are {count} per sample, over {limit}")


EXPORTS = {L.Embedding: export_embedding}
IMPORTS = {"Cast": import_cast, "Gather": import_gather}
