"""French done properly (issue 18, part 3): numbers, sizes and hours through Babel's French formats, plurals
spelled out (no « (s) » in the app's catalogue, its templates or any Python message), the CLI's help in French."""

from __future__ import annotations

import ast
import datetime as dt
import re
from pathlib import Path

import click
import pytest
from babel.messages.extract import extract_from_dir
from click.testing import CliRunner
from factories import add, make_project, when

from livret.cli import main
from livret.publish.site.context import SiteContext
from livret.publish.site.entries import entry_page
from livret.publish.site.followup import attendance_page
from livret.store import french

ROOT = Path(__file__).resolve().parent.parent
NBSP, NNBSP = "\u00a0", "\u202f"

#: « compétence(s) », « acquise(s) », « apprenant·e(s) »: a word with a parenthesised plural mark.
PAREN_PLURAL = re.compile(r"\w\((?:s|es|x)\)")
#: A number with a decimal point, as a French reader must never see one (« 11.4 Mo », « 31.5 h »).
DECIMAL_POINT = re.compile(r"(?<![\w.])\d+\.\d+(?![\w.])")


def test_numbers_sizes_and_hours_are_written_the_french_way():
    assert french.number(11.4) == "11,4" and french.number(3.0) == "3" and french.number(0.25, 2) == "0,25"
    assert french.number(12345.5) == f"12{NNBSP}345,5"  # Babel's French group separator: a narrow no-break space
    assert french.size(int(11.4 * 1024 * 1024)) == f"11,4{NBSP}Mo"
    assert french.size(512 * 1024) == f"512{NBSP}Ko" and french.size(800) == f"800{NBSP}o"
    assert french.megabytes(10 * 1024 * 1024) == f"10{NBSP}Mo"
    assert french.hours(31.5) == f"31,5{NBSP}h" and french.hours(7) == f"7{NBSP}h"
    assert french.duration(90) == f"1{NBSP}h{NBSP}30" and french.duration(45) == f"45{NBSP}min"
    assert french.duration(120) == f"2{NBSP}h"
    assert french.seconds(2.44) == f"2,4{NBSP}s" and french.percent(0.667) == f"67{NBSP}%"
    for text in (french.number(11.4), french.size(1_600_000), french.hours(2.75), french.seconds(0.5)):
        assert not DECIMAL_POINT.search(text), text


def test_the_decimal_point_detector_catches_what_the_issue_saw():
    """The pattern the page tests use finds « 11.4 Mo » and « 31.5 h », not dates, versions or our own forms."""
    assert DECIMAL_POINT.search("11.4 Mo") and DECIMAL_POINT.search("31.5 h suivies")
    for fine in ("11,4 Mo", "Open Badges 3.0.1", "v1.2.3", "2026-03-02", "fichier.pdf", "1 h 30"):
        assert not DECIMAL_POINT.search(fine), fine


@pytest.mark.parametrize("n, expected", [
    (0, "0 compétence acquise"), (1, "1 compétence acquise"), (2, "2 compétences acquises"),
    (1.5, "1,5 compétence acquise"), (1000, f"1{NNBSP}000 compétences acquises"),
])
def test_counts_follow_the_french_plural_rule(n, expected):
    assert french.count(n, "compétence acquise", "compétences acquises") == expected


def _python_messages(path: Path):
    """(line, text) of every string literal of a module but its docstrings (English, for developers)."""
    tree = ast.parse(path.read_text(encoding="utf-8"))
    docstrings = set()
    for node in ast.walk(tree):
        if isinstance(node, (ast.Module, ast.ClassDef, ast.FunctionDef, ast.AsyncFunctionDef)) and node.body:
            first = node.body[0]
            if isinstance(first, ast.Expr) and isinstance(first.value, ast.Constant):
                docstrings.add(id(first.value))
    for node in ast.walk(tree):
        if isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in docstrings:
            yield node.lineno, node.value


def test_no_python_message_writes_a_plural_in_brackets():
    found = [f"{path.relative_to(ROOT)}:{line}: {text!r}"
             for package in ("livret", "forms_app") for path in sorted((ROOT / package).rglob("*.py"))
             for line, text in _python_messages(path) if PAREN_PLURAL.search(text)]
    assert found == []


def test_the_detector_catches_a_bracketed_plural(tmp_path):
    module = tmp_path / "m.py"
    module.write_text('"""Docstring: « Tuteur(s) » is an input example."""\nMESSAGE = f"{n} compétence(s)"\n',
                      encoding="utf-8")
    assert [text for _, text in _python_messages(module) if PAREN_PLURAL.search(text)] == [" compétence(s)"]


def test_the_catalogue_and_the_templates_have_no_plural_in_brackets():
    """The messages ``pybabel extract -F babel.cfg`` collects from the app, and every template's text."""
    method_map = [("**/templates/**.html", "jinja2"), ("**.py", "python")]
    messages = [(filename, line, message)
                for filename, line, message, _comments, _context in extract_from_dir(
                    str(ROOT / "forms_app"), method_map, keywords={"_": None, "_l": None, "gettext": None,
                                                                     "ngettext": (1, 2), "lazy_gettext": None})]
    assert len(messages) > 500  # the extraction did read the app
    plural_pairs = [m for _, _, m in messages if isinstance(m, tuple)]
    assert plural_pairs, "ngettext messages are extracted with both forms"
    bad = [f"{f}:{line}: {m!r}" for f, line, m in messages
           if any(PAREN_PLURAL.search(part or "") for part in (m if isinstance(m, tuple) else (m,)))]
    assert bad == []
    templates = [*(ROOT / "forms_app" / "templates").rglob("*.html"), *(ROOT / "livret" / "mail").rglob("*.txt"),
                 *(ROOT / "livret" / "mail").rglob("*.html"), *(ROOT / "site_src").rglob("*.html"),
                 *(ROOT / "site_src").rglob("*.md")]
    bad = [f"{p.relative_to(ROOT)}:{n}" for p in templates
           for n, line in enumerate(p.read_text(encoding="utf-8").splitlines(), 1) if PAREN_PLURAL.search(line)]
    assert bad == []


def _commands(cmd: click.Command, path: tuple[str, ...] = ()):
    yield path, cmd
    if isinstance(cmd, click.Group):
        for name, sub in sorted(cmd.commands.items()):
            yield from _commands(sub, (*path, name))


def test_every_help_of_the_command_line_is_in_french():
    runner = CliRunner()
    seen = 0
    for path, _cmd in _commands(main):
        result = runner.invoke(main, [*path, "--help"], prog_name="livret")
        assert result.exit_code == 0, (path, result.output)
        out = result.output
        assert out.startswith("Utilisation : livret"), (path, out[:80])
        for english in ("Usage:", "Options:", "Commands:", "Show this message", "Show the version"):
            assert english not in out, (path, english)
        assert "Afficher cette aide et quitter." in out
        seen += 1
    assert seen > 30
    assert "Afficher la version et quitter." in runner.invoke(main, ["--help"]).output


def test_the_sites_write_hours_with_a_decimal_comma(tmp_path):
    """The attendance page and an attendance entry's page of a built site: « 31,5 h », never « 31.5 h »."""
    project = make_project(tmp_path / "proj", learners=("alice",), with_site=False)
    add(project, "alice", {"type": "attendance", "date": when("2026-03-28"), "title": "Assiduité de mars",
                           "period_start": "2026-03-01", "period_end": "2026-03-28", "hours_planned": 35,
                           "hours_attended": 31.5}, author="tina")
    store = project.store
    ctx = SiteContext(store.load_learner("alice"), "staff", dt.date(2026, 4, 1), store.settings())
    pages = [attendance_page(ctx), *(entry_page(ctx, e) for e in ctx.current if e.type == "attendance")]
    assert len(pages) == 2
    for page in pages:
        assert DECIMAL_POINT.findall(page) == [], page
        assert re.search(r"31,5\s+h\b", page)  # (the site's text escaping folds every space into one)


def test_the_app_takes_ngettext_from_forms_app_french():
    """flask_babel's own ``ngettext`` would say « 0 comptes » (gettext's n == 1 rule without a catalogue)."""
    direct = [p.name for p in sorted((ROOT / "forms_app").glob("*.py"))
              if re.search(r"from flask_babel import [^\n]*\bngettext\b", p.read_text(encoding="utf-8"))]
    assert direct == []
