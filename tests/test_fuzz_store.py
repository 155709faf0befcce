"""Property-based tests over the schema and the store (hypothesis).

- any entry the store accepts round-trips: file -> load gives the same front
  matter and body, the file is valid for ``livret check``, and it is one commit;
- any entry it rejects raises InvalidInput with French field errors and
  changes nothing on disk or in git;
- the YAML writer and reader agree on any JSON-like data;
- ``livret check`` never raises on a damaged hand-edited file, and names a
  line inside the file.
"""

from __future__ import annotations

from collections import Counter

import pytest
from factories import make_project
from fuzz_strategies import (
    BODY,
    JUNK,
    NOW,
    TEXT_CHARS,
    entry_input,
    resolve_refs,
    role_for,
)
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from livret.store import Store
from livret.store.errors import InvalidInput
from livret.store.schema import entry_to_data
from livret.store.yamlio import FrontMatterError, dump_yaml, load_yaml, parse_front_matter, render_front_matter

# Hypothesis imports libcst to report a failure, which warns; without this the
# failure would show as a pytest INTERNALERROR instead of the falsifying example.
pytestmark = pytest.mark.filterwarnings("ignore:mypy_extensions.TypedDict is deprecated:DeprecationWarning")

FUZZ = settings(max_examples=120, deadline=None,
                suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])


def snapshot(store: Store) -> tuple[dict[str, bytes], str]:
    files = {p.relative_to(store.root).as_posix(): p.read_bytes() for p in sorted(store.root.rglob("*"))
             if p.is_file() and ".git" not in p.parts}
    return files, store.history.git("rev-parse", "HEAD").stdout.decode()


@pytest.fixture(scope="module")
def shared_project(tmp_path_factory):
    """One project for every example: the store grows, so references to earlier entries get exercised."""
    return make_project(tmp_path_factory.mktemp("fuzz") / "proj", with_site=False)


@pytest.fixture(scope="module")
def outcomes():
    counts: Counter = Counter()
    yield counts
    # Both properties must have been exercised, or the test proved little.
    assert counts["accepted"] >= 10 and counts["rejected"] >= 10, counts


@FUZZ
@given(data=st.data())
def test_append_round_trips_or_changes_nothing(shared_project, outcomes, data):
    store = shared_project.store
    record = store.load_learner("alice")
    fields = data.draw(entry_input(record.framework), label="fields")
    fields = resolve_refs(fields, [e.id for e in record.entries])
    role = data.draw(role_for(fields.get("type")), label="role")
    body = data.draw(BODY, label="body")
    before = snapshot(store)
    try:
        stored = store.append_entry("alice", fields, body, author="fuzz", role=role, now=NOW)
    except InvalidInput as exc:
        outcomes["rejected"] += 1
        assert exc.errors and all(e.message for e in exc.errors)
        assert snapshot(store) == before
        return
    outcomes["accepted"] += 1
    fresh = Store(store.root, display_root=store.display_root)  # nothing cached: read the file
    loaded = fresh.load_learner("alice")
    assert [p for p in loaded.problems if stored.path in p.path] == []
    again = loaded.entry(stored.id)
    assert again is not None and again.path == stored.path
    assert entry_to_data(again.meta) == entry_to_data(stored.meta)
    assert again.body.rstrip("\n") == stored.body
    files, head = snapshot(store)
    assert set(files) - set(before[0]) == {stored.path}
    log = store.history.git("log", "-1", "--format=%an", "--name-only").stdout.decode().split()
    assert log == ["fuzz", stored.path] and head != before[1]


YAML_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-10**12, 10**12)
    | st.floats(allow_nan=False, allow_infinity=False) | st.text(TEXT_CHARS, max_size=40),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(TEXT_CHARS, min_size=1, max_size=10),
                                                                inner, max_size=3),
    max_leaves=8,
)


@settings(max_examples=300, deadline=None)
@given(st.dictionaries(st.text(TEXT_CHARS, min_size=1, max_size=12), YAML_VALUES, max_size=5),
       st.text(TEXT_CHARS, max_size=100))
def test_yaml_writer_and_reader_agree(data, body):
    assert load_yaml(dump_yaml(data)).data == data
    doc = parse_front_matter(render_front_matter(data, body))
    assert doc.data == data
    assert doc.body.rstrip("\n") == body.strip("\r\n")  # the text, without the blank lines around it


@pytest.fixture(scope="module")
def check_project(tmp_path_factory):
    return make_project(tmp_path_factory.mktemp("check") / "proj", git=False, with_site=False)


VALID_ENTRY = render_front_matter(
    {"id": "01JM2Q8V6Z9X3K4T5R6S7W8Y9A", "type": "meeting", "date": "2026-03-02T14:00:00+01:00",
     "recorded": "2026-03-02T16:12:40+01:00", "author": "tina", "role": "tutor", "title": "Entretien",
     "kind": "suivi", "modality": "presentiel", "duration": 45,
     "competencies": [{"code": "A1", "level": "2"}], "decisions": ["Finir le dossier"]},
    "Texte de l'entretien.",
)


@st.composite
def damaged_file(draw) -> str:
    lines = VALID_ENTRY.split("\n")
    for _ in range(draw(st.integers(1, 3))):
        at = draw(st.integers(0, len(lines) - 1))
        action = draw(st.sampled_from(["delete", "insert", "replace", "value", "bytes"]))
        if action == "delete" and len(lines) > 1:
            del lines[at]
        elif action == "insert":
            lines.insert(at, draw(st.text(TEXT_CHARS, max_size=30)))
        elif action == "replace":
            lines[at] = draw(st.text(TEXT_CHARS, max_size=30))
        elif action == "value" and ":" in lines[at]:
            key = lines[at].split(":", 1)[0]
            lines[at] = f"{key}: {dump_yaml({'v': draw(JUNK)}).strip()[3:]}"
        elif action == "bytes":
            lines[at] = lines[at] + draw(st.sampled_from(["\t", "\x00", "\ufeff", "'", '"', "{", "[", "&a", "*a",
                                                          "!!python/object", "%YAML 1.1", "\r"]))
    return "\n".join(lines)


@settings(max_examples=200, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=damaged_file())
def test_check_reports_damaged_files_with_a_line(check_project, text):
    store = check_project.store
    path = store.root / "alice" / "entries" / "2026-03-02-meeting-s7w8y9a.md"
    path.write_text(text, encoding="utf-8")
    try:
        problems = Store(store.root, display_root=store.display_root).check()
    finally:
        path.unlink()
    n_lines = text.count("\n") + 1
    for p in problems:
        assert p.path.endswith(path.name), p
        assert p.line is None or 1 <= p.line <= n_lines + 1, (p, n_lines)
        assert p.message


def test_front_matter_errors_are_french_with_a_line():
    """A sanity anchor for the property above: one known damage, one known message."""
    with pytest.raises(FrontMatterError) as exc:
        load_yaml("a: 1\na: 2\n")
    assert exc.value.line == 2 and "en double" in exc.value.message

