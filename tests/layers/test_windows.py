"""The window engine's fast paths against plain references written as the textbook does.

Conv2d and the pools compute through ``layers/_windows.py`` (im2col in two memory layouts,
col2im one kernel offset at a time, channels-last slabs): the oracle here is a loop over
output positions with one small einsum each, over the grid of kernel, stride, padding,
dilation and groups, in float64.
"""

import itertools

import numpy as np
import pytest
from helpers import assert_close

import numpynn as nn
from numpynn.layers import _windows


def reference_pads(size, kernel, stride, dilation, padding):
    if padding == "valid":
        return [(0, 0), (0, 0)]
    if padding == "same":  # ceil(size / stride) outputs, the odd extra after
        pads = []
        for n, k, s, d in zip(size, kernel, stride, dilation):
            total = max((-(-n // s) - 1) * s + (k - 1) * d + 1 - n, 0)
            pads.append((total // 2, total - total // 2))
        return pads
    return [(p, p) for p in padding]


def window_at(padded, i, j, kernel, stride, dilation):
    """The window of output position (i, j): (N, C, KH, KW)."""
    (kh, kw), (sh, sw), (dh, dw) = kernel, stride, dilation
    return padded[
        :, :, i * sh : i * sh + dh * (kh - 1) + 1 : dh, j * sw : j * sw + dw * (kw - 1) + 1 : dw
    ]


def reference_conv2d(x, weight, bias, grad, stride, pads, dilation, groups):
    """Output, input gradient, weight and bias gradients, one output position at a time."""
    kernel, (o, cg) = weight.shape[2:], weight.shape[:2]
    padded = np.pad(x, [(0, 0), (0, 0), *pads])
    oh, ow = grad.shape[2:]
    og = o // groups
    out, dpadded, dweight = np.zeros(grad.shape), np.zeros_like(padded), np.zeros_like(weight)
    for i, j, g in itertools.product(range(oh), range(ow), range(groups)):
        outs, ins = slice(g * og, (g + 1) * og), slice(g * cg, (g + 1) * cg)
        window = window_at(padded, i, j, kernel, stride, dilation)[:, ins]
        out[:, outs, i, j] = np.einsum("nckl,ockl->no", window, weight[outs])
        dweight[outs] += np.einsum("no,nckl->ockl", grad[:, outs, i, j], window)
        dwindow = np.einsum("no,ockl->nckl", grad[:, outs, i, j], weight[outs])
        window_at(dpadded[:, ins], i, j, kernel, stride, dilation)[...] += dwindow
    (top, bottom), (left, right) = pads
    dx = dpadded[:, :, top : dpadded.shape[2] - bottom, left : dpadded.shape[3] - right]
    return out + bias[None, :, None, None], dx, dweight, grad.sum(axis=(0, 2, 3))


CONV_GRID = list(itertools.product([1, 3, (2, 3)], [1, 2], [0, 1, "same", "valid"], [1, 2], [1, 2]))


def channels_last(x):
    """The same images, laid out channels-last in memory (as a convolution's output)."""
    return np.ascontiguousarray(x.transpose(0, 2, 3, 1)).transpose(0, 3, 1, 2)


# both layouts of im2col (by the input channels) and of the output (by channels_last_from),
# from inputs in both memory orders
@pytest.mark.parametrize(
    "channels, output, memory",
    [(4, "channels-first", "C"), (8, "channels-last", "C"), (8, "channels-last", "last")],
)
@pytest.mark.parametrize("kernel, stride, padding, dilation, groups", CONV_GRID)
def test_conv2d_equals_the_reference_loops(
    kernel, stride, padding, dilation, groups, channels, output, memory
):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, channels, 7, 6))
    x = channels_last(x) if memory == "last" else x
    layer = nn.Conv2d(channels, 4, kernel, stride, padding, dilation, groups).to(np.float64)
    layer.channels_last_from = 0 if output == "channels-last" else 10**9
    out = layer(x)
    grad = rng.normal(size=out.shape)
    dx = layer.backward(grad)
    k, s, d = layer.kernel_size, layer.stride, layer.dilation
    pads = reference_pads(
        x.shape[2:], k, s, d, padding if isinstance(padding, str) else (padding,) * 2
    )
    expected = reference_conv2d(x, layer.weight.data, layer.bias.data, grad, s, pads, d, groups)
    for name, got, want in zip(
        ("output", "dx", "weight.grad", "bias.grad"),
        (out, dx, layer.weight.grad, layer.bias.grad),
        expected,
    ):
        assert_close(got, want, 1e-10, 1e-12, name)


@pytest.mark.parametrize("kernel, stride, padding", [(3, 1, 1), (5, 2, "same"), (2, 3, 0)])
def test_conv1d_equals_the_reference_loops_at_height_one(kernel, stride, padding):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(3, 4, 11))
    layer = nn.Conv1d(4, 6, kernel, stride, padding, dilation=2, groups=2).to(np.float64)
    out = layer(x)
    grad = rng.normal(size=out.shape)
    dx = layer.backward(grad)
    k, s, d = layer.kernel_size, layer.stride, layer.dilation
    pads = reference_pads((1, 11), k, s, d, padding if isinstance(padding, str) else (0, padding))
    weight = layer.weight.data[:, :, None]
    want = reference_conv2d(x[:, :, None], weight, layer.bias.data, grad[:, :, None], s, pads, d, 2)
    assert_close(out, want[0][:, :, 0], 1e-10, 1e-12, "output")
    assert_close(dx, want[1][:, :, 0], 1e-10, 1e-12, "dx")
    assert_close(layer.weight.grad, want[2][:, :, 0], 1e-10, 1e-12, "weight.grad")


def reference_max_pool(x, grad, kernel, stride, pads):
    """Maximum per window and its gradient routed to the window's first maximum."""
    padded = np.pad(x, [(0, 0), (0, 0), *pads], constant_values=-np.inf)
    out, dpadded = np.zeros(grad.shape), np.zeros_like(padded)
    n, c, oh, ow = grad.shape
    for i, j in itertools.product(range(oh), range(ow)):
        window = window_at(padded, i, j, kernel, stride, (1, 1)).reshape(n, c, -1)
        out[:, :, i, j] = window.max(axis=-1)
        first = np.argmax(window, axis=-1)  # the first maximum in row-major order
        routed = np.zeros_like(window)
        np.put_along_axis(routed, first[..., None], grad[:, :, i, j][..., None], axis=-1)
        window_at(dpadded, i, j, kernel, stride, (1, 1))[...] += routed.reshape(n, c, *kernel)
    (top, bottom), (left, right) = pads
    return out, dpadded[:, :, top : padded.shape[2] - bottom, left : padded.shape[3] - right]


@pytest.mark.parametrize(
    "kernel, stride, padding",
    list(itertools.product([2, 3, (2, 3)], [None, 1, 2], [0, 1, "same"])),
)
@pytest.mark.parametrize("ties", [False, True])
def test_max_pool_equals_the_reference_loops(kernel, stride, padding, ties):
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, 3, 7, 6))
    if ties:
        x = np.round(x)  # many windows with their maximum twice
    layer = nn.MaxPool2d(kernel, stride, padding)
    out = layer(x)
    grad = rng.normal(size=out.shape)
    dx = layer.backward(grad)
    k, s = layer.kernel_size, layer.stride
    pads = reference_pads(
        x.shape[2:], k, s, (1, 1), padding if isinstance(padding, str) else (padding,) * 2
    )
    want_out, want_dx = reference_max_pool(x, grad, k, s, pads)
    assert_close(out, want_out, 0, 0, "output")
    assert_close(dx, want_dx, 1e-12, 1e-12, "dx")


@pytest.mark.parametrize("channels", [3, 8])
@pytest.mark.parametrize(
    "kernel, stride, dilation",
    [((3, 3), (1, 1), (1, 1)), ((2, 3), (2, 1), (1, 2)), ((2, 2), (2, 2), (1, 1))],
)
def test_col2im_is_the_adjoint_of_im2col(kernel, stride, dilation, channels):
    """<im2col(x), c> = <x, col2im(c)> for every x and c: col2im adds each value back
    exactly where im2col took it from (the tiling case (2, 2) / (2, 2) included)."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(2, channels, 6, 8))
    cols = _windows.im2col(x, [(0, 0), (0, 0)], kernel, stride, dilation)
    c = rng.normal(size=cols.shape)
    oh, ow = _windows.window_counts(x.shape, kernel, stride, dilation)
    per_offset = c.reshape(2, oh, ow, kernel[0] * kernel[1], channels).transpose(3, 0, 4, 1, 2)
    back = _windows.col2im(
        x.shape, x.dtype, lambda a, b, slot: per_offset[a * kernel[1] + b], kernel, stride, dilation
    )
    assert_close(np.sum(cols * c), np.sum(x * back), 1e-12, 0, "<im2col(x), c> - <x, col2im(c)>")


@pytest.mark.parametrize(
    "make",
    [
        lambda: nn.Conv2d(8, 16, 3, padding=1),
        lambda: nn.Conv2d(8, 4, 3, stride=2, groups=2),
        lambda: nn.MaxPool2d(2),
        lambda: nn.MaxPool2d(3, stride=2, padding=1),
        lambda: nn.AvgPool2d(2),
        lambda: nn.BatchNorm2d(8),
        lambda: nn.BatchNorm2d(8).eval(),
    ],
    ids=["conv", "conv-groups", "maxpool", "maxpool-3s2p1", "avgpool", "batchnorm", "bn-eval"],
)
def test_layers_give_the_same_numbers_for_channels_last_memory(make):
    """A channels-last image (a convolution's output) and a channels-first one with the
    same values: the same outputs and gradients, whatever memory order each layer picks."""
    rng = np.random.default_rng(0)
    x = rng.normal(size=(4, 8, 6, 6))
    first, last = make().to(np.float64), make().to(np.float64)
    last.load_state_dict(first.state_dict())
    out_first, out_last = first(x), last(channels_last(x))
    grad = rng.normal(size=out_first.shape)
    assert_close(out_last, out_first, 1e-12, 1e-12, "output")
    for grad_memory in (grad, channels_last(grad)):
        for p in (*first.parameters(), *last.parameters()):
            p.zero_grad()
        assert_close(last.backward(grad_memory), first.backward(grad), 1e-12, 1e-12, "dx")
        for (name, p), q in zip(last.named_parameters(), first.parameters()):
            assert_close(p.grad, q.grad, 1e-12, 1e-12, f"{name}.grad")
