"""Work-study in the app and the built portfolios: the calendar (admin learner and group forms, the
tutor's page, CSV imports), the missions, the centre / company coverage matrix (forms_app/worksite.py,
forms_app/calendar_editor.py, livret/publish/site/worksite.py)."""

from __future__ import annotations

import io
import re
import subprocess

from app_support import PAST
from factories import add, when

from livret.admin.groups import create_group
from livret.publish.build import build_learner, site_dir

GOOD_CSV = ("debut;fin;lieu;precision\n"
            "05/01/2026;09/01/2026;centre;Semaine d'accueil\n"
            "12/01/2026;30/01/2026;entreprise;\n"
            "19/01/2026;19/01/2026;absence;Arrêt maladie\n")


def head(project) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout.strip()


def last_commit(project) -> str:
    return subprocess.run(["git", "log", "-1", "--format=%an|%s"], cwd=project.portfolios, capture_output=True,
                          text=True, check=True).stdout.strip()


def commits(project) -> int:
    return int(subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=project.portfolios, capture_output=True,
                              text=True, check=True).stdout)


def hidden(html: str, name: str) -> str:
    match = re.search(rf'<input[^>]*name="{name}"[^>]*value="([^"]*)"', html) or \
        re.search(rf'<input[^>]*value="([^"]*)"[^>]*name="{name}"', html)
    return match.group(1)


def rows(*periods: tuple[str, str, str, str]) -> dict:
    data = {"calendar-rows": str(len(periods))}
    for i, (start, end, kind, label) in enumerate(periods):
        data.update({f"calendar-{i}-start": start, f"calendar-{i}-end": end, f"calendar-{i}-kind": kind,
                     f"calendar-{i}-label": label})
    return data


# ---------------------------------------------------------------- the tutor's calendar page


def test_tutor_edits_the_calendar_one_commit_errors_named_per_row(app_project, client, auth):
    auth.login("tina")
    page = client.get("/apprenants/alice/calendrier")
    assert page.status_code == 200 and "Calendrier de l'alternance" in page.text
    revision = hidden(page.text, "revision")
    before, count = head(app_project), commits(app_project)
    bad = auth.post("/apprenants/alice/calendrier", {"revision": revision, **rows(
        ("05/01/2026", "09/01/2026", "centre", ""), ("12/01/2026", "31/02/2026", "entreprise", ""),
        ("2026-01-26", "2026-01-20", "", ""))})
    assert bad.status_code == 422 and head(app_project) == before
    assert 'id="calendar-1-end-error"' in bad.text and "Calendrier, ligne 2, au : Date inexistante" in bad.text
    assert 'id="calendar-2-kind-error"' in bad.text and "Calendrier, ligne 3, lieu" in bad.text
    assert 'value="31/02/2026"' in bad.text  # what was typed is kept
    overlap = auth.post("/apprenants/alice/calendrier", {"revision": revision, **rows(
        ("05/01/2026", "16/01/2026", "centre", ""), ("12/01/2026", "30/01/2026", "entreprise", ""))})
    assert overlap.status_code == 422 and 'id="calendar-1-start-error"' in overlap.text and "Chevauche" in overlap.text
    more = auth.post("/apprenants/alice/calendrier", {"revision": revision, "calendar-add": "1", **rows(
        ("05/01/2026", "09/01/2026", "centre", "Accueil"))})
    assert more.status_code == 200 and 'name="calendar-3-start"' in more.text and head(app_project) == before
    ok = auth.post("/apprenants/alice/calendrier", {"revision": revision, **rows(
        ("05/01/2026", "09/01/2026", "centre", "Accueil"), ("12/01/2026", "30/01/2026", "entreprise", ""),
        ("19/01/2026", "19/01/2026", "absence", "Arrêt maladie"), ("", "", "", ""))})
    assert ok.status_code == 302
    assert commits(app_project) == count + 1
    assert last_commit(app_project) == "tina|alice : calendrier de l'alternance (3 périodes) (tina)"
    assert [p.kind for p in app_project.store.profile("alice").calendar] == ["centre", "entreprise", "absence"]
    assert app_project.store.check() == []
    # the form of before (its revision) cannot overwrite what was saved meanwhile
    stale = auth.post("/apprenants/alice/calendrier", {"revision": revision, **rows(
        ("05/01/2026", "09/01/2026", "centre", ""))})
    assert stale.status_code == 409 and "modifié entre-temps" in stale.text
    learner_page = client.get("/apprenants/alice/").text
    assert "Calendrier de l'alternance" in learner_page and "Janvier 2026" in learner_page
    assert "C = En centre de formation" in learner_page and "Modifier le calendrier" in learner_page


def test_only_the_learners_tutors_and_admins_edit_or_import(app_project, client, auth):
    before = head(app_project)
    for user in ("tom", "carl", "alice", "audra"):
        auth.login(user)
        assert client.get("/apprenants/alice/calendrier").status_code == 403, user
        assert auth.post("/apprenants/alice/calendrier", rows(("05/01/2026", "09/01/2026", "centre", ""))
                         ).status_code == 403, user
        assert auth.post("/apprenants/alice/calendrier/import", {
            "file": (io.BytesIO(GOOD_CSV.encode()), "c.csv")}, content_type="multipart/form-data").status_code == 403
        assert client.get("/admin/groupes/g/calendrier/import").status_code == 403
        learner_page = client.get("/apprenants/alice/")
        if learner_page.status_code == 200:
            assert "Modifier le calendrier" not in learner_page.text
    assert head(app_project) == before
    auth.login("ada")
    assert client.get("/apprenants/bob/calendrier").status_code == 200
    assert client.get("/apprenants/nobody/calendrier").status_code == 404


def test_csv_import_all_or_nothing(app_project, client, auth):
    auth.login("tina")
    before = head(app_project)
    revision = hidden(client.get("/apprenants/alice/calendrier/import").text, "revision")
    bad = auth.post("/apprenants/alice/calendrier/import", {
        "revision": revision, "file": (io.BytesIO(GOOD_CSV.replace("30/01/2026", "trente").encode()), "c.csv")},
        content_type="multipart/form-data")
    assert bad.status_code == 422 and head(app_project) == before
    assert "ligne 3, fin : date attendue au format JJ/MM/AAAA ou AAAA-MM-JJ" in bad.text
    ok = auth.post("/apprenants/alice/calendrier/import", {
        "revision": revision, "file": (io.BytesIO(GOOD_CSV.encode("cp1252")), "c.csv")},
        content_type="multipart/form-data")
    assert ok.status_code == 302
    assert last_commit(app_project) == "tina|alice : calendrier de l'alternance importé (3 périodes) (tina)"
    assert app_project.store.check() == []


# ---------------------------------------------------------------- admin forms


def test_admin_learner_form_has_the_calendar_editor(app_project, client, auth):
    auth.login("ada")
    page = client.get("/admin/apprenants/alice/modifier").text
    assert "Calendrier de l'alternance" in page and 'name="calendar-0-start"' in page
    form = {name: value for name, value in re.findall(r'<input[^>]*name="([a-z_]+)"[^>]*value="([^"]*)"', page)}
    data = {"first_name": "Alice", "last_name": "Test", "programme": "Formation de test", "framework": "mini",
            "start": "2026-01-05", "end": "2026-12-18", "modality": "presentiel", "work_study": "y",
            "company_name": "Entreprise Dupont", "tutors": ["tina"], "company_tutors": ["carl"],
            "revision": form["revision"], "body": "Objectifs de alice."}
    before = head(app_project)
    bad = auth.post("/admin/apprenants/alice/modifier", {**data, **rows(("05/01/2026", "x", "centre", ""))})
    assert bad.status_code == 422 and 'id="calendar-0-end-error"' in bad.text and head(app_project) == before
    ok = auth.post("/admin/apprenants/alice/modifier", {**data, **rows(("05/01/2026", "09/01/2026", "centre", ""))})
    assert ok.status_code == 302, ok.text
    assert last_commit(app_project).startswith("ada|alice : profil modifié (calendrier de l'alternance)")
    assert len(app_project.store.profile("alice").calendar) == 1 and app_project.store.check() == []


def test_group_calendar_form_import_and_kept_by_other_edits(app_project, client, auth):
    gid = create_group(app_project.store, {"name": "Promo 2026"}, ["alice"], author="ada")
    auth.login("ada")
    page = client.get(f"/admin/groupes/{gid}/modifier").text
    revision = hidden(page, "revision")
    base = {"name": "Promo 2026", "members": ["alice"], "revision": revision}
    bad = auth.post(f"/admin/groupes/{gid}/modifier", {**base, **rows(("2026-02-02", "2026-02-06", "ailleurs", ""))})
    assert bad.status_code == 422 and 'id="calendar-0-kind-error"' in bad.text
    ok = auth.post(f"/admin/groupes/{gid}/modifier", {**base, **rows(("2026-02-02", "2026-02-06", "centre", ""))})
    assert ok.status_code == 302
    assert len(app_project.store.group(gid)[0].calendar) == 1
    # the learner page shows the group's periods with the learner's own
    assert "Février 2026" in client.get("/apprenants/alice/").text
    revision = hidden(client.get(f"/admin/groupes/{gid}/calendrier/import").text, "revision")
    imported = auth.post(f"/admin/groupes/{gid}/calendrier/import", {
        "revision": revision, "file": (io.BytesIO(GOOD_CSV.encode()), "promo.csv")},
        content_type="multipart/form-data")
    assert imported.status_code == 302
    assert last_commit(app_project) == f"ada|groupe {gid} : calendrier de l'alternance importé (3 périodes)"
    # adding a member elsewhere keeps the calendar
    from livret.admin.groups import add_members, update_group
    add_members(app_project.store, gid, ["bob"], author="ada")
    update_group(app_project.store, gid, {"name": "Promo 2026 bis"}, ["alice", "bob"], author="ada", expected="*")
    group = app_project.store.group(gid)[0]
    assert len(group.calendar) == 3 and group.name == "Promo 2026 bis"
    assert "Importer le calendrier" in client.get(f"/admin/groupes/{gid}/").text
    assert app_project.store.check() == []


# ---------------------------------------------------------------- missions and the coverage matrix


def test_missions_form_and_plan_and_coverage_on_the_learner_page(app_project, client, auth):
    auth.login("carl")
    form = client.get("/apprenants/alice/nouvelle/mission").text
    assert 'name="competencies" value="A1"' in form and "competencies-0-level" not in form  # codes without levels
    response = auth.post("/apprenants/alice/nouvelle/mission", {
        "title": "Accueil téléphonique", "date": PAST, "term": "court", "competencies": ["A1", "B1"]})
    assert response.status_code == 302
    first = next(e for e in app_project.store.load_learner("alice").entries if e.type == "mission")
    assert [c.code for c in first.meta.competencies] == ["A1", "B1"] and first.meta.role == "company"
    done = auth.post("/apprenants/alice/nouvelle/mission", {
        "title": "Accueil téléphonique", "date": PAST, "term": "court", "status": "done", "updates": first.id})
    assert done.status_code == 302
    auth.login("tina")
    add(app_project, "alice", {"type": "assessment", "date": when("2026-03-10"), "title": "Évaluation A1",
                               "competencies": [{"code": "A1", "level": "3"}]})
    add(app_project, "alice", {"type": "positioning", "date": when("2026-01-08"), "title": "Positionnement secret",
                               "visibility": "staff", "competencies": [{"code": "B1", "level": "1"}]})
    page = client.get("/apprenants/alice/").text
    assert "Plan de missions" in page and "Court terme" in page and "Réalisée" in page and "1 mise à jour" in page
    assert "Couverture centre / entreprise" in page
    assert "Évaluation : Évaluation A1" in page and "Mission (court terme, réalisée) : Accueil téléphonique" in page
    assert "Lacune : pas encore travaillée en entreprise" not in page.split("A2")[0]
    assert "Lacune : travaillée ni en centre ni en entreprise" in page  # A2, B2
    assert "Positionnement : Positionnement secret" in page  # the staff sees its own entry
    auth.login("carl")
    shared = client.get("/apprenants/alice/").text
    assert "Couverture centre / entreprise" in shared and "Positionnement secret" not in shared


def test_built_portfolios_show_calendar_missions_and_matrix(app_project):
    from livret.admin.calendar import periods_from_rows, set_learner_calendar

    periods = periods_from_rows([{"start": "2026-01-05", "end": "2026-01-09", "kind": "centre", "label": ""},
                                 {"start": "2026-01-12", "end": "2026-01-30", "kind": "entreprise", "label": ""}])
    set_learner_calendar(app_project.store, "alice", periods, author="tina", expected="*")
    add(app_project, "alice", {"type": "mission", "date": when("2026-01-12"), "title": "Tenue du standard",
                               "term": "moyen", "competencies": [{"code": "A2"}]}, author="carl", role="company")
    add(app_project, "alice", {"type": "assessment", "date": when("2026-03-10"), "title": "Évaluation confidentielle",
                               "visibility": "staff", "competencies": [{"code": "A2", "level": "3"}]})
    assert build_learner(app_project, "alice").ok
    pages = {aud: (site_dir(app_project, aud, "alice") / "alternance" / "index.html").read_text(encoding="utf-8")
             for aud in ("staff", "shared")}
    for html in pages.values():
        assert "Calendrier de l'alternance" in html and "Janvier 2026" in html and "livret-cal-entreprise" in html
        assert "Plan de missions" in html and "Moyen terme" in html and "Tenue du standard" in html
        assert "Couverture centre / entreprise" in html and "A2" in html
    assert "Évaluation confidentielle" in pages["staff"]
    assert "Évaluation confidentielle" not in pages["shared"]  # a shared site never names a staff entry
    assert "Lacune : pas encore travaillée en centre" in pages["shared"]
    assert "Lacune : pas encore travaillée en centre" not in pages["staff"]  # the staff assessment covers A2
    # a change of a group's calendar rebuilds the members' sites (the inputs hash follows it)
    gid = create_group(app_project.store, {"name": "Promo"}, ["alice"], author="ada")
    assert build_learner(app_project, "alice").built == []
    from livret.admin.calendar import set_group_calendar
    set_group_calendar(app_project.store, gid, periods_from_rows([{"start": "2026-02-02", "end": "2026-02-06",
                                                                   "kind": "centre"}]), author="ada", expected="*")
    assert build_learner(app_project, "alice").built
    assert "Février 2026" in (site_dir(app_project, "shared", "alice") / "alternance" / "index.html").read_text(
        encoding="utf-8")
