"""Numerical gradient checking: is a backward pass the derivative of its forward pass?

``gradcheck(f, *inputs)`` compares the gradients that ``f.backward`` reports with central
differences, (f(x + eps) - f(x - eps)) / (2 eps), computed in float64 for the first input
and every parameter of ``f``. The scalar that is differentiated is sum(f(x) * g) with a
random, signed upstream gradient g: an all-ones g would hide sign errors.

``f`` is anything with the layer contract: a Module (``f(x)`` then ``f.backward(g)``), a
Loss (``f(pred, target)`` then ``f.backward(g)``), or your own object with ``__call__`` and
``backward``. Modules are cast to float64 for the check and restored afterwards.

gradcheck is the witness of every backward pass, so it is itself tested as TESTING.md's
"Test the oracles and the wiring too" asks (tests/test_gradcheck.py): at the default
tolerances it must reject a gradient off by 5e-4 relative, a backward that ignores the
upstream values (right only for an all-ones upstream), two output positions swapped, and a
gradient missing for a parameter or the input; and accept correct layers of every kind.

Use it on your own layers:

>>> import numpy as np, numpynn as nn
>>> class Square(nn.Module):
...     def forward(self, x):
...         self.x = x
...         return x * x
...     def backward(self, grad):
...         return grad * 2 * self.x
>>> nn.gradcheck(Square(), np.random.default_rng(0).normal(size=(3, 4))).ok
True
"""

from __future__ import annotations

from typing import NamedTuple

import numpy as np


class GradcheckError(AssertionError):
    """The analytic and numerical gradients disagree."""


class Mismatch(NamedTuple):
    quantity: str
    index: tuple
    analytic: float
    numeric: float

    @property
    def abs_err(self) -> float:
        return abs(self.analytic - self.numeric)

    def __str__(self) -> str:
        return (
            f"{self.quantity}: max abs err {self.abs_err:.3g} at {list(self.index)} "
            f"(analytic {self.analytic:.10g}, numeric {self.numeric:.10g})"
        )


class GradcheckResult(NamedTuple):
    ok: bool
    checked: int
    worst: Mismatch | None
    worst_relative: float
    failures: list[Mismatch]

    def __repr__(self) -> str:
        state = "ok" if self.ok else f"FAILED in {len(self.failures)} quantities"
        where = self.worst.quantity if self.worst else "-"
        return (
            f"GradcheckResult({state}, {self.checked} values checked, "
            f"worst {where} relative error {self.worst_relative:.2g})"
        )


def _as_float64(value):
    value = np.asarray(value)
    return value.astype(np.float64) if value.dtype.kind == "f" else value


def gradcheck(
    f,
    *inputs,
    wrt: tuple[int, ...] = (0,),
    eps: float = 1e-6,
    atol: float = 1e-7,
    rtol: float = 1e-5,
    seed: int = 0,
    raise_exception: bool = True,
) -> GradcheckResult:
    """Check ``f.backward`` against central differences in float64.

    Args:
        f: a Module, a Loss, or any object with ``__call__(*inputs)`` and ``backward(grad)``
            returning the input gradient (a tuple of them for several inputs).
        inputs: the arguments of ``f``; floating ones are cast to float64.
        wrt: which inputs to check (``backward``'s outputs, in order, belong to them).
        eps, atol, rtol: step and tolerances: |analytic - numeric| <= atol + rtol |numeric|.
        raise_exception: raise GradcheckError naming the worst element on failure;
            otherwise return a result with ``ok=False``.

    Returns a ``GradcheckResult``: whether it passed, how many values were checked, and
    the worst element.
    """
    inputs = [_as_float64(x) for x in inputs]
    if not getattr(f, "built", True):
        f(*inputs)  # a lazy layer makes its parameters now, so that they are cast below
    params = list(f.named_parameters()) if hasattr(f, "named_parameters") else []
    saved_params = [(p, p.data, p.grad) for _, p in params]
    saved_buffers = [
        (module, name, getattr(module, name))
        for module in (f.modules() if hasattr(f, "modules") else ())
        for name in module.buffers
        if getattr(module, name, None) is not None
    ]
    if hasattr(f, "to"):
        f.to(np.float64)
    try:
        return _check(f, inputs, params, wrt, eps, atol, rtol, seed, raise_exception)
    finally:
        for p, data, grad in saved_params:
            p.data, p.grad = data, grad
        for module, name, value in saved_buffers:
            setattr(module, name, value)


def _check(f, inputs, params, wrt, eps, atol, rtol, seed, raise_exception):
    # a stream of its own: seeded with the bare ``seed``, the upstream gradient would equal
    # test data drawn with that seed, and ReLU's gradient-sign bug would then pass unseen
    rng = np.random.default_rng((seed, 0x67726164))
    out = np.asarray(f(*inputs))
    upstream = rng.standard_normal(out.shape)

    def objective() -> float:
        return float(np.sum(np.asarray(f(*inputs)) * upstream))

    for _, p in params:
        p.grad[...] = 0
    objective()  # the analytic pass must follow a forward on exactly these inputs
    grads = f.backward(upstream if out.ndim else float(upstream))
    grads = grads if isinstance(grads, tuple) else (grads,)
    analytic = {
        f"input {i}" if len(wrt) > 1 else "x": (inputs[i], np.asarray(grads[k]))
        for k, i in enumerate(wrt)
    }
    analytic.update({f"{name}": (p.data, p.grad.copy()) for name, p in params})

    checked, failures, worst, worst_rel = 0, [], None, 0.0
    for name, (array, grad) in analytic.items():
        if grad.shape != array.shape:
            raise GradcheckError(f"{name}.grad has shape {grad.shape}, expected {array.shape}")
        numeric = np.empty_like(grad, dtype=np.float64)
        for index in np.ndindex(array.shape):
            saved = array[index]
            array[index] = saved + eps
            plus = objective()
            array[index] = saved - eps
            minus = objective()
            array[index] = saved
            numeric[index] = (plus - minus) / (2 * eps)
        checked += array.size
        err = np.abs(grad - numeric)
        excess = err - (atol + rtol * np.abs(numeric))
        if array.size == 0:
            continue
        at = np.unravel_index(np.argmax(excess), array.shape)
        mismatch = Mismatch(
            f"{name}.grad", tuple(int(i) for i in at), float(grad[at]), float(numeric[at])
        )
        rel = float(np.max(err / (atol + np.abs(numeric))))
        if rel >= worst_rel:
            worst, worst_rel = mismatch, rel
        if excess[at] > 0:
            failures.append(mismatch)
    result = GradcheckResult(not failures, checked, worst, worst_rel, failures)
    if failures and raise_exception:
        raise GradcheckError("gradcheck failed:\n  " + "\n  ".join(str(m) for m in failures))
    return result
