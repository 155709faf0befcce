"""Every entry form: generated from the schema, valid and invalid paths, corrections, preview."""

from __future__ import annotations

import datetime as dt
import re
import subprocess
from zoneinfo import ZoneInfo

import pytest
from app_support import PAST, VALID_FORMS
from factories import add, meeting, when

from livret.store.schema import ENTRY_MODELS, MEETING_KINDS

#: The types the forms write (a signature is written by the « Signer » button only: tests/app/test_signoff.py).
DIRECT_TYPES = [t for t, m in ENTRY_MODELS.items() if m.direct]
#: Who writes each type in these tests.
WRITER = {t: ("tina", "tutor") for t in ENTRY_MODELS}
WRITER.update({"evidence": ("alice", "learner"), "reflection": ("alice", "learner"),
               "company-feedback": ("carl", "company"), "observation": ("carl", "company"),
               "mission": ("carl", "company")})


def entries(project, learner="alice"):
    return project.store.load_learner(learner).entries


def last_commit_author(project) -> str:
    return subprocess.run(["git", "log", "-1", "--format=%an"], cwd=project.portfolios,
                          capture_output=True, text=True, check=True).stdout.strip()


def error_ids(html: str) -> set[str]:
    return set(re.findall(r'<ul class="field-errors" id="([^"]+)-error"', html))


# ---------------------------------------------------------------- the form comes from the schema


@pytest.mark.parametrize("entry_type", DIRECT_TYPES)
def test_form_has_a_labelled_input_for_every_schema_field(entry_type, client, auth):
    user, _ = WRITER[entry_type]
    auth.login(user)
    html = client.get(f"/apprenants/alice/nouvelle/{entry_type}").text
    model = ENTRY_MODELS[entry_type]
    for name, info in model.model_fields.items():
        if name in ("id", "type", "recorded", "author", "author_name", "role", "corrects", "competencies",
                    "attachments"):
            continue
        if name == "not_observed":  # the observation grid: one select per competency (the competencies' rows)
            assert "Non vu en entreprise" in html
            continue
        if name == "visibility" and user != "tina":
            assert 'name="visibility"' not in html  # only tutors and admins choose
            continue
        assert f'name="{name}"' in html, name
        assert info.title in html.replace("&#39;", "'"), info.title
        if name not in ("visibility",) and model.model_fields[name].annotation is not None:
            assert re.search(rf'<(label for="{name}"|legend)', html)
    # Every visible input has a label.
    for input_id in re.findall(r'<(?:input|select|textarea)[^>]* id="([^"]+)"', html):
        if input_id == "csrf_token":
            continue
        assert f'for="{input_id}"' in html, f"input {input_id} has no label"


def test_competency_picker_lists_framework_with_scale(client, auth):
    auth.login("tina")
    html = client.get("/apprenants/alice/nouvelle/assessment").text
    for code, title in (("A1", "Préparer l&#39;arrivée"), ("B2", "Prévenir le décrochage")):
        assert f'value="{code}"' in html and title in html
    assert html.count('<option value="3">3 — Maîtrisé</option>') == 4  # one level list per competency
    evidence = (auth.login("alice"), client.get("/apprenants/alice/nouvelle/evidence").text)[1]
    assert 'value="A1"' in evidence and "competencies-0-level" not in evidence  # claims carry no level


def test_choices_have_french_labels_and_defaults(client, auth):
    auth.login("tina")
    html = client.get("/apprenants/alice/nouvelle/meeting").text
    for value, label in MEETING_KINDS.items():
        assert f'<option value="{value}">{label}</option>' in html
    alert = client.get("/apprenants/alice/nouvelle/alert").text
    # Alerts are staff-only unless the tutor says otherwise.
    assert re.search(r'<input checked id="visibility-1" name="visibility" type="radio" value="staff"', alert)


def test_date_defaults_to_now_in_paris(client, auth):
    auth.login("tina")
    html = client.get("/apprenants/alice/nouvelle/meeting").text
    shown = re.search(r'id="date" name="date" required type="datetime-local" value="([^"]+)"', html).group(1)
    now = dt.datetime.now(ZoneInfo("Europe/Paris")).replace(tzinfo=None)
    assert abs(dt.datetime.fromisoformat(shown) - now) < dt.timedelta(minutes=2)


# ---------------------------------------------------------------- valid submits


@pytest.mark.parametrize("entry_type", DIRECT_TYPES)
def test_valid_submit_appends_and_commits(entry_type, app_project, client, auth):
    user, role = WRITER[entry_type]
    auth.login(user)
    response = auth.post(f"/apprenants/alice/nouvelle/{entry_type}", VALID_FORMS[entry_type])
    assert response.status_code == 302, response.text[:2000]
    [entry] = entries(app_project)
    assert response.headers["Location"].endswith(f"/apprenants/alice/#entree-{entry.id}")
    assert (entry.type, entry.meta.author, entry.meta.role) == (entry_type, user, role)
    assert entry.meta.title == VALID_FORMS[entry_type]["title"]
    typed = dt.datetime.fromisoformat(VALID_FORMS[entry_type]["date"])  # PAST (a plan: ahead)
    assert entry.meta.date == typed.replace(tzinfo=ZoneInfo("Europe/Paris"))
    assert last_commit_author(app_project) == user
    page = client.get("/apprenants/alice/")
    assert "enregistrée. Le portfolio" in page.text and entry.meta.title.replace("'", "&#39;") in page.text
    assert app_project.store.check() == []


def test_values_are_converted_by_the_schema(app_project, client, auth):
    auth.login("tina")
    auth.post("/apprenants/alice/nouvelle/meeting", dict(VALID_FORMS["meeting"], body="Texte\r\nsuite"))
    auth.post("/apprenants/alice/nouvelle/attendance", VALID_FORMS["attendance"])
    auth.post("/apprenants/alice/nouvelle/positioning", VALID_FORMS["positioning"])
    by_type = {e.type: e for e in entries(app_project)}
    m = by_type["meeting"].meta
    assert (m.duration, m.participants, m.decisions) == (45, ["Alice Test", "Tina"], ["Finir le dossier"])
    assert by_type["meeting"].body.rstrip("\n") == "Texte\nsuite"  # CRLF from the browser normalised
    assert by_type["attendance"].meta.hours_attended == 31.5  # French decimal comma
    ratings = [(c.code, c.level) for c in by_type["positioning"].meta.competencies]
    assert ratings == [("A1", "1"), ("B1", "2")]  # a chosen level selects the competency


def test_summer_time_offset(app_project, client, auth):
    auth.login("tina")
    auth.post("/apprenants/alice/nouvelle/feedback", dict(VALID_FORMS["feedback"], date="2026-07-01T09:30"))
    [entry] = entries(app_project)
    assert entry.meta.date.isoformat() == "2026-07-01T09:30:00+02:00"


def test_tutor_chooses_visibility_learner_cannot(app_project, client, auth):
    auth.login("tina")
    auth.post("/apprenants/alice/nouvelle/feedback", dict(VALID_FORMS["feedback"], visibility="staff"))
    assert entries(app_project)[0].visibility == "staff"
    auth.login("alice")
    auth.post("/apprenants/alice/nouvelle/evidence", dict(VALID_FORMS["evidence"], visibility="staff"))
    assert [e.visibility for e in entries(app_project) if e.type == "evidence"] == ["shared"]


def test_references_and_updates(app_project, client, auth):
    first = add(app_project, "alice", {"type": "action-plan", "date": when("2026-10-01"), "title": "Plan",
                                      "objectives": ["Réussir"], "due": "2026-10-30"})
    auth.login("tina")
    html = client.get("/apprenants/alice/nouvelle/action-plan").text
    assert f'<option value="{first.id}">1er octobre 2026 — Plan d&#39;action — Plan</option>' in html
    response = auth.post("/apprenants/alice/nouvelle/action-plan", {
        "title": "Plan réalisé", "date": PAST, "due": "2026-10-30", "status": "done", "updates": first.id})
    assert response.status_code == 302
    latest = entries(app_project)[-1].meta
    assert (latest.updates, latest.status) == (first.id, "done")


# ---------------------------------------------------------------- invalid submits

INVALID = {
    # type: (form data, inputs that must show an error, text that must be kept)
    "positioning": ({"title": "Positionnement", "date": PAST, "competencies": ["A1"]}, {"competencies", "comp-0"},
                    ["Positionnement"]),
    "meeting": ({"title": "", "date": PAST, "kind": "suivi", "modality": "presentiel", "duration": "quarante",
                 "participants": "Alice\nTina"}, {"title", "duration"}, ["quarante", "Alice\nTina"]),
    "feedback": ({"title": "x" * 201, "date": PAST, "body": "Mon texte **gras**"}, {"title"},
                 ["Mon texte **gras**"]),
    "evidence": ({"title": "Preuve", "date": "2099-01-01T10:00", "context": "Au travail"}, {"date"},
                 ["2099-01-01T10:00", "Au travail"]),
    "reflection": ({"title": "Réflexion", "date": PAST, "competencies-0-level": "9"}, {"competencies", "comp-0"},
                   ["Réflexion"]),
    "assessment": ({"title": "Évaluation", "date": PAST, "competencies": ["A2"]}, {"competencies", "comp-1"},
                   ["Évaluation"]),
    "action-plan": ({"title": "Plan", "date": PAST, "due": "15/12/2026", "objectives": "Réussir"}, {"due"},
                    ["15/12/2026", "Réussir"]),
    "attendance": ({"title": "Assiduité", "date": PAST, "period_start": "2026-11-01", "period_end": "2026-11-15",
                    "hours_planned": "-3", "hours_attended": "2"}, {"hours_planned"}, ["-3"]),
    "alert": ({"title": "Alerte", "date": PAST, "category": "", "severity": "grave"}, {"category", "severity"},
              ["Alerte"]),
    "company-feedback": ({"title": "Retour", "date": PAST, "period_start": "", "period_end": "2026-10-31",
                          "observations": "Très impliquée"}, {"period_start"}, ["Très impliquée"]),
    # an empty grid: the error is on the grid; a level off the scale: on its line
    "observation": ({"title": "Grille vide", "date": PAST, "period_start": "2026-10-01", "period_end": "2026-10-31",
                     "competencies-1-level": "9"}, {"competencies", "comp-1"}, ["Grille vide"]),
    # a plan in the past, with the learner who has no address
    "planned-meeting": ({"title": "Rendez-vous passé", "date": PAST, "kind": "suivi", "modality": "presentiel",
                         "place": "Salle 2", "duration": "60", "with_learner": "y", "others": "Marie Curie",
                         "others-email": "marie@exemple.fr"},
                        {"date", "with_learner"}, ["Rendez-vous passé", "Salle 2", "marie@exemple.fr"]),
    # a mission exercises at least one competency
    "mission": ({"title": "Mission sans compétence", "date": PAST, "term": "long", "period_start": "2026-11-02"},
                {"competencies"}, ["Mission sans compétence"]),
    # FOAD hours declared without the activities that prove them
    "distance-work": ({"title": "Modules en ligne", "date": PAST, "period_start": "2026-10-01",
                       "period_end": "2026-10-31", "hours": "4", "assistance": "Forum du formateur"},
                      {"activities"}, ["Modules en ligne", "Forum du formateur"]),
}


@pytest.mark.parametrize("entry_type", DIRECT_TYPES)
def test_invalid_submit_shows_errors_next_to_fields_and_keeps_input(entry_type, app_project, client, auth):
    data, fields, kept = INVALID[entry_type]
    auth.login(WRITER[entry_type][0])
    before = sorted(app_project.portfolios.rglob("*.md"))
    response = auth.post(f"/apprenants/alice/nouvelle/{entry_type}", data)
    assert response.status_code == 422
    html = response.text
    assert error_ids(html) >= fields, error_ids(html)
    assert 'class="error-summary" role="alert"' in html
    for field in fields - {"competencies"}:
        assert re.search(rf'aria-describedby="[^"]*{field}-error[^"]*"', html), field
        assert re.search(rf'aria-invalid="true"[^>]*id="{field}', html) or f'id="{field}' in html
    for text in kept:
        assert text.replace("'", "&#39;") in html, text
    assert sorted(app_project.portfolios.rglob("*.md")) == before


def test_errors_without_a_field_go_to_the_summary(app_project, client, auth):
    auth.login("tina")
    response = auth.post("/apprenants/alice/nouvelle/assessment", {"title": "Évaluation", "date": PAST})
    assert response.status_code == 422
    summary = re.search(r'<div class="error-summary".*?</div>', response.text, re.S).group(0)
    assert "au moins une compétence" in summary.lower()
    response = auth.post("/apprenants/alice/nouvelle/attendance", dict(
        VALID_FORMS["attendance"], period_start="2026-11-20", period_end="2026-11-01"))
    assert "La fin de la période précède son début" in response.text


def test_unknown_competency_code_is_reported(app_project, client, auth):
    auth.login("alice")
    response = auth.post("/apprenants/alice/nouvelle/evidence", dict(VALID_FORMS["evidence"], competencies=["Z9"]))
    assert response.status_code == 422 and "Compétence inconnue dans le référentiel mini : Z9" in response.text


# ---------------------------------------------------------------- corrections


def test_correction_is_prefilled_and_writes_a_new_entry(app_project, client, auth):
    original = add(app_project, "alice", meeting(competencies=[{"code": "B1", "level": "2"}],
                                                 participants=["Alice", "Tina"]), "Premier texte.")
    original_text = (app_project.portfolios / original.path).read_bytes()
    auth.login("tina")
    page = client.get("/apprenants/alice/")
    assert f'/apprenants/alice/corriger/{original.id}' in page.text
    form = client.get(f"/apprenants/alice/corriger/{original.id}").text
    assert 'value="Entretien de suivi"' in form and "Premier texte." in form and "Alice\nTina" in form
    assert 'id="date" name="date" required type="datetime-local" value="2026-02-02T10:00"' in form
    assert re.search(r'value="B1" id="comp-2" checked', form)
    assert re.search(r'id="comp-2-level".*?<option value="2" selected>', form, re.S)
    response = auth.post(f"/apprenants/alice/corriger/{original.id}", {
        "title": "Entretien de suivi (corrigé)", "date": "2026-02-02T10:00", "kind": "suivi",
        "modality": "presentiel", "duration": "50", "competencies-2-level": "3", "body": "Texte corrigé."})
    assert response.status_code == 302
    correction = entries(app_project)[-1]
    assert correction.meta.corrects == original.id and correction.meta.duration == 50
    assert (app_project.portfolios / original.path).read_bytes() == original_text  # append-only
    # The corrected entry now leads to its latest version.
    again = client.get(f"/apprenants/alice/corriger/{original.id}")
    assert again.status_code == 302 and again.headers["Location"].endswith(correction.id)
    page = client.get("/apprenants/alice/").text
    assert "corrigée" in page and "Entretien de suivi (corrigé)" in page


def test_correction_keeps_chosen_attachments(app_project, client, auth):
    from io import BytesIO

    auth.login("alice")
    auth.post("/apprenants/alice/nouvelle/evidence", dict(
        VALID_FORMS["evidence"], attachments=[(BytesIO(b"%PDF-1.4 test"), "cv.pdf")]),
        content_type="multipart/form-data")
    [original] = entries(app_project)
    [path] = original.meta.attachments
    form = client.get(f"/apprenants/alice/corriger/{original.id}").text
    assert f'value="{path}"' in form
    auth.post(f"/apprenants/alice/corriger/{original.id}", dict(
        VALID_FORMS["evidence"], title="Preuve corrigée", keep_attachments=[path]))
    assert entries(app_project)[-1].meta.attachments == [path]


# ---------------------------------------------------------------- preview


def test_preview_uses_the_sanitizing_renderer(client, auth):
    auth.login("alice")
    response = auth.post("/apercu", {"text": "**gras** <script>alert(1)</script> [x](javascript:alert(2))"})
    assert response.status_code == 200 and response.mimetype == "text/html"
    assert "<strong>gras</strong>" in response.text
    assert "<script" not in response.text and "javascript:" not in response.text
    assert client.post("/apercu", data={"text": "x"}).status_code == 400  # CSRF


def test_user_text_is_escaped_everywhere(app_project, client, auth):
    evil = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    entry = add(app_project, "alice", meeting(title=evil, participants=[evil], decisions=[evil]), evil)
    auth.login("tina")
    pages = [client.get(url).text for url in (
        "/tableau-de-bord", "/apprenants/alice/", f"/apprenants/alice/corriger/{entry.id}",
        "/apprenants/alice/nouvelle/feedback")]
    response = auth.post(f"/apprenants/alice/corriger/{entry.id}", {"title": evil, "date": "x"})
    pages.append(response.text)
    for html in pages:
        assert "<script>alert" not in html and "<img src=x" not in html
