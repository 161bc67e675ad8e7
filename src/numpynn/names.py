"""One registry from names to classes and functions: Keras strings, class names, your layers.

Kinds of names: ``"activation"`` (``"relu"``), ``"initializer"`` (``"glorot_uniform"``),
``"loss"`` (``"categorical_crossentropy"``), ``"optimizer"`` (``"adam"``), ``"metric"``
(``"accuracy"``) and ``"layer"`` (class names, used to rebuild a saved model). Each entry is
declared next to what it names, with ``register``; a string name may carry the Keras
defaults (``"adam"`` is Adam with eps=1e-7, as in Keras), while the class itself keeps
PyTorch's. An unknown name is an error that lists the valid ones and the closest match.

The registry sits at the bottom of the package and knows nothing of what it holds, so that
a layer such as ``Dense`` can look up ``"relu"`` without importing upwards.

>>> import numpynn as nn
>>> nn.names.get("activation", "relu")
ReLU()
>>> nn.names.get("loss", "mse")
MSELoss(reduction='mean')
>>> nn.names.get("loss", "categorical_crosentropy")  # doctest: +ELLIPSIS
Traceback (most recent call last):
...
numpynn.names.UnknownNameError: unknown loss ...; did you mean 'categorical_crossentropy'? ...
"""

from __future__ import annotations

from collections.abc import Callable

KINDS = ("activation", "initializer", "loss", "optimizer", "metric", "layer")

# kind -> name -> (the class or function, default keyword arguments)
_registry: dict[str, dict[str, tuple[Callable, dict]]] = {kind: {} for kind in KINDS}


class UnknownNameError(ValueError):
    """A name that is not registered; the message lists the valid ones."""


def register(kind: str, *names: str, **defaults):
    """Decorator: make ``obj`` available as ``kind`` under each of ``names``.

    A class is also registered under its own name, without ``defaults``. Registering another
    object under a taken name is an error, unless it is a redefinition of the same class
    (same module and qualified name, as when a notebook cell runs twice).
    """
    if kind not in _registry:
        raise ValueError(f"register: unknown kind {kind!r}; the kinds are {', '.join(KINDS)}")

    def decorate(obj):
        entries = dict.fromkeys(names, defaults)
        if isinstance(obj, type):
            entries.setdefault(obj.__name__, {})
        for name, kwargs in entries.items():
            taken = _registry[kind].get(name)
            if taken is not None and not _same_definition(taken[0], obj):
                raise ValueError(
                    f"register: the {kind} name {name!r} is taken by {_label(taken[0])}; "
                    f"register {_label(obj)} under another name"
                )
            _registry[kind][name] = (obj, dict(kwargs))
        return obj

    return decorate


def register_layer(cls=None, *, name: str | None = None):
    """Register a custom layer so that ``load_model`` can rebuild it from its ``get_config()``.

    Use as ``@nn.register_layer`` or ``@nn.register_layer(name="MyBlock")``. numpynn's own
    layers are registered when they are defined.
    """

    def decorate(cls):
        register("layer", *([name] if name else []))(cls)
        if name:
            cls.registered_name = name
        return cls

    return decorate(cls) if cls is not None else decorate


def _same_definition(a, b) -> bool:
    return a is b or (
        isinstance(a, type)
        and isinstance(b, type)
        and (a.__module__, a.__qualname__) == (b.__module__, b.__qualname__)
    )


def _label(obj) -> str:
    return f"{getattr(obj, '__module__', '?')}.{getattr(obj, '__qualname__', repr(obj))}"


def lookup(kind: str, name: str) -> tuple[Callable, dict]:
    """The registered object and its default arguments; a clear error for unknown names."""
    table = _registry[kind]
    if name in table:
        return table[name]
    import difflib  # here, not at import time: only an unknown name needs it

    valid = available(kind)
    close = difflib.get_close_matches(name, valid, n=1)
    hint = f"; did you mean {close[0]!r}?" if close else ""
    raise UnknownNameError(f"unknown {kind} {name!r}{hint} Valid names: {', '.join(valid)}")


def get(kind: str, identifier, *args, **kwargs):
    """Resolve ``identifier``: a string is looked up and called with ``args``, its defaults
    and ``kwargs``; anything else (an instance, a function, None) is returned unchanged."""
    if not isinstance(identifier, str):
        return identifier
    obj, defaults = lookup(kind, identifier)
    return obj(*args, **{**defaults, **kwargs})


def available(kind: str) -> list[str]:
    """The registered names of ``kind``, Keras strings first (lower case), then classes."""
    return sorted(_registry[kind], key=lambda name: (name[:1].isupper(), name))


def is_registered(kind: str, obj) -> bool:
    """Whether ``obj``'s class is what its registered name rebuilds."""
    cls = obj if isinstance(obj, type) else type(obj)
    entry = _registry[kind].get(registered_name(cls))
    return entry is not None and entry[0] is cls


def registered_name(obj) -> str:
    """The name under which ``obj``'s class is registered as a layer, loss or optimizer."""
    cls = obj if isinstance(obj, type) else type(obj)
    return getattr(cls, "registered_name", None) or cls.__name__


def serialize(obj) -> dict:
    """``{"class": name, "config": obj.get_config()}``: JSON, never code."""
    return {"class": registered_name(obj), "config": obj.get_config()}


def deserialize(kind: str, spec: dict):
    """Rebuild an object from ``serialize``'s output; only registered classes are used."""
    if not isinstance(spec, dict) or not isinstance(spec.get("class"), str):
        raise ValueError(f"expected a {kind} entry {{'class': ..., 'config': ...}}, got {spec!r}")
    cls, _ = lookup(kind, spec["class"])
    config = spec.get("config") or {}
    if not isinstance(config, dict):
        raise ValueError(f"the config of {kind} {spec['class']!r} is not a mapping: {config!r}")
    build = getattr(cls, "from_config", None)
    try:
        return build(config) if build is not None else cls(**config)
    except TypeError as error:
        raise ValueError(
            f"cannot rebuild {kind} {spec['class']!r} from {config}: {error}"
        ) from None
