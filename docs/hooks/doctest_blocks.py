"""A griffe extension for the API reference: docstrings written for ``help()`` made safe
for Markdown.

- Doctest examples in a docstring's running text (not under an ``Examples:`` section) are
  shown as code. Without this, Markdown reads ``>>> x[0][1]`` as a link and
  ``mkdocs build --strict`` fails. Examples under ``Examples:`` are left to the parser.
- The ``*`` of a shape such as ``(*, in_features)`` or ``(N, *)`` is escaped, so that
  Markdown does not read two of them as emphasis.
"""

from __future__ import annotations

import re

import griffe

SHAPE_STAR = re.compile(r"(?<=\()\*|(?<=, )\*")
CODE_SPAN = re.compile(r"(`+[^`]*`+)")


def markdown_safe(text: str) -> str:
    """Fence each unindented run of doctest lines (a ``>>>`` line up to the next blank
    line) as ``pycon``, and escape shape asterisks outside code."""
    out, in_doctest, in_fence = [], False, False
    for line in text.splitlines():
        stripped = line.strip()
        if stripped.startswith("```"):
            in_fence = not in_fence
        if not in_fence and not in_doctest and line.startswith(">>>"):
            out.append("```pycon")
            in_doctest = True
        elif in_doctest and not stripped:
            out.append("```")
            in_doctest = False
        code = in_fence or in_doctest or stripped.startswith((">>>", "..."))
        out.append(line if code else _escape_outside_code_spans(line))
    if in_doctest:
        out.append("```")
    return "\n".join(out)


def _escape_outside_code_spans(line: str) -> str:
    parts = CODE_SPAN.split(line)  # the odd parts are code spans
    return "".join(SHAPE_STAR.sub(r"\\*", p) if i % 2 == 0 else p for i, p in enumerate(parts))


class DoctestBlocks(griffe.Extension):
    def on_instance(self, *, obj: griffe.Object, **kwargs) -> None:
        if obj.docstring is not None:
            obj.docstring.value = markdown_safe(obj.docstring.value)
