"""Convolution, pooling and normalization beyond the generic registry: parity with PyTorch
over the grid of TESTING.md row 10, BatchNorm over several steps, and the errors."""

import itertools

import numpy as np
import pytest
from helpers import assert_close

import numpynn as nn

GRID = [
    dict(kernel_size=k, stride=s, padding=p, dilation=d)
    for k, s, p, d in itertools.product([1, 3], [1, 2], [0, 1, "same"], [1, 2])
    if not (p == "same" and s == 2)  # PyTorch refuses "same" with stride 2
]


def compare(layer, twin, x, torch, rtol=1e-10, atol=1e-12, what=""):
    """Output, input gradient and parameter gradients against PyTorch, float64."""
    twin = twin.double()  # before loading: float64 weights must not pass through float32
    state = layer.state_dict()
    twin.load_state_dict({k: torch.from_numpy(np.ascontiguousarray(v)) for k, v in state.items()})
    out = layer(x)
    upstream = np.random.default_rng(1).normal(size=out.shape)
    grad = layer.backward(upstream)
    tx = torch.tensor(x, requires_grad=True)
    tout = twin(tx)
    tout.backward(torch.from_numpy(upstream))
    assert_close(out, tout.detach().numpy(), rtol, atol, f"{what} output")
    assert_close(grad, tx.grad.numpy(), rtol, atol, f"{what} input grad")
    tgrads = dict(twin.named_parameters())
    for name, p in layer.named_parameters():
        assert_close(p.grad, tgrads[name].grad.numpy(), rtol, atol, f"{what} {name}.grad")
    return twin


# im2col takes one of two layouts by the channel count (_windows.im2col): 3 and 8 channels
# put every case through both
@pytest.mark.torch
@pytest.mark.parametrize("channels", [3, 8])
@pytest.mark.parametrize("options", GRID, ids=[str(o) for o in GRID])
def test_conv2d_grid_matches_pytorch(options, channels, torch):
    x = np.random.default_rng(0).normal(size=(2, channels, 7, 6))  # non-square, C > 1, N > 1
    layer = nn.Conv2d(channels, 4, **options).to(np.float64)
    compare(layer, torch.nn.Conv2d(channels, 4, **options), x, torch, what=str(options))


@pytest.mark.parametrize("channels", [2, 8])
@pytest.mark.parametrize("options", GRID[::3], ids=[str(o) for o in GRID[::3]])
def test_conv2d_grid_gradcheck(options, channels):
    x = np.random.default_rng(0).normal(size=(2, channels, 6, 5))
    nn.gradcheck(nn.Conv2d(channels, 2, **options), x)


@pytest.mark.torch
@pytest.mark.parametrize("channels, groups", [(4, 2), (4, 4), (8, 2), (8, 8)])
def test_grouped_and_depthwise_conv(channels, groups, torch):
    x = np.random.default_rng(0).normal(size=(3, channels, 5, 5))
    layer = nn.Conv2d(channels, 8, 3, padding=1, groups=groups).to(np.float64)
    compare(layer, torch.nn.Conv2d(channels, 8, 3, padding=1, groups=groups), x, torch)


@pytest.mark.torch
@pytest.mark.parametrize(
    "options",
    [
        dict(kernel_size=3),
        dict(kernel_size=5, stride=2, padding=2, dilation=1),
        dict(kernel_size=3, padding="same", dilation=3),
    ],
)
def test_conv1d_matches_pytorch(options, torch):
    x = np.random.default_rng(0).normal(size=(2, 3, 11))
    layer = nn.Conv1d(3, 5, **options).to(np.float64)
    compare(layer, torch.nn.Conv1d(3, 5, **options), x, torch)


@pytest.mark.torch
@pytest.mark.parametrize(
    "options",
    [
        dict(kernel_size=2),
        dict(kernel_size=3, stride=1),
        dict(kernel_size=3, stride=2, padding=1),
        dict(kernel_size=(2, 3), stride=(1, 2)),
    ],
)
@pytest.mark.parametrize("kind", ["MaxPool2d", "AvgPool2d"])
def test_pooling_matches_pytorch(kind, options, torch):
    x = np.random.default_rng(0).normal(size=(2, 3, 7, 6))
    compare(getattr(nn, kind)(**options), getattr(torch.nn, kind)(**options), x, torch)


@pytest.mark.torch
def test_max_pool_ties_go_to_the_first_maximum_as_in_pytorch(torch):
    x = np.zeros((1, 1, 4, 4))  # every window a tie
    x[0, 0, 1, 1] = x[0, 0, 2, 2] = 1.0
    compare(nn.MaxPool2d(2, stride=1), torch.nn.MaxPool2d(2, stride=1), x, torch)
    compare(
        nn.MaxPool2d(3, stride=1, padding=1),
        torch.nn.MaxPool2d(3, stride=1, padding=1),
        np.zeros((1, 2, 3, 3)),
        torch,
    )


@pytest.mark.torch
@pytest.mark.parametrize("kind", ["BatchNorm2d", "BatchNorm1d"])
def test_batchnorm_over_several_steps_then_eval(kind, torch):
    rng = np.random.default_rng(0)
    shape = (4, 3, 5, 5) if kind == "BatchNorm2d" else (6, 3)
    layer = getattr(nn, kind)(3, momentum=0.2).to(np.float64)
    layer.weight.data[...] = rng.normal(size=3)
    layer.bias.data[...] = rng.normal(size=3)
    twin = getattr(torch.nn, kind)(3, momentum=0.2)
    for step in range(3):
        x = rng.normal(2, 3, size=shape)
        for p in layer.parameters():
            p.zero_grad()
        twin.zero_grad()
        twin = compare(layer, twin, x, torch, what=f"step {step}")
        for name in ("running_mean", "running_var"):
            assert_close(getattr(layer, name), getattr(twin, name).numpy(), 1e-12, 1e-12, name)
        assert int(layer.num_batches_tracked) == step + 1
    layer.eval()
    twin.eval()
    compare(layer, twin, rng.normal(size=shape), torch, what="eval")


def test_batchnorm_eval_gradcheck_and_batch_of_one():
    layer = nn.BatchNorm2d(2)
    layer(np.random.default_rng(0).normal(size=(4, 2, 3, 3)).astype(np.float32))
    layer.eval()
    nn.gradcheck(layer, np.random.default_rng(1).normal(size=(1, 2, 3, 3)))
    layer.train()
    with pytest.raises(ValueError, match="one value per channel in training mode"):
        nn.BatchNorm1d(2)(np.zeros((1, 2)))


def test_keras_batchnormalization_momentum_is_pytorchs_complement():
    layer = nn.BatchNormalization(momentum=0.9)
    layer(np.ones((4, 2, 3), dtype=np.float32) * 5)
    np.testing.assert_allclose(layer.running_mean, [0.5, 0.5], rtol=1e-6)  # 0.9 * 0 + 0.1 * 5


def test_errors_name_the_layer():
    with pytest.raises(
        ValueError,
        match=r"Conv2d\(3 -> 16, k=3x3\): expected \(N, 3, H, W\), got \(2, 28, 28, 3\); "
        "images are channels-first",
    ):
        nn.Conv2d(3, 16, 3)(np.zeros((2, 28, 28, 3)))
    with pytest.raises(
        ValueError, match=r"expected \(N, 1, H, W\), got \(2, 28, 28\); add the channel axis"
    ):
        nn.Conv2d(1, 4, 3)(np.zeros((2, 28, 28)))
    with pytest.raises(ValueError, match="smaller than the kernel .* the output would be empty"):
        nn.Conv2d(1, 1, 5)(np.zeros((1, 1, 4, 4)))
    with pytest.raises(ValueError, match="smaller than the kernel window"):
        nn.MaxPool2d(3)(np.zeros((1, 1, 2, 2)))
    with pytest.raises(ValueError, match="multiples of groups=2"):
        nn.Conv2d(3, 4, 3, groups=2)
    with pytest.raises(ValueError, match="padding must be 'same', 'valid' or an int"):
        nn.Conv2d(1, 1, 3, padding="full")


def test_keras_conv2d_with_same_padding_and_strides():
    layer = nn.Conv2D(4, 3, strides=2, padding="same", activation="relu", input_shape=(2, 7, 7))
    assert layer(np.zeros((1, 2, 7, 7), dtype=np.float32)).shape == (1, 4, 4, 4)  # ceil(7 / 2)
    nn.gradcheck(
        nn.Conv2D(2, 3, strides=2, padding="same"),
        np.random.default_rng(0).normal(size=(2, 2, 6, 5)),
    )
    assert nn.MaxPooling2D(2, padding="same")(np.zeros((1, 1, 5, 5))).shape == (1, 1, 3, 3)


def test_a_cnn_in_a_functional_graph_saves_and_loads(tmp_path):
    inputs = nn.Input(shape=(1, 8, 8))
    x = nn.Conv2D(4, 3, padding="same", activation="relu")(inputs)
    x = nn.MaxPooling2D()(nn.BatchNormalization()(x))
    outputs = nn.Dense(10, activation="softmax")(nn.Flatten()(x))
    model = nn.Model(inputs, outputs)
    assert x.shape == (None, 4, 4, 4)
    optimizer = nn.optim.Adam(model.parameters(), lr=0.01)
    model.compile(optimizer, "sparse_categorical_crossentropy", metrics=["accuracy"])
    digits = nn.data.load_digits(flat=False)
    history = model.fit(digits.x[:800], digits.y[:800], epochs=5, batch_size=32, verbose=0, seed=0)
    assert history.history["accuracy"][-1] > 0.8
    model.save(tmp_path / "cnn.npz")
    np.testing.assert_array_equal(
        nn.load_model(tmp_path / "cnn.npz").predict(digits.x[:50]), model.predict(digits.x[:50])
    )
    lines = []
    model.summary(print_fn=lines.append)
    assert "(None, 4, 8, 8)" in lines[0] and "Non-trainable params: 8" in lines[0]


@pytest.mark.torch
@pytest.mark.parametrize(
    "make",
    [
        lambda t: (
            nn.Conv2d(2, 3, 3, stride=2, padding=1),
            t.nn.Conv2d(2, 3, 3, stride=2, padding=1),
        ),
        lambda t: (nn.MaxPool2d(3, stride=2, padding=1), t.nn.MaxPool2d(3, stride=2, padding=1)),
        lambda t: (nn.AvgPool2d(2), t.nn.AvgPool2d(2)),
        lambda t: (nn.BatchNorm2d(2), t.nn.BatchNorm2d(2)),
        lambda t: (nn.LayerNorm((5, 5)), t.nn.LayerNorm((5, 5))),
    ],
    ids=["conv", "maxpool", "avgpool", "batchnorm", "layernorm"],
)
def test_a_batch_of_one_matches_pytorch(make, torch):
    layer, twin = make(torch)
    compare(layer.to(np.float64), twin, np.random.default_rng(0).normal(size=(1, 2, 5, 5)), torch)


@pytest.mark.parametrize(
    "kernel, stride, dilation",
    [((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (1, 2)), ((1, 2), (3, 2), (2, 1))],
)
@pytest.mark.parametrize("axes", [(2, 3), (1, 2)])
@pytest.mark.parametrize("contiguous", ["contiguous", "view"])
def test_sliding_windows_are_numpys_windows(kernel, stride, dilation, axes, contiguous):
    """sliding_windows builds its view by strides; numpy's sliding_window_view, sliced,
    is the reference."""
    from numpynn.layers import _windows

    x = np.arange(2 * 3 * 9 * 8, dtype=np.float32).reshape(2, 3, 9, 8)
    if axes == (1, 2):
        x = np.ascontiguousarray(x.transpose(0, 2, 3, 1))
    if contiguous == "view":  # a non-contiguous input takes the other way to the view
        x = np.concatenate([x, x], axis=-1)[..., : x.shape[-1]]
    span = [(k - 1) * d + 1 for k, d in zip(kernel, dilation)]
    expected = np.lib.stride_tricks.sliding_window_view(x, span, axis=axes)
    index = [slice(None)] * expected.ndim
    index[axes[0]], index[axes[1]] = slice(None, None, stride[0]), slice(None, None, stride[1])
    index[-2:] = [slice(None, None, dilation[0]), slice(None, None, dilation[1])]
    got = _windows.sliding_windows(x, kernel, stride, dilation, axes=axes)
    np.testing.assert_array_equal(got, expected[tuple(index)])
    assert not got.flags.writeable
