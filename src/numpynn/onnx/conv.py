"""Convolution and pooling: Conv, MaxPool, AveragePool, GlobalAveragePool, both ways."""

from __future__ import annotations

from numpynn import functional as F
from numpynn import layers as L

# --- export ------------------------------------------------------------------------------------


def _sizes(layer, shape, value):
    """The last ``len(shape) - 2`` entries of a pair stored for 2-D (Conv1d keeps (1, k))."""
    return [int(v) for v in value[-(len(shape) - 2) :]]


def _pads(layer, shape, dilation) -> list[int]:
    """ONNX's pads (all befores, then all afters) for numpynn's padding of ``layer``."""
    spatial = len(shape) - 2
    kernel, stride = _sizes(layer, shape, layer.kernel_size), _sizes(layer, shape, layer.stride)
    if layer.padding == "valid":
        pairs = [(0, 0)] * spatial
    elif layer.padding == "same":
        if None in shape[2:]:
            raise ValueError(
                f"onnx.export: {layer.describe()} pads 'same' for the input's size, which must "
                f"be known; got {shape}: give example_input or input_shape"
            )
        pairs = [
            F.same_padding(n, k, s, d) for n, k, s, d in zip(shape[2:], kernel, stride, dilation)
        ]
    else:
        pairs = [(p, p) for p in _sizes(layer, shape, layer.padding)]
    return [b for b, _ in pairs] + [a for _, a in pairs]


def export_conv(layer, g, x, shape, name):
    dilation = _sizes(layer, shape, layer.dilation)
    inputs = [x, g.constant(layer.weight.data, f"{name}.weight")]
    if layer.bias is not None:
        inputs.append(g.constant(layer.bias.data, f"{name}.bias"))
    return g.node(
        "Conv",
        inputs,
        name,
        kernel_shape=_sizes(layer, shape, layer.kernel_size),
        strides=_sizes(layer, shape, layer.stride),
        dilations=dilation,
        pads=_pads(layer, shape, dilation),
        group=layer.groups,
    )


def export_pool(layer, g, x, shape, name):
    attributes = {
        "kernel_shape": _sizes(layer, shape, layer.kernel_size),
        "strides": _sizes(layer, shape, layer.stride),
        "pads": _pads(layer, shape, [1] * (len(shape) - 2)),
    }
    if isinstance(layer, L.AvgPool2d):  # numpynn averages padded zeros too
        return g.node("AveragePool", [x], name, count_include_pad=1, **attributes)
    return g.node("MaxPool", [x], name, **attributes)


def export_global_average(layer, g, x, shape, name):
    pooled = g.node("GlobalAveragePool", [x], name)
    if isinstance(layer, L.GlobalAveragePooling2D):
        return g.node("Flatten", [pooled], name, axis=1)
    return pooled


# --- import ------------------------------------------------------------------------------------


def _padding(im, node, a, shape, kernel, stride, dilation):
    """numpynn's padding for ONNX's pads (or auto_pad) on an input of ``shape``."""
    auto = a.get("auto_pad", "NOTSET")
    spatial = len(kernel)
    if auto == "VALID":
        return 0
    if auto == "SAME_UPPER":
        return "same"
    if auto != "NOTSET":
        im.fail(node, f"auto_pad={auto} is not supported")
    pads = list(a.get("pads", [0] * 2 * spatial))
    pairs = list(zip(pads[:spatial], pads[spatial:]))
    if all(b == e for b, e in pairs):
        return tuple(b for b, _ in pairs) if spatial == 2 else pairs[0][0]
    same = [F.same_padding(n, k, s, d) for n, k, s, d in zip(shape[2:], kernel, stride, dilation)]
    if pairs == same:
        return "same"
    im.fail(node, f"asymmetric pads {pads} are supported only as 'same' padding")


def import_conv(im, node, a):
    weight = im.constant(node, node.input[1])
    spatial = weight.ndim - 2
    if spatial not in (1, 2):
        im.fail(node, f"{spatial}-D convolution is not supported")
    kernel = list(weight.shape[2:])
    stride, dilation = a.get("strides", [1] * spatial), a.get("dilations", [1] * spatial)
    shape = im.tensors[node.input[0]].shape
    padding = _padding(im, node, a, shape, kernel, stride, dilation)
    group = a.get("group", 1)
    bias = im.constants.get(node.input[2]) if len(node.input) > 2 and node.input[2] else None
    cls = L.Conv2d if spatial == 2 else L.Conv1d
    one = (lambda v: v) if spatial == 2 else (lambda v: v[0])
    layer = cls(
        weight.shape[1] * group,
        weight.shape[0],
        one(kernel),
        stride=one(stride),
        padding=padding,
        dilation=one(dilation),
        groups=group,
        bias=bias is not None,
    )
    im.fill(node, layer.weight, weight)
    if bias is not None:
        im.fill(node, layer.bias, bias)
    im.add(node, layer, node.input[:1])


def _pool(im, node, a, average):
    if a.get("ceil_mode", 0) or any(d != 1 for d in a.get("dilations", [1])):
        im.fail(node, "ceil_mode and dilations are not supported")
    if len(node.output) > 1 and node.output[1]:
        im.fail(node, "the indices output is not supported")
    kernel = list(im.required(node, a, "kernel_shape"))
    stride = list(a.get("strides", [1] * len(kernel)))
    shape = im.tensors[node.input[0]].shape
    padding = _padding(im, node, a, shape, kernel, stride, [1] * len(kernel))
    if average and padding != 0 and not a.get("count_include_pad", 0):
        im.fail(node, "count_include_pad=0 with padding is not supported")
    if len(kernel) == 2:
        cls = L.AvgPool2d if average else L.MaxPool2d
        layer = cls(tuple(kernel), tuple(stride), padding)
    elif len(kernel) == 1 and not average:
        layer = L.MaxPool1d(kernel[0], stride[0], padding)
    else:
        im.fail(node, f"{len(kernel)}-D {'average' if average else 'max'} pooling")
    im.add(node, layer, node.input[:1])


def import_max_pool(im, node, a):
    _pool(im, node, a, average=False)


def import_average_pool(im, node, a):
    _pool(im, node, a, average=True)


def import_global_average_pool(im, node, a):
    im.add(node, L.AdaptiveAvgPool2d(1), node.input[:1])


EXPORTS = {
    L.Conv2d: export_conv,  # and Conv1d, Conv2D: subclasses
    L.MaxPool2d: export_pool,  # and MaxPool1d, MaxPooling2D
    L.AvgPool2d: export_pool,
    L.AdaptiveAvgPool2d: export_global_average,
}
IMPORTS = {
    "Conv": import_conv,
    "MaxPool": import_max_pool,
    "AveragePool": import_average_pool,
    "GlobalAveragePool": import_global_average_pool,
}
