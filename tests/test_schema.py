"""The one schema: entry types, profiles, frameworks; French errors naming the field."""

import datetime as dt

import pytest
from factories import SMALL_FRAMEWORK
from pydantic import ValidationError

from livret.store.errors import from_validation_error
from livret.store.schema import (
    ENTRY_ADAPTER,
    ENTRY_MODELS,
    Framework,
    LearnerProfile,
    entry_to_data,
    types_written_by,
)

BASE = {
    "id": "01JM2Q8V6Z9X3K4T5R6S7W8Y9A",
    "date": "2026-03-02T14:00:00+01:00",
    "recorded": "2026-03-02T16:00:00+01:00",
    "author": "paul.martin",
    "role": "tutor",
    "title": "Titre",
}
MINIMAL = {
    "positioning": {"competencies": [{"code": "A1", "level": "1"}]},
    "meeting": {"kind": "suivi", "modality": "presentiel", "duration": 30},
    "feedback": {},
    "evidence": {"role": "learner", "author": "alice"},
    "reflection": {"role": "learner", "author": "alice"},
    "assessment": {"competencies": [{"code": "A1", "level": "3"}]},
    "action-plan": {"objectives": ["Rattraper"], "due": "2026-04-01"},
    "attendance": {"period_start": "2026-03-01", "period_end": "2026-03-31", "hours_planned": 70, "hours_attended": 63.5},
    "alert": {"category": "sante", "severity": "haute"},
    "company-feedback": {"role": "company", "author": "carl", "period_start": "2026-03-01", "period_end": "2026-03-31"},
    "observation": {"role": "company", "author": "carl", "period_start": "2026-03-01", "period_end": "2026-03-31",
                    "competencies": [{"code": "A1", "level": "2"}], "not_observed": ["B1"]},
    "planned-meeting": {"kind": "suivi", "modality": "presentiel", "place": "Salle 2", "duration": 60},
    "mission": {"term": "court", "competencies": [{"code": "A1"}]},
    "signature": {"role": "company", "author": "carl", "about": "01JM2Q8V6Z9X3K4T5R6S7W8Y9B", "signer_name": "Carl",
                  "method": "mail-link", "signed": [{"path": "alice/entries/2026-03-02-meeting-7w8y9b.md",
                                                     "sha256": "0" * 64}]},
    "attendance-mark": {"session": "01JM2Q8V6Z9X3K4T5R6S7W8Y9B", "status": "late", "minutes": 20},
    "convocation": {"session": "01JM2Q8V6Z9X3K4T5R6S7W8Y9B"},
    "distance-work": {"period_start": "2026-03-01", "period_end": "2026-03-07", "hours": 4.5,
                      "activities": ["Module en ligne : tableaux croisés"]},
}


def errors(data):
    with pytest.raises(ValidationError) as exc:
        ENTRY_ADAPTER.validate_python(data)
    return {e.field: e.message for e in from_validation_error(exc.value)}


def test_every_type_has_a_minimal_valid_entry_that_round_trips():
    assert set(MINIMAL) == set(ENTRY_MODELS)
    for type_, extra in MINIMAL.items():
        entry = ENTRY_ADAPTER.validate_python({**BASE, "type": type_, **extra})
        assert entry.type == type_
        again = ENTRY_ADAPTER.validate_python(entry_to_data(entry))
        assert again == entry


def test_alert_defaults_to_staff_and_others_to_shared():
    alert = ENTRY_ADAPTER.validate_python({**BASE, "type": "alert", **MINIMAL["alert"]})
    meeting = ENTRY_ADAPTER.validate_python({**BASE, "type": "meeting", **MINIMAL["meeting"]})
    assert (alert.visibility, meeting.visibility) == ("staff", "shared")


def test_unknown_type_lists_the_types():
    assert "type inconnu « meting »" in errors({**BASE, "type": "meting"})["type"]


def test_missing_and_unknown_keys_are_named():
    found = errors({**BASE, "type": "meeting", "kind": "suivi", "duraton": 30, "modality": "presentiel"})
    assert found["duration"] == "clé obligatoire manquante"
    assert "clé inconnue" in found["duraton"]


def test_yaml_clock_values_and_naive_dates_are_refused():
    found = errors({**BASE, "type": "meeting", "kind": "suivi", "modality": "presentiel",
                    "duration": "10:00", "date": "10:00"})
    assert "nombre entier" in found["duration"] and "'10:00'" in found["duration"]
    assert "date et heure attendues, par exemple 2026-03-02T14:00:00+01:00" in found["date"]
    assert "ISO 8601" not in found["date"]  # a standard's name says nothing to the people who read the message
    naive = errors({**BASE, "type": "feedback", "date": "2026-03-02T14:00:00"})
    assert "fuseau" in naive["date"]


def test_roles_write_only_their_types():
    found = errors({**BASE, "type": "assessment", "role": "learner", **MINIMAL["assessment"]})
    assert "ne peut pas écrire" in found["type"]
    assert types_written_by("learner") == ["evidence", "reflection"]
    assert types_written_by("company") == ["company-feedback", "observation", "mission"]
    # signatures, marks and convocations are written by their services only (the sign button, the session pages)
    assert types_written_by("admin") == [t for t in ENTRY_MODELS if t not in ("signature", "attendance-mark",
                                                                             "convocation")]


def test_only_staff_roles_write_staff_entries():
    found = errors({**BASE, "type": "evidence", "role": "learner", "author": "alice", "visibility": "staff"})
    assert "staff" in found["visibility"]


def test_attendance_and_plan_rules():
    assert "dépassent" in errors({**BASE, "type": "attendance", **{**MINIMAL["attendance"], "hours_attended": 80}})["hours_attended"]
    assert "objectif" in errors({**BASE, "type": "action-plan", "due": "2026-04-01"})["objectives"]
    late = {**MINIMAL["attendance"], "period_end": "2026-02-01"}
    assert "précède" in errors({**BASE, "type": "attendance", **late})["period_end"]
    assert "au moins une" in errors({**BASE, "type": "assessment"})["competencies"]


def test_attachment_paths_cannot_escape():
    for bad in ["../x.pdf", "files/../../etc/passwd", "/etc/passwd", "files/a/b.pdf"]:
        assert "attachments[0]" in errors({**BASE, "type": "feedback", "attachments": [bad]})


def test_framework_rules():
    Framework.model_validate(SMALL_FRAMEWORK)
    bad = {**SMALL_FRAMEWORK, "scale": {**SMALL_FRAMEWORK["scale"], "acquired": "9"}}
    with pytest.raises(ValidationError, match="acquired"):
        Framework.model_validate(bad)
    dup = {**SMALL_FRAMEWORK, "blocks": SMALL_FRAMEWORK["blocks"] + [SMALL_FRAMEWORK["blocks"][0] | {"code": "Z"}]}
    with pytest.raises(ValidationError, match="en double"):
        Framework.model_validate(dup)
    fw = Framework.model_validate(SMALL_FRAMEWORK)
    assert fw.scale.is_acquired("3") and fw.scale.is_acquired("4") and not fw.scale.is_acquired("2")
    assert fw.scale.is_acquired(3) is False  # levels are text: the schema converts, not the helper


def test_profile_rules():
    base = dict(id="alice", first_name="A", last_name="B", programme="P", framework="mini", start="2026-01-05")
    assert LearnerProfile.model_validate(base).start == dt.date(2026, 1, 5)
    for bad_id in ["../x", "a/b", "Alice", "_alice", ""]:
        with pytest.raises(ValidationError):
            LearnerProfile.model_validate({**base, "id": bad_id})
    with pytest.raises(ValidationError, match="fin"):
        LearnerProfile.model_validate({**base, "end": "2025-01-01"})


def test_every_type_is_a_tag_the_errors_drop():
    """A discriminated union puts the type in an error's location: every type must be dropped from it,
    or a form's error lands in the summary without its field (and a file's problem without its line)."""
    from livret.store.errors import _TAGS

    assert _TAGS == set(ENTRY_MODELS)
