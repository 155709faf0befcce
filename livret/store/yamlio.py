"""Reading and writing YAML and Markdown-with-front-matter files.

Two pitfalls of YAML 1.1 (PyYAML's default) bite hand-edited portfolios:
``10:00`` becomes the integer 600 and ``2026-03-01`` becomes a ``date``
object, while ``no`` becomes ``False``.  livret reads and writes YAML with
the YAML 1.2 *core* schema instead: scalars are strings unless they are
plainly ``true``/``false``, ``null``, a decimal integer or a float.  Dates and
times are therefore always strings, and the schema parses them.

Every loaded document also yields a map from key paths to line numbers, so
that a problem found by the schema can be reported as ``path:line: message``.

Hostile input is bounded before it costs anything: a document longer than
:data:`MAX_YAML_CHARS` is refused unread, and so is any alias (``*name``,
which repeats an anchored ``&name`` value): nothing livret writes or
documents uses them, and ten lines of nested aliases expand to billions of
values (or, pointing at themselves, to an endless one).  libyaml itself
refuses nesting deeper than 1,000 levels, and the walks below are loops,
not recursion.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import yaml

__all__ = [
    "MAX_YAML_CHARS",
    "FrontMatterError",
    "Document",
    "load_yaml",
    "dump_yaml",
    "parse_front_matter",
    "render_front_matter",
]


_FastSafeLoader = getattr(yaml, "CSafeLoader", yaml.SafeLoader)  # libyaml when available


class CoreLoader(_FastSafeLoader):  # type: ignore[misc,valid-type]
    """SafeLoader (libyaml's parser when available) restricted to the YAML 1.2 core schema."""


class CoreDumper(getattr(yaml, "CSafeDumper", yaml.SafeDumper)):
    """SafeDumper (libyaml's emitter when available: 3× faster) matching :class:`CoreLoader`
    (no timestamps, no sexagesimals, no aliases)."""

    def ignore_aliases(self, data: Any) -> bool:
        return True  # a value used twice is written twice: the reader refuses aliases


#: The longest YAML document read (a front matter, a framework, the organisation file).
MAX_YAML_CHARS = 1_000_000


def _core_resolvers(cls: type) -> None:
    cls.yaml_implicit_resolvers = {}
    cls.add_implicit_resolver(
        "tag:yaml.org,2002:bool",
        re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"),
        list("tTfF"),
    )
    cls.add_implicit_resolver(
        "tag:yaml.org,2002:int",
        re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"),
        list("-+0123456789"),
    )
    cls.add_implicit_resolver(
        "tag:yaml.org,2002:float",
        re.compile(
            r"^(?:[-+]?(?:\.[0-9]+|[0-9]+(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?"
            r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
        ),
        list("-+0123456789."),
    )
    cls.add_implicit_resolver(
        "tag:yaml.org,2002:null",
        re.compile(r"^(?:~|null|Null|NULL|)$"),
        ["~", "n", "N", ""],
    )


_core_resolvers(CoreLoader)
_core_resolvers(CoreDumper)


def _construct_int(loader: CoreLoader, node: yaml.ScalarNode) -> int:
    text = loader.construct_scalar(node)
    return int(text, 0) if text.startswith(("0o", "0x")) else int(text)


CoreLoader.add_constructor("tag:yaml.org,2002:int", _construct_int)


_YAML11 = yaml.resolver.Resolver()
_SAFE_YAML11_TAGS = {"tag:yaml.org,2002:str", "tag:yaml.org,2002:timestamp"}


#: Line breaks other than \n: PyYAML writes them bare and reads them back as spaces or \n.
_OTHER_BREAKS = ("\r", "\x85", "\u2028", "\u2029")


def _str_representer(dumper: CoreDumper, data: str) -> yaml.Node:
    if any(b in data for b in _OTHER_BREAKS):
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style='"')  # escaped
    if "\n" in data:
        return dumper.represent_scalar("tag:yaml.org,2002:str", data, style="|")
    # Quote what a YAML 1.1 reader (PyYAML's default, many tools) would not read
    # back as text: ``10:00`` (a number there), ``yes``, ``on``...
    tag = _YAML11.resolve(yaml.ScalarNode, data, (True, False))
    style = "'" if tag not in _SAFE_YAML11_TAGS else None
    return dumper.represent_scalar("tag:yaml.org,2002:str", data, style=style)


CoreDumper.add_representer(str, _str_representer)


@dataclass
class FrontMatterError(Exception):
    """A file that cannot be read as YAML front matter; ``line`` is 1-based."""

    message: str
    line: int | None = None

    def __str__(self) -> str:
        return self.message


@dataclass
class Document:
    """A parsed file: its data, its Markdown body and the lines of its keys."""

    data: dict[str, Any]
    body: str = ""
    lines: dict[tuple[Any, ...], int] = field(default_factory=dict)

    def line_of(self, loc: tuple[Any, ...]) -> int | None:
        """The line of the deepest known key on ``loc`` (a schema error location)."""
        loc = tuple(loc)
        while loc:
            if loc in self.lines:
                return self.lines[loc]
            loc = loc[:-1]
        return self.lines.get(())


def _line_map(node: yaml.Node, offset: int) -> dict[tuple[Any, ...], int]:
    """The line of every key path; raise FrontMatterError for an alias or a duplicate key.

    One loop over the composed nodes, visiting each node once: the composer
    gives an alias the very node of its anchor, so a node met twice is an
    alias, refused before anything expands it.
    """
    lines: dict[tuple[Any, ...], int] = {(): node.start_mark.line + 1 + offset}
    errors: list[FrontMatterError] = []
    seen: set[int] = {id(node)}
    stack: list[tuple[yaml.Node, tuple[Any, ...]]] = [(node, ())]
    while stack:
        n, path = stack.pop()
        if isinstance(n, yaml.MappingNode):
            keys: set[str] = set()
            children = []
            for key, value in n.value:
                line = key.start_mark.line + 1 + offset
                if isinstance(key, yaml.ScalarNode):
                    if key.value in keys:
                        errors.append(FrontMatterError(f"clé « {key.value} » en double", line))
                    keys.add(key.value)
                    children.append((value, path + (key.value,), line))
                else:
                    children.append((key, path, line))
                    children.append((value, path, line))
        elif isinstance(n, yaml.SequenceNode):
            children = [(item, path + (i,), item.start_mark.line + 1 + offset) for i, item in enumerate(n.value)]
        else:
            continue
        for child, sub, line in children:
            if id(child) in seen:
                # (an alias's node is its anchor's, marked where the anchor is: name the list that holds it)
                where = line if isinstance(n, yaml.MappingNode) else lines[path]
                errors.append(FrontMatterError("alias YAML (*nom) refusé : écrivez la valeur elle-même à cet endroit",
                                               where))
                continue
            seen.add(id(child))
            lines.setdefault(sub, line)
            stack.append((child, sub))
    if errors:
        raise min(errors, key=lambda e: e.line or 0)  # the first in the file
    return lines


def load_yaml(text: str, *, line_offset: int = 0) -> Document:
    """Parse one YAML mapping; raise :class:`FrontMatterError` with a line number.

    Refused unread beyond :data:`MAX_YAML_CHARS`; aliases are refused (see the module).
    """
    if len(text) > MAX_YAML_CHARS:
        raise FrontMatterError(f"YAML trop long (plus de {MAX_YAML_CHARS:,} caractères)".replace(",", "\u202f"),
                               1 + line_offset)
    try:
        loader = CoreLoader(text)
        try:
            node = loader.get_single_node()  # parse once: lines and data come from the same nodes
            if node is None:
                return Document({}, lines={(): 1 + line_offset})
            lines = _line_map(node, line_offset)  # refuses aliases and duplicate keys first
            data = loader.construct_document(node)
        finally:
            loader.dispose()
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        if exc.context_mark is not None and (mark is None or mark.index >= len(text.rstrip())):
            mark = exc.context_mark  # an unclosed bracket or quote: point at where it opened
        line = mark.line + 1 + line_offset if mark else None
        problem = exc.problem or exc.context or "erreur de syntaxe"
        raise FrontMatterError(f"YAML invalide : {problem}", line) from None
    except yaml.YAMLError as exc:  # pragma: no cover - non-marked errors are rare
        raise FrontMatterError(f"YAML invalide : {exc}", None) from None
    if not isinstance(data, dict):
        raise FrontMatterError(
            "le YAML doit être un dictionnaire de clés (clé: valeur)", node.start_mark.line + 1 + line_offset
        )
    for key in data:
        if not isinstance(key, str):
            raise FrontMatterError(f"clé non textuelle : {key!r}"[:200], lines.get(()))
    return Document(data, lines=lines)


_BOUNDARY = re.compile(r"^---[ \t]*$")


def parse_front_matter(text: str) -> Document:
    """Split a Markdown file into YAML front matter and body.

    The file must start with a ``---`` line and the front matter ends at the
    next ``---`` line.  Line numbers in the result are lines of the file.
    """
    if text.startswith("\ufeff"):
        text = text[1:]
    lines = text.split("\n")
    if not lines or not _BOUNDARY.match(lines[0].rstrip("\r")):
        raise FrontMatterError("pas d'en-tête YAML : le fichier doit commencer par une ligne « --- »", 1)
    for i in range(1, len(lines)):
        if _BOUNDARY.match(lines[i].rstrip("\r")):
            break
    else:
        raise FrontMatterError("en-tête YAML non fermé : ligne « --- » finale manquante", 1)
    # The final "\n" ends the last line: a block scalar (``|``) at the end keeps its newline.
    doc = load_yaml("\n".join(lines[1:i]) + "\n", line_offset=1)
    body = "\n".join(lines[i + 1 :])
    doc.body = body.lstrip("\r\n")
    return doc


def dump_yaml(data: dict[str, Any]) -> str:
    """Dump a mapping as YAML, keeping the key order."""
    return yaml.dump(
        data,
        Dumper=CoreDumper,
        sort_keys=False,
        allow_unicode=True,
        default_flow_style=False,
        width=100,
    )


def render_front_matter(data: dict[str, Any], body: str) -> str:
    """The text of a Markdown file with ``data`` as its front matter."""
    body = body.strip("\r\n")  # as parse_front_matter reads it back: a round trip keeps the text
    text = "---\n" + dump_yaml(data) + "---\n"
    if body:
        text += "\n" + body + "\n"
    return text
