"""PyTorch models and weights into numpynn: ``from_torch`` and ``load_torch_state_dict``.

``nn.from_torch(torch_module)`` builds the numpynn twin of a PyTorch model made of layers
numpynn has (Linear, Conv1d/2d, the pools, BatchNorm, LayerNorm, the activations, Dropout,
Flatten, Unflatten, Sequential; Embedding, RNN, LSTM, GRU, MultiheadAttention,
TransformerEncoderLayer and TransformerEncoder with their options, except LSTM's proj_size,
Embedding's max_norm, attention's add_bias_kv/add_zero_attn/kdim/vdim and an encoder layer
with bias=False), with its weights, in its train or eval mode.

``nn.load_torch_state_dict(model, state_dict)`` copies a PyTorch ``state_dict`` into *any*
numpynn model of the same architecture, whatever the names on either side: a Keras-style
``Model`` (``dense_1.weight``, ...) takes the weights of a PyTorch ``Sequential``
(``0.weight``, ...). Layers are matched by their position among the layers that hold
weights, and each array's shape is checked; the error shows the first mismatch.

torch is imported only inside ``from_torch``; ``load_torch_state_dict`` takes tensors or
NumPy arrays and needs torch only to have made them.
"""

from __future__ import annotations

import numpy as np

from numpynn import layers
from numpynn.io import value_problem
from numpynn.module import Module
from numpynn.sequential import Sequential


def _as_array(value) -> np.ndarray:
    if hasattr(value, "detach"):  # a torch tensor, without importing torch
        value = value.detach().cpu()
        if str(value.dtype) == "torch.bfloat16":  # NumPy has no bfloat16; float32 holds it
            value = value.float()
        value = value.numpy()
    return np.asarray(value)


def _converted(value: np.ndarray, have: np.ndarray, where: str, key: str) -> np.ndarray:
    """``value`` in ``have``'s dtype: floats to floats (float16 and bfloat16 widen exactly,
    as PyTorch's ``load_state_dict`` converts them), integers to integers; else an error."""
    kinds = {"f": "floating", "i": "integer", "u": "integer", "b": "boolean"}
    if kinds.get(value.dtype.kind, value.dtype.kind) != kinds.get(have.dtype.kind):
        raise ValueError(
            f"load_torch_state_dict: {where}: the state dict's {key!r} is {value.dtype} "
            f"({kinds.get(value.dtype.kind, 'not a number')}); the model holds {have.dtype} "
            f"there. Convert the tensor (.float()) if its values are meant as weights"
        )
    with np.errstate(over="ignore"):
        converted = value.astype(have.dtype, copy=False)
    problem = value_problem(key, converted)
    if problem:
        overflow = value.dtype.kind == "f" and np.isfinite(value).all()  # finite until cast
        raise ValueError(
            f"load_torch_state_dict: {where}: the state dict's {key!r} {problem}"
            + (f" once converted to {have.dtype}" if overflow else "")
        )
    return converted


def _groups(entries) -> list[tuple[str, list[tuple[str, object]]]]:
    """(owner prefix, [(local name, value), ...]) in order of first appearance."""
    groups: dict[str, list] = {}
    for key, value in entries:
        prefix, _, local = key.rpartition(".")
        groups.setdefault(prefix, []).append((local, value))
    return list(groups.items())


def _model_groups(model: Module) -> list[tuple[str, Module, list[tuple[str, np.ndarray]]]]:
    """Each module that holds parameters or buffers of its own, with them, in model order."""
    result = []
    for prefix, module in model.named_modules():
        own = [(n, p.data) for n, p in module.named_parameters() if "." not in n]
        own += [
            (n, getattr(module, n)) for n in module.buffers if getattr(module, n, None) is not None
        ]
        if own:
            result.append((prefix, module, own))
    return result


def load_torch_state_dict(model: Module, state_dict) -> None:
    """Copy a PyTorch ``state_dict`` (or a torch module's) into ``model``, by position.

    The i-th layer with weights in ``model`` takes the i-th group of ``state_dict`` entries
    that share a prefix (``features.0.weight`` and ``features.0.bias`` are one layer); within
    a layer, entries pair by name (``weight``, ``bias``, ``running_mean``, ...). Every shape
    must match; nothing is changed otherwise, and the error names the first layer, entry and
    shapes that differ. Floating values are cast to the model's float dtype (float16 and
    bfloat16 exactly); integer, boolean or non-finite values where the model holds floats,
    floats for an integer buffer and negative running variances are errors naming the entry.

    >>> import numpy as np, numpynn as nn
    >>> inputs = nn.Input(shape=(3,))
    >>> model = nn.Model(inputs, nn.Dense(2)(nn.Dense(4, activation="relu")(inputs)))
    >>> state = {"0.weight": np.ones((4, 3)), "0.bias": np.zeros(4),
    ...          "2.weight": np.ones((2, 4)), "2.bias": np.zeros(2)}
    >>> nn.load_torch_state_dict(model, state)
    >>> model(np.ones((1, 3), dtype=np.float32))
    array([[12., 12.]], dtype=float32)
    """
    if hasattr(state_dict, "state_dict"):
        state_dict = state_dict.state_dict()
    model.state_dict()  # an unbuilt (lazy) model fails here, with a message saying so
    theirs = _groups(state_dict.items())
    ours = _model_groups(model)
    new_state = {}
    for i, (prefix, module, own) in enumerate(ours):
        where = f"layer {i} with weights ({prefix or type(model).__name__}: {module.describe()})"
        if i >= len(theirs):
            raise ValueError(
                f"load_torch_state_dict: the model has {len(ours)} layers with weights, the "
                f"state dict {len(theirs)}; nothing for {where}"
            )
        their_prefix, their_entries = theirs[i]
        given = dict(their_entries)
        names = [n for n, _ in own]
        if sorted(given) != sorted(names):
            raise ValueError(
                f"load_torch_state_dict: {where} holds {names}; the state dict's "
                f"{their_prefix!r} holds {[n for n, _ in their_entries]}"
            )
        for name, have in own:
            value = _as_array(given[name])
            key = f"{their_prefix}.{name}" if their_prefix else name
            if value.shape != have.shape:
                transposed = value.ndim == 2 and value.shape == have.shape[::-1]
                raise ValueError(
                    f"load_torch_state_dict: {where}: {name} has shape {have.shape}, the state "
                    f"dict's {key!r} has {value.shape}"
                    + ("; it looks transposed (PyTorch keeps (out, in))" if transposed else "")
                )
            new_state[f"{prefix}.{name}" if prefix else name] = _converted(value, have, where, key)
    if len(theirs) > len(ours):
        raise ValueError(
            f"load_torch_state_dict: the state dict has {len(theirs)} layers with weights, the "
            f"model {len(ours)}; {theirs[len(ours)][0]!r} and after are left over"
        )
    model.load_state_dict(new_state)


# --- from_torch ------------------------------------------------------------------------------


def _single(value):
    """PyTorch's 1-tuples (Conv1d's kernel_size=(3,)) as ints."""
    return value[0] if isinstance(value, tuple) and len(value) == 1 else value


def _conv(m, cls):
    if m.padding_mode != "zeros":
        raise TypeError(f"padding_mode={m.padding_mode!r} (numpynn pads with zeros only)")
    padding = m.padding if isinstance(m.padding, str) else _single(m.padding)
    return cls(
        m.in_channels,
        m.out_channels,
        _single(m.kernel_size),
        stride=_single(m.stride),
        padding=padding,
        dilation=_single(m.dilation),
        groups=m.groups,
        bias=m.bias is not None,
    )


def _pool(m, cls):
    if getattr(m, "ceil_mode", False) or _single(getattr(m, "dilation", 1)) not in (1, (1, 1)):
        raise TypeError("ceil_mode and dilation are not supported by numpynn's pools")
    if getattr(m, "return_indices", False) or getattr(m, "divisor_override", None):
        raise TypeError("return_indices and divisor_override are not supported")
    if not getattr(m, "count_include_pad", True):
        raise TypeError("count_include_pad=False is not supported (padding counts in the mean)")
    return cls(_single(m.kernel_size), _single(m.stride), _single(m.padding))


def _batch_norm(m, cls):
    if m.momentum is None or not m.track_running_stats:
        raise TypeError("momentum=None and track_running_stats=False are not supported")
    return cls(m.num_features, eps=m.eps, momentum=m.momentum, affine=m.affine)


def _layer_norm(m):
    if m.elementwise_affine and m.bias is None:
        raise TypeError("bias=False with elementwise_affine is not supported")
    return layers.LayerNorm(m.normalized_shape, eps=m.eps, elementwise_affine=m.elementwise_affine)


def _axis(m):
    if m.dim is None:
        raise TypeError("give dim explicitly (PyTorch's implicit dim is deprecated)")
    return m.dim


def _unflatten(m):
    if m.dim != 1:
        raise TypeError(f"only dim=1 is supported, got {m.dim}")
    return layers.Reshape(*m.unflattened_size)


def _embedding(m):
    if m.max_norm is not None or m.scale_grad_by_freq:
        raise TypeError("max_norm and scale_grad_by_freq are not supported")
    return layers.Embedding(m.num_embeddings, m.embedding_dim, m.padding_idx)


def _recurrent(m, cls):
    if getattr(m, "proj_size", 0):
        raise TypeError(f"proj_size={m.proj_size} is not supported")
    options = {"nonlinearity": m.nonlinearity} if cls is layers.RNN else {}
    return cls(
        m.input_size,
        m.hidden_size,
        num_layers=m.num_layers,
        bias=m.bias,
        batch_first=m.batch_first,
        dropout=float(m.dropout),
        bidirectional=m.bidirectional,
        **options,
    )


def _attention(m):
    if m.bias_k is not None or m.add_zero_attn or not m._qkv_same_embed_dim:
        raise TypeError(
            "add_bias_kv, add_zero_attn and kdim/vdim other than embed_dim are not supported"
        )
    return layers.MultiheadAttention(
        m.embed_dim,
        m.num_heads,
        m.dropout,
        bias=m.in_proj_bias is not None,
        batch_first=m.batch_first,
    )


def _encoder_layer(torch, m):
    activation = m.activation
    names = {torch.nn.functional.relu: "relu", torch.nn.functional.gelu: "gelu"}
    if isinstance(activation, torch.nn.ReLU):
        activation = "relu"
    elif isinstance(activation, torch.nn.GELU) and activation.approximate == "none":
        activation = "gelu"
    elif activation in names:
        activation = names[activation]
    else:
        raise TypeError(f"activation {activation} is not supported (relu or gelu)")
    if m.norm1.bias is None or m.linear1.bias is None:
        raise TypeError(
            "bias=False is not supported (PyTorch's LayerNorms then have no bias; numpynn's "
            "LayerNorm always has one)"
        )
    eps = {m.norm1.eps, m.norm2.eps}
    if len(eps) != 1:
        raise TypeError(f"the two norms must share eps, got {eps}")
    return layers.TransformerEncoderLayer(
        m.self_attn.embed_dim,
        m.self_attn.num_heads,
        m.linear1.out_features,
        m.dropout.p,
        activation,
        layer_norm_eps=eps.pop(),
        batch_first=m.self_attn.batch_first,
        norm_first=m.norm_first,
    )


def _encoder(torch, m, convert):
    if not m.layers:
        raise TypeError("an encoder without layers")
    first = _encoder_layer(torch, m.layers[0])
    norm = None if m.norm is None else convert(m.norm, "norm")
    return layers.TransformerEncoder(first, len(m.layers), norm)


def _sequence_builders(torch, convert) -> dict:
    """The sequence layers' builders."""
    t = torch.nn
    return {
        t.Embedding: _embedding,
        t.RNN: lambda m: _recurrent(m, layers.RNN),
        t.LSTM: lambda m: _recurrent(m, layers.LSTM),
        t.GRU: lambda m: _recurrent(m, layers.GRU),
        t.MultiheadAttention: _attention,
        t.TransformerEncoderLayer: lambda m: _encoder_layer(torch, m),
        t.TransformerEncoder: lambda m: _encoder(torch, m, convert),
    }


def _builders(torch) -> dict:
    t = torch.nn
    return {
        t.Linear: lambda m: layers.Linear(m.in_features, m.out_features, bias=m.bias is not None),
        t.Conv2d: lambda m: _conv(m, layers.Conv2d),
        t.Conv1d: lambda m: _conv(m, layers.Conv1d),
        t.MaxPool2d: lambda m: _pool(m, layers.MaxPool2d),
        t.MaxPool1d: lambda m: _pool(m, layers.MaxPool1d),
        t.AvgPool2d: lambda m: _pool(m, layers.AvgPool2d),
        t.AdaptiveAvgPool2d: lambda m: layers.AdaptiveAvgPool2d(m.output_size),
        t.BatchNorm1d: lambda m: _batch_norm(m, layers.BatchNorm1d),
        t.BatchNorm2d: lambda m: _batch_norm(m, layers.BatchNorm2d),
        t.LayerNorm: _layer_norm,
        t.ReLU: lambda m: layers.ReLU(),
        t.LeakyReLU: lambda m: layers.LeakyReLU(m.negative_slope),
        t.ELU: lambda m: layers.ELU(m.alpha),
        t.GELU: lambda m: layers.GELU(m.approximate),
        t.SiLU: lambda m: layers.SiLU(),
        t.Sigmoid: lambda m: layers.Sigmoid(),
        t.Tanh: lambda m: layers.Tanh(),
        t.Softplus: lambda m: layers.Softplus(m.beta, m.threshold),
        t.Softmax: lambda m: layers.Softmax(_axis(m)),
        t.LogSoftmax: lambda m: layers.LogSoftmax(_axis(m)),
        t.Identity: lambda m: layers.Identity(),
        t.Dropout: lambda m: layers.Dropout(m.p),
        t.Dropout1d: lambda m: layers.Dropout2d(m.p),
        t.Dropout2d: lambda m: layers.Dropout2d(m.p),
        t.Flatten: lambda m: layers.Flatten(m.start_dim, m.end_dim),
        t.Unflatten: _unflatten,
    }


def _refuse_tuple_inside(torch, children) -> None:
    """A recurrent layer or attention returns a tuple: in a Sequential, only as the last
    layer (PyTorch's Sequential would hand the tuple to the next layer and fail there)."""
    t = torch.nn
    outputs = {  # what each returns, and the numpynn layer that returns the output alone
        t.LSTM: ("(output, (h_n, c_n))", "nn.keras.LSTM(units, return_sequences=...)"),
        t.GRU: ("(output, h_n)", "nn.keras.GRU(units, return_sequences=...)"),
        t.RNN: ("(output, h_n)", "nn.keras.SimpleRNN(units, return_sequences=...)"),
        t.MultiheadAttention: ("(output, attention_weights)", None),
    }
    for (place, module), (next_place, after) in zip(children, children[1:]):
        if type(module) in outputs:
            returned, alone = outputs[type(module)]
            instead = (
                f"a numpynn model with {alone}, or a functional Model,"
                if alone
                else ("a functional numpynn Model")
            )
            raise TypeError(
                f"from_torch: {type(module).__name__} (at {place!r}) returns the tuple "
                f"{returned}, which the next layer, {type(after).__name__} (at {next_place!r}), "
                "cannot take (PyTorch's Sequential fails on it too, when called). Build "
                f"{instead} and copy the weights with nn.load_torch_state_dict"
            )


def from_torch(torch_module) -> Module:
    """The numpynn twin of a PyTorch module, with a copy of its weights and its train/eval mode.

    A ``torch.nn.Sequential`` becomes an ``nn.Sequential`` (nested ones nest), each layer its
    numpynn counterpart with the same arguments, so ``state_dict`` keys are the same on both
    sides. A module numpynn has no counterpart for (or an option it lacks) is an error that
    names it and where it sits; a model with its own ``forward`` cannot be converted, only its
    weights loaded into a numpynn model built to match (``load_torch_state_dict``).

    >>> import numpy as np, numpynn as nn
    >>> import torch                                    # doctest: +SKIP
    >>> twin = nn.from_torch(torch.nn.Sequential(torch.nn.Linear(4, 2), torch.nn.ReLU()))
    ... # doctest: +SKIP
    """
    try:
        import torch
    except ImportError:
        raise ImportError("from_torch needs PyTorch: pip install torch") from None
    builders = _builders(torch)

    def convert(module, where: str) -> Module:
        if isinstance(module, torch.nn.Sequential):
            children = [(f"{where}.{n}" if where else n, m) for n, m in module.named_children()]
            _refuse_tuple_inside(torch, children)
            return Sequential(*[convert(m, place) for place, m in children])
        build = builders.get(type(module))
        label = f"{type(module).__name__}{f' (at {where!r})' if where else ''}"
        if build is None:
            known = ", ".join(sorted({cls.__name__ for cls in builders} | {"Sequential"}))
            raise TypeError(
                f"from_torch: numpynn has no counterpart of {label}; it converts {known}"
            )
        try:
            return build(module)
        except (TypeError, ValueError) as error:
            raise TypeError(f"from_torch: {label}: {error}") from None

    builders.update(_sequence_builders(torch, convert))
    twin = convert(torch_module, "")
    state = torch_module.state_dict()
    if {v.dtype for v in state.values() if v.is_floating_point()} == {torch.float64}:
        twin.to(np.float64)  # float64 stays float64; float16 and bfloat16 compute in float32
    load_torch_state_dict(twin, state)  # by position: children may have names of their own
    return twin.train(torch_module.training)
