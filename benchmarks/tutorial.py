"""The benchmarks' MLP written the way NumPy tutorials write it: the baseline to leave behind.

Weights kept as (in, out) arrays in lists, a forward pass of ``np.dot`` and
``np.maximum``, a hand-written backward pass, SGD with momentum that allocates new arrays
at every update, and each batch's loss computed for the log (numpynn and PyTorch compute it
too). Same float32 data, initial weights, optimizer (PyTorch's momentum form)
and batch order as the other peers; nothing here is tuned.
"""

from __future__ import annotations

import numpy as np


def mlp_runner(x, y, batch_size, model_np, lr=0.01, momentum=0.9):
    state = model_np.state_dict()
    W = [state[f"{i}.weight"].T.copy() for i in (0, 2, 4)]
    b = [state[f"{i}.bias"].copy() for i in (0, 2, 4)]
    vW = [np.zeros_like(w) for w in W]
    vb = [np.zeros_like(v) for v in b]

    losses = []

    def run():
        for start in range(0, len(x), batch_size):
            xb, yb = x[start : start + batch_size], y[start : start + batch_size]
            n = len(xb)
            # forward
            z1 = np.dot(xb, W[0]) + b[0]
            a1 = np.maximum(0, z1)
            z2 = np.dot(a1, W[1]) + b[1]
            a2 = np.maximum(0, z2)
            z3 = np.dot(a2, W[2]) + b[2]
            exp = np.exp(z3 - np.max(z3, axis=1, keepdims=True))
            probs = exp / np.sum(exp, axis=1, keepdims=True)
            losses.append(-np.mean(np.log(probs[np.arange(n), yb] + 1e-12)))  # for the log
            # backward
            dz3 = probs.copy()
            dz3[np.arange(n), yb] -= 1
            dz3 /= n
            dW = [None, None, np.dot(a2.T, dz3)]
            db = [None, None, np.sum(dz3, axis=0)]
            dz2 = np.dot(dz3, W[2].T) * (z2 > 0)
            dW[1], db[1] = np.dot(a1.T, dz2), np.sum(dz2, axis=0)
            dz1 = np.dot(dz2, W[1].T) * (z1 > 0)
            dW[0], db[0] = np.dot(xb.T, dz1), np.sum(dz1, axis=0)
            # SGD with momentum: v = momentum v + g; w = w - lr v
            for i in range(3):
                vW[i] = momentum * vW[i] + dW[i]
                W[i] = W[i] - lr * vW[i]
                vb[i] = momentum * vb[i] + db[i]
                b[i] = b[i] - lr * vb[i]

    return run
