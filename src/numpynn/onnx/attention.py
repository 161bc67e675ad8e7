"""MultiheadAttention (self-attention, no masks) and the Transformer encoder: MatMul,
Softmax, Add and LayerNormalization nodes. Exported only: ``load`` does not read them back."""

from __future__ import annotations

import math

from numpynn import layers as L
from numpynn.onnx._graph import join
from numpynn.onnx.dense import export_linear


def _project_heads(layer, g, x, i, perm, name):
    """Rows i*E:(i+1)*E of in_proj applied to x (N, L, E), split into heads and permuted."""
    e, heads = layer.embed_dim, layer.num_heads
    w = layer.in_proj_weight.data[i * e : (i + 1) * e]
    y = g.node("MatMul", [x, g.constant(w.T, f"{name}.weight")], name)
    if layer.in_proj_bias is not None:
        bias = layer.in_proj_bias.data[i * e : (i + 1) * e]
        y = g.node("Add", [y, g.constant(bias, f"{name}.bias")], name)
    y = g.node("Reshape", [y, g.constant([0, 0, heads, e // heads], f"{name}.shape")], name)
    return g.node("Transpose", [y], name, perm=perm)


def export_attention(layer, g, x, shape, name):
    """softmax(q k^T / sqrt(d)) v per head, as MatMul/Softmax nodes; without masks. One
    input is self-attention; three (a list) are query, key, value."""
    xs = [x] * 3 if isinstance(x, str) else list(x)
    if not layer.batch_first:  # (N, L, E) inside
        xs = [g.node("Transpose", [x], f"{name}/batch_first", perm=[1, 0, 2]) for x in xs]
    q = _project_heads(layer, g, xs[0], 0, [0, 2, 1, 3], f"{name}/q")  # (N, heads, L, d)
    k = _project_heads(layer, g, xs[1], 1, [0, 2, 3, 1], f"{name}/k")  # (N, heads, d, S)
    v = _project_heads(layer, g, xs[2], 2, [0, 2, 1, 3], f"{name}/v")  # (N, heads, S, d)
    scale = g.constant(1 / math.sqrt(layer.embed_dim // layer.num_heads), f"{name}.scale")
    scores = g.node("Mul", [g.node("MatMul", [q, k], f"{name}/scores"), scale], f"{name}/scores")
    weights = g.node("Softmax", [scores], f"{name}/weights", axis=-1)
    heads = g.node("Transpose", [g.node("MatMul", [weights, v], name)], name, perm=[0, 2, 1, 3])
    merged = g.node("Reshape", [heads, g.constant([0, 0, layer.embed_dim], f"{name}.shape")], name)
    out_shape = (None, None, layer.embed_dim)
    out = export_linear(layer.out_proj, g, merged, out_shape, f"{name}/out_proj")
    if not layer.batch_first:
        out = g.node("Transpose", [out], f"{name}/seq_first", perm=[1, 0, 2])
    return out


def export_encoder_layer(layer, g, x, shape, name):
    def sub(module, t, child, out_shape=shape):
        return g.layer(module, t, out_shape, join(name, child))

    def attention(t):
        return export_attention(layer.self_attn, g, t, shape, join(name, "self_attn"))

    def feed_forward(t):
        inner = (*shape[:-1], layer.linear1.out_features)
        t = sub(layer.activation, sub(layer.linear1, t, "linear1", inner), "activation", inner)
        return sub(layer.linear2, t, "linear2")

    if layer.norm_first:  # x + SA(norm1(x)), then + FF(norm2(.))
        x = g.node("Add", [x, attention(sub(layer.norm1, x, "norm1"))], f"{name}/residual")
        return g.node("Add", [x, feed_forward(sub(layer.norm2, x, "norm2"))], f"{name}/residual")
    x = sub(layer.norm1, g.node("Add", [x, attention(x)], f"{name}/residual"), "norm1")
    return sub(layer.norm2, g.node("Add", [x, feed_forward(x)], f"{name}/residual"), "norm2")


def export_encoder(layer, g, x, shape, name):
    for i, encoder_layer in enumerate(layer.layers):
        x = export_encoder_layer(encoder_layer, g, x, shape, join(name, f"layers.{i}"))
    if layer.norm is not None:
        x = g.layer(layer.norm, x, shape, join(name, "norm"))
    return x


EXPORTS = {
    L.MultiheadAttention: export_attention,
    L.TransformerEncoderLayer: export_encoder_layer,
    L.TransformerEncoder: export_encoder,
}
IMPORTS: dict = {}
