"""Saving and loading models: one ``.npz`` file, JSON for the architecture, never pickle.

A model file holds an entry ``numpynn.json`` (the architecture as the layers' configs, the
compile settings and the optimizer's hyper-parameters) and the arrays: ``weights/<name>``
for each parameter and buffer under its ``state_dict`` name, ``optimizer/<i>/<key>`` for
the optimizer's state. Loading reads it with ``allow_pickle=False`` and rebuilds layers
only from classes registered in ``nn.names`` (numpynn's own, and yours through
``@nn.register_layer``): a model file can hold numbers and names, never code.

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

import json
import os
import zipfile

import numpy as np

from numpynn import names, safetensors_io
from numpynn._files import atomic_write
from numpynn.module import Module

FORMAT, VERSION = "numpynn", 1
HEADER = "numpynn.json"


class ModelFileError(ValueError):
    """A model or weights file that cannot be read: damaged, foreign, or not matching."""


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
        json.dumps(spec)
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
        json.dumps(entry)
    except TypeError as error:
        raise TypeError(f"save: the optimizer's settings are not JSON ({error})") from None
    return entry, arrays


def _write(path, header: dict, arrays: dict) -> None:
    text = json.dumps({"format": FORMAT, "version": VERSION, **header})
    entries = {HEADER: np.frombuffer(text.encode(), dtype=np.uint8), **arrays}
    with atomic_write(path) as file:
        np.savez(file, **entries)


# --- reading -------------------------------------------------------------------------------


def load_model(path, compile: bool = True) -> Module:
    """Rebuild the model saved at ``path``, with its weights; compiled again (loss,
    metrics, optimizer and its state) when it was saved compiled with its optimizer and
    ``compile`` is True.

    Errors name the file and the problem: not a model file, damaged, an unknown layer,
    missing, extra or mis-shaped weights.
    """
    header, arrays = _read(path)
    if header.get("kind") != "model":
        raise ModelFileError(f"load_model: {path} holds only weights; use model.load_weights")
    try:
        model = names.deserialize("layer", header.get("architecture"))
    except names.UnknownNameError as error:
        raise ModelFileError(f"load_model: {path}: {error}; {_REGISTER_HINT}") from None
    except ValueError as error:
        raise ModelFileError(f"load_model: {path}: {error}") from None
    _load_weights_into(model, arrays, path)
    model.metadata = header.get("metadata") or {}
    config = header.get("compile")
    optimizer = _rebuild_optimizer(header.get("optimizer"), arrays, model, path)
    optimizer = optimizer or (config or {}).get("optimizer")  # a name, if never built
    if compile and config is not None and optimizer is not None and hasattr(model, "compile"):
        try:
            model.compile(
                optimizer=optimizer,
                loss=_rebuild_losses(config.get("loss")),
                metrics=config.get("metrics"),
                loss_weights=config.get("loss_weights"),
            )
        except (ValueError, TypeError) as error:
            raise ModelFileError(f"load_model: {path}: the compile settings: {error}") from None
    return model


def load_weights(model: Module, path) -> None:
    """Load weights saved by ``save_weights`` (or in a model file, or a ``.safetensors``
    file, PyTorch's included) into ``model``, in place."""
    if safetensors_io.is_safetensors(path):
        arrays = {f"weights/{k}": v for k, v in safetensors_io.load_file(path)[0].items()}
        return _load_weights_into(model, arrays, path)
    _, arrays = _read(path)
    _load_weights_into(model, arrays, path)


def _load_weights_into(model: Module, arrays: dict, path) -> None:
    weights = {k[len("weights/") :]: v for k, v in arrays.items() if k.startswith("weights/")}
    dtypes = {v.dtype for v in weights.values() if v.dtype.kind == "f"}
    if len(dtypes) == 1 and model.built:
        model.to(dtypes.pop())  # a float64 model comes back as float64
    try:
        model.load_state_dict(weights)
    except (ValueError, RuntimeError) as error:
        raise ModelFileError(f"{path}: {error}") from None


def _rebuild_losses(spec):
    if spec is None or isinstance(spec, str):
        return spec
    if isinstance(spec, list):
        return [_rebuild_losses(s) for s in spec]
    return names.deserialize("loss", spec)


def _rebuild_optimizer(entry, arrays, model, path):
    if entry is None:
        return None
    try:
        cls, _ = names.lookup("optimizer", entry["class"])
        params = model.parameters()
        groups = [
            {
                **{k: v for k, v in g.items() if k != "params"},
                "params": [params[i] for i in g["params"]],
            }
            for g in entry["param_groups"]
        ]
        optimizer = cls(groups)
        state = {}
        for i, scalars in entry.get("scalars", {}).items():
            state.setdefault(int(i), {}).update(scalars)
        for key, value in arrays.items():
            if key.startswith("optimizer/"):
                _, i, name = key.split("/", 2)
                state.setdefault(int(i), {})[name] = value
        optimizer.load_state_dict({"state": state, "param_groups": entry["param_groups"]})
    except (KeyError, IndexError, TypeError, ValueError) as error:
        raise ModelFileError(f"load_model: {path}: the optimizer state: {error!r}") from None
    return optimizer


def _read(path) -> tuple[dict, dict[str, np.ndarray]]:
    """The header and the arrays of a numpynn file, or a ModelFileError saying why not."""
    path = os.fspath(path)
    if not os.path.exists(path):
        raise FileNotFoundError(f"no model file at {path}")
    try:
        with open(path, "rb") as file:  # ours to close, whatever np.load makes of it
            npz = np.load(file, allow_pickle=False)
            if not isinstance(npz, np.lib.npyio.NpzFile):
                raise ModelFileError(f"{path} is not a readable numpynn file: it holds one array")
            if HEADER not in npz.files:
                raise ModelFileError(f"{path} is not a numpynn file (no {HEADER} entry)")
            arrays = {k: npz[k] for k in npz.files}
    except ModelFileError:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        # np.load on a file that is not a zip gives ValueError or OSError, on a truncated
        # one BadZipFile or EOFError; pickled entries give ValueError (allow_pickle=False)
        raise ModelFileError(f"{path} is not a readable numpynn file: {error}") from None
    try:
        header = json.loads(arrays.pop(HEADER).tobytes().decode())
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise ModelFileError(f"{path}: the {HEADER} entry is damaged: {error}") from None
    if not isinstance(header, dict) or header.get("format") != FORMAT:
        raise ModelFileError(f"{path} is not a numpynn file")
    if header.get("version") != VERSION:
        raise ModelFileError(
            f"{path} has format version {header.get('version')}; this numpynn reads {VERSION}"
        )
    for key, value in arrays.items():
        if value.dtype.kind not in "fiub":
            raise ModelFileError(f"{path}: entry {key!r} is not numeric ({value.dtype})")
    return header, arrays
