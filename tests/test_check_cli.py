"""`livret check` and `livret init` through the real console script."""

import re
import subprocess
import sys

from factories import add, meeting

ENTRY = """---
id: {id}
type: {type}
date: 2026-02-02T10:00:00+01:00
recorded: 2026-02-02T12:00:00+01:00
author: tina
role: tutor
title: Entretien
kind: suivi
modality: presentiel
duration: 30
{extra}
---

Texte.
"""


def livret(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "livret", *args], capture_output=True, text=True, cwd=cwd)


def write(project, learner, name, text):
    path = project.portfolios / learner / "entries" / name
    path.write_text(text, encoding="utf-8")
    return f"portfolios/{learner}/entries/{name}"


def test_clean_store_exits_0(project):
    add(project, "alice", meeting())
    result = livret("check", "--root", str(project.root))
    assert result.returncode == 0, result.stdout + result.stderr
    assert result.stdout == ""
    assert "Aucun problème" in result.stderr


def test_every_bad_input_is_named_with_its_line(project):
    good = add(project, "alice", meeting())
    e = lambda n: f"01JM2Q8V6Z9X3K4T5R6S7W8Y{n:02d}"  # noqa: E731
    cases = {
        write(project, "alice", "bad-yaml.md", "---\nid: [oops\n---\n"): (2, "YAML invalide"),
        write(project, "alice", "no-front-matter.md", "Juste du texte.\n"): (1, "pas d'en-tête"),
        write(project, "alice", "unknown-type.md", ENTRY.format(id=e(1), type="meting", extra="")): (3, "type : type inconnu « meting »"),
        write(project, "alice", "missing-key.md",
              ENTRY.format(id=e(2), type="meeting", extra="").replace("duration: 30\n", "")): (2, "duration : clé obligatoire"),
        write(project, "alice", "unknown-code.md",
              ENTRY.format(id=e(3), type="meeting", extra="competencies:\n  - code: ZZ9\n    level: 2")): (13, "compétence inconnue"),
        write(project, "alice", "level-off-scale.md",
              ENTRY.format(id=e(4), type="meeting", extra="competencies:\n  - code: A1\n    level: 7")): (14, "hors de l'échelle"),
        write(project, "alice", "clock-date.md",
              ENTRY.format(id=e(5), type="meeting", extra="").replace("date: 2026-02-02T10:00:00+01:00", "date: 10:00")): (4, "date : date et heure"),
        write(project, "alice", "content-key.md", ENTRY.format(id=e(6), type="meeting", extra="content: hello")): (12, "« content » est réservé"),
        write(project, "alice", "duplicate-id.md", ENTRY.format(id=good.id, type="meeting", extra="")): (2, "déjà utilisé"),
        write(project, "alice", "corrects-nowhere.md",
              ENTRY.format(id=e(7), type="meeting", extra=f"corrects: {e(99)}")): (12, "aucune entrée"),
        write(project, "alice", "missing-file.md",
              ENTRY.format(id=e(8), type="meeting", extra="attachments: [files/absent.pdf]")): (12, "fichier absent"),
    }
    for bad_dir in ["Alice", "_alice", "bad..id"]:
        d = project.portfolios / bad_dir
        d.mkdir()
        (d / "learner.md").write_text("---\nid: x\n---\n")
        cases[f"portfolios/{bad_dir}"] = (1, "dossier")
    result = livret("check", "--root", str(project.root))
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    for path, (line, words) in cases.items():
        matching = [ln for ln in lines if ln.startswith(f"{path}:")]
        assert matching, f"{path} not reported in:\n{result.stdout}"
        assert any(ln.startswith(f"{path}:{line}: ") and words in ln for ln in matching), (path, matching)
    assert all(re.match(r"^[^:]+:\d+: .+", ln) for ln in lines)
    # every other file was still read: the good entry loads
    assert [x.id for x in project.store.load_learner("alice").entries] == [good.id]


def test_init_scaffolds_a_valid_project(tmp_path):
    target = tmp_path / "nouveau"
    result = livret("init", str(target))
    assert result.returncode == 0, result.stderr
    assert (target / "portfolios" / ".git").is_dir()
    check = livret("check", "--root", str(target))
    assert check.returncode == 0, check.stdout + check.stderr
    again = livret("init", str(target))
    assert again.returncode == 1 and "n'est pas vide" in again.stderr
