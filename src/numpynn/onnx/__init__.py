"""ONNX export and import: serve a numpynn model with ONNX Runtime, run an ONNX graph here.

``nn.onnx.export(model, "model.onnx", example_input)`` writes the model in eval mode (Dropout
is no node at all, BatchNorm uses its running statistics) as an ONNX graph of opset 17, IR
version 8 (what ONNX Runtime 1.17 and later read), float32, with a dynamic batch dimension
and the model's input and output names. The graph is checked with
``onnx.checker.check_model(full_check=True)`` before the file is written, atomically: a
layer without an ONNX equivalent is an error that names it, never a partial file.

The sequence layers: Embedding is a Gather (a graph input read only as indices is declared
int64); RNN, LSTM and GRU are ONNX's RNN/LSTM/GRU nodes, one per layer of a stack, both
directions in one node, gates reordered from PyTorch's (LSTM i, f, g, o to ONNX's i, o, f,
c; GRU r, z, n to z, r, h, with ``linear_before_reset=1``), a zero initial state, and
Transposes for ``batch_first``; a bare layer's graph gives its output sequence (not h_n),
Keras's layers their results (last step, sequences, ``return_state``'s several outputs).
MultiheadAttention (self-attention, no masks) and TransformerEncoderLayer/TransformerEncoder
are MatMul, Softmax, Add and LayerNormalization nodes.

``nn.onnx.load("model.onnx")`` builds a functional ``nn.Model`` from a graph made of the
operators listed in ``numpynn.onnx.LOADABLE`` (and in the documentation's interop page):
PyTorch models exported with ``torch.onnx.export(..., dynamo=False)`` and numpynn's own
exports, the formulas ``export`` writes for GELU, Softplus with beta and threshold and
Normalization read back as those layers; one-direction RNN/LSTM/GRU nodes on a batch-first
input as Keras's ``SimpleRNN``/``LSTM``/``GRU``, with their sequences, ``out[:, -1]`` or
``h_n[-1]``. An operator outside that set is an error naming it and its node. Attention
and bidirectional layers are exported but not read back.

Layout: one module per operator family (``dense``, ``conv``, ``normalization``,
``activation``, ``shape``, ``embedding``, ``recurrent``, ``attention``), each holding the
export of its layers and the import of its ONNX operators, declared in its ``EXPORTS`` and
``IMPORTS`` tables, which ``_table`` gathers; ``_graph`` is the graph being written,
``_files`` reads and writes the files, ``_export`` and ``_importer`` walk a model or a graph.

The packages ``onnx`` (and ``onnxruntime`` to run the result) are imported only when used:
``pip install "numpynn[onnx]"``. This package is ``numpynn.onnx``; the ``import onnx``
statements inside it are absolute and reach the package, not this one.
"""

from numpynn.onnx._checks import MIN_OPSET
from numpynn.onnx._export import export
from numpynn.onnx._files import IR_VERSION, OPSET, ONNXLoadError
from numpynn.onnx._importer import load
from numpynn.onnx._table import LOADABLE

__all__ = ["IR_VERSION", "LOADABLE", "MIN_OPSET", "OPSET", "ONNXLoadError", "export", "load"]
