"""Saving and loading models: one ``.npz`` file, JSON for the architecture, never pickle.

A model file holds an entry ``numpynn.json`` (the architecture as the layers' configs, the
compile settings and the optimizer's hyper-parameters) and the arrays: ``weights/<name>``
for each parameter and buffer under its ``state_dict`` name, ``optimizer/<i>/<key>`` for
the optimizer's state. Loading accepts numeric arrays only (never pickled objects) and
rebuilds layers only from classes registered in ``nn.names`` (numpynn's own, and yours
through ``@nn.register_layer``): a model file can hold numbers and names, never code.

A file is checked before it is trusted: each array's header before its data, the sizes the
headers claim against the file's own size, the architecture's parameters against the stored
weights before layers allocate them, and the values and settings as the constructors would
check them. Any damaged or hostile file raises ``ModelFileError`` naming the file and the
problem, and ``load_weights`` changes nothing unless everything fits.

Files are written to a temporary file beside the target and renamed over it, so a crash
or an error mid-way never leaves a half-written model.

>>> import os, tempfile, numpy as np, numpynn as nn
>>> model = nn.Sequential(nn.Linear(3, 4), nn.ReLU(), nn.Linear(4, 2))
>>> path = os.path.join(tempfile.mkdtemp(), "model.npz")
>>> nn.save_model(model, path)
>>> x = np.ones((1, 3), dtype=np.float32)
>>> bool(np.array_equal(nn.load_model(path)(x), model(x)))
True
"""

from __future__ import annotations

import functools
import json
import math

import numpy as np

from numpynn import names, safetensors_io
from numpynn._config import DrawLimitError, draw_limit
from numpynn._files import atomic_write
from numpynn._npz import FORMAT, HEADER, VERSION, Archive, ModelFileError
from numpynn.module import Module, Parameter

# --- writing -------------------------------------------------------------------------------


def save_model(
    model: Module, path, optimizer=None, compile_config: dict | None = None, metadata=None
) -> None:
    """Write ``model`` (architecture and weights), and ``optimizer``'s state, to ``path``.

    ``compile_config`` (the loss and metrics, as ``Model.compile`` keeps them) is stored
    so that ``load_model`` can compile the model again; ``metadata`` (JSON: class names,
    where the data came from) comes back as ``model.metadata``.
    """
    header = {"kind": "model", "architecture": _architecture(model)}
    if metadata:
        header["metadata"] = metadata
    arrays = {f"weights/{k}": v for k, v in model.state_dict().items()}
    if compile_config is not None:
        header["compile"] = compile_config
    if optimizer is not None and not isinstance(optimizer, str):
        header["optimizer"], optimizer_arrays = _optimizer_entry(optimizer, model)
        arrays.update(optimizer_arrays)
    _write(path, header, arrays)


def save_weights(model: Module, path) -> None:
    """Write the parameters and buffers of ``model`` (its ``state_dict``) to ``path``: a
    ``.safetensors`` file under PyTorch's names (see ``safetensors_io``), else ``.npz``."""
    if safetensors_io.is_safetensors(path):
        return safetensors_io.save_file(model.state_dict(), path, {"producer": "numpynn"})
    arrays = {f"weights/{k}": v for k, v in model.state_dict().items()}
    _write(path, {"kind": "weights"}, arrays)


def _architecture(model: Module) -> dict:
    for name, module in model.named_modules():
        if not names.is_registered("layer", module):
            where = f" (at {name!r})" if name else ""
            raise TypeError(
                f"save: the layer {type(module).__name__}{where} is not registered, so a file "
                f"could not rebuild it; {_REGISTER_HINT}"
            )
    try:
        spec = names.serialize(model)
        json.dumps(spec, default=_json_value)
    except TypeError as error:
        raise TypeError(f"save: the model's config is not JSON ({error})") from None
    return spec


_REGISTER_HINT = (
    "decorate custom layers with @nn.register_layer and give them get_config() returning "
    "their constructor arguments"
)


def _optimizer_entry(optimizer, model: Module) -> tuple[dict, dict]:
    params = model.parameters()
    position = {id(p): i for i, p in enumerate(params)}
    if any(id(p) not in position for p in optimizer._params()):
        raise ValueError("save: the optimizer holds parameters that are not the model's")
    arrays, scalars = {}, {}
    for p, state in optimizer.state.items():
        i = position[id(p)]
        for key, value in state.items():
            if isinstance(value, np.ndarray):
                arrays[f"optimizer/{i}/{key}"] = value
            else:
                scalars.setdefault(str(i), {})[key] = value
    groups = [
        {
            **{k: v for k, v in g.items() if k != "params"},
            "params": [position[id(p)] for p in g["params"]],
        }
        for g in optimizer.param_groups
    ]
    entry = {"class": names.registered_name(optimizer), "param_groups": groups, "scalars": scalars}
    try:
        json.dumps(entry, default=_json_value)
    except TypeError as error:
        raise TypeError(f"save: the optimizer's settings are not JSON ({error})") from None
    return entry, arrays


def _write(path, header: dict, arrays: dict) -> None:
    try:
        text = json.dumps({"format": FORMAT, "version": VERSION, **header}, default=_json_value)
    except TypeError as error:
        raise TypeError(f"save: the metadata or compile settings are not JSON ({error})") from None
    entries = {HEADER: np.frombuffer(text.encode(), dtype=np.uint8), **arrays}
    with atomic_write(path) as file:
        np.savez(file, **entries)


def _json_value(value):
    """JSON for what json.dumps does not know: NumPy scalars become Python numbers."""
    if isinstance(value, np.generic):
        return value.item()
    raise TypeError(f"Object of type {type(value).__name__} is not JSON serializable")


# --- reading -------------------------------------------------------------------------------
#
# A file is checked before anything is built or allocated: the zip directory, each member's
# .npy header (shape and dtype, read alone), the total size the headers claim against the
# file's own size, the JSON header's nesting and types. The model is then built with a budget
# of random draws no larger than the stored weights (``_config.draw_limit``), its parameter
# shapes compared with the stored ones, and only then are the arrays read, each into an array
# of the size its header gave, never more.

SLACK = 1 << 16  # elements a layer may draw or size beyond what the file stores
_SIZE_KEYS = frozenset(
    "units in_features out_features in_channels out_channels filters num_features "
    "normalized_shape kernel_size num_embeddings embedding_dim input_size hidden_size "
    "embed_dim num_heads input_dim output_dim".split()
)


def load_model(path, compile: bool = True) -> Module:
    """Rebuild the model saved at ``path``, with its weights; compiled again (loss,
    metrics, optimizer and its state) when it was saved compiled with its optimizer and
    ``compile`` is True.

    Any damaged, foreign or hostile file raises ``ModelFileError`` naming the file and the
    problem (not a model file, damaged, an unknown layer, missing, extra or mis-shaped
    weights, non-finite values, settings of the wrong type), before the model is built when
    the file's directory or headers already show it.
    """
    with Archive(path) as archive:
        header = archive.header
        if header.get("kind") != "model":
            raise ModelFileError(f"load_model: {path} holds only weights; use model.load_weights")
        _check_types(header, path)
        stored = sum(math.prod(shape) for shape, _ in archive.arrays("weights/").values())
        model = _build(header["architecture"], stored + SLACK, path)
        weights = _read_weights(model, archive, path, convert=False)
        optimizer_arrays = {key: archive.read(key) for key in archive.arrays("optimizer/")}
    dtypes = {v.dtype for v in weights.values() if v.dtype.kind == "f"}
    if len(dtypes) == 1 and model.built and dtypes != {p.dtype for p in model.parameters()}:
        model.to(dtypes.pop())  # a float64 model comes back as float64
    _load_state(model, weights, path)
    model.metadata = header.get("metadata") or {}
    config = header.get("compile")
    optimizer = _rebuild_optimizer(header.get("optimizer"), optimizer_arrays, model, path)
    optimizer = optimizer or (config or {}).get("optimizer")  # a name, if never built
    if compile and config is not None and optimizer is not None and hasattr(model, "compile"):
        try:
            model.compile(
                optimizer=optimizer,
                loss=_rebuild_losses(config.get("loss")),
                metrics=config.get("metrics"),
                loss_weights=config.get("loss_weights"),
            )
        except (ValueError, TypeError, KeyError, AttributeError) as error:
            raise ModelFileError(f"load_model: {path}: the compile settings: {error}") from None
    return model


def load_weights(model: Module, path) -> None:
    """Load weights saved by ``save_weights`` (or in a model file, or a ``.safetensors``
    file, PyTorch's included) into ``model``, in place.

    The model keeps its dtype: stored floats are converted to it. A file that does not fit
    leaves the model exactly as it was.
    """
    if safetensors_io.is_safetensors(path):
        stored = {f"weights/{k}": v for k, v in safetensors_io.load_file(path)[0].items()}
        weights = _read_weights(model, _InMemory(stored), path, convert=True)
    else:
        with Archive(path) as archive:
            weights = _read_weights(model, archive, path, convert=True)
    _load_state(model, weights, path)


class _InMemory:
    """The two questions ``_read_weights`` asks of an archive, for arrays already read."""

    def __init__(self, arrays: dict[str, np.ndarray]):
        self._arrays = arrays

    def arrays(self, prefix: str) -> dict:
        return {k: (v.shape, v.dtype) for k, v in self._arrays.items() if k.startswith(prefix)}

    def read(self, key: str) -> np.ndarray:
        return self._arrays[key]


def _load_state(model: Module, weights: dict, path) -> None:
    try:
        model.load_state_dict(weights)
    except (ValueError, RuntimeError) as error:
        raise ModelFileError(f"{path}: {error}") from None


def _build(spec, budget: int, path) -> Module:
    """The model an architecture entry describes, refusing before allocating when it claims
    more parameters than the file stores (``budget`` elements)."""
    for name, config in _leaf_configs(spec):
        for key in _SIZE_KEYS & config.keys():
            value = config[key]
            sizes = value if isinstance(value, list) else [value]
            if value is None or (isinstance(value, list) and not value):
                continue
            if not all(isinstance(v, int) and not isinstance(v, bool) and v > 0 for v in sizes):
                raise ModelFileError(
                    f"load_model: {path}: layer {name} has {key}={value!r}; expected a "
                    "positive integer"
                )
            if math.prod(sizes) > budget:
                raise ModelFileError(
                    f"load_model: {path}: layer {name} has {key}={value!r}, more than the "
                    f"{budget - SLACK} weights the file stores"
                )
    try:
        with draw_limit(budget):
            model = names.deserialize("layer", spec)
    except names.UnknownNameError as error:
        raise ModelFileError(f"load_model: {path}: {error}; {_REGISTER_HINT}") from None
    except DrawLimitError:
        raise ModelFileError(
            f"load_model: {path}: the architecture has more parameters than the "
            f"{budget - SLACK} weights the file stores"
        ) from None
    except (ValueError, TypeError, KeyError, IndexError, AttributeError, ArithmeticError) as error:
        raise ModelFileError(f"load_model: {path}: the architecture: {error}") from None
    except (RecursionError, MemoryError) as error:
        raise ModelFileError(f"load_model: {path}: the architecture: {error!r}") from None
    abstract = [
        f"{name or 'the model'} ({type(m).__name__})"
        for name, m in model.named_modules()
        if type(m).forward is Module.forward
    ]
    if abstract:
        raise ModelFileError(
            f"load_model: {path}: {', '.join(abstract)} cannot compute anything (a base "
            "class without forward)"
        )
    return model


def _leaf_configs(spec):
    """(class name, config) of every layer entry in an architecture, without recursion."""
    stack = [spec]
    while stack:
        item = stack.pop()
        if isinstance(item, dict):
            if isinstance(item.get("class"), str) and isinstance(item.get("config"), dict):
                yield item["class"], item["config"]
            stack.extend(item.values())
        elif isinstance(item, list):
            stack.extend(item)


def _read_weights(model: Module, archive, path, convert: bool) -> dict:
    """The stored weights, read only after their shapes matched the model's; converted to
    the model's dtypes when ``convert``; finite and valid, or a ModelFileError."""
    try:
        model._require_built("load_weights")
    except RuntimeError as error:
        raise ModelFileError(f"{path}: {error}") from None
    targets = {name: p.data for name, p in model.named_parameters()}
    targets.update(model.named_buffers())
    stored = {key[len("weights/") :]: info for key, info in archive.arrays("weights/").items()}
    problems = [f"missing: {k}" for k in targets if k not in stored]
    problems += [f"unexpected: {k}" for k in stored if k not in targets]
    for name in targets.keys() & stored.keys():
        (shape, dtype), have = stored[name], targets[name]
        if shape != have.shape or dtype.kind != have.dtype.kind:
            transposed = len(shape) == 2 and shape != have.shape and shape == have.shape[::-1]
            problems.append(
                f"mismatched: {name}: expected {have.shape} {have.dtype}, got {shape} {dtype}"
                + (" (transposed? PyTorch's layout is (out, in))" if transposed else "")
            )
    if problems:
        raise ModelFileError(
            f"{path}: the weights do not fit this model\n  " + "\n  ".join(sorted(problems))
        )
    weights = {}
    for name, have in targets.items():
        value = archive.read(f"weights/{name}")
        problem = value_problem(name, value)
        if problem:
            raise ModelFileError(f"{path}: {describe_tensor(model, name)} {problem}")
        if value.dtype.kind == "f":
            if value.dtype not in (np.float32, np.float64):
                value = value.astype(np.float32)  # float16 files: numpynn computes in 32 or 64
            if convert and value.dtype != have.dtype:
                with np.errstate(over="ignore"):
                    value = value.astype(have.dtype)
                if not np.isfinite(value).all():
                    raise ModelFileError(f"{path}: the weight {name!r} overflows {have.dtype}")
        elif value.dtype != have.dtype:
            raise ModelFileError(f"{path}: {name!r} is {value.dtype}, expected {have.dtype}")
        weights[name] = value
    return weights


VARIANCES = ("running_var", "variance")  # BatchNorm's and Normalization's buffers


def value_problem(name: str, value: np.ndarray) -> str | None:
    """What is wrong with the stored values of the weight or buffer ``name``, or None: NaN or
    infinity anywhere, or a negative variance (a BatchNorm would take the square root of it,
    or use its absolute value as if it were positive)."""
    if value.dtype.kind != "f":
        return None
    finite = np.isfinite(value)
    if not finite.all():
        return f"holds {int(np.sum(~finite))} NaN or infinite values (first at {_first(~finite)})"
    if name.rsplit(".", 1)[-1] in VARIANCES and (value < 0).any():
        return (
            f"holds {int(np.sum(value < 0))} negative variances (first {value[value < 0][0]} "
            f"at {_first(value < 0)}); a variance is never below 0"
        )
    return None


def _first(mask: np.ndarray) -> tuple[int, ...]:
    return tuple(int(i) for i in np.unravel_index(int(np.argmax(mask)), mask.shape))


def describe_tensor(model: Module, name: str) -> str:
    """``name`` and the layer that holds it: "the tensor 'running_var' of layer '1'
    (BatchNorm1d(4))"."""
    prefix, _, local = name.rpartition(".")
    layer = dict(model.named_modules()).get(prefix)
    where = f"layer {prefix!r}" if prefix else "the model"
    shown = f" ({layer.describe()})" if layer is not None else ""
    return f"the tensor {local!r} of {where}{shown}"


def _check_types(header: dict, path) -> None:
    """The header's entries have the types the writer gives them."""

    def fail(what, value):
        raise ModelFileError(f"load_model: {path}: {what} has the wrong type: {value!r:.200}")

    if not isinstance(header.get("architecture"), dict):
        fail("the architecture", header.get("architecture"))
    if not isinstance(header.get("metadata", {}), dict):
        fail("the metadata", header["metadata"])
    config = header.get("compile")
    if config is not None:
        if not isinstance(config, dict):
            fail("the compile entry", config)
        if not isinstance(config.get("loss"), (str, list, dict, type(None))):
            fail("the loss", config["loss"])
        if not isinstance(config.get("metrics"), (list, dict, type(None))):
            fail("the metrics", config["metrics"])
        weights = config.get("loss_weights")
        values = weights.values() if isinstance(weights, dict) else weights or []
        if not isinstance(weights, (list, dict, type(None))) or not all(
            _is_number(w) for w in values
        ):
            fail("loss_weights", weights)
        if not isinstance(config.get("optimizer"), (str, type(None))):
            fail("the optimizer name", config["optimizer"])
    entry = header.get("optimizer")
    if entry is not None and not (
        isinstance(entry, dict)
        and isinstance(entry.get("class"), str)
        and isinstance(entry.get("param_groups"), list)
        and all(isinstance(g, dict) for g in entry["param_groups"])
        and isinstance(entry.get("scalars", {}), dict)
        and all(isinstance(s, dict) for s in entry.get("scalars", {}).values())
    ):
        fail("the optimizer entry", entry)


def _is_number(value) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool) and math.isfinite(value)


def _rebuild_losses(spec):
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, list):
        return [_rebuild_losses(s) for s in spec]
    return names.deserialize("loss", spec)


def _rebuild_optimizer(entry, arrays, model, path):
    """The optimizer of a model file, each group's settings checked by the optimizer's own
    constructor and its state by the state of one probe step (same keys, types, shapes)."""
    if entry is None:
        return None
    try:
        cls, _ = names.lookup("optimizer", entry["class"])
        params = model.parameters()
        groups, template = [], {}  # template: parameter position -> the state its group makes
        for g in entry["param_groups"]:
            indices = g["params"]
            if not (isinstance(indices, list) and all(_is_position(i, params) for i in indices)):
                raise ValueError(f"param_groups: parameter positions {indices!r}")
            hyper = {k: v for k, v in g.items() if k != "params"}
            groups.append({**hyper, "params": [params[i] for i in indices]})
            template.update(dict.fromkeys(indices, _state_template(cls, hyper)))
        optimizer = cls(groups)
        state = {}
        for i, scalars in entry.get("scalars", {}).items():
            state.setdefault(int(i), {}).update(scalars)
        for key, value in arrays.items():
            _, i, name = key.split("/", 2)
            state.setdefault(int(i), {})[name] = value
        for i, saved in state.items():
            if i not in template:
                raise ValueError(f"state for parameter {i}, which no group holds")
            _check_state(cls, template[i], params[i], saved)
        optimizer.load_state_dict({"state": state, "param_groups": entry["param_groups"]})
    except names.UnknownNameError as error:
        raise ModelFileError(f"load_model: {path}: the optimizer: {error}") from None
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise ModelFileError(f"load_model: {path}: the optimizer state: {error!r}") from None
    return optimizer


def _is_position(i, params) -> bool:
    return type(i) is int and 0 <= i < len(params)


@functools.cache
def _defaults(cls) -> dict | None:
    """The default settings of ``cls``; None if it has no defaults (a custom optimizer with
    a required argument), and then only its constructor checks a file's settings."""
    try:
        return _probe(cls, {}).param_groups[0]
    except TypeError:
        return None


def _probe(cls, hyper: dict):
    """An optimizer of ``cls`` with ``hyper`` (its constructor checks them) on one probe
    parameter, after one step: its state shows the keys and types a state must have."""
    optimizer = cls([Parameter(np.zeros(2), "probe")], **hyper)
    with np.errstate(all="ignore"):
        optimizer.step()
    return optimizer


def _state_template(cls, hyper: dict) -> dict:
    """The state one step of ``cls`` makes with the settings ``hyper``, after checking that
    each setting exists and has the type of its default."""
    defaults = _defaults(cls)
    for key, value in hyper.items() if defaults is not None else ():
        if key not in defaults:
            raise ValueError(f"{cls.__name__} has no setting {key!r}")
        default = defaults[key]
        same = (
            (isinstance(default, bool) and isinstance(value, bool))
            or (_is_number(default) and _is_number(value))
            or (default is None and (value is None or _is_number(value)))
            or (
                isinstance(default, (tuple, list))
                and isinstance(value, (tuple, list))
                and len(value) == len(default)
                and all(map(_is_number, value))
            )
        )
        if not same:
            raise TypeError(f"{cls.__name__} setting {key}={value!r}; expected like {default!r}")
    state = _probe(cls, hyper).state
    return next(iter(state.values())) if state else {}


def _check_state(cls, expected: dict, p, saved: dict) -> None:
    if saved.keys() != expected.keys():
        raise ValueError(f"state keys {sorted(saved)}; {cls.__name__} keeps {sorted(expected)}")
    for key, value in saved.items():
        like = expected[key]
        if isinstance(like, np.ndarray):
            if not isinstance(value, np.ndarray) or value.shape != p.shape:
                raise ValueError(f"state {key!r}: expected an array of shape {p.shape}")
            if value.dtype.kind != "f" or not np.isfinite(value).all():
                raise ValueError(f"state {key!r}: expected finite floats")
        elif not (_is_number(value) and type(value) is type(like) and value >= 0):
            raise TypeError(f"state {key!r}={value!r}; expected like {like!r}")
