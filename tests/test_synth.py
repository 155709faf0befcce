"""The synthetic organisation of the benchmarks: valid, deterministic, with the promised mix."""

from __future__ import annotations

import hashlib
import subprocess
import sys

from factories import REPO

from livret.store.attachments import sniff
from livret.store.yamlio import parse_front_matter

if str(REPO) not in sys.path:
    sys.path.insert(0, str(REPO))

from benchmarks.synth import REFERENCE, SIZES, generate, generate_size  # noqa: E402


def tree_digest(root) -> str:
    h = hashlib.sha256()
    for path in sorted(root.rglob("*")):
        if path.is_file() and ".git" not in path.parts:
            h.update(path.relative_to(root).as_posix().encode() + b"\0" + path.read_bytes())
    return h.hexdigest()


def test_size_s_is_a_valid_store_with_the_promised_mix(tmp_path):
    report = generate_size(tmp_path / "org", "S")
    project = report.project
    assert project.store.check() == []
    assert len(project.store.learner_ids()) == SIZES["S"][0] == len(report.learners)
    assert report.entries == SIZES["S"][0] * SIZES["S"][1]
    types = report.types
    assert types.most_common(1)[0][0] == "meeting"  # meetings most
    assert {"positioning", "attendance", "evidence", "reflection", "assessment", "company-feedback"} <= set(types)
    assert 0 < report.staff_entries < report.entries / 10  # a few staff entries
    assert report.attachments >= SIZES["S"][0]
    for learner in project.store.learner_ids():
        record = project.store.load_learner(learner)
        dates = [e.date for e in record.entries]
        assert max(dates) < REFERENCE and (max(dates) - min(dates)).days > 200
        for rel in record.files:
            data = (project.store.learner_dir(learner) / rel).read_bytes()
            assert 20_000 <= len(data) <= 310_000 and sniff(data) is not None
    # one initial commit holds everything
    log = project.store.history.git("log", "--format=%s").stdout.decode().strip().splitlines()
    assert len(log) == 1 and project.store.history.untracked() == []
    check = subprocess.run([sys.executable, "-m", "livret", "check", "--root", str(project.root)],
                           capture_output=True, text=True)
    assert check.returncode == 0, check.stdout + check.stderr


def test_same_seed_same_files_whatever_the_parallelism(tmp_path):
    one = generate(tmp_path / "a", learners=6, entries=12, seed=3, git=False, jobs=1)
    two = generate(tmp_path / "b", learners=6, entries=12, seed=3, git=False, jobs=2)
    other = generate(tmp_path / "c", learners=6, entries=12, seed=4, git=False, jobs=1)
    assert tree_digest(one.project.root) == tree_digest(two.project.root)
    assert tree_digest(one.project.root) != tree_digest(other.project.root)


def test_entries_are_written_by_the_projects_own_writer(tmp_path):
    report = generate(tmp_path / "org", learners=2, entries=10, git=False, attachments=False)
    store = report.project.store
    for path in store.root.glob("*/entries/*.md"):
        doc = parse_front_matter(path.read_text(encoding="utf-8"))
        keys = list(doc.data)
        assert keys[:4] == ["id", "type", "date", "recorded"]  # entry_to_data's order
        assert path.name.endswith(f"-{doc.data['type']}-{doc.data['id'][-8:].lower()}.md")
