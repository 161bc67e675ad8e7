"""The README's PyTorch-style quick start, exactly: tests/test_examples.py checks that the
code below this docstring and its two directives is the README's block. An MLP learns
whether two of twenty features share a sign, with an explicit training loop.

    python examples/quickstart.py
"""
# ruff: noqa: I001, B007  (the README's layout, kept as written there)
# fmt: off

import numpy as np
import numpynn as nn

nn.manual_seed(0)                                  # same seed, same run, bit for bit
x = np.random.default_rng(0).standard_normal((512, 20)).astype(np.float32)
y = (x[:, 0] * x[:, 1] > 0).astype(np.int64)

model = nn.Sequential(nn.Linear(20, 64), nn.ReLU(), nn.Linear(64, 2))
loss_fn = nn.CrossEntropyLoss()                    # takes logits and integer labels
opt = nn.optim.SGD(model.parameters(), lr=0.1, momentum=0.9)

for epoch in range(30):
    for start in range(0, len(x), 64):
        xb, yb = x[start:start + 64], y[start:start + 64]
        loss = loss_fn(model(xb), yb)              # a float
        opt.zero_grad()
        model.backward(loss_fn.backward())         # gradients flow back through the layers
        opt.step()

print(f"loss {loss:.3f}, accuracy {np.mean(model(x).argmax(1) == y):.2f}")
