"""Hostile hand-edited files cost one problem line for that file, never the whole store:
YAML alias bombs, aliases pointing at themselves, oversized YAML and files, ids used twice
(real files, real git, ``livret check`` as a real subprocess where the old code hung)."""

from __future__ import annotations

import subprocess
import sys
import time

import pytest
from factories import add, hand_written, meeting, when
from hostile_support import ALIAS_MESSAGE, alias_bomb, with_front_matter_lines

from livret.store.reader import MAX_TEXT_BYTES
from livret.store.yamlio import MAX_YAML_CHARS, FrontMatterError, dump_yaml, load_yaml


def livret_check(project, timeout: float = 120) -> subprocess.CompletedProcess:
    """``livret check`` in a subprocess: an unbounded bomb would run for hours, this stops it."""
    return subprocess.run([sys.executable, "-m", "livret", "check", "--root", str(project.root)],
                          capture_output=True, text=True, timeout=timeout)


@pytest.fixture
def bombed(project):
    """alice: one valid meeting and one entry holding an alias bomb; bob: a valid meeting."""
    kept = add(project, "alice", meeting(title="Entretien sain"))
    add(project, "bob", meeting(title="Entretien de Bob"), author="tom")
    rel = hand_written(project, "alice", meeting(title="Entretien piégé", date=when("2026-02-03")))
    line = with_front_matter_lines(project.root / rel, alias_bomb())
    return project, rel, line + 1, kept  # (the first alias is on the bomb's second line)


def test_an_alias_bomb_in_an_entry_is_one_problem_line(bombed):
    project, rel, line, kept = bombed
    result = livret_check(project)
    assert result.returncode == 1
    lines = result.stdout.splitlines()
    assert [x for x in lines if x.startswith(rel)] == [f"{rel}:{line}: {ALIAS_MESSAGE} : écrivez la valeur "
                                                       "elle-même à cet endroit"]
    assert len(lines) == 1, result.stdout
    # The same store in this process: quick, and the other entries still read.
    start = time.monotonic()
    record = project.store.load_learner("alice")
    assert time.monotonic() - start < 10  # generous: the unbounded walk takes hours
    assert [e.id for e in record.entries] == [kept.id]
    assert project.store.load_learner("bob").ok


@pytest.mark.parametrize("where", ["profile", "framework", "organisation"])
def test_an_alias_bomb_anywhere_names_its_file_and_line(project, where):
    path = {"profile": project.portfolios / "alice" / "learner.md",
            "framework": project.portfolios / "_frameworks" / "mini.yml",
            "organisation": project.portfolios / "_organisation.yml"}[where]
    if where == "profile":
        line = with_front_matter_lines(path, alias_bomb()) + 1
    else:
        text = path.read_text(encoding="utf-8")
        line = text.count("\n") + 2
        path.write_text(text + "\n".join(alias_bomb()) + "\n", encoding="utf-8")
    result = livret_check(project)
    assert result.returncode == 1
    rel = path.relative_to(project.root).as_posix()
    assert f"{rel}:{line}: {ALIAS_MESSAGE}" in result.stdout, result.stdout


@pytest.mark.parametrize("yaml_text, line", [
    ("a: &a [*a]\n", 1),  # a list that holds itself
    ("a: &a {b: *a}\n", 1),  # a mapping that holds itself
    ("x: 1\nb: &b\n  c: [1, 2]\nd: *b\n", 4),  # a plain alias: refused too, nothing needs one
    ("x: 1\nl:\n  - &i 1\n  - *i\n", 2),  # an alias in a list: the list's key is named
])
def test_aliases_are_refused_with_their_line(yaml_text, line):
    with pytest.raises(FrontMatterError) as caught:
        load_yaml(yaml_text)
    assert caught.value.message.startswith(ALIAS_MESSAGE)
    assert caught.value.line == line


def test_livret_never_writes_an_alias():
    shared = ["Tina", "Alice"]
    text = dump_yaml({"participants": shared, "again": shared})
    assert "&" not in text and "*" not in text
    assert load_yaml(text).data == {"participants": shared, "again": shared}


def test_a_recursive_alias_costs_its_file_only(project):
    add(project, "alice", meeting(title="Entretien sain"))
    rel = hand_written(project, "alice", meeting(title="Boucle", date=when("2026-02-03")))
    line = with_front_matter_lines(project.root / rel, ["boucle: &b [*b]"])
    problems = project.store.check()
    assert [str(p) for p in problems] == [f"{rel}:{line}: {ALIAS_MESSAGE} : écrivez la valeur elle-même à cet "
                                          "endroit"]
    assert len(project.store.load_learner("alice").entries) == 1


def test_oversized_yaml_and_files_are_refused_unread(project):
    long_front = hand_written(project, "alice", meeting(title="Longue", date=when("2026-02-03")))
    with_front_matter_lines(project.root / long_front, ["notes:"] + ["  - x"] * (MAX_YAML_CHARS // 4))
    huge = hand_written(project, "alice", meeting(title="Énorme", date=when("2026-02-04")))
    with open(project.root / huge, "a", encoding="utf-8") as handle:
        handle.write("x" * (MAX_TEXT_BYTES + 1))
    problems = {p.path: str(p) for p in project.store.check()}
    assert problems[long_front] == f"{long_front}:2: YAML trop long (plus de 1\u202f000\u202f000 caractères)"
    assert problems[huge] == f"{huge}:1: fichier trop volumineux (plus de 4 Mo) : non lu"


def test_an_id_used_by_an_invalid_entry_of_the_same_learner_is_reported(project):
    """The old check compared valid entries only: a broken copy of an entry went unnoticed."""
    valid = add(project, "alice", meeting(title="Original"))
    twin = hand_written(project, "alice", meeting(title="Copie cassée", duration="longue",
                                                  date=when("2026-03-03")))
    path = project.root / twin
    text = path.read_text(encoding="utf-8").split("\n")
    text[1] = f"id: {valid.id}"
    path.write_text("\n".join(text), encoding="utf-8")
    original = f"portfolios/{valid.path}"
    problems = [str(p) for p in project.store.check()]
    assert f"{twin}:2: id : identifiant déjà utilisé par {original}" in problems
    assert [e.id for e in project.store.load_learner("alice").entries] == [valid.id]


@pytest.mark.parametrize("broken", ["first", "second", "neither"])
def test_an_id_used_in_two_learners_is_reported_whichever_is_valid(project, broken):
    first = hand_written(project, "alice", meeting(title="Chez Alice", date=when("2026-03-03"),
                                                   **({"duration": "longue"} if broken == "first" else {})))
    second = hand_written(project, "bob", meeting(title="Chez Bob", date=when("2026-03-04"),
                                                  **({"duration": "longue"} if broken == "second" else {})),
                          author="tom")
    entry_id = (project.root / first).read_text(encoding="utf-8").split("\n")[1]
    path = project.root / second
    text = path.read_text(encoding="utf-8").split("\n")
    text[1] = entry_id
    path.write_text("\n".join(text), encoding="utf-8")
    problems = [str(p) for p in project.store.check()]
    assert f"{second}:2: id : identifiant déjà utilisé par {first}" in problems, problems


def test_a_bomb_in_a_fresh_store_made_by_init_is_reported(tmp_path):
    """The same through a project made by ``livret init`` (the scaffold's own files)."""
    root = tmp_path / "neuf"
    subprocess.run([sys.executable, "-m", "livret", "init", str(root)], check=True, capture_output=True,
                   timeout=300)
    learner = next(p for p in sorted((root / "portfolios").iterdir()) if (p / "learner.md").is_file())
    line = with_front_matter_lines(learner / "learner.md", alias_bomb())
    result = subprocess.run([sys.executable, "-m", "livret", "check", "--root", str(root)],
                            capture_output=True, text=True, timeout=120)
    assert result.returncode == 1
    assert f"portfolios/{learner.name}/learner.md:{line + 1}: {ALIAS_MESSAGE}" in result.stdout
