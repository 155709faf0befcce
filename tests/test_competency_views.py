"""Competency views that read at a glance (issue 18): level chips (a tone always with the label and a meter of
the rank), the site's matrix (a grid whose rows become cards on a phone, positioning → follow-up → assessed,
acquired rows marked) and the block chart (full names, the « Acquises » bar drawn as its figures say)."""

from __future__ import annotations

import datetime as dt
import re
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from buildkit import rich_project  # noqa: E402

from livret.publish.site import charts, learner_site  # noqa: E402
from livret.publish.site.pages import MATRIX  # noqa: E402
from livret.store.schema import Scale  # noqa: E402
from livret.views import progress as pv  # noqa: E402
from livret.views.levels import chip_html, level_mark  # noqa: E402

SCALE = Scale.model_validate({"values": [{"value": str(i), "label": label} for i, label in enumerate(
    ("Non observé", "Découverte", "En cours", "Acquis", "Maîtrisé"))], "acquired": "3"})
SITE_CSS = Path(__file__).resolve().parent.parent / "livret" / "scaffold" / "site_src" / "stylesheets" / "livret.css"


def test_each_level_has_its_label_a_meter_and_a_tone_acquired_ones_share_green():
    marks = [level_mark(SCALE, v.value) for v in SCALE.values]
    assert [m.label for m in marks] == ["Non observé", "Découverte", "En cours", "Acquis", "Maîtrisé"]
    assert [m.steps for m in marks] == [1, 2, 3, 4, 5] and {m.of for m in marks} == {5}
    assert [m.tone for m in marks] == ["t0", "t1", "t2", "acq", "top"]
    assert [m.acquired for m in marks] == [False, False, False, True, True]
    none = level_mark(SCALE, None)
    assert (none.label, none.tone, none.steps, none.acquired) == ("—", "none", 0, False)


def test_the_chip_writes_the_label_and_fills_as_many_squares_as_the_rank():
    chip = chip_html(level_mark(SCALE, "3"))
    assert chip.startswith('<span class="lvl lvl-acq">') and chip.endswith("Acquis</span>")
    assert chip.count('<i class="on"></i>') == 4 and chip.count("<i></i>") == 1
    assert 'aria-hidden="true"' in chip
    assert chip_html(level_mark(SCALE, None)) == '<span class="lvl lvl-none">—</span>'
    other = Scale.model_validate({"values": [{"value": "a", "label": "<b>"}, {"value": "b", "label": "B"}],
                                  "acquired": "b"})
    assert "&lt;b&gt;" in chip_html(level_mark(other, "a"))


@pytest.fixture(scope="module")
def alice(tmp_path_factory):
    project = rich_project(tmp_path_factory.mktemp("views") / "p")
    record = project.store.load_learner("alice")
    site = learner_site(record, "staff", dt.date(2026, 6, 1), project.store.settings())
    return record, {p.path: p for p in site.pages}


def _rows(markdown: str) -> dict[str, str]:
    """Competency code -> its matrix row's HTML."""
    rows = re.findall(r"<tr class=\"[a-z-]+\">.*?</tr>", markdown)
    return {re.search(r">(\w+) — ", row).group(1): row for row in rows}


def test_the_site_matrix_shows_the_progression_per_competency_and_marks_the_acquired_ones(alice):
    record, pages = alice
    page = pages[MATRIX]
    assert page.hide == ("toc",)  # the grid takes the table of contents' width: it fits 1366 px
    rows = _rows(page.markdown)
    views = {v.code: v for v in pv.competency_views(record.framework, record.entries)}
    assert set(rows) == set(views) == {"A1", "A2", "B1", "B2"}
    for code, row in rows.items():
        v = views[code]
        cells = dict(re.findall(r'<t[dh][^>]* class="(c-[a-z-]+)">(.*?)</t[dh]>', row))
        for cls, event in (("c-pos", v.positioning), ("c-fu", v.followup), ("c-ev", v.assessed),
                           ("c-self", v.self_assessed), ("c-obs", v.observed)):
            assert cells[cls] == chip_html(level_mark(record.framework.scale, event.level if event else None))
        assert row.startswith('<tr class="acquired">' if v.acquired else '<tr class="not-acquired">')
        assert cells["c-acq"] == ("<strong>Oui, acquise</strong>" if v.acquired else "Non")
    # A1: positioned « Débutant », followed up « En progression » in a feedback, assessed « Maîtrisé »
    a1 = rows["A1"]
    assert a1.index("Débutant</span>") < a1.index("En progression</span>") < a1.index("Maîtrisé</span>")
    assert "lvl-acq" in a1 and 'class="c-fu"><span class="lvl lvl-t' in a1
    assert "**2 compétences acquises sur 4 (50 %).**" in page.markdown
    assert "(s)" not in page.markdown
    assert "2 acquises sur 2." in page.markdown and "0 acquise sur 2." in page.markdown


def test_on_a_phone_every_matrix_cell_is_named_in_the_stylesheet():
    css = SITE_CSS.read_text(encoding="utf-8")
    phone = css[css.index("table.livret-matrix tbody { display: block; }"):]
    for cls in ("c-pos", "c-fu", "c-ev", "c-self", "c-obs", "c-acq", "c-ev-n"):
        assert re.search(rf"td\.{cls}::before \{{ content: \"[^\"]+\"", phone), cls


def test_the_block_chart_writes_full_names_and_draws_the_acquired_bar_as_its_figures_say():
    long_title = "Construire, adapter et individualiser le parcours de formation en entreprise"
    blocks = [pv.BlockView("B1", long_title, 3, 3, 0.5, None, 2 / 3), pv.BlockView("B2", "Court", 4, 1, 0.25, 0.5, 0.5)]
    svg = charts.blocks_chart(blocks)
    assert 'viewBox="0 0 360 ' in svg  # narrow: about its own size on a 390 px phone
    texts = re.findall(r"<text [^>]*>([^<]*)</text>", svg)
    series = {"Acquises", "Positionnement", "Auto-évaluation", "Évaluation"}
    names = [t for t in texts if t not in series and not t[:1].isdigit() and t != "non renseigné"]
    assert " ".join(names) == f"B1 — {long_title} B2 — Court"  # whole, wrapped over lines
    assert len(names) == 3 and all(len(t) <= 46 for t in names)
    assert "…" not in svg and f"B1 {long_title}" in svg  # whole in the text alternative too
    bars = re.findall(r'<rect x="104" y="[\d.]+" width="([\d.]+)" height="12" fill="(#[0-9a-f]+)"/>', svg)
    acquired = [float(w) for w, colour in bars if colour == "#00695c"]
    assert acquired == [160.0, 40.0]  # 3 sur 3 fills the bar, 1 sur 4 a quarter
    assert "3 sur 3" in texts and "1 sur 4" in texts and "non renseigné" in texts
