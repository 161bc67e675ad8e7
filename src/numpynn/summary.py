"""``model.summary()``: the table of layers, output shapes and parameter counts.

A model gives its rows (``summary_rows()``: name and type, output shape, parameter count,
inbound layers); this module lays them out as Keras does and adds the totals.

>>> import numpynn as nn
>>> print(summary_text(nn.Sequential(nn.Input(shape=(4,)), nn.Dense(2))))
Model: "sequential"
_______________________________________________________
Layer (type)     Output Shape              Param #
=======================================================
dense_1 (Dense)  (None, 2)                 10
=======================================================
Total params: 10 (40 B)
Trainable params: 10 (40 B)
Non-trainable params: 0 (0 B)
_______________________________________________________
"""

from __future__ import annotations

import re


def snake_case(class_name: str) -> str:
    """Dense -> dense, LeakyReLU -> leaky_relu, Conv2d -> conv2d."""
    return re.sub(r"(?<=[a-z0-9])(?=[A-Z][a-z])", "_", class_name).lower()


def summary_text(model) -> str:
    """The summary table of ``model`` (a Sequential or a functional Model) as text."""
    rows = list(model.summary_rows())
    connected = any(row[3] for row in rows)
    head = ("Layer (type)", "Output Shape", "Param #") + (("Connected to",) if connected else ())
    widths = [max(len(head[0]), *(len(r[0]) for r in rows)) + 2, 26, 12, 24][: len(head)]
    width = sum(widths)

    def line(cells):
        return "".join(str(c).ljust(w) for c, w in zip(cells, widths)).rstrip()

    out = [f'Model: "{model.name or snake_case(type(model).__name__)}"', "_" * width, line(head)]
    out.append("=" * width)
    for name, shape, count, inbound in rows:
        out.append(line((name, shape_text(shape), f"{count:,}", inbound)[: len(head)]))
    return "\n".join(out + ["=" * width, *_totals(model), "_" * width])


def _totals(model) -> list[str]:
    """Total, trainable and non-trainable counts; running statistics are non-trainable."""
    trainable = model.num_parameters()
    trainable_bytes = sum(p.data.nbytes for p in model.parameters())
    frozen = [b for _, b in model.named_buffers() if b.dtype.kind == "f"]  # not counters
    frozen_count, frozen_bytes = sum(b.size for b in frozen), sum(b.nbytes for b in frozen)
    return [
        f"Total params: {trainable + frozen_count:,} ({_bytes(trainable_bytes + frozen_bytes)})",
        f"Trainable params: {trainable:,} ({_bytes(trainable_bytes)})",
        f"Non-trainable params: {frozen_count:,} ({_bytes(frozen_bytes)})",
    ]


def shape_text(shape) -> str:
    """(None, 8) as Keras prints it; ``?`` for an unknown shape, lists joined by commas."""
    if shape is None:
        return "?"
    if isinstance(shape, list):
        return ", ".join(shape_text(s) for s in shape)
    dims = ", ".join("None" if d is None else str(d) for d in shape)
    return f"({dims}{',' if len(shape) == 1 else ''})"


def _bytes(count: float) -> str:
    if count < 1024:
        return f"{count} B"
    for unit in ("KB", "MB", "GB"):
        count /= 1024
        if count < 1024 or unit == "GB":
            break
    return f"{count:.2f} {unit}"


def parameter_count(layer) -> int:
    """Parameters and floating buffers (running statistics), as Keras counts them."""
    buffers = sum(b.size for _, b in layer.named_buffers() if b.dtype.kind == "f")
    return layer.num_parameters() + buffers
