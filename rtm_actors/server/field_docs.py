"""Each dataclass field's ``#:`` doc comment, read from its source (Sphinx's convention).

The comments in ``server/config.py`` are the one description of each setting: the
printed default file and docs/operations.md are generated from them, so they cannot
drift from the code.
"""

from __future__ import annotations

import ast
import inspect
import textwrap


def field_docs(cls: type) -> dict[str, str]:
    """``{field name: its #: comment as one paragraph}``; fields without one are absent.

    An empty dict if the source is not available (a bytecode-only install): the
    comments are documentation, never needed to load a configuration.
    """
    try:
        source = textwrap.dedent(inspect.getsource(cls))
    except (OSError, TypeError):
        return {}
    lines = source.splitlines()
    body = ast.parse(source).body[0]
    assert isinstance(body, ast.ClassDef)
    docs: dict[str, str] = {}
    for node in body.body:
        if isinstance(node, ast.AnnAssign) and isinstance(node.target, ast.Name):
            comment = _comment_above(lines, node.lineno - 1)
            if comment:
                docs[node.target.id] = comment
    return docs


def _comment_above(lines: list[str], index: int) -> str:
    """The ``#:`` lines right above line ``index`` (0-based), joined."""
    found: list[str] = []
    while index > 0 and lines[index - 1].strip().startswith("#:"):
        index -= 1
        found.insert(0, lines[index].strip()[2:].strip())
    return " ".join(found).replace("``", "`")
