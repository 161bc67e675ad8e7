"""Embedding: the scatter-add of repeated indices, padding_idx, bad indices, PyTorch parity."""

import numpy as np
import pytest
from helpers import assert_close
from hypothesis import given, settings
from hypothesis import strategies as st
from hypothesis.extra import numpy as hnp

import numpynn as nn
from numpynn.layers.embedding import scatter_add


@pytest.mark.parametrize("vocabulary", [3, 50, 10_000])  # many repeats, some, few
def test_scatter_add_sums_repeated_rows(vocabulary):
    rng = np.random.default_rng(0)
    rows = rng.integers(0, vocabulary, 500)
    values = rng.standard_normal((500, 4))
    expected = np.zeros((vocabulary, 4))
    for r, v in zip(rows, values):  # the definition, one row at a time
        expected[r] += v
    got = scatter_add(np.zeros((vocabulary, 4)), rows, values)
    assert_close(got, expected, 1e-12, 1e-12, "scatter_add")


def test_repeated_indices_sum_their_gradients():
    layer = nn.Embedding(4, 2).to(np.float64)
    layer(np.array([[3, 1, 3, 3]]))
    layer.backward(np.array([[[1.0, 2.0], [5.0, 5.0], [10.0, 20.0], [100.0, 200.0]]]))
    np.testing.assert_array_equal(layer.weight.grad, [[0, 0], [5, 5], [0, 0], [111, 222]])


@pytest.mark.torch
@pytest.mark.parametrize("dtype", [np.float64, np.float32])
def test_padding_row_matches_pytorch(dtype, torch):
    layer = nn.Embedding(6, 3, padding_idx=-2).to(dtype)  # -2 is row 4
    assert layer.padding_idx == 4 and not layer.weight.data[4].any()
    twin = torch.nn.Embedding(6, 3, padding_idx=4).to(getattr(torch, np.dtype(dtype).name))
    twin.load_state_dict({"weight": torch.from_numpy(layer.weight.data.copy())})
    x = np.array([[4, 0, 4], [1, 4, 1]])
    upstream = np.random.default_rng(1).standard_normal((2, 3, 3)).astype(dtype)
    out = layer(x)
    layer.backward(upstream)
    tout = twin(torch.from_numpy(x))
    tout.backward(torch.from_numpy(upstream))
    assert_close(out, tout.detach().numpy(), 0, 0, "output")
    assert_close(layer.weight.grad, twin.weight.grad.numpy(), 1e-6, 1e-6, "weight.grad")
    assert not layer.weight.grad[4].any()


@pytest.mark.parametrize("bad", [[0, 7], [-1, 2]])
def test_out_of_range_indices_name_the_layer_and_value(bad):
    with pytest.raises(
        ValueError, match=rf"Embedding\(7, 2\).*\[0, 6\], got {bad[1] if bad[1] > 6 else bad[0]}"
    ):
        nn.Embedding(7, 2)(np.array(bad))


def test_float_indices_must_be_whole_numbers():
    layer = nn.Embedding(5, 2)
    assert layer(np.array([[1.0, 4.0]], dtype=np.float32)).shape == (1, 2, 2)
    with pytest.raises(ValueError, match=r"Embedding\(5, 2\).*non-integer.*1.5"):
        layer(np.array([1.5]))


def test_keras_argument_names_and_errors():
    assert nn.Embedding(input_dim=9, output_dim=4).get_config()["embedding_dim"] == 4
    with pytest.raises(TypeError, match="num_embeddings and embedding_dim"):
        nn.Embedding(9)
    with pytest.raises(ValueError, match="padding_idx"):
        nn.Embedding(3, 2, padding_idx=3)


def test_weight_gradient_accumulates_over_backward_calls():
    layer = nn.Embedding(5, 2).to(np.float64)
    layer.zero_grad()
    layer(np.array([1, 3, 1]))
    layer.backward(np.ones((3, 2)))
    layer(np.array([3, 4]))
    layer.backward(np.full((2, 2), 10.0))  # adds to the gradient already there
    np.testing.assert_array_equal(layer.weight.grad[:, 0], [0, 2, 0, 11, 10])


# --- hostile indices (issue 22) --------------------------------------------------------------


@pytest.mark.parametrize(
    "bad, shown",
    [(np.nan, "nan"), (np.inf, "inf"), (-np.inf, "-inf"), (1e30, "1e\\+30"), (-0.5, "-0.5")],
)
def test_non_finite_and_huge_float_indices_are_refused_before_the_cast(bad, shown):
    # NaN passed both range comparisons before, and reached the cast to int64
    with pytest.raises(
        ValueError, match=rf"Embedding\(5, 2\): expected indices in \[0, 4\], got {shown}"
    ):
        nn.Embedding(5, 2)(np.array([1.0, bad]))


@pytest.mark.parametrize("dtype", [bool, np.complex64, "U1", object])
def test_indices_of_other_dtypes_are_refused(dtype):
    with pytest.raises(TypeError, match=r"Embedding\(5, 2\): expected .*"):
        nn.Embedding(5, 2)(np.zeros(3, dtype=dtype))


@pytest.mark.torch
def test_no_indices_give_an_empty_result_as_pytorch(torch):
    layer = nn.Embedding(5, 2)
    out = layer(np.zeros((0, 3), np.int64))
    assert out.shape == tuple(torch.nn.Embedding(5, 2)(torch.zeros((0, 3), dtype=torch.long)).shape)
    layer.zero_grad()
    layer.backward(np.zeros((0, 3, 2), np.float32))
    assert not layer.weight.grad.any()


@given(
    indices=hnp.arrays(
        np.int64,
        hnp.array_shapes(min_dims=1, max_dims=3, min_side=0, max_side=4),
        elements=st.integers(-3, 9),
    ),
    as_float=st.booleans(),
)
@settings(max_examples=80, deadline=None)
def test_any_indices_are_looked_up_or_refused(indices, as_float):
    layer = nn.Embedding(7, 2)
    x = indices.astype(np.float32) if as_float else indices
    if indices.size == 0 or (indices.min() >= 0 and indices.max() < 7):
        out = layer(x)
        np.testing.assert_array_equal(out, layer.weight.data[indices])
    else:
        with pytest.raises(ValueError, match=r"Embedding\(7, 2\): expected indices in \[0, 6\]"):
            layer(x)
