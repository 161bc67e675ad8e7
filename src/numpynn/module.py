"""Parameter and Module: the contract every layer keeps.

A layer subclasses ``Module`` and writes two methods:

- ``forward(x)`` computes the output and keeps on ``self`` only what ``backward`` needs;
- ``backward(grad)`` returns dLoss/dx and *adds* dLoss/dparam into ``param.grad``
  (``param.grad += g``, or ``param.add_grad(np.matmul, a, b)``, which skips the temporary).

One form for every layer: ``backward`` takes one gradient per output of ``forward`` (an
array, or a list for a layer with several outputs, such as a Keras LSTM with
``return_state=True``) and returns one gradient per input: an array, or for a layer with
several inputs (``multi_input``) a tuple in the inputs' order, always, even when two
inputs are the same array (the caller adds them, as a graph does). The PyTorch-style
recurrent layers mirror their ``forward(x, hx)``: ``backward(grad_output, grad_state)``
returns ``(grad_input, grad_initial_state)``.

Parameters are found by walking the module's attributes in the order they were assigned
(Parameters, Modules, and lists, tuples and dicts of them); there is no registration call.
Arrays named in the class attribute ``buffers`` (running statistics) are saved and loaded
with the parameters but are not trained.

>>> import numpy as np, numpynn as nn
>>> layer = nn.Linear(3, 2)
>>> [name for name, _ in layer.named_parameters()]
['weight', 'bias']
>>> layer(np.ones((4, 3), dtype=np.float32)).shape
(4, 2)
"""

from __future__ import annotations

import functools
from collections.abc import Iterator

import numpy as np

from numpynn import names
from numpynn._checks import check_real
from numpynn.symbolic import SymbolicTensor, record_call


class Parameter:
    """A trainable array and the gradient accumulated into it.

    ``grad`` is allocated once, with the shape and dtype of ``data``; parameters hash by
    identity, so optimizers can key their state on them. ``zero_grad()`` only marks the
    gradient as zero: the first ``add_grad`` after it writes the product straight into
    ``grad`` (no temporary, no pass adding it to zeros), and reading ``grad`` before that
    fills in the zeros.
    """

    __slots__ = ("data", "_grad", "_grad_is_zero", "name")

    def __init__(self, data: np.ndarray, name: str = ""):
        data = np.asarray(data)
        if data.dtype.kind != "f":
            raise TypeError(f"Parameter {name!r}: expected a floating array, got {data.dtype}")
        self.data = data
        self.grad = np.zeros_like(data)
        self.name = name

    @property
    def grad(self) -> np.ndarray:
        if self._grad_is_zero:
            self._grad.fill(0)
            self._grad_is_zero = False
        return self._grad

    @grad.setter
    def grad(self, value: np.ndarray) -> None:
        self._grad, self._grad_is_zero = value, False

    def add_grad(self, op, *args, **kwargs) -> None:
        """``grad += op(*args, **kwargs)`` for a NumPy function that takes ``out=``
        (``np.matmul``, ``np.sum``, ...), computed into ``grad`` itself when it is zero."""
        if self._grad_is_zero:
            op(*args, out=self._grad, **kwargs)
            self._grad_is_zero = False
        else:
            self._grad += op(*args, **kwargs)

    @property
    def shape(self) -> tuple[int, ...]:
        return self.data.shape

    @property
    def dtype(self) -> np.dtype:
        return self.data.dtype

    @property
    def size(self) -> int:
        return self.data.size

    def zero_grad(self) -> None:
        self._grad_is_zero = True

    def __repr__(self) -> str:
        return f"Parameter({self.name or '?'}, shape={self.shape}, dtype={self.dtype})"


def _walk(prefix: str, value) -> Iterator[tuple[str, Parameter | Module]]:
    """Parameters and Modules inside an attribute value, with dotted names."""
    if isinstance(value, (Parameter, Module)):
        yield prefix, value
    elif isinstance(value, (list, tuple)):
        for i, item in enumerate(value):
            yield from _walk(f"{prefix}.{i}", item)
    elif isinstance(value, dict):
        for key, item in value.items():
            yield from _walk(f"{prefix}.{key}", item)


def _checks_forward_first(backward):
    """Wrap a subclass's ``backward`` so that calling it before ``forward`` is a clear error
    rather than an AttributeError about a missing cache (see ``Module.__init_subclass__``)."""

    @functools.wraps(backward)
    def checked(self, grad, *args, **kwargs):
        if not self._forward_done:
            raise RuntimeError(
                f"{self.describe()}: backward() was called before forward(); "
                "call the module on an input first"
            )
        return backward(self, grad, *args, **kwargs)

    return checked


def _marks_forward_done(forward):
    @functools.wraps(forward)
    def marked(self, *args, **kwargs):
        out = forward(self, *args, **kwargs)
        self._forward_done = True
        return out

    return marked


class Module:
    """Base class of layers and models.

    Subclasses need not call ``super().__init__()``: the defaults below are class
    attributes. A lazy layer (``Linear(None, 10)``) sets ``built = False`` and creates its
    parameters in ``build(input_shape)``, which ``__call__`` runs on the first input.
    """

    buffers: tuple[str, ...] = ()
    training: bool = True
    built: bool = True
    multi_input: bool = False  # merge layers: forward(*xs), backward returns one grad per input
    _forward_done: bool = False
    _name: str | None = None
    _auto_named: bool = False  # named by a model (dense_1), not by the user

    @property
    def name(self) -> str | None:
        """The layer's name in a model: given by the user (``Dense(8, name="hidden")`` or
        ``layer.name = ...``) or, if not, by the first model it joins (``dense_1``)."""
        return self._name

    @name.setter
    def name(self, value: str | None) -> None:
        self._name, self._auto_named = value, False

    def __init_subclass__(cls, **kwargs):
        # The one piece of machinery in the contract: every forward marks the module as
        # run, and every backward checks that mark, so no layer writes that check itself.
        super().__init_subclass__(**kwargs)
        if "forward" in cls.__dict__:
            cls.forward = _marks_forward_done(cls.__dict__["forward"])
        for name in ("backward", "backward_params"):
            if name in cls.__dict__:
                setattr(cls, name, _checks_forward_first(cls.__dict__[name]))
        if cls.__module__.startswith("numpynn."):
            names.register("layer")(cls)  # load_model can rebuild every layer of the library

    # --- the contract ------------------------------------------------------------------

    def forward(self, x: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define forward()")

    def backward(self, grad: np.ndarray) -> np.ndarray:
        raise NotImplementedError(f"{type(self).__name__} does not define backward()")

    def backward_params(self, grad: np.ndarray) -> None:
        """Only the parameters' share of ``backward``: for the first layers of a model whose
        input needs no gradient (PyTorch skips it the same way). A layer whose input gradient
        is costly (Linear, Conv2d) overrides it; by default it is ``backward``."""
        self.backward(grad)

    def __call__(self, *inputs, **options):
        """Build on the first input if needed, check the input, run ``forward``.

        The one call path of every layer. As PyTorch's ``Module.__call__`` forwards
        ``*args, **kwargs``, the arguments after the layer's input, positional or keyword
        (an LSTM's ``hx`` and ``lengths=``, attention masks), go to ``forward`` unchanged. A
        layer with several inputs (``multi_input``: merges, attention's query, key and value)
        takes them as its positional arguments or, as in Keras, as one list:
        ``nn.Add()([a, b])``; its options then come by keyword.

        On symbolic tensors (``nn.Input``) nothing is computed: the call is recorded for a
        functional ``Model``, with its keyword options (constants only).
        """
        if not options and len(inputs) == 1 and type(inputs[0]) is np.ndarray:
            if self.built and not self.multi_input:  # the common case: nothing else to decide
                return self.forward(self.check_input(check_real(inputs[0], self)))
        if self.multi_input:
            if len(inputs) == 1 and isinstance(inputs[0], (list, tuple)):
                inputs = tuple(inputs[0])
            xs, extra = inputs, ()
        elif not inputs:
            raise TypeError(f"{self.describe()}: expected an input, got none")
        else:
            xs, extra = inputs[:1], inputs[1:]
        if any(isinstance(x, SymbolicTensor) for x in inputs):
            if extra:
                raise TypeError(
                    f"{self.describe()}: takes one symbolic input, got {len(inputs)} "
                    "positional arguments; pass options by keyword"
                )
            return self._call_symbolic(xs, options)
        if self.multi_input:
            xs = tuple(check_real(np.asarray(x), self) for x in xs)
            if not self.built:
                self.build(tuple(x.shape for x in xs))
            return self.forward(*self.check_input(xs), **options)
        x = check_real(np.asarray(xs[0]), self)
        if not self.built:
            self.build(x.shape)
        return self.forward(self.check_input(x), *extra, **options)

    def _call_symbolic(self, inputs, options=None) -> SymbolicTensor | list[SymbolicTensor]:
        """Record this call in a functional graph (see ``numpynn.symbolic``)."""
        return record_call(self, inputs, options)

    def build(self, input_shape: tuple[int, ...]) -> None:
        """Create the parameters from the first input's shape (lazy layers only)."""
        self.built = True

    def check_input(self, x: np.ndarray) -> np.ndarray:
        """Validate (and, for layers with parameters, cast) the input; errors name the layer."""
        return x

    def output_shape(self, input_shape: tuple) -> tuple:
        """Shape of the output for an input of ``input_shape`` (None for unknown sizes)."""
        return tuple(input_shape)

    # --- discovery -----------------------------------------------------------------------

    def _members(self) -> Iterator[tuple[str, Parameter | Module]]:
        for key, value in vars(self).items():
            if not key.startswith("_"):
                yield from _walk(key, value)

    def named_children(self) -> Iterator[tuple[str, Module]]:
        for name, member in self._members():
            if isinstance(member, Module):
                yield name, member

    def named_modules(self, prefix: str = "") -> Iterator[tuple[str, Module]]:
        """This module and every module below it, depth first, each once."""
        stack, seen = [(prefix, self)], set()
        while stack:
            name, module = stack.pop()
            if id(module) in seen:
                continue
            seen.add(id(module))
            yield name, module
            children = [(f"{name}.{n}" if name else n, m) for n, m in module.named_children()]
            stack.extend(reversed(children))

    def modules(self) -> Iterator[Module]:
        for _, module in self.named_modules():
            yield module

    def named_parameters(self) -> Iterator[tuple[str, Parameter]]:
        """(dotted name, Parameter) in definition order; a shared Parameter comes once."""
        seen: set[int] = set()

        def visit(prefix, module):
            for name, member in module._members():
                if id(member) in seen:
                    continue
                seen.add(id(member))
                full = f"{prefix}.{name}" if prefix else name
                if isinstance(member, Parameter):
                    yield full, member
                else:
                    yield from visit(full, member)

        return visit("", self)

    def parameters(self) -> list[Parameter]:
        return [p for _, p in self.named_parameters()]

    def named_buffers(self) -> Iterator[tuple[str, np.ndarray]]:
        for prefix, module in self.named_modules():
            for name in module.buffers:
                value = getattr(module, name, None)
                if value is not None:
                    yield (f"{prefix}.{name}" if prefix else name), value

    def num_parameters(self) -> int:
        return sum(p.size for p in self.parameters())

    # --- modes and gradients ---------------------------------------------------------------

    def train(self, mode: bool = True) -> Module:
        """Training mode (Dropout drops, BatchNorm uses batch statistics) for every submodule."""
        for module in self.modules():
            module.training = mode
        return self

    def eval(self) -> Module:
        return self.train(False)

    def zero_grad(self) -> None:
        for p in self.parameters():
            p.zero_grad()

    def to(self, dtype) -> Module:
        """Cast every parameter (and its gradient) and buffer to ``dtype``, in place."""
        dtype = np.dtype(dtype)
        for p in self.parameters():
            p.data, p.grad = p.data.astype(dtype), p.grad.astype(dtype)
        for module in self.modules():
            for name in module.buffers:
                value = getattr(module, name, None)
                if value is not None and value.dtype.kind == "f":
                    setattr(module, name, value.astype(dtype))
        return self

    # --- state ---------------------------------------------------------------------------

    def state_dict(self) -> dict[str, np.ndarray]:
        """Copies of every parameter and buffer, under PyTorch's names and layouts."""
        self._require_built("state_dict")
        state = {name: p.data.copy() for name, p in self.named_parameters()}
        state.update((name, np.array(b, copy=True)) for name, b in self.named_buffers())
        return state

    def load_state_dict(self, state: dict, strict: bool = True) -> None:
        """Copy arrays into the parameters and buffers in place (optimizers keep working).

        Names, shapes and dtypes must match; otherwise nothing is changed and the error lists
        every missing, unexpected and mismatched entry. ``strict=False`` ignores missing and
        unexpected names (mismatches are still errors).
        """
        self._require_built("load_state_dict")
        targets = {name: p.data for name, p in self.named_parameters()}
        targets.update(self.named_buffers())
        missing = [k for k in targets if k not in state]
        unexpected = [k for k in state if k not in targets]
        mismatched = []
        for name in targets.keys() & state.keys():
            have, given = targets[name], np.asarray(state[name])
            if have.shape != given.shape or have.dtype != given.dtype:
                mismatched.append(
                    f"{name}: expected {have.shape} {have.dtype}, got {given.shape} {given.dtype}"
                )
        problems = [f"mismatched: {m}" for m in sorted(mismatched)]
        if strict:
            problems += [f"missing: {k}" for k in missing]
            problems += [f"unexpected: {k}" for k in unexpected]
        if problems:
            raise ValueError(
                f"{type(self).__name__}.load_state_dict: the state does not fit this model\n  "
                + "\n  ".join(problems)
            )
        for name in targets.keys() & state.keys():
            targets[name][...] = state[name]

    def _require_built(self, what: str) -> None:
        unbuilt = [
            name or type(m).__name__
            for name, m in self.named_modules()
            if not m.built and (m is not self or not any(True for _ in m.named_children()))
        ]
        if unbuilt:
            raise RuntimeError(
                f"{type(self).__name__}.{what}: layers {unbuilt} have no parameters yet "
                "(their input size is inferred from the first input); call the model once first"
            )

    # --- description ---------------------------------------------------------------------

    def get_config(self) -> dict:
        """JSON-able constructor arguments: ``type(m)(**m.get_config())`` rebuilds it."""
        return {}

    @classmethod
    def from_config(cls, config: dict) -> Module:
        return cls(**config)

    def extra_repr(self) -> str:
        return ""

    def describe(self) -> str:
        """Short name used in error messages, e.g. ``Linear(784 -> 128)``."""
        return f"{type(self).__name__}({self.extra_repr()})"

    def __repr__(self) -> str:
        head = f"{type(self).__name__}({self.extra_repr()}"
        children = list(self.named_children())
        if not children:
            return head + ")"
        lines = [f"  ({name}): " + repr(child).replace("\n", "\n  ") for name, child in children]
        return head + "\n" + "\n".join(lines) + "\n)"
