"""Staff entries and references: no shared output names one, no writer outside the staff can probe or supersede one.

The fixture gives alice's portfolio ``staff`` entries of every kind a shared
entry can point to — an alert (``about``, ``updates``), a staff meeting a
shared one ``corrects``, an action plan a shared one ``updates``, a staff
evidence written by an admin (the type a learner writes), and a shared
version withdrawn by a staff correction.  Then:

- every write path (form, API) refuses a reference to a staff id with the
  status and the words it gives an unknown id, and writes nothing;
- nobody but the staff corrects or updates a staff entry, or someone else's;
- the shared API answers, the shared audit pack (every file), the shared
  site (every file), the progress CSV and the badges hold no hidden id,
  while they do hold the shared ids (so the search can fail).
"""

from __future__ import annotations

import gzip
import json
import zipfile

import pytest
from api_support import bearer, tokens_for
from app_support import VALID_FORMS, without_csrf
from click.testing import CliRunner
from factories import add, meeting, public_keys_file, when

from livret.cli import main
from livret.store.yamlio import parse_front_matter

UNKNOWN = "01JM2Q8V6Z9X3K4T5R6S7W8Y9A"  # a well-formed id no entry has


@pytest.fixture
def refs(app_project):
    """Ids of alice's entries by name; ``hidden`` lists those the shared view must never name."""
    p, ids = app_project, {}

    def a(name, fields, body="Texte.", **kw):
        ids[name] = add(p, "alice", fields, body, **kw).id

    a("alert", {"type": "alert", "date": when("2026-03-01"), "title": "Situation personnelle",
                "category": "personnelle", "severity": "haute"})
    a("staff_meeting", meeting(date=when("2026-03-02"), visibility="staff", title="Entretien confidentiel"))
    a("staff_plan", {"type": "action-plan", "date": when("2026-03-03"), "title": "Plan confidentiel",
                     "objectives": ["Trouver un logement"], "due": "2026-06-30", "visibility": "staff"})
    a("staff_evidence", {"type": "evidence", "date": when("2026-03-04"), "title": "Pièce confidentielle",
                         "visibility": "staff"}, author="ada", role="admin")
    a("withdrawn", meeting(date=when("2026-03-05"), title="Première version"))
    a("staff_fix", meeting(date=when("2026-03-05"), title="Version équipe", visibility="staff",
                           corrects=ids["withdrawn"]))
    # shared entries that name the hidden ones
    a("about_alert", meeting(date=when("2026-03-10"), title="Entretien après l'alerte", about=ids["alert"]))
    a("shared_fix", meeting(date=when("2026-03-02"), title="Entretien partagé", corrects=ids["staff_meeting"]))
    a("alert_update", {"type": "alert", "date": when("2026-03-12"), "title": "Alerte close",
                       "category": "personnelle", "severity": "haute", "status": "closed",
                       "visibility": "shared", "updates": ids["alert"]})
    a("plan_update", {"type": "action-plan", "date": when("2026-04-01"), "title": "Plan suivi",
                      "due": "2026-06-30", "status": "done", "updates": ids["staff_plan"]})
    a("fix_of_fix", meeting(date=when("2026-03-05"), title="Version partagée", corrects=ids["staff_fix"]))
    a("about_withdrawn", {"type": "feedback", "date": when("2026-03-15"), "title": "Retour",
                          "about": ids["withdrawn"]})
    # shared entries naming shared ones (they must keep their references)
    a("evidence", {"type": "evidence", "date": when("2026-04-02"), "title": "Ma preuve",
                   "competencies": [{"code": "A1"}]}, author="alice", role="learner")
    a("about_evidence", {"type": "feedback", "date": when("2026-04-03"), "title": "Retour sur la preuve",
                         "about": ids["evidence"]})
    a("admin_evidence", {"type": "evidence", "date": when("2026-04-04"), "title": "Preuve déposée par l'OF"},
      author="ada", role="admin")
    a("assessment", {"type": "assessment", "date": when("2026-05-01"), "title": "Évaluation",
                     "competencies": [{"code": "A1", "level": "3"}]})
    ids["hidden"] = [ids[k] for k in ("alert", "staff_meeting", "staff_plan", "staff_evidence", "withdrawn",
                                      "staff_fix")]
    return ids


@pytest.fixture
def tokens(app_project):
    return tokens_for(app_project)


def entry_files(project) -> list[str]:
    return sorted(p.name for p in (project.portfolios / "alice" / "entries").glob("*.md"))


def hidden_found(text: str, refs) -> list[str]:
    """The hidden ids that ``text`` names (ids appear upper-case in data, lower-case in URLs)."""
    low = text.lower()
    return [i for i in refs["hidden"] if i.lower() in low]


# --------------------------------------------------------------------------
# Writes: a staff id is an unknown id for the shared view
# --------------------------------------------------------------------------


def api_post(client, token, fields):
    return client.post("/api/v1/learners/alice/entries", json=fields, headers=bearer(token))


def without(text: str, *ids: str) -> str:
    """The page with the given ids, and the CSRF token, masked.

    The token is signed with the current second, so two identical pages
    served across a second boundary differ in it (CI caught that)."""
    for i in ids:
        text = text.replace(i, "<id>")
    return without_csrf(text)


WRITES = {  # (user, fields of an entry they may write, key naming another entry)
    "learner-corrects": ("alice", {"type": "evidence", "date": "2026-05-02T10:00:00+02:00", "title": "Ma version"},
                         "corrects"),
    "learner-about": ("alice", {"type": "reflection", "date": "2026-05-02T10:00:00+02:00", "title": "Bilan"},
                      "about"),
    "company-about": ("carl", {"type": "company-feedback", "date": "2026-05-02T10:00:00+02:00", "title": "Retour",
                               "period_start": "2026-04-01", "period_end": "2026-04-30"}, "about"),
}


@pytest.mark.parametrize("case", list(WRITES))
def test_api_refuses_a_staff_id_exactly_as_an_unknown_id(app, refs, tokens, app_project, case):
    user, fields, key = WRITES[case]
    client = app.test_client()
    before = entry_files(app_project)
    unknown = api_post(client, tokens[user], {**fields, key: UNKNOWN})
    assert unknown.status_code == 422
    for staff_id in refs["hidden"]:
        answer = api_post(client, tokens[user], {**fields, key: staff_id})
        assert answer.status_code == 422, (staff_id, answer.get_data(as_text=True))
        assert answer.headers["Content-Type"] == unknown.headers["Content-Type"]
        assert without(answer.get_data(as_text=True), staff_id) == without(unknown.get_data(as_text=True), UNKNOWN)
    assert entry_files(app_project) == before


def test_learner_cannot_supersede_a_staff_entry_through_the_api(app, refs, tokens, app_project):
    """The reported attack: a learner's evidence that ``corrects`` an evidence kept for the staff."""
    client = app.test_client()
    answer = api_post(client, tokens["alice"], {**WRITES["learner-corrects"][1], "corrects": refs["staff_evidence"]})
    assert answer.status_code == 422
    problem = answer.get_json()
    assert [e["field"] for e in problem["errors"]] == ["corrects"]
    assert problem["errors"][0]["detail"] == f"aucune entrée {refs['staff_evidence']} chez cet·te apprenant·e"
    staff_view = client.get("/api/v1/learners/alice/entries", headers=bearer(tokens["tina"])).get_json()
    assert not [e for e in staff_view["entries"] if e.get("corrects") == refs["staff_evidence"]]


def test_only_the_author_or_the_staff_supersede_an_entry(app, refs, tokens, app_project):
    client = app.test_client()
    before = entry_files(app_project)
    answer = api_post(client, tokens["alice"], {**WRITES["learner-corrects"][1], "corrects": refs["admin_evidence"]})
    assert answer.status_code == 422
    assert answer.get_json()["errors"][0]["detail"].startswith(
        f"l'entrée {refs['admin_evidence']} a été écrite par ada : seul·e son auteur·rice")
    assert entry_files(app_project) == before
    # her own entry, yes; and a tutor corrects a staff entry
    mine = api_post(client, tokens["alice"], {**WRITES["learner-corrects"][1], "corrects": refs["evidence"]})
    assert mine.status_code == 201, mine.get_data(as_text=True)
    staff = api_post(client, tokens["tina"], {**meeting(title="Correction équipe"), "corrects": refs["staff_fix"],
                                              "visibility": "staff"})
    assert staff.status_code == 201, staff.get_data(as_text=True)


def test_form_refuses_a_staff_id_exactly_as_an_unknown_id(app, refs, app_project):
    from app_support import AuthActions

    client = app.test_client()
    auth = AuthActions(client)
    auth.login("alice")
    before = entry_files(app_project)
    url = "/apprenants/alice/nouvelle/reflection"
    unknown = auth.post(url, {**VALID_FORMS["reflection"], "about": UNKNOWN})
    assert unknown.status_code == 422
    assert f"Aucune entrée {UNKNOWN} chez cet·te apprenant·e" in unknown.get_data(as_text=True)
    for staff_id in refs["hidden"]:
        answer = auth.post(url, {**VALID_FORMS["reflection"], "about": staff_id})
        assert answer.status_code == 422
        assert f"Aucune entrée {staff_id} chez cet·te apprenant·e" in answer.get_data(as_text=True)
        # the correction page: the answer of an unknown id, for the page and for a submit
        for send in (client.get, auth.post):
            fix, none = send(f"/apprenants/alice/corriger/{staff_id}"), send(f"/apprenants/alice/corriger/{UNKNOWN}")
            assert fix.status_code == none.status_code == 404
            assert without(fix.get_data(as_text=True), staff_id) == without(none.get_data(as_text=True), UNKNOWN)
    # someone else's shared entry: seen, but not hers to correct (and no button for it)
    assert client.get(f"/apprenants/alice/corriger/{refs['admin_evidence']}").status_code == 403
    page = client.get("/apprenants/alice/").get_data(as_text=True)
    assert f"/corriger/{refs['evidence']}" in page and f"/corriger/{refs['admin_evidence']}" not in page
    assert entry_files(app_project) == before


def test_form_choices_offer_no_staff_entry(app, refs):
    from app_support import AuthActions

    client = app.test_client()
    AuthActions(client).login("carl")
    page = client.get("/apprenants/alice/nouvelle/company-feedback").get_data(as_text=True)
    assert refs["about_alert"] in page  # a shared entry is offered as « à propos de »
    assert hidden_found(page, refs) == []


# --------------------------------------------------------------------------
# Shared outputs name no staff entry
# --------------------------------------------------------------------------


@pytest.mark.parametrize("user", ["alice", "carl"])
def test_shared_api_answers_name_no_staff_entry(app, refs, tokens, user):
    client = app.test_client()
    listing = client.get("/api/v1/learners/alice/entries", headers=bearer(tokens[user]))
    detail = client.get("/api/v1/learners/alice", headers=bearer(tokens[user]))
    learners = client.get("/api/v1/learners", headers=bearer(tokens[user]))
    for answer in (listing, detail, learners):
        assert answer.status_code == 200
        assert hidden_found(answer.get_data(as_text=True), refs) == []
    entries = {e["id"]: e for e in listing.get_json()["entries"]}
    assert entries[refs["about_evidence"]]["about"] == refs["evidence"]  # shared references stay
    assert "about" not in entries[refs["about_alert"]] and "corrects" not in entries[refs["shared_fix"]]
    assert "updates" not in entries[refs["alert_update"]] and "updates" not in entries[refs["plan_update"]]
    # the staff keep every reference
    staff = {e["id"]: e for e in client.get("/api/v1/learners/alice/entries",
                                            headers=bearer(tokens["tina"])).get_json()["entries"]}
    assert staff[refs["about_alert"]]["about"] == refs["alert"]
    assert staff[refs["shared_fix"]]["corrects"] == refs["staff_meeting"]


def test_shared_pack_names_no_staff_entry(app_project, refs, tmp_path):
    out = tmp_path / "pack.zip"
    result = CliRunner().invoke(main, ["--root", str(app_project.root), "export", "alice", "-o", str(out)])
    assert result.exit_code == 0, result.output
    with zipfile.ZipFile(out) as zf:
        texts = {name: zf.read(name).decode("utf-8", "replace") for name in zf.namelist()}
    leaks = {name: hidden_found(text, refs) for name, text in texts.items() if hidden_found(text, refs)}
    assert leaks == {}
    entry_texts = "".join(t for n, t in texts.items() if "/entries/" in n)
    assert refs["about_evidence"] in entry_texts and f"about: {refs['evidence']}" in entry_texts
    result = CliRunner().invoke(main, ["--root", str(app_project.root), "verify-pack", str(out),
                                       "--key", str(public_keys_file(app_project, tmp_path))])
    assert result.exit_code == 0, result.output
    # the staff pack keeps the files as they are in the store
    staff = tmp_path / "staff.zip"
    CliRunner().invoke(main, ["--root", str(app_project.root), "export", "alice", "-o", str(staff),
                              "--audience", "staff"])
    with zipfile.ZipFile(staff) as zf:
        for name in zf.namelist():
            if "/entries/" in name:
                assert zf.read(name) == (app_project.portfolios / name.removeprefix("portfolios/")).read_bytes()


def test_shared_site_names_no_staff_entry(app_project, refs):
    from livret.publish.build import build_all, site_dir

    report = build_all(app_project, learners=["alice"], jobs=1)
    assert report.problems == []
    shared = site_dir(app_project, "shared", "alice")
    leaks, seen = {}, ""
    for path in sorted(shared.rglob("*")):
        if path.is_file():
            text = path.read_bytes().decode("utf-8", "replace")
            if path.suffix == ".gz":
                text = gzip.decompress(path.read_bytes()).decode("utf-8", "replace")
            seen += text
            if hidden_found(text, refs):
                leaks[path.relative_to(shared).as_posix()] = hidden_found(text, refs)
    assert leaks == {}
    assert refs["about_evidence"].lower() in seen.lower()  # shared entries are there
    staff_pages = "".join(p.read_text(encoding="utf-8", errors="replace")
                          for p in site_dir(app_project, "staff", "alice").rglob("*.html"))
    assert refs["alert"].lower() in staff_pages.lower()


def test_progress_csv_and_badges_name_no_staff_entry(app_project, refs, tmp_path):
    runner = CliRunner()
    csv_path, badges = tmp_path / "progression.csv", tmp_path / "badges"
    result = runner.invoke(main, ["--root", str(app_project.root), "export-progress", "-o", str(csv_path)])
    assert result.exit_code == 0, result.output
    result = runner.invoke(main, ["--root", str(app_project.root), "badges", "alice", "-o", str(badges)])
    assert result.exit_code == 0, result.output
    texts = [csv_path.read_bytes().decode("utf-8-sig")] + [p.read_text(encoding="utf-8") for p in badges.iterdir()]
    assert all(hidden_found(t, refs) == [] for t in texts)
    assert refs["assessment"] in "".join(texts)


def test_shared_pages_of_the_app_name_no_staff_entry(app, refs):
    from app_support import AuthActions

    client = app.test_client()
    for user in ("alice", "carl"):
        AuthActions(client).login(user)
        page = client.get("/apprenants/alice/").get_data(as_text=True)
        assert refs["about_evidence"] in page
        assert hidden_found(page, refs) == []


def test_pack_rewrites_only_the_files_that_name_a_hidden_entry(app_project, refs, tmp_path):
    from livret.audit.pack import build_pack

    out = tmp_path / "pack.zip"
    build_pack(app_project, "alice", out)
    with zipfile.ZipFile(out) as zf:
        manifest = json.loads(zf.read("manifest.json"))
        entries = {f["entry"]: f["path"] for f in manifest["files"] if "entry" in f}
        for name, entry_id in refs.items():
            if name == "hidden" or entry_id in refs["hidden"]:
                continue
            data = zf.read(entries[entry_id])
            store = (app_project.portfolios / entries[entry_id].removeprefix("portfolios/")).read_bytes()
            names_hidden = bool(hidden_found(store.decode(), refs))
            assert (data != store) == names_hidden, name
            if names_hidden:  # the same entry and text, without the key
                kept, orig = parse_front_matter(data.decode()), parse_front_matter(store.decode())
                assert kept.data == {k: v for k, v in orig.data.items() if v not in refs["hidden"]}
                assert kept.body.strip() == orig.body.strip()
