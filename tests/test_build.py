"""The shipped demo, built with a real MkDocs build, checked against the store.

The demo is built once for the module (both audiences, every learner) and
every test reads the sites MkDocs wrote.
"""

from __future__ import annotations

import os
import re
import sys
import time
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from buildkit import DEMO_TODAY, content_of, decoded_files, demo_or_skip, external_loads, parse, site_size  # noqa: E402

from livret.publish.build import build_all, site_dir  # noqa: E402
from livret.store.schema import ENTRY_MODELS  # noqa: E402
from livret.views import progress as pv  # noqa: E402

TODAY = DEMO_TODAY
AUDIENCES = ("staff", "shared")


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    project = demo_or_skip(tmp_path_factory.mktemp("demo") / "demo")
    learners = project.store.learner_ids()
    start = time.perf_counter()
    report = build_all(project, today=TODAY)
    print(f"\ndemo: {len(learners)} learners, {len(report.built)} sites built in "
          f"{time.perf_counter() - start:.1f} s")
    return project, report


def records(project):
    for lid in project.store.learner_ids():
        record = project.store.load_learner(lid)
        if record.profile is not None and record.framework is not None:
            yield record


def test_every_learner_and_audience_is_built_without_warning(demo):
    project, report = demo
    expected = {(lid, aud) for lid in project.store.learner_ids() for aud in AUDIENCES}
    assert set(report.built) == expected
    assert report.warnings == []
    assert set(report.problems) == set(project.store.check())
    for lid, aud in expected:
        assert (site_dir(project, aud, lid) / "index.html").is_file()


def _matrix(path: Path) -> dict[str, dict[str, str]]:
    """Rows of the competency matrix, by competency code, keyed by column header."""
    out, headers = {}, None
    for row in parse(path).rows:
        if row and row[0] == "Compétence":
            headers = row
            continue
        if headers and len(row) == len(headers):
            out[row[0].split(" — ")[0]] = dict(zip(headers, row, strict=True))
    return out


@pytest.mark.parametrize("audience", AUDIENCES)
def test_matrix_levels_equal_the_derived_views(demo, audience):
    project, _ = demo
    for record in records(project):
        entries = pv.for_audience(record.entries, audience)
        views = pv.competency_views(record.framework, entries)
        rows = _matrix(site_dir(project, audience, record.id) / "competences" / "index.html")
        assert set(rows) == {v.code for v in views}
        scale = record.framework.scale
        def label(event, scale=scale):
            return scale.label(event.level) if event else "—"

        for v in views:
            row = rows[v.code]

            assert row["Positionnement"] == label(v.positioning), (record.id, v.code)
            assert row["Auto-évaluation"] == label(v.self_assessed), (record.id, v.code)
            assert row["Évaluation"] == label(v.assessed), (record.id, v.code)
            assert row["Acquise"] == ("Oui, acquise" if v.acquired else "Non"), (record.id, v.code)
            assert row["Preuves"] == str(len(v.evidence)), (record.id, v.code)
            if "Observation entreprise" in row:
                assert row["Observation entreprise"] == label(v.observed)
        progress = pv.progress(views)
        home = content_of(site_dir(project, audience, record.id) / "index.html")
        assert f"{progress.acquired} sur {progress.total}" in home


def _entry_links(path: Path) -> set[str]:
    hrefs = {attrs.get("href") or "" for tag, attrs in parse(path).tags if tag == "a"}
    return {m.group(1) for h in hrefs if (m := re.search(r"entrees/([0-9a-z]{26})/", h))}


@pytest.mark.parametrize("audience", AUDIENCES)
def test_every_entry_is_reachable_from_the_timeline(demo, audience):
    project, _ = demo
    for record in records(project):
        # signatures are shown under the entry they sign, never as a timeline card or a page of their own
        current = [e for e in pv.effective(pv.for_audience(record.entries, audience)) if e.type != "signature"]
        site = site_dir(project, audience, record.id)
        linked = _entry_links(site / "chronologie" / "index.html")
        assert linked == {e.id.lower() for e in current}, record.id
        for e in current:
            page = site / "entrees" / e.id.lower() / "index.html"
            text = content_of(page)
            assert " ".join(e.meta.title.split()) in text
            assert pv.fr_date(e.meta.date) in text
        pages = {p.name for p in (site / "entrees").iterdir()}
        assert pages == {e.id.lower() for e in current}


def _unique_text(body: str) -> str | None:
    """A long line of an entry's text, without Markdown markup, to look for in built files."""
    fragments = []
    for line in body.splitlines():
        line = re.sub(r"^\s*([-*+]|\d+\.)\s+", "", line)  # a list item's marker
        fragments += [f.strip() for f in re.split(r"[*_`#>\[\]()!|]", line)]  # text between markup characters
    best = max(fragments, key=len, default="")
    return " ".join(best.split()[:8]) if len(best) >= 30 else None


def test_staff_entries_are_in_no_file_of_the_shared_sites(demo):
    project, _ = demo
    staff_files = decoded_files(project.build_dir / "staff")
    shared_files = decoded_files(project.build_dir / "shared")
    shared_text = "\n".join(shared_files.values())
    staff_text = "\n".join(staff_files.values())
    assert any(p.name == "search_index.json" for p in shared_files)
    checked = 0
    for record in records(project):
        for e in record.entries:
            if e.visibility != "staff":
                continue
            assert e.id.lower() not in shared_text and e.id not in shared_text
            assert e.filename not in shared_text
            chunk = _unique_text(e.body)
            if chunk:
                assert chunk in staff_text, (e.path, chunk)  # the check can see it where it belongs
                assert chunk not in shared_text, (e.path, chunk)
                checked += 1
    assert checked, "the demo has no staff entry with text to look for"


def test_nothing_is_loaded_from_outside_the_sites(demo):
    project, _ = demo
    assert external_loads(project.build_dir) == []


def test_theme_assets_are_shared_not_copied(demo):
    project, _ = demo
    shared_assets = (project.build_dir / "_assets" / "assets").resolve()
    sizes, pages = [], []
    for record in records(project):
        for audience in AUDIENCES:
            site = site_dir(project, audience, record.id)
            link = site / "assets"
            assert link.is_symlink() and os.readlink(link) == "../../_assets/assets"
            assert link.resolve() == shared_assets
            assert not list(site.rglob("bundle.*.min.js"))  # rglob does not follow the symlink
            sizes.append(site_size(site))
            pages.append(len(list(site.rglob("index.html"))))
    assert list(shared_assets.glob("javascripts/bundle.*.min.js"))
    attachments = max(sum(f.stat().st_size for f in (site_dir(project, "staff", r.id) / "files").glob("*"))
                      for r in records(project))
    print(f"\nper learner site: {min(pages)}-{max(pages)} pages, {min(sizes) // 1024}-{max(sizes) // 1024} KiB "
          f"(attachments up to {attachments // 1024} KiB); shared theme assets "
          f"{site_size(shared_assets) // 1024} KiB once")
    assert max(sizes) < 3 * 1024 * 1024 + attachments


def test_charts_are_inline_svg_with_text_alternatives(demo):
    project, _ = demo
    record = next(records(project))
    page = site_dir(project, "staff", record.id) / "progression" / "index.html"
    text = page.read_text(encoding="utf-8")
    assert text.count("<svg class=\"livret-chart\"") == 2
    assert "<desc id=\"acquired-desc\">" in text and "<desc id=\"blocks-desc\">" in text
    points = pv.acquired_over_time(record.framework, record.entries)
    for day, count in points:
        assert f"{count} le {pv.fr_date(day)}" in text


def test_entry_pages_show_the_fields_of_their_type(demo):
    project, _ = demo
    for record in records(project):
        meetings = [e for e in pv.effective(record.entries) if e.type == "meeting"]
        if meetings:
            break
    else:
        pytest.skip("no meeting in the demo")
    m = meetings[0]
    text = content_of(site_dir(project, "staff", record.id) / "entrees" / m.id.lower() / "index.html")
    for key in ("kind", "modality"):
        assert ENTRY_MODELS["meeting"].model_fields[key].title in text
    # The form's "Durée (minutes)" is shown as "Durée : 1 h 30" (the unit is in the value).
    assert f"Durée : {pv.duration(m.meta.duration)}" in text and "Durée (minutes)" not in text


def test_followup_page_totals(demo):
    project, _ = demo
    for record in records(project):
        fu = pv.followup(record.entries, TODAY)
        text = content_of(site_dir(project, "staff", record.id) / "suivi" / "index.html")
        assert f"Entretiens : {fu.count}, durée totale {pv.duration(fu.total_minutes)}" in text
        if fu.longest_gap:
            assert f"{fu.longest_gap.days} jours, du {pv.fr_date(fu.longest_gap.start)}" in text
        staff_only = "À surveiller" in content_of(site_dir(project, "staff", record.id) / "index.html")
        assert staff_only
        assert "À surveiller" not in content_of(site_dir(project, "shared", record.id) / "index.html")
