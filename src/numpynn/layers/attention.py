"""Attention: MultiheadAttention and the Transformer encoder, in PyTorch's layouts.

The arithmetic of attention itself is ``functional.scaled_dot_product_attention`` and its
backward; the layers here project into heads and back, combine the masks, and chain the
encoder's sublayers.

>>> import numpy as np, numpynn as nn
>>> layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, dropout=0.0, batch_first=True)
>>> layer(np.zeros((3, 5, 8), dtype=np.float32)).shape
(3, 5, 8)
"""

from __future__ import annotations

import copy

import numpy as np

from numpynn import functional as F
from numpynn import init, names
from numpynn._config import Seed, get_rng
from numpynn.layers.activation import GELU, ReLU
from numpynn.layers.dropout import Dropout
from numpynn.layers.linear import Linear
from numpynn.layers.normalization import LayerNorm
from numpynn.module import Module, Parameter


def _blocking_mask(layer, mask, name: str, shapes: list[tuple], dtype):
    """A PyTorch layer mask (bool: True = blocked; float: added) of one of ``shapes`` as an
    additive float mask; other dtypes and shapes are refused, as PyTorch's layer does."""
    mask = np.asarray(mask)
    if mask.dtype != bool and mask.dtype.kind != "f":
        raise TypeError(
            f"{layer.describe()}: expected {name} of dtype bool (True = blocked) or float "
            f"(added to the scores), got {mask.dtype}"
        )
    if mask.shape not in shapes:
        raise ValueError(
            f"{layer.describe()}: expected {name} of shape {' or '.join(map(str, shapes))}, "
            f"got {mask.shape}"
        )
    if mask.dtype == bool:
        return np.where(mask, -np.inf, 0).astype(dtype)
    return mask.astype(dtype, copy=False)


def _check_sequences(layer, x, size: int, batch_first: bool, dtype):
    if x.ndim != 3 or x.shape[-1] != size:
        order = "(N, L, " if batch_first else "(L, N, "
        raise ValueError(f"{layer.describe()}: expected input {order}{size}), got {x.shape}")
    return x.astype(dtype, copy=False)


class MultiheadAttention(Module):
    """Attention with ``num_heads`` heads of size d = embed_dim / num_heads, PyTorch's
    ``nn.MultiheadAttention``:

        q = query W_q^T + b_q,  k = key W_k^T + b_k,  v = value W_v^T + b_v,
        head_i = softmax(q_i k_i^T / sqrt(d) + mask) v_i   (q_i: the i-th d columns of q),
        output = concat(head_1, ..., head_h) W_o^T + b_o.

    Args:
        embed_dim: E, the features of query, key and value (divisible by num_heads).
        num_heads: heads attending in parallel, each of size E / num_heads.
        dropout: drop probability on the attention weights (training).
        bias: learn b_q, b_k, b_v (``in_proj_bias``) and b_o.
        batch_first: (N, L, E) instead of PyTorch's default (L, N, E).
        seed: int or Generator for the initial weights (Xavier-uniform ``in_proj_weight``,
            zero biases, as PyTorch) and the dropout masks.

    Parameters as PyTorch's: ``in_proj_weight`` (3E, E) holds W_q, W_k, W_v stacked,
    ``in_proj_bias`` (3E,), and ``out_proj`` a Linear(E, E).

    ``forward(query, key, value, key_padding_mask=None, need_weights=True, attn_mask=None,
    average_attn_weights=True, is_causal=False)``, the masks and options by keyword, returns
    ``(output, weights)``; weights are (N, L, S) averaged over the heads (or
    (N, heads, L, S)), None unless ``need_weights``. Masks as PyTorch's layer: boolean
    True = *blocked* (note: ``F.scaled_dot_product_attention`` takes True = allowed, as
    PyTorch's does), or float, added to the scores; other dtypes and shapes are refused.
    A query with every key blocked gets zero attention weights, so its output is
    ``out_proj.bias`` (PyTorch's layer gives NaN there).

    ``backward(grad_output)`` returns ``(d_query, d_key, d_value)``, always; for
    self-attention (``query is key is value``, one product projects all three) the
    input's gradient is their sum.

    Shape:
        query (L, N, E), key and value (S, N, E); (N, L, E) and (N, S, E) with
        ``batch_first``; ``key_padding_mask`` (N, S); ``attn_mask`` (L, S) or
        (N * num_heads, L, S); output like query.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> attention = nn.MultiheadAttention(8, 2, batch_first=True)
        >>> x = np.ones((3, 5, 8), dtype=np.float32)
        >>> out, weights = attention(x, x, x, key_padding_mask=np.eye(3, 5, dtype=bool))
        >>> out.shape, weights.shape
        ((3, 5, 8), (3, 5, 5))
        >>> d_query, d_key, d_value = attention.backward(np.ones_like(out))
        >>> (d_query + d_key + d_value).shape   # self-attention: x's gradient
        (3, 5, 8)
    """

    def __init__(self, embed_dim: int, num_heads: int, dropout: float = 0.0, bias: bool = True,
                 batch_first: bool = False, seed: Seed = None):  # fmt: skip
        if embed_dim % num_heads:
            raise ValueError(
                f"MultiheadAttention: embed_dim ({embed_dim}) must be divisible by num_heads "
                f"({num_heads})"
            )
        self.embed_dim, self.num_heads, self.dropout = int(embed_dim), int(num_heads), dropout
        self.use_bias, self.batch_first = bias, batch_first
        rng = get_rng(seed)
        e = self.embed_dim
        self.in_proj_weight = Parameter(init.xavier_uniform((3 * e, e), seed=rng), "in_proj_weight")
        self.in_proj_bias = Parameter(init.zeros(3 * e), "in_proj_bias") if bias else None
        self.out_proj = Linear(e, e, bias=bias, seed=rng)
        if bias:
            self.out_proj.bias.data[...] = 0  # PyTorch's: zero biases, Xavier in_proj
        self.attention_dropout = Dropout(dropout, seed=seed)

    multi_input = True  # query, key, value

    def check_input(self, xs):
        if len(xs) != 3:
            raise TypeError(
                f"{self.describe()}: expected query, key and value (and the masks and "
                f"options by keyword), got {len(xs)} positional arrays"
            )
        query, key, value = xs
        dtype = self.in_proj_weight.dtype
        checked = _check_sequences(self, query, self.embed_dim, self.batch_first, dtype)
        if key is query and value is query:  # self-attention: one projection product
            return checked, checked, checked
        key, value = (
            _check_sequences(self, a, self.embed_dim, self.batch_first, dtype) for a in (key, value)
        )
        batch = 0 if self.batch_first else 1
        if key.shape[:2] != value.shape[:2] or key.shape[batch] != query.shape[batch]:
            raise ValueError(
                f"{self.describe()}: expected key and value of one length and the query's "
                f"batch size, got query {query.shape}, key {key.shape}, value {value.shape}"
            )
        return checked, key, value

    def _call_symbolic(self, inputs, options=None):
        raise TypeError(
            f"{self.describe()}: returns (output, weights), which a functional Model does "
            "not carry; use TransformerEncoderLayer in a graph, or call the layer on arrays"
        )

    def forward(self, query, key, value, key_padding_mask=None, need_weights=True,
                attn_mask=None, average_attn_weights=True, is_causal=False):  # fmt: skip
        self.self_attention = query is key and key is value
        if not self.batch_first:  # (N, L, E) from here on
            query, key, value = (a.swapaxes(0, 1) for a in (query, key, value))
        self.inputs = (query, key, value)
        q, k, v = self._project(query, key, value)
        mask = self._combined_mask(attn_mask, key_padding_mask, q.shape, k.shape[2], q.dtype)
        self.q, self.k, self.v = q, k, v
        # (N, heads, L, S): one mask entry per attention weight
        self.dropout_mask = self.attention_dropout.draw_mask(q.shape[:3] + k.shape[2:3], q.dtype)
        heads, self.weights = F.scaled_dot_product_attention(
            q, k, v, mask, is_causal, dropout_mask=self.dropout_mask, return_weights=True
        )
        n, h, length, d = heads.shape
        out = self.out_proj(heads.transpose(0, 2, 1, 3).reshape(n, length, h * d))
        out = out if self.batch_first else out.swapaxes(0, 1)
        weights = None
        if need_weights:
            weights = self.weights.mean(axis=1) if average_attn_weights else self.weights
        return out, weights

    def _project(self, query, key, value):
        """q, k, v projected and split into heads: (N, heads, L, d)."""
        e, w, b = self.embed_dim, self.in_proj_weight.data, self.in_proj_bias
        if self.self_attention:  # one product for the three projections
            qkv = query @ w.T + (0 if b is None else b.data)
            parts = [qkv[..., i * e : (i + 1) * e] for i in range(3)]
        else:
            parts = [
                x @ w[i * e : (i + 1) * e].T + (0 if b is None else b.data[i * e : (i + 1) * e])
                for i, x in enumerate((query, key, value))
            ]
        return [self._split_heads(p) for p in parts]

    def _split_heads(self, x):
        n, length, _ = x.shape
        heads = self.num_heads  # sizes written out: a sequence may be empty
        return x.reshape(n, length, heads, self.embed_dim // heads).transpose(0, 2, 1, 3)

    def _combined_mask(self, attn_mask, key_padding_mask, q_shape, keys, dtype):
        """One additive mask, broadcastable to (N, heads, L, S), or None."""
        n, h, length = q_shape[:3]
        mask = None
        if attn_mask is not None:
            shapes = [(length, keys), (n * h, length, keys)]
            mask = _blocking_mask(self, attn_mask, "attn_mask", shapes, dtype)
            if mask.ndim == 3:
                mask = mask.reshape(n, h, length, keys)
        if key_padding_mask is not None:
            padding = _blocking_mask(self, key_padding_mask, "key_padding_mask", [(n, keys)], dtype)
            padding = padding.reshape(n, 1, 1, keys)
            mask = padding if mask is None else mask + padding
        return mask

    def backward(self, grad):
        grad = grad if self.batch_first else grad.swapaxes(0, 1)
        d_heads = self.out_proj.backward(grad)
        n = d_heads.shape[0]
        d_heads = self._split_heads(d_heads)
        dq, dk, dv = F.scaled_dot_product_attention_backward(
            d_heads, self.q, self.k, self.v, self.weights, dropout_mask=self.dropout_mask
        )
        e = self.embed_dim
        merged = [d.transpose(0, 2, 1, 3).reshape(n, d.shape[2], e) for d in (dq, dk, dv)]
        grads = self._projection_backward(merged)
        if not self.batch_first:
            grads = [g.swapaxes(0, 1) for g in grads]
        return tuple(grads)

    def _projection_backward(self, d_projected):
        """dW_in = sum over rows of d^T x per block, db_in = sum of d; the inputs' grads."""
        e, w = self.embed_dim, self.in_proj_weight.data
        grads = []
        for i, (d, x) in enumerate(zip(d_projected, self.inputs)):
            rows, d_rows = x.reshape(-1, e), d.reshape(-1, e)
            self.in_proj_weight.grad[i * e : (i + 1) * e] += d_rows.T @ rows
            if self.in_proj_bias is not None:
                self.in_proj_bias.grad[i * e : (i + 1) * e] += d_rows.sum(axis=0)
            grads.append(d @ w[i * e : (i + 1) * e])
        return grads

    def output_shape(self, input_shapes):
        return tuple(input_shapes[0])  # the query's

    def get_config(self):
        return {
            "embed_dim": self.embed_dim,
            "num_heads": self.num_heads,
            "dropout": self.dropout,
            "bias": self.use_bias,
            "batch_first": self.batch_first,
        }

    def extra_repr(self):
        return f"embed_dim={self.embed_dim}, num_heads={self.num_heads}"


class TransformerEncoderLayer(Module):
    """Self-attention and a feed-forward network, each in a residual connection with
    LayerNorm, PyTorch's ``nn.TransformerEncoderLayer`` (same submodule names, so its
    state_dict loads):

        norm_first=False:  x = norm1(x + SA(x));  x = norm2(x + FF(x))
        norm_first=True:   x = x + SA(norm1(x));  x = x + FF(norm2(x))

    with SA(x) = dropout1(self_attn(x, x, x)) and
    FF(x) = dropout2(linear2(dropout(activation(linear1(x))))).

    Args:
        d_model: features per position (E).
        nhead: attention heads.
        dim_feedforward: the feed-forward network's hidden width.
        dropout: drop probability of the four dropouts (attention weights, SA, FF inside
            and out).
        activation: ``"relu"`` or ``"gelu"``.
        layer_norm_eps: LayerNorm's eps.
        batch_first: (N, S, E) instead of PyTorch's default (S, N, E).
        norm_first: LayerNorm before each sublayer (pre-norm) instead of after.
        bias: learn the biases of the Linears and LayerNorms' shifts.
        seed: int or Generator for the initial weights and the dropout masks.

    ``forward(src, src_mask=None, src_key_padding_mask=None, is_causal=False)``; masks as
    ``MultiheadAttention``'s. In a functional graph ``is_causal=True`` is recorded with the
    call (masks, which change with each batch, are refused there).

    Shape:
        (S, N, d_model), or (N, S, d_model) with ``batch_first``; output the same.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> layer = nn.TransformerEncoderLayer(8, 2, dim_feedforward=16, batch_first=True)
        >>> x = np.zeros((3, 5, 8), dtype=np.float32)
        >>> layer(x, is_causal=True).shape
        (3, 5, 8)
        >>> layer.backward(np.ones((3, 5, 8), dtype=np.float32)).shape
        (3, 5, 8)
    """

    def __init__(self, d_model: int, nhead: int, dim_feedforward: int = 2048,
                 dropout: float = 0.1, activation: str = "relu", layer_norm_eps: float = 1e-5,
                 batch_first: bool = False, norm_first: bool = False, bias: bool = True,
                 seed: Seed = None):  # fmt: skip
        if activation not in ("relu", "gelu"):
            raise ValueError(
                f"TransformerEncoderLayer: activation must be 'relu' or 'gelu', got {activation!r}"
            )
        rng = get_rng(seed)
        self.config = {
            "d_model": d_model, "nhead": nhead, "dim_feedforward": dim_feedforward,
            "dropout": dropout, "activation": activation, "layer_norm_eps": layer_norm_eps,
            "batch_first": batch_first, "norm_first": norm_first, "bias": bias,
        }  # fmt: skip
        # dropout draws from the layer's seed if it has one, else from the library's
        # generator at the time of the draw (so nn.manual_seed reaches it)
        drop_seed = None if seed is None else rng
        self.self_attn = MultiheadAttention(d_model, nhead, dropout, bias, batch_first, drop_seed)
        self.linear1 = Linear(d_model, dim_feedforward, bias=bias, seed=rng)
        self.dropout = Dropout(dropout, seed=drop_seed)
        self.linear2 = Linear(dim_feedforward, d_model, bias=bias, seed=rng)
        self.norm_first = norm_first
        self.norm1 = LayerNorm(d_model, eps=layer_norm_eps)
        self.norm2 = LayerNorm(d_model, eps=layer_norm_eps)
        self.dropout1, self.dropout2 = Dropout(dropout, drop_seed), Dropout(dropout, drop_seed)
        self.activation = ReLU() if activation == "relu" else GELU()
        self._feed_forward = [self.linear1, self.activation, self.dropout, self.linear2]
        self._feed_forward.append(self.dropout2)

    def check_input(self, x):
        attn = self.self_attn
        return _check_sequences(
            self, x, attn.embed_dim, attn.batch_first, attn.in_proj_weight.dtype
        )

    def forward(self, src, src_mask=None, src_key_padding_mask=None, is_causal=False):
        self.masks = {"attn_mask": src_mask, "key_padding_mask": src_key_padding_mask}
        self.is_causal = is_causal
        x = src
        if self.norm_first:
            x = x + self._attention(self.norm1(x))
            return x + self._run(self._feed_forward, self.norm2(x))
        x = self.norm1(x + self._attention(x))
        return self.norm2(x + self._run(self._feed_forward, x))

    def _attention(self, x):
        out, _ = self.self_attn(x, x, x, need_weights=False, is_causal=self.is_causal,
                                **self.masks)  # fmt: skip
        return self.dropout1(out)

    @staticmethod
    def _run(modules, x):
        for module in modules:
            x = module(x)
        return x

    def backward(self, grad):
        if self.norm_first:  # x1 = x + SA(n1(x)); y = x1 + FF(n2(x1))
            grad = grad + self.norm2.backward(self._back(self._feed_forward, grad))
            return grad + self.norm1.backward(self._attention_backward(grad))
        grad = self.norm2.backward(grad)  # x1 = n1(x + SA(x)); y = n2(x1 + FF(x1))
        grad = self.norm1.backward(grad + self._back(self._feed_forward, grad))
        return grad + self._attention_backward(grad)

    def _attention_backward(self, grad):
        """d SA(x)/dx: x is the query, the key and the value, so it gets the three's sum."""
        d_query, d_key, d_value = self.self_attn.backward(self.dropout1.backward(grad))
        return d_query + d_key + d_value

    @staticmethod
    def _back(modules, grad):
        for module in reversed(modules):
            grad = module.backward(grad)
        return grad

    def get_config(self):
        return dict(self.config)

    def extra_repr(self):
        c = self.config
        return f"d_model={c['d_model']}, nhead={c['nhead']}, norm_first={c['norm_first']}"


class TransformerEncoder(Module):
    """A stack of ``num_layers`` encoder layers, PyTorch's ``nn.TransformerEncoder``:

        x_0 = src,  x_k = layer_k(x_{k-1}),  output = norm(x_num_layers) (if ``norm``).

    PyTorch deep-copies ``encoder_layer``, so every copy starts from the same weights;
    names ``layers.0.self_attn...``, as PyTorch's, so its state_dict loads.

    Args:
        encoder_layer: the ``TransformerEncoderLayer`` to copy.
        num_layers: the copies, applied one after another.
        norm: an optional final module (a ``LayerNorm``).

    ``forward(src, mask=None, src_key_padding_mask=None, is_causal=False)`` gives every
    layer the masks.

    Shape:
        that of the layer: (S, N, d_model), or (N, S, d_model) with ``batch_first``.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> block = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.0, batch_first=True)
        >>> encoder = nn.TransformerEncoder(block, num_layers=2, norm=nn.LayerNorm(8))
        >>> encoder(np.zeros((3, 5, 8), dtype=np.float32)).shape
        (3, 5, 8)
        >>> sorted(encoder.state_dict())[:2]
        ['layers.0.linear1.bias', 'layers.0.linear1.weight']
    """

    def __init__(self, encoder_layer: TransformerEncoderLayer, num_layers: int,
                 norm: Module | None = None):  # fmt: skip
        self.layers = [copy.deepcopy(encoder_layer) for _ in range(num_layers)]
        self.num_layers, self.norm = num_layers, norm

    def check_input(self, x):
        return self.layers[0].check_input(x) if self.layers else x

    def forward(self, src, mask=None, src_key_padding_mask=None, is_causal=False):
        for layer in self.layers:
            src = layer(src, mask, src_key_padding_mask, is_causal)
        return src if self.norm is None else self.norm(src)

    def backward(self, grad):
        if self.norm is not None:
            grad = self.norm.backward(grad)
        for layer in reversed(self.layers):
            grad = layer.backward(grad)
        return grad

    def get_config(self):
        return {
            "encoder_layer": names.serialize(self.layers[0]),
            "num_layers": self.num_layers,
            "norm": None if self.norm is None else names.serialize(self.norm),
        }

    @classmethod
    def from_config(cls, config):
        layer = names.deserialize("layer", config["encoder_layer"])
        norm = config.get("norm")
        return cls(
            layer, config["num_layers"], None if norm is None else names.deserialize("layer", norm)
        )

    def extra_repr(self):
        return f"num_layers={self.num_layers}"
