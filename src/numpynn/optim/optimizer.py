"""The optimizer base class: parameter groups, per-parameter state, state_dict.

A new optimizer writes only ``update(p, state, group)``: update ``p.data`` in place from
``p.grad``, keeping what it needs in ``state`` (a dict per parameter, empty on the first
step). Hyper-parameters live in ``param_groups`` (PyTorch's layout), so schedulers and
users can change ``group["lr"]`` between steps.
"""

from __future__ import annotations

import copy

import numpy as np

from numpynn import names


class Optimizer:
    """Base class: ``step()`` applies p <- update(p, grad, state) to every parameter.

    The string names (``"adam"``, ...) carry Keras's defaults; the classes keep PyTorch's
    (see ``nn.names``).

    Args:
        params: an iterable of Parameters, or of dicts (parameter groups) each with a
            ``"params"`` list and hyper-parameters that override the defaults.
        **hyper: the default hyper-parameters of every group (``lr=...``); none negative.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> a, b = nn.Parameter(np.ones(1)), nn.Parameter(np.ones(1))
        >>> opt = nn.optim.SGD([{"params": [a]}, {"params": [b], "lr": 0.5}], lr=0.1)
        >>> a.grad[...] = b.grad[...] = 1.0
        >>> opt.step()
        >>> a.data, b.data
        (array([0.9]), array([0.5]))
    """

    flush_every: int = 100  # steps between two flush_subnormals() calls; 0: never

    def __init_subclass__(cls, **kwargs):
        super().__init_subclass__(**kwargs)
        if cls.__module__.startswith("numpynn."):
            names.register("optimizer")(cls)  # by class name, so its state can be saved

    def __init__(self, params, **hyper):
        for key, value in hyper.items():
            if isinstance(value, (int, float)) and not isinstance(value, bool) and value < 0:
                raise ValueError(f"{type(self).__name__}: {key} must not be negative, got {value}")
        params = list(params)
        if not params:
            raise ValueError(f"{type(self).__name__}: got an empty list of parameters")
        groups = params if isinstance(params[0], dict) else [{"params": params}]
        self.param_groups: list[dict] = []
        seen = set()
        for group in groups:
            group = {**hyper, **group, "params": list(group["params"])}
            for p in group["params"]:
                if not hasattr(p, "grad") or not hasattr(p, "data"):
                    raise TypeError(
                        f"{type(self).__name__}: expected Parameters (model.parameters()), "
                        f"got {type(p).__name__}"
                    )
                if id(p) in seen:
                    raise ValueError(f"{type(self).__name__}: a parameter appears in two groups")
                seen.add(id(p))
            self.param_groups.append(group)
        if "eps" in hyper and any(p.data.dtype == np.float16 for p in self._params()):
            raise TypeError(
                f"{type(self).__name__}: float16 parameters are not supported: eps "
                f"({hyper['eps']}) and small squared gradients round to 0 in float16 and the "
                "step becomes NaN; train in float32 (model.to(np.float32))"
            )
        self.state: dict = {}
        self._workspace: dict = {}  # flat scratch buffers, see scratch()
        self._scratch: dict = {}  # each parameter's views of them
        self._steps = 0

    def zero_grad(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                p.zero_grad()

    def step(self) -> None:
        for group in self.param_groups:
            for p in group["params"]:
                state = self.state.setdefault(p, {})
                self.update(p, state, group)
        self._steps += 1
        if self.flush_every and self._steps % self.flush_every == 0:
            self.flush_subnormals()

    def flush_subnormals(self) -> None:
        """Set the subnormal entries of the state (magnitude below the dtype's smallest
        normal number, 1.2e-38 in float32) to zero.

        A momentum or second-moment entry whose gradient stays zero decays geometrically
        and spends many steps in that range, where arithmetic on some CPUs is several times
        slower. A weight moves by lr times such an entry, far below its own rounding step,
        so the results do not change. ``step()`` calls this every ``flush_every`` steps
        (0 turns it off); one call costs a few passes over the state.
        """
        for p, state in self.state.items():
            for value in state.values():
                if isinstance(value, np.ndarray) and value.dtype.kind == "f":
                    like_p = value.shape == p.shape and value.dtype == p.dtype
                    size = np.abs(value, out=self.scratch(p) if like_p else None)
                    np.multiply(value, size >= np.finfo(value.dtype).tiny, out=value)

    def update(self, p, state: dict, group: dict) -> None:
        raise NotImplementedError

    def scratch(self, p, index: int = 0) -> np.ndarray:
        """A temporary array shaped like ``p``, the same one at every step: updates write
        their intermediate results here rather than into new arrays. ``index`` tells apart
        the temporaries one update needs at once; their contents do not survive the update."""
        view = self._scratch.get((index, p))
        if view is None or view.dtype != p.data.dtype or view.shape != p.shape:
            # one flat buffer per index and dtype, as large as the largest parameter; each
            # parameter's view of it is made once
            key = (index, p.data.dtype)
            flat = self._workspace.get(key)
            if flat is None or flat.size < p.size:
                largest = max(q.size for q in self._params())
                flat = self._workspace[key] = np.empty(max(largest, p.size), p.data.dtype)
            # in the parameter's memory order (Linear's weight is Fortran-ordered):
            # elementwise work on two layouts at once is a strided traversal
            fortran = p.data.flags.f_contiguous and not p.data.flags.c_contiguous
            view = flat[: p.size].reshape(p.shape, order="F" if fortran else "C")
            self._scratch[(index, p)] = view
        return view

    @staticmethod
    def grad_with_l2(p, group: dict):
        """grad + weight_decay * p (classic L2 decay), as a new array: p.grad stays as is."""
        if group["weight_decay"]:
            return p.grad + group["weight_decay"] * p.data
        return p.grad

    def _params(self) -> list:
        return [p for group in self.param_groups for p in group["params"]]

    def state_dict(self) -> dict:
        """State and hyper-parameters; parameters are referred to by position."""
        index = {id(p): i for i, p in enumerate(self._params())}
        state = {index[id(p)]: copy.deepcopy(s) for p, s in self.state.items()}
        groups = [{**g, "params": [index[id(p)] for p in g["params"]]} for g in self.param_groups]
        return {"state": state, "param_groups": groups}

    def load_state_dict(self, state_dict: dict) -> None:
        params = self._params()
        groups = state_dict["param_groups"]
        sizes = [len(g["params"]) for g in groups]
        if sizes != [len(g["params"]) for g in self.param_groups]:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the saved groups hold {sizes} "
                f"parameters, this optimizer's {[len(g['params']) for g in self.param_groups]}"
            )
        for i, s in state_dict["state"].items():
            p = params[int(i)]
            for key, value in s.items():
                if isinstance(value, np.ndarray) and value.shape != p.shape:
                    raise ValueError(
                        f"{type(self).__name__}.load_state_dict: state {key!r} of parameter "
                        f"{i} has shape {value.shape}, the parameter {p.shape}"
                    )
        self.state = {params[int(i)]: copy.deepcopy(s) for i, s in state_dict["state"].items()}
        for group, saved in zip(self.param_groups, groups):
            group.update({k: v for k, v in saved.items() if k != "params"})

    def __repr__(self) -> str:
        lines = [f"{type(self).__name__} ("]
        for i, group in enumerate(self.param_groups):
            lines.append(f"Parameter Group {i}")
            lines += [f"    {k}: {v}" for k, v in group.items() if k != "params"]
        return "\n".join(lines + [")"])
