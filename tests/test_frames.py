"""Page frames (livret.publish.frames) make builds faster, never different.

Every site is built twice, with frames and with every page rendered by the
theme, and the two builds must be the same file for file.  Theme overrides
that print what a frame does not replace must make the framer step aside.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from buildkit import DEMO_TODAY, demo_or_skip, rich_project  # noqa: E402

from livret.publish import frames  # noqa: E402
from livret.publish.build import build_all  # noqa: E402


def files(out: Path) -> dict[str, bytes]:
    return {str(p.relative_to(out)): p.read_bytes() for p in sorted(out.rglob("*"))
            if p.is_file() and ".cache" not in p.relative_to(out).parts}


def build_both(project, tmp_path, monkeypatch) -> tuple[dict, dict, list]:
    """(files with frames, files without, the framers used)."""
    used = []
    real = frames.Framer.render

    def render(self, *args):
        if self not in used:
            used.append(self)
        return real(self, *args)

    monkeypatch.setattr(frames.Framer, "render", render)
    build_all(project, today=DEMO_TODAY, jobs=1, out=tmp_path / "framed")
    framers = list(used)
    monkeypatch.setattr(frames.Framer, "kind", staticmethod(lambda page: None))
    build_all(project, today=DEMO_TODAY, jobs=1, out=tmp_path / "theme")
    return files(tmp_path / "framed"), files(tmp_path / "theme"), framers


def test_demo_sites_are_the_same_with_frames(tmp_path, monkeypatch):
    project = demo_or_skip(tmp_path / "demo")
    framed, theme, used = build_both(project, tmp_path, monkeypatch)
    assert framed.keys() == theme.keys() and len(framed) > 500
    for name in framed:
        assert framed[name] == theme[name], name
    filled = sum(f.framed for f in used)
    rendered = sum(f.rendered for f in used)
    print(f"\n{filled} pages from frames, {rendered} rendered by the theme")
    assert filled > 2 * rendered  # entry pages are most pages


@pytest.mark.parametrize("override", [
    '<meta name="x-page" content="{{ page.url }}">',  # per page, not a slot: the second check fails
    '<meta name="x-title" content="{{ page.meta.title | e }}">',  # a slot, transformed: the cut fails
    '<meta name="x-file" content="{{ page.file.src_uri }}">',
])
def test_an_override_printing_other_page_data_turns_frames_off(tmp_path, monkeypatch, override):
    project = rich_project(tmp_path / "p")
    main = project.root / "site_src" / "overrides" / "main.html"
    text = main.read_text(encoding="utf-8")
    main.write_text(text.replace("{% block extrahead %}", "{% block extrahead %}\n  {% if page %}" + override + "{% endif %}", 1),
                    encoding="utf-8")
    framed, theme, used = build_both(project, tmp_path, monkeypatch)
    assert framed == theme
    assert sum(f.framed for f in used) == 0
    assert sum(f.rendered for f in used) > 20
    page = next(name for name in framed if name.startswith("staff/alice/entrees/"))
    assert b'name="x-' in framed[page]
