"""Dropout (TESTING.md #8)."""

import numpy as np
import pytest

import numpynn as nn


def test_eval_is_the_identity_bit_for_bit(rng):
    x = rng.standard_normal((4, 5)).astype(np.float32)
    layer = nn.Dropout(0.5).eval()
    out = layer(x)
    np.testing.assert_array_equal(out, x)
    np.testing.assert_array_equal(layer.backward(x), x)


def test_p_is_the_drop_probability_and_survivors_are_scaled():
    layer = nn.Dropout(0.25, seed=0)
    x = np.ones((200, 500), dtype=np.float32)
    out = layer(x)
    dropped = np.mean(out == 0)
    assert abs(dropped - 0.25) < 0.01  # 100,000 draws: std of the fraction is 0.0014
    np.testing.assert_allclose(out[out != 0], 1 / 0.75, rtol=1e-6)
    assert abs(out.mean() - 1) < 0.02  # inverted dropout keeps the expectation


def test_backward_applies_the_same_mask():
    layer = nn.Dropout(0.5, seed=1)
    x = np.ones((3, 8))
    out = layer(x)
    np.testing.assert_array_equal(layer.backward(np.full_like(x, 3.0)), 3.0 * out)


def test_seeded_layers_repeat_and_the_library_seed_drives_unseeded_ones():
    x = np.ones((4, 6))
    assert np.array_equal(nn.Dropout(0.5, seed=3)(x), nn.Dropout(0.5, seed=3)(x))
    nn.manual_seed(5)
    first = nn.Dropout(0.5)(x)
    nn.manual_seed(5)
    assert np.array_equal(nn.Dropout(0.5)(x), first)


def test_extreme_probabilities():
    x = np.ones((2, 3))
    np.testing.assert_array_equal(nn.Dropout(1.0)(x), np.zeros_like(x))
    np.testing.assert_array_equal(nn.Dropout(0.0)(x), x)
    with pytest.raises(ValueError, match="drop probability"):
        nn.Dropout(1.5)


def test_dropout2d_drops_whole_channels_and_rescales():
    x = np.ones((64, 8, 3, 3), dtype=np.float32)
    layer = nn.Dropout2d(0.25, seed=0)
    out = layer(x)
    per_channel = out.reshape(64, 8, -1)
    assert np.all(per_channel.min(axis=2) == per_channel.max(axis=2))  # a channel is kept or not
    assert set(np.unique(out).tolist()) <= {0.0, float(np.float32(1 / 0.75))}
    assert abs(np.mean(out == 0) - 0.25) < 0.06  # p is the drop probability
    np.testing.assert_array_equal(layer.backward(np.ones_like(out)), out)  # same mask
    layer.eval()
    assert layer(x) is x
    with pytest.raises(ValueError, match=r"Dropout2d\(p=0.25\): expected \(N, C, H, W\)"):
        nn.Dropout2d(0.25)(np.ones((4, 3)))


# --- one mask for every layer with dropout ---------------------------------------------------


@pytest.mark.parametrize("dtype", [np.float16, np.float32, np.float64])
def test_dropout_mask_is_drawn_in_the_dtype_and_scaled(dtype):
    from numpynn.layers.dropout import dropout_mask

    mask = dropout_mask((400, 500), 0.2, dtype, np.random.default_rng(0))
    assert mask.dtype == dtype
    assert sorted(np.unique(mask).tolist()) == [0.0, float(np.asarray(1 / 0.8, dtype))]
    assert abs(np.mean(mask == 0) - 0.2) < 0.005  # 200,000 draws: std 0.0009
    out = nn.Dropout(0.5, seed=0)(np.ones(8, dtype))  # float16 could not be drawn before
    assert out.dtype == dtype


def test_dropout_mask_follows_the_generator_it_is_given():
    from numpynn.layers.dropout import dropout_mask

    a = dropout_mask((50,), 0.5, np.float32, np.random.default_rng(3))
    b = dropout_mask((50,), 0.5, np.float32, np.random.default_rng(3))
    np.testing.assert_array_equal(a, b)
    nn.manual_seed(5)
    c = dropout_mask((50,), 0.5, np.float32)  # None: the library's generator
    nn.manual_seed(5)
    np.testing.assert_array_equal(c, dropout_mask((50,), 0.5, np.float32))
    assert dropout_mask((3,), 1.0, np.float32).tolist() == [0, 0, 0]  # p = 1 drops all
