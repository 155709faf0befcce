"""Cohort progression CSV: same figures as livret.views.progress, shared view only, Excel-friendly."""

from __future__ import annotations

import csv
import io

from interop_support import EVIDENCE_TITLE, STAFF_TITLE, cli, cohort_history

from livret.interop.progress_csv import COLUMNS
from livret.store.yamlio import dump_yaml, load_yaml
from livret.views.progress import competency_views, for_audience


def read_csv(path):
    raw = path.read_bytes()
    assert raw.startswith("\ufeff".encode())  # BOM: Excel opens it as UTF-8
    text = raw.decode("utf-8-sig")
    assert "\r\n" in text
    return list(csv.DictReader(io.StringIO(text, newline=""), delimiter=";"))


def test_rows_match_the_derived_views_of_the_shared_audience(project, tmp_path):
    cohort_history(project)
    out = tmp_path / "progression.csv"
    result = cli(project, "export-progress", "-o", str(out))
    assert result.exit_code == 0, result.stderr
    rows = read_csv(out)
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == 8  # 2 learners x 4 competencies
    for lid in ("alice", "bob"):
        record = project.store.load_learner(lid)
        views = competency_views(record.framework, for_audience(record.entries, "shared"))
        mine = [r for r in rows if r["apprenant"] == lid]
        assert [r["code"] for r in mine] == [v.code for v in views]
        for row, view in zip(mine, views):
            assert row["niveau évalué"] == (view.assessed.level if view.assessed else "")
            assert row["acquise"] == ("oui" if view.acquired else "non")
            assert row["preuves"] == str(len(view.evidence))
    a1 = next(r for r in rows if r["apprenant"] == "alice" and r["code"] == "A1")
    assert a1 == {
        "apprenant": "alice", "nom": "Alice Test", "formation": "Formation de test", "référentiel": "mini",
        "bloc": "A", "code": "A1", "compétence": "Préparer l'arrivée",
        "positionnement": "1", "date positionnement": "2026-01-10",
        "auto-évaluation": "2", "date auto-évaluation": "2026-02-05",
        "niveau évalué": "3", "libellé niveau évalué": "Maîtrisé", "date évaluation": "2026-03-02",
        "acquise": "oui", "preuves": "1",
    }
    # The staff assessment of B1 (level 4) is not in a file meant for companies.
    b1 = next(r for r in rows if r["apprenant"] == "alice" and r["code"] == "B1")
    assert b1["niveau évalué"] == "" and b1["acquise"] == "non"
    text = out.read_text(encoding="utf-8-sig")
    assert STAFF_TITLE not in text and EVIDENCE_TITLE not in text  # entries are counted, not quoted


def test_learner_filter_and_unknown_learner(project, tmp_path):
    cohort_history(project)
    out = tmp_path / "alice.csv"
    assert cli(project, "export-progress", "-o", str(out), "--learner", "alice").exit_code == 0
    assert {r["apprenant"] for r in read_csv(out)} == {"alice"}
    missing = cli(project, "export-progress", "-o", str(tmp_path / "x.csv"), "--learner", "nobody")
    assert missing.exit_code == 1 and "nobody" in missing.stderr
    assert not (tmp_path / "x.csv").exists()


def test_cells_a_spreadsheet_would_run_as_formulas_are_neutralised(project, tmp_path):
    path = project.portfolios / "_frameworks" / "mini.yml"
    data = load_yaml(path.read_text(encoding="utf-8")).data
    data["blocks"][0]["competencies"][0]["title"] = '=HYPERLINK("http://x","clic")'
    path.write_text(dump_yaml(data), encoding="utf-8")
    out = tmp_path / "p.csv"
    assert cli(project, "export-progress", "-o", str(out)).exit_code == 0
    titles = {r["compétence"] for r in read_csv(out)}
    assert "'=HYPERLINK(\"http://x\",\"clic\")" in titles
