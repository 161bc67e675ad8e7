"""Recurrent layers: RNN, LSTM and GRU, in PyTorch's layouts, with backpropagation through time.

One engine serves the three: the input projection of every time step is one matrix
product, x W_ih^T + b_ih over the whole sequence; the loop over time then does only the
hidden product h W_hh^T and the gates, one *cell step* per cell type (``_RNNSteps``,
``_LSTMSteps``, ``_GRUSteps``). Backward runs the same steps in reverse, collecting the
gradients of the pre-activations of every step, and the weight gradients are again one
matrix product each over the whole sequence.

Variable lengths: ``lengths=`` (one per sequence) makes the steps past a sequence's end
leave its state unchanged and give a zero output, so ``h_n`` holds each sequence's last
real state, as PyTorch's ``pack_padded_sequence`` path gives. Each class's docstring has
its formula and a runnable example; Keras's spellings are in ``layers/keras_recurrent.py``.
"""

from __future__ import annotations

import math

import numpy as np

from numpynn import functional as F
from numpynn import init
from numpynn._checks import check_real
from numpynn._config import Seed, get_rng
from numpynn._threads import batch_parts, run_parts
from numpynn.layers.dropout import dropout_mask
from numpynn.module import Module, Parameter

# --- the cell steps: one time step forward and backward, for a batch ------------------------
#
# Each cell reads as its formula; the gate activations are functional's named helpers
# (``F.lstm_gates``: one sigmoid pass over the four gates, tanh(a) = 2 sigma(2a) - 1 for g).
# The derivatives: sigma' = sigma (1 - sigma), tanh' = 1 - tanh^2, written on the outputs.


class _RNNSteps:
    """Elman cell: h' = act(a), a = x W_ih^T + b_ih + h W_hh^T + b_hh, act tanh or relu.

    Backward: da = dh' act'(a) (tanh: 1 - h'^2; relu: [a > 0]); dh = da W_hh.
    """

    gates, has_cell, hidden_bias_inside = 1, False, False

    def __init__(self, nonlinearity: str):
        self.relu = nonlinearity == "relu"

    def step(self, xw, state, w_hh, b_hh):
        (h,) = state
        a = xw + h @ w_hh.T
        h_new = np.maximum(a, 0, out=a) if self.relu else np.tanh(a, out=a)
        return (h_new,), h_new

    def step_back(self, d_state, saved, state, w_hh):
        (dh,), h_new = d_state, saved
        da = dh * (h_new > 0) if self.relu else dh * (1 - h_new * h_new)
        return da, da, (da @ w_hh,)


class _LSTMSteps:
    """LSTM cell, gates in PyTorch's order i, f, g, o:
    [i, f, g, o] = [sigma, sigma, tanh, sigma](x W_ih^T + b_ih + h W_hh^T + b_hh),
    c' = f c + i g, h' = o tanh(c').

    Backward, with dc' = dc'_future + dh' o (1 - tanh(c')^2):
    do = dh' tanh(c'), di = dc' g, dg = dc' i, df = dc' c, dc = dc' f, each times its
    activation's derivative (sigma (1 - sigma), 1 - tanh^2); dh = d[gates] W_hh.
    """

    gates, has_cell, hidden_bias_inside = 4, True, False

    def step(self, xw, state, w_hh, b_hh):
        h, c = state
        gates = np.matmul(h, w_hh.T)
        gates += xw
        i, f, g, o = F.lstm_gates(gates)  # in place
        c_new = f * c + i * g
        tanh_c = F.tanh_from_sigmoid(c_new)
        return (o * tanh_c, c_new), (gates, tanh_c)

    def step_back(self, d_state, saved, state, w_hh):
        (dh, dc_new), (gates, tanh_c), (_, c) = d_state, saved, state
        i, f, g, o = F.split_gates(gates, 4)
        dc_new = dc_new + dh * o * (1 - tanh_c * tanh_c)
        d_gates = np.empty_like(gates)
        di, df, dg, do = F.split_gates(d_gates, 4)
        di[...] = dc_new * g * i * (1 - i)
        df[...] = dc_new * c * f * (1 - f)
        dg[...] = dc_new * i * (1 - g * g)
        do[...] = dh * tanh_c * o * (1 - o)
        return d_gates, d_gates, (d_gates @ w_hh, dc_new * f)


class _GRUSteps:
    """GRU cell, gates in PyTorch's order r, z, n, the reset gate applied after the hidden
    product (PyTorch; Keras's ``reset_after=True``), with hw = h W_hh^T + b_hh:
    r = sigma(xw_r + hw_r), z = sigma(xw_z + hw_z), n = tanh(xw_n + r hw_n),
    h' = (1 - z) n + z h.

    Backward: dn = dh' (1 - z), dz = dh' (h - n); with da_n = dn (1 - n^2):
    d xw = [dr r (1 - r), dz z (1 - z), da_n], d hw = [same, same, da_n r] where
    dr = da_n hw_n; dh = dh' z + d hw W_hh.
    """

    gates, has_cell, hidden_bias_inside = 3, False, True

    def step(self, xw, state, w_hh, b_hh):
        (h,) = state
        hw = h @ w_hh.T
        if b_hh is not None:
            hw += b_hh
        n = h.shape[1]
        rz = xw[:, : 2 * n] + hw[:, : 2 * n]
        r, z = F.split_gates(F.sigmoid(rz, out=rz), 2)  # r and z in one pass
        hw_n = hw[:, 2 * n :]
        new = np.tanh(xw[:, 2 * n :] + r * hw_n)
        return (new + z * (h - new),), (rz, new, hw_n)

    def step_back(self, d_state, saved, state, w_hh):
        (dh,), (rz, new, hw_n), (h,) = d_state, saved, state
        r, z = F.split_gates(rz, 2)
        d_xw = np.empty((dh.shape[0], 3 * dh.shape[1]), dtype=dh.dtype)
        d_r, d_z, d_n = F.split_gates(d_xw, 3)
        d_n[...] = dh * (1 - z) * (1 - new * new)
        d_r[...] = d_n * hw_n * r * (1 - r)
        d_z[...] = dh * (h - new) * z * (1 - z)
        d_hw = d_xw.copy()
        d_hw[:, 2 * dh.shape[1] :] *= r  # the reset gate multiplies hw_n
        return d_xw, d_hw, (dh * z + d_hw @ w_hh,)


# --- one direction of one layer over the whole sequence --------------------------------------


def _run(cell, xw, state, w_hh, b_hh, mask, reverse):
    """The cell over every step of ``xw`` (T, N, G*H), in reverse for the backward direction
    of a bidirectional layer. Returns the outputs (T, N, H), the final state, and the tape
    backward needs: (step, what the cell saved, the state before the step)."""
    out = np.empty(xw.shape[:2] + (state[0].shape[1],), dtype=xw.dtype)
    tape = []
    for t in reversed(range(len(xw))) if reverse else range(len(xw)):
        new, saved = cell.step(xw[t], state, w_hh, b_hh)
        tape.append((t, saved, state))
        if mask is not None:  # past a sequence's end: state kept, output zero
            new = tuple(np.where(mask[t], a, b) for a, b in zip(new, state))
            out[t] = np.where(mask[t], new[0], 0)
        else:
            out[t] = new[0]
        state = new
    return out, state, tape


def _run_back(cell, tape, d_out, d_state, w_hh, mask):
    """Backpropagation through time over a tape of ``_run``. Returns the gradients of the
    input projections (T, N, G*H) and of the hidden products, the states before each step
    (to form dW_hh), and the gradient of the initial state."""
    d_xw = np.empty(d_out.shape[:2] + (w_hh.shape[0],), dtype=d_out.dtype)
    d_hw = d_xw if not cell.hidden_bias_inside else np.empty_like(d_xw)
    h_before = np.empty_like(d_out)
    for t, saved, state in reversed(tape):
        d_new = (d_state[0] + d_out[t], *d_state[1:])
        if mask is not None:  # a padded step passes the state's gradient straight through
            carried = tuple(np.where(mask[t], 0, d) for d in d_state)
            d_new = tuple(np.where(mask[t], d, 0) for d in d_new)
        d_xw[t], d_hw[t], d_state = cell.step_back(d_new, saved, state, w_hh)
        if mask is not None:
            d_state = tuple(a + b for a, b in zip(d_state, carried))
        h_before[t] = state[0]
    return d_xw, d_hw, h_before, d_state


# The multiply-adds of one direction's hidden products over a sequence (T*N*G*H*H) from
# which its batch is split over the threads, each part running the whole loop over time
# (one wait per direction, not per step). benchmarks/threads.py on 2 cores (benchmarks/
# README.md, "Threads"), split / one thread for LSTM(28, 128) over 28 steps: 0.82 at batch
# 128 (235M) at load 1.4 (0.67 at load 5), 1.3 to 1.4 at batch 32 (59M), 1.6 at batch 8.
RECURRENT_SPLIT_FROM = 100_000_000


def _run_in_parts(cell, xw, state, w_hh, b_hh, mask, reverse):
    """``_run`` over parts of the batch at once (``_threads.run_parts``); its tape is the
    parts and each part's tape."""
    steps, n = xw.shape[:2]
    parts = batch_parts(n, steps * n * w_hh.size, RECURRENT_SPLIT_FROM)

    def run_part(rows):
        part_mask = None if mask is None else mask[:, rows]
        return _run(
            cell, xw[:, rows], tuple(s[rows] for s in state), w_hh, b_hh, part_mask, reverse
        )

    runs = run_parts(run_part, parts)
    if len(runs) == 1:
        return runs[0][0], runs[0][1], (parts, [runs[0][2]])
    out = np.concatenate([r[0] for r in runs], axis=1)
    final = tuple(np.concatenate(f, axis=0) for f in zip(*(r[1] for r in runs)))
    return out, final, (parts, [r[2] for r in runs])


def _run_back_in_parts(cell, tape, d_out, d_state, w_hh, mask):
    """``_run_back`` over the parts of ``_run_in_parts``'s tape, at once."""
    parts, tapes = tape

    def back_part(rows, part_tape):
        part_mask = None if mask is None else mask[:, rows]
        part_state = tuple(d[rows] for d in d_state)
        return _run_back(cell, part_tape, d_out[:, rows], part_state, w_hh, part_mask)

    runs = run_parts(back_part, parts, tapes)
    if len(runs) == 1:
        return runs[0]
    d_xw, d_hw, h_before = (np.concatenate(a, axis=1) for a in zip(*(r[:3] for r in runs)))
    d_state0 = tuple(np.concatenate(d, axis=0) for d in zip(*(r[3] for r in runs)))
    return d_xw, d_hw, h_before, d_state0


def _check_lengths(layer, lengths, steps: int, batch: int):
    """The (T, N, 1) mask of real steps from one length per sequence, each in [1, T] (as
    PyTorch's ``pack_padded_sequence``, which refuses lengths <= 0; a float length is
    refused rather than truncated)."""
    lengths = np.asarray(lengths)
    expected = f"{layer.describe()}: lengths must lie in [1, {steps}] (the input's steps)"
    if lengths.dtype.kind not in "iu":
        raise TypeError(f"{expected}, one integer per sequence; got dtype {lengths.dtype}")
    if lengths.shape != (batch,):
        raise ValueError(f"{expected}, one per sequence ({batch},); got shape {lengths.shape}")
    bad = lengths[(lengths < 1) | (lengths > steps)]
    if bad.size:
        raise ValueError(f"{expected}, got {bad[0]}")
    return (np.arange(steps)[:, None] < lengths[None, :])[:, :, None]  # (T, N, 1)


def _state_arrays(layer, given, batch: int, dtype, what: str) -> tuple:
    """h (or h and c) as a tuple of (layers * directions, N, H) arrays: ``given`` checked,
    zeros where it is None (an initial state, or the gradient of a final state)."""
    shape = (layer.num_layers * layer.num_directions, batch, layer.hidden_size)
    count = 2 if layer._cell.has_cell else 1
    if given is None:
        given = (None,) * count
    elif count == 1:
        given = (given,)
    if len(given) != count or any(g is not None and np.shape(g) != shape for g in given):
        expected = "(h, c), each" if count == 2 else "an array"
        raise ValueError(
            f"{layer.describe()}: expected {what} as {expected} of shape {shape}, "
            f"got {[None if g is None else np.shape(g) for g in given]}"
        )
    return tuple(
        np.zeros(shape, dtype)
        if g is None
        else check_real(np.asarray(g), layer, what).astype(dtype, copy=False)
        for g in given
    )


# --- the layers ----------------------------------------------------------------------------


class RNNBase(Module):
    """The engine of RNN, LSTM and GRU: a stack of ``num_layers`` layers, each one or two
    directions, parameters named and laid out as PyTorch's (``weight_ih_l0``,
    ``weight_hh_l0``, ``bias_ih_l0``, ``bias_hh_l0``, then ``..._reverse``, then ``l1``);
    W_ih is (G*H, in), W_hh (G*H, H), G the number of gates.

    ``forward(x, hx=None, lengths=None)`` returns ``(output, h_n)`` (LSTM:
    ``(output, (h_n, c_n))``). ``backward(grad_output, grad_state=None)`` mirrors it: it
    takes the gradient of the output and, optionally, of the final state (same structure as
    forward's second result; None for zero), and returns ``(grad_input, grad_initial_state)``
    (LSTM: ``(grad_input, (grad_h0, grad_c0))``); the initial state's gradient is given
    whether ``hx`` was passed or not (it is then the gradient at the zero state).
    """

    cell_type: type  # _RNNSteps, _LSTMSteps or _GRUSteps, named by each subclass

    def __init__(
        self,
        input_size: int | None,
        hidden_size: int,
        num_layers: int = 1,
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        seed: Seed = None,
    ):
        if not 0 <= dropout < 1:
            raise ValueError(f"{type(self).__name__}: dropout must lie in [0, 1), got {dropout}")
        self._cell = self.make_cell()
        self.hidden_size, self.num_layers = int(hidden_size), int(num_layers)
        self.bias, self.batch_first, self.dropout = bias, batch_first, dropout
        self.bidirectional, self._seed = bidirectional, seed
        self._dropout_rng = None if seed is None else get_rng(seed)  # Dropout's, as its seed
        self.input_size, self.built = input_size, False
        if input_size is not None:
            self.build((None, None, input_size))

    def make_cell(self):
        return self.cell_type()

    @property
    def num_directions(self) -> int:
        return 2 if self.bidirectional else 1

    def build(self, input_shape):
        self.input_size = int(input_shape[-1])
        rng, gate_rows = get_rng(self._seed), self._cell.gates * self.hidden_size
        for layer in range(self.num_layers):
            fan_in = self.input_size if layer == 0 else self.hidden_size * self.num_directions
            for suffix in self._suffixes(layer):
                for name, shape in self._parameter_shapes(gate_rows, fan_in):
                    data = self.initial_parameter(name, shape, rng)
                    setattr(self, name + suffix, Parameter(data, name + suffix))
        self.built = True

    def _parameter_shapes(self, gate_rows, fan_in):
        shapes = [("weight_ih", (gate_rows, fan_in)), ("weight_hh", (gate_rows, self.hidden_size))]
        if self.bias:
            shapes += [("bias_ih", (gate_rows,)), ("bias_hh", (gate_rows,))]
        return shapes

    def initial_parameter(self, name: str, shape, rng):
        """PyTorch's initialisation: every parameter from U(-1/sqrt(H), 1/sqrt(H))."""
        bound = 1 / math.sqrt(self.hidden_size)
        return init.uniform(shape, -bound, bound, rng)

    def _suffixes(self, layer: int) -> list[str]:
        return [f"_l{layer}", f"_l{layer}_reverse"][: self.num_directions]

    def _weights(self, suffix):
        get = lambda name: getattr(self, name + suffix, None)  # noqa: E731
        return get("weight_ih"), get("weight_hh"), get("bias_ih"), get("bias_hh")

    def check_input(self, x):
        order = "(N, T, " if self.batch_first else "(T, N, "
        if x.ndim != 3 or x.shape[-1] != self.input_size:
            raise ValueError(
                f"{self.describe()}: expected input {order}{self.input_size}), got {x.shape}"
            )
        if x.shape[1 if self.batch_first else 0] == 0:  # PyTorch refuses it too
            raise ValueError(
                f"{self.describe()}: expected at least one time step, got input {x.shape} "
                f"as {order}{self.input_size})"
            )
        return x if x.dtype == self.weight_ih_l0.dtype else x.astype(self.weight_ih_l0.dtype)

    def forward(self, x, hx=None, lengths=None):
        steps = x.swapaxes(0, 1) if self.batch_first else x  # (T, N, F) from here on
        self.mask = None if lengths is None else _check_lengths(self, lengths, *steps.shape[:2])
        states = _state_arrays(self, hx, steps.shape[1], x.dtype, "hx")
        self.tapes, self.inputs, self.dropout_masks, finals = [], [], [], []
        layer_input = steps
        for layer in range(self.num_layers):
            outputs = []
            for d, suffix in enumerate(self._suffixes(layer)):
                state = tuple(s[layer * self.num_directions + d] for s in states)
                out, final = self._direction_forward(layer_input, state, suffix, d == 1)
                outputs.append(out)
                finals.append(final)
            self.inputs.append(layer_input)
            layer_input = outputs[0] if len(outputs) == 1 else np.concatenate(outputs, axis=2)
            if layer < self.num_layers - 1:
                mask = self._dropout_mask(layer_input)
                self.dropout_masks.append(mask)
                layer_input = layer_input if mask is None else layer_input * mask
        output = layer_input.swapaxes(0, 1) if self.batch_first else layer_input
        h_n = np.stack([f[0] for f in finals])
        if self._cell.has_cell:
            return output, (h_n, np.stack([f[1] for f in finals]))
        return output, h_n

    def _dropout_mask(self, outputs):
        """Dropout between stacked layers, in training: the mask for one layer's outputs."""
        if not self.training or self.dropout == 0:
            return None
        return dropout_mask(outputs.shape, self.dropout, outputs.dtype, self._dropout_rng)

    def _direction_forward(self, layer_input, state, suffix, reverse):
        w_ih, w_hh, b_ih, b_hh = self._weights(suffix)
        xw = layer_input @ w_ih.data.T  # every step's input projection: one product
        if b_ih is not None:
            xw += b_ih.data
            if not self._cell.hidden_bias_inside:
                xw += b_hh.data
        b_inside = b_hh.data if b_hh is not None and self._cell.hidden_bias_inside else None
        out, final, tape = _run_in_parts(
            self._cell, xw, state, w_hh.data, b_inside, self.mask, reverse
        )
        self.tapes.append(tape)
        return out, final

    def backward(self, grad_output, grad_state=None):
        return self._backpropagate(grad_output, grad_state, input_grad=True)

    def backward_params(self, grad_output, grad_state=None):
        """The parameters' gradients only: the first layer's input gradient, one product
        over the whole sequence, is skipped."""
        self._backpropagate(grad_output, grad_state, input_grad=False)

    def _backpropagate(self, grad_output, grad_state, input_grad: bool):
        d_out = grad_output.swapaxes(0, 1) if self.batch_first else grad_output
        d_finals = _state_arrays(self, grad_state, d_out.shape[1], d_out.dtype, "grad_state")
        d_initial = [None] * (self.num_layers * self.num_directions)
        tapes = iter(reversed(self.tapes))
        for layer in reversed(range(self.num_layers)):
            if layer < self.num_layers - 1 and self.dropout_masks[layer] is not None:
                d_out = d_out * self.dropout_masks[layer]
            d_input = 0
            suffixes = self._suffixes(layer)
            for d in reversed(range(len(suffixes))):
                index = layer * self.num_directions + d
                h = self.hidden_size
                d_dir = d_out[:, :, d * h : (d + 1) * h]
                d_state = tuple(g[index] for g in d_finals)
                tape, need_input = next(tapes), input_grad or layer > 0
                grads = self._direction_backward(
                    layer, suffixes[d], tape, d_dir, d_state, need_input
                )
                d_input = d_input + grads[0] if need_input else None
                d_initial[index] = grads[1]
            d_out = d_input
        if not input_grad:
            return None
        d_x = d_out.swapaxes(0, 1) if self.batch_first else d_out
        d_h0 = tuple(np.stack(parts) for parts in zip(*d_initial))
        return d_x, (d_h0 if self._cell.has_cell else d_h0[0])

    def _direction_backward(self, layer, suffix, tape, d_out, d_state, need_input=True):
        """Parameter gradients of one direction (added), and the gradients of its input and
        initial state: dW_ih = d_xw^T x, dW_hh = d_hw^T h_before, summed over all steps."""
        w_ih, w_hh, b_ih, b_hh = self._weights(suffix)
        d_xw, d_hw, h_before, d_state0 = _run_back_in_parts(
            self._cell, tape, d_out, d_state, w_hh.data, self.mask
        )
        x = self.inputs[layer]
        rows = lambda a: a.reshape(-1, a.shape[-1])  # noqa: E731  (T*N, features)
        w_ih.grad += rows(d_xw).T @ rows(x)
        w_hh.grad += rows(d_hw).T @ rows(h_before)
        if b_ih is not None:
            b_ih.grad += rows(d_xw).sum(axis=0)
            b_hh.grad += rows(d_hw).sum(axis=0)
        return (d_xw @ w_ih.data if need_input else None), d_state0

    def gate_gradients(self, d_out: np.ndarray, w_hh: np.ndarray) -> np.ndarray:
        """dL/d(gate pre-activations) at every step of the last forward's first layer
        (forward direction) for the gradient ``d_out`` (T, N, H) at its outputs and the
        recurrent weights ``w_hh`` of that forward; no parameter gradient is touched.
        ``Diagnostics`` reads the gradient through time from it."""
        states = 2 if self._cell.has_cell else 1
        d_state = tuple(np.zeros(d_out.shape[1:], d_out.dtype) for _ in range(states))
        return _run_back_in_parts(self._cell, self.tapes[0], d_out, d_state, w_hh, self.mask)[0]

    def output_shape(self, input_shape):
        return (*input_shape[:-1], self.hidden_size * self.num_directions)

    def _call_symbolic(self, inputs, options=None):
        raise TypeError(
            f"{self.describe()}: returns (output, state) tuples, which a functional Model "
            "does not carry; in a graph use Keras's spelling (nn.keras.LSTM, nn.keras.GRU, "
            "nn.SimpleRNN), with return_state=True for the states"
        )

    def get_config(self):
        return {
            "input_size": self.input_size,
            "hidden_size": self.hidden_size,
            "num_layers": self.num_layers,
            "bias": self.bias,
            "batch_first": self.batch_first,
            "dropout": self.dropout,
            "bidirectional": self.bidirectional,
        }

    def extra_repr(self):
        text = f"{self.input_size}, {self.hidden_size}"
        defaults = {"num_layers": 1, "bias": True, "batch_first": False, "dropout": 0.0}
        defaults["bidirectional"] = False
        config = self.get_config()
        return text + "".join(f", {k}={config[k]}" for k, v in defaults.items() if config[k] != v)


class RNN(RNNBase):
    """Elman RNN over a sequence, PyTorch's ``nn.RNN``:

        h_t = tanh(x_t W_ih^T + b_ih + h_{t-1} W_hh^T + b_hh)   (or relu),

    for t = 1..T from h_0 (zeros unless given); the output is every h_t of the last layer.
    Backward runs through time (BPTT): dh_{t-1} = (dh_t act'(a_t)) W_hh, plus the output's
    gradient at t - 1; weight gradients are summed over the steps.

    Args:
        input_size: features per step (None: from the first input).
        hidden_size: features of the state h.
        num_layers: stacked layers, each reading the previous one's outputs.
        nonlinearity: ``"tanh"`` or ``"relu"``.
        bias: learn b_ih and b_hh.
        batch_first: input and output are (N, T, F) instead of PyTorch's default (T, N, F).
        dropout: drop probability on the outputs of every layer but the last (training).
        bidirectional: a second direction reads the sequence backwards; outputs concatenated.
        seed: int or Generator for the initial weights and the dropout masks.

    ``forward(x, hx=None, lengths=None)``: ``hx`` the initial state h_0; ``lengths`` one
    integer in [1, T] per sequence: later steps leave the state unchanged and give zero
    outputs, as PyTorch's ``pack_padded_sequence``. Returns ``(output, h_n)``.
    ``backward(grad_output, grad_h_n=None)`` returns ``(grad_input, grad_h_0)``.
    Parameters as PyTorch's (``weight_ih_l0`` (H, F), ``weight_hh_l0`` (H, H), ...,
    ``_reverse`` for the second direction), all from U(-1/sqrt(H), 1/sqrt(H)).

    Shape:
        input (T, N, input_size), or (N, T, input_size) with ``batch_first``;
        h_0 and h_n (num_layers * directions, N, hidden_size);
        output (T, N, directions * hidden_size) (batch first likewise).

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> rnn = nn.RNN(4, 3, num_layers=2)
        >>> out, h_n = rnn(np.zeros((5, 2, 4), dtype=np.float32))
        >>> out.shape, h_n.shape
        ((5, 2, 3), (2, 2, 3))
        >>> out, h_n = rnn(np.zeros((5, 2, 4), dtype=np.float32), lengths=[5, 2])
        >>> bool(out[2:, 1].any())   # past the second sequence's end
        False
    """

    def __init__(
        self,
        input_size: int | None,
        hidden_size: int,
        num_layers: int = 1,
        nonlinearity: str = "tanh",
        bias: bool = True,
        batch_first: bool = False,
        dropout: float = 0.0,
        bidirectional: bool = False,
        seed: Seed = None,
    ):
        if nonlinearity not in ("tanh", "relu"):
            raise ValueError(f"RNN: nonlinearity must be 'tanh' or 'relu', got {nonlinearity!r}")
        self.nonlinearity = nonlinearity
        super().__init__(
            input_size, hidden_size, num_layers, bias, batch_first, dropout, bidirectional, seed
        )

    def make_cell(self):
        return _RNNSteps(self.nonlinearity)

    def get_config(self):
        return {**super().get_config(), "nonlinearity": self.nonlinearity}

    def extra_repr(self):
        relu = ", nonlinearity='relu'" if self.nonlinearity == "relu" else ""
        return super().extra_repr() + relu


class LSTM(RNNBase):
    """Long short-term memory, PyTorch's ``nn.LSTM``, gates in PyTorch's order i, f, g, o:

        i = sigma(W_ii x_t + b_ii + W_hi h_{t-1} + b_hi)
        f = sigma(W_if x_t + b_if + W_hf h_{t-1} + b_hf)
        g = tanh(W_ig x_t + b_ig + W_hg h_{t-1} + b_hg)
        o = sigma(W_io x_t + b_io + W_ho h_{t-1} + b_ho)
        c_t = f c_{t-1} + i g,   h_t = o tanh(c_t),

    W_ii, W_if, W_ig, W_io stacked in that order in ``weight_ih_l0`` (4H, F), the W_h* in
    ``weight_hh_l0`` (4H, H), the biases likewise.

    Backward through time carries dh and dc: dc_{t-1} = (dc_t + dh_t o tanh'(c_t)) f.

    Args:
        input_size: features per step (None: from the first input).
        hidden_size: features of the states h and c.
        num_layers: stacked layers, each reading the previous one's outputs.
        bias, batch_first, dropout, bidirectional, seed: as ``RNN``.

    ``forward(x, (h_0, c_0)=None, lengths=None)`` returns ``(output, (h_n, c_n))``;
    ``backward(grad_output, (grad_h_n, grad_c_n)=None)`` returns
    ``(grad_input, (grad_h_0, grad_c_0))``.

    Shape:
        as ``RNN``; c_0 and c_n like h_0.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> lstm = nn.LSTM(3, 5, batch_first=True)
        >>> out, (h_n, c_n) = lstm(np.ones((2, 4, 3), dtype=np.float32))
        >>> out.shape, h_n.shape, c_n.shape
        ((2, 4, 5), (1, 2, 5), (1, 2, 5))
        >>> grad_x, (grad_h0, grad_c0) = lstm.backward(np.ones_like(out))
        >>> grad_x.shape, grad_c0.shape
        ((2, 4, 3), (1, 2, 5))
    """

    cell_type = _LSTMSteps


class GRU(RNNBase):
    """Gated recurrent unit, PyTorch's ``nn.GRU``, gates in PyTorch's order r, z, n, the reset
    gate applied after the hidden product:

        r = sigma(W_ir x_t + b_ir + W_hr h_{t-1} + b_hr)
        z = sigma(W_iz x_t + b_iz + W_hz h_{t-1} + b_hz)
        n = tanh(W_in x_t + b_in + r (W_hn h_{t-1} + b_hn))
        h_t = (1 - z) n + z h_{t-1}.

    Args:
        input_size: features per step (None: from the first input).
        hidden_size: features of the state h.
        num_layers: stacked layers, each reading the previous one's outputs.
        bias, batch_first, dropout, bidirectional, seed: as ``RNN``.

    ``forward(x, h_0=None, lengths=None)`` and ``backward`` as ``RNN``'s. The W_i* are
    stacked in ``weight_ih_l0`` (3H, F), the W_h* in ``weight_hh_l0`` (3H, H), PyTorch's.

    Shape:
        as ``RNN``.

    Examples:
        >>> import numpy as np, numpynn as nn
        >>> gru = nn.GRU(3, 4, bidirectional=True)
        >>> out, h_n = gru(np.zeros((6, 2, 3), dtype=np.float32))
        >>> out.shape, h_n.shape
        ((6, 2, 8), (2, 2, 4))
    """

    cell_type = _GRUSteps
