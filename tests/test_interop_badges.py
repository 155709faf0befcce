"""Open Badges 3.0 credentials: valid against the published JSON schema, shared view only."""

from __future__ import annotations

import copy
import json

import jsonschema
import pytest
from interop_support import EVIDENCE_TITLE, FIXTURES, STAFF_TITLE, cli, cohort_history

SCHEMA_FILE = FIXTURES / "openbadges" / "ob_v3p0_achievementcredential_schema.json"


@pytest.fixture(scope="module")
def ob_schema():
    """The published 1EdTech schema with the VC 2.0 rename documented in SOURCE.md."""
    schema = json.loads(SCHEMA_FILE.read_text(encoding="utf-8"))
    schema["required"] = ["validFrom" if k == "issuanceDate" else k for k in schema["required"]]
    schema["properties"]["validFrom"] = schema["properties"]["issuanceDate"]
    schema["properties"]["validUntil"] = schema["properties"]["expirationDate"]
    jsonschema.Draft201909Validator.check_schema(schema)
    return jsonschema.Draft201909Validator(schema, format_checker=jsonschema.FormatChecker())


def badges(project, learner, out, *extra):
    result = cli(project, "badges", learner, "-o", str(out), *extra)
    assert result.exit_code == 0, result.stderr
    return {p.name: json.loads(p.read_text(encoding="utf-8")) for p in sorted(out.glob("*.json"))}


def test_one_valid_credential_per_acquired_competency(project, tmp_path, ob_schema):
    cohort_history(project)
    docs = badges(project, "alice", tmp_path / "alice")
    assert list(docs) == ["alice-A1.json"]  # A2 is at level 2; B1 was assessed in a staff entry
    doc = docs["alice-A1.json"]
    errors = sorted(ob_schema.iter_errors(doc), key=str)
    assert not errors, [e.message for e in errors]
    assert doc["@context"] == ["https://www.w3.org/ns/credentials/v2",
                               "https://purl.imsglobal.org/spec/ob/v3p0/context-3.0.3.json"]
    assert doc["type"] == ["VerifiableCredential", "OpenBadgeCredential"]
    assert doc["validFrom"] == "2026-03-02T10:00:00+01:00"
    assert doc["issuer"]["name"] == "OF de test" and doc["issuer"]["type"] == ["Profile"]
    subject = doc["credentialSubject"]
    assert subject["type"] == ["AchievementSubject"]
    assert subject["identifier"][0]["identityHash"] == "Alice Test"
    achievement = subject["achievement"]
    assert achievement["type"] == ["Achievement"] and achievement["name"] == "Préparer l'arrivée"
    # Without --base-url there is no URL for the competency's page: no alignment (targetUrl is required).
    assert achievement["humanCode"] == "A1" and "alignment" not in achievement
    names = [e["name"] for e in doc["evidence"]]
    assert names == ["Évaluation de mars", EVIDENCE_TITLE]
    assert all(e["type"] == ["Evidence"] for e in doc["evidence"])
    record = project.store.load_learner("alice")
    cited = {e.id for e in record.entries if e.meta.title in names}
    assert all(any(i in e["narrative"] for i in cited) for e in doc["evidence"])
    assert "proof" not in doc  # unsigned, as documented


def test_staff_entries_never_reach_a_badge(project, tmp_path):
    cohort_history(project)
    out = tmp_path / "alice"
    badges(project, "alice", out)
    staff_id = next(e.id for e in project.store.load_learner("alice").entries if e.visibility == "staff")
    for path in out.iterdir():
        text = path.read_text(encoding="utf-8")
        assert STAFF_TITLE not in text and staff_id not in text


def test_documents_are_deterministic_and_base_url_is_used(project, tmp_path, ob_schema):
    cohort_history(project)
    first = badges(project, "bob", tmp_path / "one")
    assert first == badges(project, "bob", tmp_path / "two")
    doc = badges(project, "bob", tmp_path / "url", "--base-url", "https://formation.example.org/")
    doc = doc["bob-B2.json"]
    assert not list(ob_schema.iter_errors(doc))
    assert doc["issuer"]["id"] == doc["issuer"]["url"] == "https://formation.example.org"
    assert doc["credentialSubject"]["achievement"]["alignment"][0] == {
        "type": ["Alignment"], "targetName": "Prévenir le décrochage", "targetCode": "B2",
        "targetFramework": "Référentiel de test", "targetType": "ceasn:Competency",
        "targetUrl": "https://formation.example.org/portfolio/bob/competences/b2/"}
    bad = cli(project, "badges", "bob", "-o", str(tmp_path / "bad"), "--base-url", "javascript:alert(1)")
    assert bad.exit_code == 1 and "--base-url" in bad.stderr


def test_no_acquired_competency_means_no_file(project, tmp_path):
    result = cli(project, "badges", "alice", "-o", str(tmp_path / "none"))
    assert result.exit_code == 0 and "aucun badge" in result.output
    assert not (tmp_path / "none").exists()
    assert cli(project, "badges", "nobody", "-o", str(tmp_path / "x")).exit_code == 1


def test_the_schema_check_does_catch_a_broken_credential(project, tmp_path, ob_schema):
    cohort_history(project)
    doc = badges(project, "alice", tmp_path / "a", "--base-url", "https://of.example.org")["alice-A1.json"]
    assert not list(ob_schema.iter_errors(doc))
    for path in (("credentialSubject", "achievement", "criteria"), ("validFrom",),
                 ("credentialSubject", "achievement", "alignment", 0, "targetUrl")):
        broken = copy.deepcopy(doc)
        target = broken
        for key in path[:-1]:
            target = target[key]
        del target[path[-1]]
        assert list(ob_schema.iter_errors(broken)), path
