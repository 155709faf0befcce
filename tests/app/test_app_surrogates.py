"""Text a UTF-8 file cannot hold (a lone surrogate, ``"\\ud800"`` in JSON) is refused in every text field,
the body included: the store names the field, the API answers 422, the form never fails, nothing is written."""

from __future__ import annotations

import json

import pytest
from api_support import bearer, tokens_for
from app_support import VALID_FORMS, AuthActions, make_app
from factories import add, meeting, when

from livret.store.errors import InvalidInput

LONE = "\ud800"
MESSAGE = "caractère invalide (U+D800, demi-paire de substitution) : ce texte ne peut pas être enregistré"


def entry_files(project) -> list[str]:
    return sorted(p.name for p in (project.portfolios / "alice" / "entries").iterdir())


@pytest.mark.parametrize("fields, body, field", [
    (meeting(), f"Compte rendu {LONE} fin.", "body"),
    (meeting(title=f"Titre {LONE}"), "Texte.", "title"),
    (meeting(participants=["Tina", f"Al{LONE}ice"]), "Texte.", "participants[1]"),
    ({**meeting(), f"cl{LONE}": "x"}, "Texte.", "cl\\ud800"),
])
def test_the_store_refuses_unencodable_text_naming_the_field(project, fields, body, field):
    with pytest.raises(InvalidInput) as caught:
        add(project, "alice", fields, body)
    assert field in caught.value.by_field(), caught.value.errors
    assert entry_files(project) == []


def post_json(client, token, data: dict):
    # json.dumps escapes the surrogate as \ud800, exactly what an API client sends.
    return client.post("/api/v1/learners/alice/entries", headers=bearer(token), data=json.dumps(data),
                       content_type="application/json")


@pytest.mark.parametrize("data, pointer, detail", [
    ({"body": f"Texte {LONE}"}, "/body", MESSAGE),
    ({"title": f"Titre {LONE}"}, "/title", MESSAGE),
    ({"decisions": ["Relancer", f"Suite {LONE}"]}, "/decisions/1", MESSAGE),
    ({f"cl{LONE}": "x"}, "/cl\\ud800", "nom de clé invalide (demi-paire de substitution)"),
])
def test_the_api_answers_422_naming_the_field(app_project, data, pointer, detail):
    client = make_app(app_project.root).test_client()
    token = tokens_for(app_project)["tina"]
    response = post_json(client, token, {**meeting(date=when("2026-03-02")), **data})
    assert response.status_code == 422, response.text
    assert response.mimetype == "application/problem+json"
    errors = response.json["errors"]
    assert [(e["pointer"], e["detail"]) for e in errors] == [(pointer, detail)]
    assert entry_files(app_project) == []
    ok = post_json(client, token, {**meeting(date=when("2026-03-02")), "body": "Texte sain."})
    assert ok.status_code == 201  # the same request without the character goes in


def test_the_form_never_fails_and_never_writes_a_surrogate(app_project):
    """A browser cannot send a lone surrogate: its bytes arrive as invalid UTF-8, read as U+FFFD."""
    client = make_app(app_project.root).test_client()
    auth = AuthActions(client)
    auth.login("tina")
    form = dict(VALID_FORMS["feedback"], csrf_token=auth.token())
    fields = b"".join(
        b"--B\r\nContent-Disposition: form-data; name=\"%s\"\r\n\r\n%s\r\n" % (k.encode(), v.encode())
        for k, v in form.items() if k != "body")
    payload = fields + b"--B\r\nContent-Disposition: form-data; name=\"body\"\r\n\r\nA\xed\xa0\x80B\r\n--B--\r\n"
    response = client.post("/apprenants/alice/nouvelle/feedback", data=payload,
                           content_type="multipart/form-data; boundary=B")
    assert response.status_code in (302, 422), response.status_code
    for name in entry_files(app_project):
        text = (app_project.portfolios / "alice" / "entries" / name).read_bytes().decode("utf-8")  # valid UTF-8
        assert LONE not in text
