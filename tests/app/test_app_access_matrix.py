"""The authorization matrix: role × route × own or other learner.

Every role signs in once; each route is tried on the learner assigned to the
user (alice, for tina, carl and alice) and on one who is not (bob).  A
refused request gets 403 and changes nothing: no file, no commit.
"""

from __future__ import annotations

import subprocess

import pytest
from app_support import VALID_FORMS, WRITES
from factories import add, meeting, when

ACTORS = {"learner": "alice", "tutor": "tina", "company": "carl", "auditor": "audra", "admin": "ada"}
#: Who reads whom: everyone reads alice (assigned or global role); bob only for auditors and admins.
READS_OTHER = {"auditor", "admin"}


def head(project) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.portfolios, capture_output=True,
                          text=True, check=True).stdout.strip()


def files(project) -> list[str]:
    return sorted(p.relative_to(project.portfolios).as_posix() for p in project.portfolios.rglob("*")
                  if p.is_file() and ".git" not in p.parts)


@pytest.fixture
def seeded(app_project):
    """Entries of every audience on both learners."""
    ids = {}
    for learner, tutor in (("alice", "tina"), ("bob", "tom")):
        ids[learner, "meeting"] = add(app_project, learner, meeting(), author=tutor).id
        ids[learner, "alert"] = add(app_project, learner, {
            "type": "alert", "date": when("2026-03-01"), "title": "Situation personnelle",
            "category": "personnelle", "severity": "haute"}, "Détail confidentiel.", author=tutor).id
        ids[learner, "evidence"] = add(app_project, learner, {
            "type": "evidence", "date": when("2026-03-02"), "title": "Ma preuve"},
            author=learner, role="learner").id
    ids["alice", "company-feedback"] = add(app_project, "alice", {
        "type": "company-feedback", "date": when("2026-03-03"), "title": "Retour entreprise",
        "period_start": "2026-02-01", "period_end": "2026-02-28"}, author="carl", role="company").id
    return ids


def expected_write(role: str, learner: str, entry_type: str) -> bool:
    if role == "admin":
        return True
    return learner == "alice" and entry_type in WRITES[role]


@pytest.mark.parametrize("role", list(ACTORS))
def test_matrix(role, app_project, seeded, client, auth):
    assert auth.login(ACTORS[role]).status_code == 302
    failures = []

    def check(what: str, response, allowed: bool, ok_statuses=(200, 302, 503), refused: int = 403):
        status = response.status_code
        if allowed and status not in ok_statuses:
            failures.append(f"{what}: expected allowed, got {status}")
        if not allowed and status != refused:
            failures.append(f"{what}: expected {refused}, got {status}")

    for learner in ("alice", "bob"):
        readable = learner == "alice" or role in READS_OTHER
        check(f"GET learner page {learner}", client.get(f"/apprenants/{learner}/"), readable)
        check(f"GET portfolio {learner}", client.get(f"/portfolio/{learner}/"), readable)
        check(f"GET portfolio page {learner}", client.get(f"/portfolio/{learner}/entrees/x.html"), readable,
              ok_statuses=(200, 404, 503))
        for entry_type in VALID_FORMS:
            allowed = readable and expected_write(role, learner, entry_type)
            url = f"/apprenants/{learner}/nouvelle/{entry_type}"
            check(f"GET form {entry_type} {learner}", client.get(url), allowed)
            before_files, before_head = files(app_project), head(app_project)
            response = auth.post(url, VALID_FORMS[entry_type])
            check(f"POST {entry_type} {learner}", response, allowed, ok_statuses=(302,))
            if response.status_code == 403 and (files(app_project), head(app_project)) != (before_files, before_head):
                failures.append(f"POST {entry_type} {learner}: refused but the store changed")
        for (owner, entry_type), entry_id in seeded.items():
            if owner != learner:
                continue
            visible = entry_type != "alert" or role in ("tutor", "auditor", "admin")
            allowed = readable and visible and expected_write(role, learner, entry_type)
            url = f"/apprenants/{learner}/corriger/{entry_id}"
            # A staff entry does not exist for the shared view: the answer of an unknown id (no probe).
            refused = 404 if readable and not visible else 403
            check(f"GET correct {entry_type} {learner}", client.get(url), allowed, refused=refused)
            before = files(app_project)
            data = dict(VALID_FORMS[entry_type], title="Version corrigée")
            response = auth.post(url, data)
            check(f"POST correct {entry_type} {learner}", response, allowed, ok_statuses=(302,), refused=refused)
            if response.status_code in (403, 404) and files(app_project) != before:
                failures.append(f"POST correct {entry_type} {learner}: refused but the store changed")
    assert not failures, "\n".join(failures)


def test_unknown_learner_and_type_are_404(client, auth):
    auth.login("ada")
    assert client.get("/apprenants/nobody/").status_code == 404
    assert client.get("/apprenants/..%2f..%2fetc/").status_code == 404
    assert client.get("/apprenants/alice/nouvelle/diary").status_code == 404
    assert client.get("/apprenants/alice/corriger/01JM2Q8V6Z9X3K4T5R6S7W8Y9A").status_code == 404
    assert client.get("/portfolio/_frameworks/").status_code == 404


def test_learner_never_sees_staff_entries(seeded, client, auth):
    auth.login("alice")
    page = client.get("/apprenants/alice/").text
    assert "Ma preuve" in page and "Entretien de suivi" in page
    assert "Situation personnelle" not in page and seeded["alice", "alert"] not in page
    # the answer of an unknown id: nothing tells a staff entry exists
    assert client.get(f"/apprenants/alice/corriger/{seeded['alice', 'alert']}").status_code == 404


def test_company_tutor_sees_shared_entries_only(seeded, client, auth):
    auth.login("carl")
    page = client.get("/apprenants/alice/").text
    assert "Retour entreprise" in page and "Situation personnelle" not in page
    dashboard = client.get("/tableau-de-bord").text
    assert "Alice" in dashboard and "Bob" not in dashboard
    assert "Alertes" not in dashboard  # alerts are staff information


def test_auditor_reads_everything_and_writes_nothing(seeded, client, auth):
    auth.login("audra")
    page = client.get("/apprenants/bob/").text
    assert "Situation personnelle" in page
    assert "Ajouter une entrée" not in page and "Corriger" not in page


@pytest.mark.parametrize("role", list(ACTORS))
def test_sign_route_answers_404_to_whoever_does_not_sign_and_writes_nothing(role, app_project, seeded, client, auth):
    """``POST /apprenants/<id>/entrees/<entry>/signer`` (forms_app/signoff.py): no rule asks anything here, so an
    assigned signer who sees the entry gets 422 (« n'attend pas votre signature »); everyone else, and every entry
    the role does not see, the 404 of an unknown id."""
    auth.login(ACTORS[role])
    before = files(app_project), head(app_project)
    for (learner, entry_type), entry_id in seeded.items():
        answer = auth.post(f"/apprenants/{learner}/entrees/{entry_id}/signer")
        signer = learner == "alice" and role in ("learner", "company", "tutor")
        visible = entry_type != "alert" or role == "tutor"
        assert answer.status_code == (422 if signer and visible else 404), (role, learner, entry_type)
    assert (files(app_project), head(app_project)) == before


@pytest.mark.parametrize("role", list(ACTORS))
def test_mail_routes(role, app_project, seeded, client, auth):
    """The mail pages (forms_app/admin_mail.py, invitations.py, password_reset.py): the outbox is for admins;
    inviting a learner (« /apprenants/<id>/inviter ») for the learner's tutors and admins; « mot de passe
    oublié » for anyone. A refusal is 403 and writes nothing (no commit, no file, no mail)."""
    from livret.mail.outbox import Outbox

    auth.login(ACTORS[role])
    before = files(app_project), head(app_project)
    admin = role == "admin"
    assert client.get("/admin/courriels/").status_code == (200 if admin else 403)
    assert auth.post("/admin/courriels/1/reessayer").status_code == (404 if admin else 403)
    for learner in ("alice", "bob"):
        may = admin or (role == "tutor" and learner == "alice")
        assert client.get(f"/apprenants/{learner}/inviter").status_code == (200 if may else 403), learner
        answer = auth.post(f"/apprenants/{learner}/inviter", {"email": "x@exemple.fr"})
        # alice and bob already have their accounts: even an allowed inviter is refused, naming it
        assert answer.status_code == (422 if may else 403), learner
    assert client.get("/connexion/oubli").status_code == 200
    assert (files(app_project), head(app_project)) == before
    assert Outbox.for_project(app_project).list() == []


@pytest.mark.parametrize("role", list(ACTORS))
def test_feed_and_mail_preference_routes(role, app_project, seeded, client, auth):
    """The calendar feed and mail preference pages (forms_app/feeds.py): « /agenda/abonnement » for tutors,
    admins, learners and company tutors (not auditors: 403); « /compte/courriels » for anyone signed in;
    « /agenda/<token>.ics » and « /desabonnement/<token> » answer 404 to a token that is not one. None
    writes to the store."""
    auth.login(ACTORS[role])
    before = files(app_project), head(app_project)
    feeds = role != "auditor"
    assert client.get("/agenda/abonnement").status_code == (200 if feeds else 403)
    assert auth.post("/agenda/abonnement").status_code == (200 if feeds else 403)
    assert client.get("/compte/courriels").status_code == 200
    assert auth.post("/compte/courriels", {"kinds": []}).status_code == 302
    assert client.get("/agenda/pas-un-jeton.ics").status_code == 404
    assert client.get("/desabonnement/pas.unjeton").status_code == 404
    assert client.post("/desabonnement/pas.unjeton").status_code == 404
    assert (files(app_project), head(app_project)) == before


@pytest.mark.parametrize("role", list(ACTORS))
def test_worksite_routes(role, app_project, seeded, client, auth):
    """The work-study calendar pages (forms_app/worksite.py): « /apprenants/<id>/calendrier » and its
    « /import » for the learner's tutors and admins; « /admin/groupes/<id>/calendrier/import » for admins.
    A refusal is 403 and writes nothing."""
    from livret.admin.groups import create_group

    gid = create_group(app_project.store, {"name": "Promo"}, ["alice"], author="ada")
    auth.login(ACTORS[role])
    before = files(app_project), head(app_project)
    admin = role == "admin"
    for learner in ("alice", "bob"):
        may = admin or (role == "tutor" and learner == "alice")
        for path in (f"/apprenants/{learner}/calendrier", f"/apprenants/{learner}/calendrier/import"):
            assert client.get(path).status_code == (200 if may else 403), (path, role)
            # no revision: even an allowed user is refused (409 stale form, or 422 no file), nothing written
            answer = auth.post(path, {"calendar-rows": "1", "calendar-0-start": "2026-01-05",
                                      "calendar-0-end": "2026-01-09", "calendar-0-kind": "centre"})
            assert answer.status_code in ((409, 422) if may else (403,)), (path, role, answer.status_code)
    assert client.get(f"/admin/groupes/{gid}/calendrier/import").status_code == (200 if admin else 403)
    assert auth.post(f"/admin/groupes/{gid}/calendrier/import").status_code == (422 if admin else 403)
    assert (files(app_project), head(app_project)) == before


@pytest.mark.parametrize("role", list(ACTORS))
def test_planning_routes(role, app_project, seeded, client, auth):
    """The plans (forms_app/plans.py: « /apprenants/<id>/rendez-vous/<plan>/deplacer » and « annuler ») for the
    learner's tutors and admins; the agenda (forms_app/agenda.py: « /agenda ») for tutors and admins. A refusal
    is 403 and writes nothing; an allowed POST without its reason is 422 and writes nothing either."""
    import datetime as dt

    from factories import PARIS

    plans = {}
    for learner, tutor in (("alice", "tina"), ("bob", "tom")):
        plans[learner] = app_project.store.append_entry(learner, {
            "type": "planned-meeting", "date": when("2026-11-10"), "title": "Point", "kind": "suivi",
            "modality": "presentiel", "place": "Salle 1", "duration": 30, "with_learner": False}, "",
            author=tutor, role="tutor", now=dt.datetime(2026, 11, 1, 9, tzinfo=PARIS)).id
    auth.login(ACTORS[role])
    before = files(app_project), head(app_project)
    assert client.get("/agenda").status_code == (200 if role in ("tutor", "admin") else 403)
    for learner, plan_id in plans.items():
        may = role == "admin" or (role == "tutor" and learner == "alice")
        for action in ("deplacer", "annuler"):
            url = f"/apprenants/{learner}/rendez-vous/{plan_id}/{action}"
            assert client.get(url).status_code == (200 if may else 403), (learner, action)
            assert auth.post(url, {"reason": ""}).status_code == (422 if may else 403), (learner, action)
    assert (files(app_project), head(app_project)) == before


@pytest.mark.parametrize("role", list(ACTORS))
def test_session_planning_routes(role, app_project, seeded, client, auth):
    """The sessions (forms_app/sessions.py): « /seances/ » for tutors, admins and auditors; « nouvelle »,
    « serie », « import » and « <chain>/modifier » for tutors and admins (a tutor for the groups and learners
    they follow); « /apprenants/<id>/assiduite » (forms_app/learner_attendance.py) for whoever reads the
    learner. A refusal is 403 and writes nothing; an allowed POST without its fields is 422 and writes nothing."""
    from livret.admin.groups import create_group

    create_group(app_project.store, {"name": "Promo"}, ["alice"], author="ada", group_id="promo")
    chain = app_project.store.write_sessions([{
        "date": "2026-11-10", "half_day": "matin", "start": "09:00", "end": "12:00", "title": "Accueil",
        "trainer": "tina", "group": "promo"}], author="ada", message="séance")[0].id
    auth.login(ACTORS[role])
    before = files(app_project), head(app_project)
    plans = role in ("tutor", "admin")
    assert client.get("/seances/").status_code == (200 if role in ("tutor", "admin", "auditor") else 403)
    for path in ("/seances/nouvelle", "/seances/serie", "/seances/import", f"/seances/{chain}/modifier"):
        assert client.get(path).status_code == (200 if plans else 403), (path, role)
        assert auth.post(path, {}).status_code == (422 if plans else 403), (path, role)
    assert auth.post("/seances/import/confirmer", {}).status_code == (410 if plans else 403)
    for learner in ("alice", "bob"):
        readable = learner == "alice" or role in READS_OTHER
        assert client.get(f"/apprenants/{learner}/assiduite").status_code == (200 if readable else 403)
    assert (files(app_project), head(app_project)) == before


@pytest.mark.parametrize("role", list(ACTORS))
def test_followup_routes(role, app_project, seeded, client, auth):
    """« Planifier le suivi proposé » (forms_app/followup.py: « /apprenants/<id>/suivi/planifier ») for the
    learner's tutors and admins only (not auditors: they do not write). A refusal is 403 and writes nothing;
    an allowed POST with nothing chosen is 400 and writes nothing either."""
    auth.login(ACTORS[role])
    before = files(app_project), head(app_project)
    for learner in ("alice", "bob"):
        may = role == "admin" or (role == "tutor" and learner == "alice")
        url = f"/apprenants/{learner}/suivi/planifier"
        assert client.get(url).status_code == (200 if may else 403), (learner, role)
        assert auth.post(url, {"nombre": "1"}).status_code == (400 if may else 403), (learner, role)
    assert (files(app_project), head(app_project)) == before


@pytest.mark.parametrize("role", list(ACTORS))
def test_attendance_document_routes(role, app_project, seeded, client, auth):
    """The attendance documents (forms_app/attendance_documents.py): a session's sheet « /seances/<id>/
    emargement.pdf » for its trainer (tina), admins and auditors (anyone else: the 404 of an unknown session);
    a learner's month « /apprenants/<id>/emargement/<YYYY-MM>.pdf » for their staff; the certificat
    « /apprenants/<id>/certificat.pdf » for their staff and the learner (here 422: no signatory set);
    « /seances/financeurs.csv » for admins; the month's sheets and grids « /seances/mois/<YYYY-MM>/
    emargement.pdf », « releves.pdf » for admins and auditors. None writes."""
    from attendance_support import add_session

    chain_id = add_session(app_project, group=None, convened=("alice",))
    auth.login(ACTORS[role])
    before = files(app_project), head(app_project)
    reads_sheet = role in ("tutor", "admin", "auditor")  # tina runs the session
    assert client.get(f"/seances/{chain_id}/emargement.pdf").status_code == (200 if reads_sheet else 404)
    for learner in ("alice", "bob"):
        staff = role in ("admin", "auditor") or (role == "tutor" and learner == "alice")
        own = role == "learner" and learner == "alice"
        assert client.get(f"/apprenants/{learner}/emargement/2026-11.pdf").status_code == (200 if staff else 403)
        assert client.get(f"/apprenants/{learner}/certificat.pdf").status_code == (422 if staff or own else 403)
    assert client.get("/seances/financeurs.csv?mois=2026-11").status_code == (200 if role == "admin" else 403)
    for document in ("emargement", "releves"):  # the month's sheets and grids, one PDF each
        answer = client.get(f"/seances/mois/2026-11/{document}.pdf")
        assert answer.status_code == (200 if role in ("admin", "auditor") else 403), document
        assert answer.status_code != 200 or answer.data.startswith(b"%PDF-")
    assert (files(app_project), head(app_project)) == before


#: (session page, qr.svg, etat.json, emarger, appareil, releve) by role, on a session of alice's (tina trains).
SIGNING_GETS = {"learner": (302, 403, 404, 200, 403, 403), "tutor": (200, 200, 200, 404, 200, 200),
                "company": (404,) * 6, "auditor": (200, 403, 200, 404, 403, 403),
                "admin": (200, 200, 200, 404, 200, 200)}


@pytest.mark.parametrize("role", list(ACTORS))
def test_attendance_signing_routes(role, app_project, seeded, client, auth):
    """Signing (forms_app/attendance.py) on a past session alice is convened to, trained by tina: the session page,
    its QR code and state, « émarger », the trainer's device and the marks; « /mes-seances » for learners; a
    personal code generated by the learner's tutor or an admin. Whoever may not see the session gets the 404 of an
    unknown one; a refusal writes nothing (a past session: even an allowed signature or mark is refused, 422)."""
    from attendance_support import add_session

    chain_id = add_session(app_project, group=None, convened=("alice",))
    auth.login(ACTORS[role])
    before = files(app_project), head(app_project)
    got = tuple(client.get(f"/seances/{chain_id}{suffix}").status_code
                for suffix in ("", "/qr.svg", "/etat.json", "/emarger", "/appareil", "/releve"))
    assert got == SIGNING_GETS[role]
    runs = role in ("tutor", "admin")
    refused = 404 if role == "company" else 403
    posts = {"/emarger": (422 if role == "learner" else 404, {"signed_as": "typed-name", "name": "Alice"}),
             "/appareil": (422 if runs else refused, {"learner": "alice", "secret": "x"}),
             "/releve": (422 if runs else refused, {"learner": "alice", "status": "late"}),
             "/exiger-qr": (303 if runs else refused, {"required": "0"})}
    for suffix, (status, data) in posts.items():
        assert auth.post(f"/seances/{chain_id}{suffix}", data).status_code == status, suffix
    assert (files(app_project), head(app_project)) == before
    if not runs:
        assert auth.post(f"/seances/{chain_id}/contresigner").status_code == refused
    assert client.get("/mes-seances").status_code == (200 if role == "learner" else 403)
    assert auth.post("/apprenants/alice/code-personnel").status_code == (200 if runs else 403)
    assert auth.post("/apprenants/bob/code-personnel").status_code == (200 if role == "admin" else 403)
    assert (files(app_project), head(app_project)) == before


@pytest.mark.parametrize("role", [None, *ACTORS])
def test_accessibility_statement_route(role, app_project, client, auth):
    """« /accessibilite » (forms_app/accessibility.py): the déclaration d'accessibilité, for anyone, signed in or
    not (the RGAA asks it to be reachable from every page); every page's footer links to it. It writes nothing."""
    if role:
        auth.login(ACTORS[role])
    before = files(app_project), head(app_project)
    page = client.get("/accessibilite")
    assert page.status_code == 200 and "Déclaration d'accessibilité" in page.text
    assert "non conforme avec le RGAA version 4.1" in page.text
    footer = client.get("/connexion" if role is None else "/compte/courriels").text
    assert '<a href="/accessibilite">Accessibilité : non conforme (aucun audit)</a>' in footer
    assert (files(app_project), head(app_project)) == before
