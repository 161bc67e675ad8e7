"""The one table of operators: each family module's ``EXPORTS`` (layer class -> exporter)
and ``IMPORTS`` (ONNX operator -> importer), gathered; the loadable list is made from it.

An exporter is ``export(layer, g, x, shape, name) -> output tensor name(s)``: ``g`` the
``Graph`` being written, ``x`` and ``shape`` the input tensor's name and shape (lists of them
for a layer with several inputs). An importer is ``load(im, node, attributes)``: ``im`` the
``Importer``, which calls it for each node of that operator.
"""

from __future__ import annotations

from numpynn.onnx import (
    activation,
    attention,
    conv,
    dense,
    embedding,
    normalization,
    recurrent,
    shape,
)

FAMILIES = (dense, conv, normalization, activation, shape, embedding, recurrent, attention)


def _gather(tables: list[dict]) -> dict:
    merged = {}
    for table in tables:
        twice = merged.keys() & table.keys()
        if twice:
            raise AssertionError(f"numpynn.onnx: {sorted(map(str, twice))} registered twice")
        merged.update(table)
    return merged


EXPORTERS = _gather([family.EXPORTS for family in FAMILIES])
IMPORTERS = _gather([family.IMPORTS for family in FAMILIES])


def family_name(family) -> str:
    return family.__name__.rsplit(".", 1)[1]


# "Gemm, MatMul (dense); Conv, ... (conv); ...": the operators ``load`` reads, by family
LOADABLE = "; ".join(
    f"{', '.join(family.IMPORTS)} ({family_name(family)})" for family in FAMILIES if family.IMPORTS
)
