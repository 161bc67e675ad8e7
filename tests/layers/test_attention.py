"""Attention: scaled dot-product attention, MultiheadAttention with every mask, the Transformer
encoder; gradients, PyTorch parity, fully masked rows."""

import numpy as np
import pytest
from helpers import assert_close

import numpynn as nn
import numpynn.functional as F

TOLERANCES = {np.float64: (1e-10, 1e-12), np.float32: (2e-5, 2e-6)}


def to_torch(torch, layer, twin, dtype):
    state = {k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in layer.state_dict().items()}
    twin.load_state_dict(state)
    return twin.to(getattr(torch, np.dtype(dtype).name))


class Attention:
    """f(q, k, v) for gradcheck, with fixed masks."""

    def __init__(self, mask=None, is_causal=False):
        self.mask, self.is_causal = mask, is_causal

    def __call__(self, q, k, v):
        self.args = (q, k, v)
        out, self.weights = F.scaled_dot_product_attention(
            q, k, v, self.mask, self.is_causal, return_weights=True
        )
        return out

    def backward(self, grad):
        return F.scaled_dot_product_attention_backward(grad, *self.args, self.weights)


@pytest.mark.parametrize(
    "mask",
    [None, "causal", "bool", "float"],
)
def test_attention_kernel_gradcheck(mask):
    rng = np.random.default_rng(0)
    q, k, v = (
        rng.standard_normal((2, 3, 4)),
        rng.standard_normal((2, 5, 4)),
        rng.standard_normal((2, 5, 3)),
    )
    masks = {"bool": rng.random((3, 5)) > 0.3, "float": rng.standard_normal((2, 3, 5))}
    f = Attention(masks.get(mask), is_causal=mask == "causal")
    nn.gradcheck(f, q, k, v, wrt=(0, 1, 2), eps=1e-6, atol=1e-7, rtol=1e-5)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_attention_kernel_matches_pytorch_incl_a_fully_masked_row(dtype, torch):
    rtol, atol = TOLERANCES[dtype]
    rng = np.random.default_rng(1)
    q, k, v = (
        rng.standard_normal(s).astype(dtype) for s in [(2, 2, 4, 3), (2, 2, 6, 3), (2, 2, 6, 5)]
    )
    mask = rng.random((4, 6)) > 0.4
    mask[2] = False  # query 2 may see no key
    out, weights = F.scaled_dot_product_attention(q, k, v, mask, return_weights=True)
    grad = rng.standard_normal(out.shape).astype(dtype)
    grads = F.scaled_dot_product_attention_backward(grad, q, k, v, weights)
    tq, tk, tv = (torch.tensor(a, requires_grad=True) for a in (q, k, v))
    tout = torch.nn.functional.scaled_dot_product_attention(
        tq, tk, tv, attn_mask=torch.tensor(mask)
    )
    tout.backward(torch.from_numpy(grad))
    assert np.isfinite(out).all() and not out[:, :, 2].any()  # zero, as PyTorch gives
    assert_close(out, tout.detach().numpy(), rtol, atol, "output")
    for name, mine, theirs in zip("qkv", grads, (tq, tk, tv)):
        assert_close(mine, theirs.grad.numpy(), rtol, atol, f"d{name}")


def test_causal_attention_cannot_see_the_future():
    rng = np.random.default_rng(0)
    q, k, v = (rng.standard_normal((1, 4, 2)) for _ in range(3))
    out = F.scaled_dot_product_attention(q, k, v, is_causal=True)
    v2 = v.copy()
    v2[0, 3] += 100  # the last key's value: only the last query sees it
    out2 = F.scaled_dot_product_attention(q, k, v2, is_causal=True)
    np.testing.assert_array_equal(out[0, :3], out2[0, :3])
    assert not np.allclose(out[0, 3], out2[0, 3])


MASKS = ["none", "padding-bool", "attn-float-and-padding", "attn-3d-bool", "causal"]


def make_masks(kind, rng, n, heads, length, keys, dtype):
    padding = np.zeros((n, keys), bool)
    padding[1, -2:] = True
    if kind == "none":
        return {}
    if kind == "padding-bool":
        return {"key_padding_mask": padding}
    if kind == "attn-float-and-padding":
        return {
            "attn_mask": rng.standard_normal((length, keys)).astype(dtype),
            "key_padding_mask": padding,
        }
    if kind == "attn-3d-bool":
        return {"attn_mask": rng.random((n * heads, length, keys)) > 0.7}
    return {"attn_mask": np.triu(np.ones((length, keys), bool), 1), "is_causal": True}


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("batch_first", [False, True])
@pytest.mark.parametrize(
    "kind, cross",
    [
        (kind, cross)
        for kind in MASKS
        for cross in (False, True)
        if not (kind == "causal" and cross)
    ],
)  # causal attention is self-attention
def test_multihead_attention_matches_pytorch(kind, cross, batch_first, dtype, torch):
    rtol, atol = TOLERANCES[dtype]
    rng = np.random.default_rng(2)
    layer = nn.MultiheadAttention(8, 2, batch_first=batch_first).to(dtype)
    twin = to_torch(torch, layer, torch.nn.MultiheadAttention(8, 2, batch_first=batch_first), dtype)
    n, length, keys = 3, 4, (5 if cross else 4)

    def sequences(steps):
        shape = (n, steps, 8) if batch_first else (steps, n, 8)
        return rng.standard_normal(shape).astype(dtype)

    query = sequences(length)
    key, value = (sequences(keys), sequences(keys)) if cross else (query, query)
    masks = make_masks(kind, rng, n, 2, length, keys, dtype)
    out, weights = layer(query, key, value, average_attn_weights=False, **masks)
    upstream = rng.standard_normal(out.shape).astype(dtype)
    grads = layer.backward(upstream)

    tq = torch.tensor(query, requires_grad=True)
    tk, tv = (torch.tensor(a, requires_grad=True) for a in (key, value)) if cross else (tq, tq)
    tmasks = {k: torch.tensor(v) if isinstance(v, np.ndarray) else v for k, v in masks.items()}
    if kind == "attn-float-and-padding":  # PyTorch wants both masks of one type; we mix them
        tmasks["key_padding_mask"] = torch.tensor(
            np.where(masks["key_padding_mask"], -np.inf, 0).astype(dtype)
        )
    tout, tweights = twin(tq, tk, tv, average_attn_weights=False, **tmasks)
    tout.backward(torch.from_numpy(upstream))

    assert_close(out, tout.detach().numpy(), rtol, atol, "output")
    assert_close(weights, tweights.detach().numpy(), rtol, atol, "weights")
    if cross:
        for name, mine, theirs in zip(("query", "key", "value"), grads, (tq, tk, tv)):
            assert_close(mine, theirs.grad.numpy(), rtol, atol, f"d{name}")
    else:
        assert_close(sum(grads), tq.grad.numpy(), rtol, atol, "d(self-attention input)")
    torch_params = dict(twin.named_parameters())
    for name, p in layer.named_parameters():
        assert_close(p.grad, torch_params[name].grad.numpy(), rtol, atol, f"{name}.grad")


def test_multihead_attention_gradcheck_cross_with_masks():
    rng = np.random.default_rng(3)
    layer = nn.MultiheadAttention(4, 2, batch_first=True)
    padding = np.array([[False, False, True], [False, False, False]])
    attn = rng.standard_normal((2, 3))

    class Cross:
        def __call__(self, q, k, v):
            return layer(q, k, v, key_padding_mask=padding, attn_mask=attn)[0]

        def backward(self, grad):
            return layer.backward(grad)

        named_parameters, to = layer.named_parameters, layer.to

    q, k, v = (
        rng.standard_normal((2, 2, 4)),
        rng.standard_normal((2, 3, 4)),
        rng.standard_normal((2, 3, 4)),
    )
    nn.gradcheck(Cross(), q, k, v, wrt=(0, 1, 2), eps=1e-6, atol=1e-7, rtol=1e-5)


def test_fully_masked_query_gives_the_output_bias():
    layer = nn.MultiheadAttention(4, 2, batch_first=True)
    layer.out_proj.bias.data[...] = np.arange(4)
    x = np.random.default_rng(0).standard_normal((2, 3, 4)).astype(np.float32)
    padding = np.array([[True, True, True], [False, True, False]])  # sample 0 sees nothing
    out, weights = layer(x, x, x, key_padding_mask=padding)
    grads = layer.backward(np.ones_like(out))
    assert np.isfinite(out).all() and all(np.isfinite(g).all() for g in grads)
    np.testing.assert_array_equal(out[0], np.broadcast_to(np.arange(4), (3, 4)))
    assert not weights[0].any() and np.allclose(weights[1].sum(-1), 1)


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
@pytest.mark.parametrize("norm_first", [False, True])
def test_encoder_layer_with_masks_matches_pytorch(norm_first, dtype, torch):
    rtol, atol = TOLERANCES[dtype]
    rng = np.random.default_rng(4)
    layer = nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, norm_first=norm_first).to(dtype)
    twin = torch.nn.TransformerEncoderLayer(8, 2, 12, dropout=0.0, norm_first=norm_first)
    twin = to_torch(torch, layer, twin, dtype)
    x = rng.standard_normal((5, 3, 8)).astype(dtype)  # (S, N, E)
    padding = np.zeros((3, 5), bool)
    padding[2, 3:] = True
    causal = np.triu(np.ones((5, 5), bool), 1)
    out = layer(x, src_mask=causal, src_key_padding_mask=padding, is_causal=True)
    upstream = rng.standard_normal(out.shape).astype(dtype)
    grad = layer.backward(upstream)
    tx = torch.tensor(x, requires_grad=True)
    tout = twin(
        tx,
        src_mask=torch.tensor(causal),
        src_key_padding_mask=torch.tensor(padding),
        is_causal=True,
    )
    tout.backward(torch.from_numpy(upstream))
    assert_close(out, tout.detach().numpy(), rtol, atol, "output")
    assert_close(grad, tx.grad.numpy(), rtol, atol, "input grad")
    torch_params = dict(twin.named_parameters())
    for name, p in layer.named_parameters():
        assert_close(p.grad, torch_params[name].grad.numpy(), rtol, atol, f"{name}.grad")


@pytest.mark.torch
def test_pytorch_encoder_stack_state_dict_loads_into_the_twin(torch):
    torch.manual_seed(0)
    block = torch.nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, batch_first=True)
    stack = torch.nn.TransformerEncoder(block, 3, enable_nested_tensor=False).eval()
    mine = nn.TransformerEncoder(
        nn.TransformerEncoderLayer(16, 4, 32, dropout=0.1, batch_first=True), 3
    ).eval()
    mine.load_state_dict({k: v.numpy() for k, v in stack.state_dict().items()})
    x = np.random.default_rng(0).standard_normal((2, 7, 16)).astype(np.float32)
    with torch.no_grad():
        expected = stack(torch.from_numpy(x)).numpy()
    assert_close(mine(x), expected, 1e-4, 1e-5, "encoder output")  # float32, 3 layers deep


def test_encoder_config_round_trip_and_sequential(tmp_path):
    encoder = nn.TransformerEncoder(nn.TransformerEncoderLayer(8, 2, 16, batch_first=True), 2)
    model = nn.Sequential(nn.Embedding(30, 8), encoder, nn.Flatten(), nn.Linear(40, 3))
    x = np.random.default_rng(0).integers(0, 30, (4, 5))
    model.eval()
    nn.save_model(model, tmp_path / "enc.npz")
    loaded = nn.load_model(tmp_path / "enc.npz").eval()
    np.testing.assert_array_equal(loaded(x), model(x))
    with pytest.raises(ValueError, match="divisible"):
        nn.MultiheadAttention(6, 4)


@pytest.mark.parametrize("steps", [1, 5])
@pytest.mark.parametrize("batch", [1, 3, 7])
def test_encoder_layer_gradcheck_causal(batch, steps):
    layer = nn.TransformerEncoderLayer(4, 2, 6, dropout=0.0, batch_first=True)
    x = np.random.default_rng(batch + steps).standard_normal((batch, steps, 4))
    padding = np.zeros((batch, steps), bool)
    padding[0, steps // 2 + 1 :] = True

    class Masked:
        def __call__(self, x):
            return layer(x, src_key_padding_mask=padding, is_causal=True)

        backward, named_parameters, to = layer.backward, layer.named_parameters, layer.to

    nn.gradcheck(Masked(), x, eps=1e-6, atol=1e-7, rtol=1e-5)


# --- hostile masks and empty sequences (issue 22) --------------------------------------------

LAYER = r"MultiheadAttention\(embed_dim=4, num_heads=2\)"


@pytest.mark.torch
@pytest.mark.parametrize(
    "masks, error, message",
    [
        (
            {"key_padding_mask": np.zeros((3, 2), bool)},
            ValueError,
            r"key_padding_mask of shape \(2, 3\), got \(3, 2\)",
        ),
        (
            {"key_padding_mask": np.zeros((2, 3), np.int64)},
            TypeError,
            r"key_padding_mask of dtype bool .* or float .*got int64",
        ),
        (
            {"attn_mask": np.zeros((2, 3), bool)},
            ValueError,
            r"attn_mask of shape \(3, 3\) or \(4, 3, 3\), got \(2, 3\)",
        ),
        (
            {"attn_mask": np.zeros((1, 3, 3), bool)},
            ValueError,
            r"attn_mask of shape \(3, 3\) or \(4, 3, 3\), got \(1, 3, 3\)",
        ),  # PyTorch: no broadcasting
        (
            {"attn_mask": np.zeros((3, 3), np.uint8)},
            TypeError,
            r"attn_mask of dtype bool .*got uint8",
        ),
    ],
    ids=["padding-shape", "padding-int", "attn-2d-shape", "attn-3d-shape", "attn-uint8"],
)
def test_masks_of_the_wrong_shape_or_dtype_are_refused_as_pytorch_does(
    masks, error, message, torch
):
    layer = nn.MultiheadAttention(4, 2, batch_first=True)
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(error, match=rf"{LAYER}: expected {message}"):
        layer(x, x, x, **masks)
    twin = torch.nn.MultiheadAttention(4, 2, batch_first=True)
    tx = torch.from_numpy(x)
    with pytest.raises((RuntimeError, AssertionError)):  # PyTorch refuses each one too
        twin(tx, tx, tx, **{k: torch.from_numpy(v) for k, v in masks.items()})


def test_masks_go_by_keyword_and_key_value_must_fit_the_query():
    layer = nn.MultiheadAttention(4, 2, batch_first=True)
    x = np.zeros((2, 3, 4), np.float32)
    with pytest.raises(TypeError, match=rf"{LAYER}: expected query, key and value .*got 4"):
        layer(x, x, x, np.zeros((2, 3), bool))
    with pytest.raises(ValueError, match=rf"{LAYER}: expected key and value of one length"):
        layer(x, np.zeros((2, 5, 4)), np.zeros((2, 4, 4)))
    with pytest.raises(ValueError, match=r"the query's batch size, got query \(2, 3, 4\), key \(3"):
        layer(x, np.zeros((3, 5, 4)), np.zeros((3, 5, 4)))


@pytest.mark.torch
@pytest.mark.parametrize("empty", ["queries", "keys", "batch"])
def test_empty_sequences_and_batches_as_pytorch(empty, torch):
    layer = nn.MultiheadAttention(4, 2, batch_first=True)
    layer.out_proj.bias.data[...] = [1, 2, 3, 4]  # visible in an output over no keys
    twin = to_torch(torch, layer, torch.nn.MultiheadAttention(4, 2, batch_first=True), np.float32)
    rng = np.random.default_rng(0)
    sizes = {"queries": ((2, 0), (2, 3)), "keys": ((2, 3), (2, 0)), "batch": ((0, 3), (0, 3))}
    (n, length), (n_keys, keys) = sizes[empty]
    query = rng.standard_normal((n, length, 4)).astype(np.float32)
    key = rng.standard_normal((n_keys, keys, 4)).astype(np.float32)
    out, weights = layer(query, key, key)
    t_out, t_weights = twin(*(torch.from_numpy(a) for a in (query, key, key)))
    assert_close(out, t_out.detach().numpy(), 1e-6, 1e-6, "output")
    assert weights.shape == tuple(t_weights.shape)
    grads = layer.backward(np.ones_like(out))
    assert [g.shape for g in grads] == [query.shape, key.shape, key.shape]
    assert all(np.isfinite(g).all() for g in grads)


def test_encoder_dropout_follows_the_library_seed_and_its_own():
    x = np.random.default_rng(0).standard_normal((2, 5, 8)).astype(np.float32)
    layer = nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5, batch_first=True)
    nn.manual_seed(1)
    first = layer(x)
    nn.manual_seed(1)  # before: attention's dropout kept the generator of construction time
    np.testing.assert_array_equal(layer(x), first)
    seeded = [
        nn.TransformerEncoderLayer(8, 2, 16, dropout=0.5, batch_first=True, seed=3) for _ in "ab"
    ]
    outputs = []
    for other in seeded:
        nn.manual_seed(len(outputs))  # a seeded layer ignores the library's generator
        outputs.append(other(x))
    np.testing.assert_array_equal(*outputs)
