"""The administration's home: the « getting started » checklist (states from the store and the accounts),
the dashboard's banner while it is incomplete, links that never fail."""

from __future__ import annotations

import re

from app_support import AuthActions, make_app
from click.testing import CliRunner

from livret.cli import main
from livret.instance.accounts import Accounts, random_password
from livret.store.project import Project
from livret.store.schema import Group
from livret.store.writer import GroupChange


def states(html: str) -> list[tuple[str, str]]:
    """(step title, « fait » / « à faire ») in the page's order."""
    return re.findall(r"<h3>(\d\. [^<]+?) <span class=\"badge[^\"]*\">([^<]+)</span>", html)


def add_group(project, members=("alice",)):
    project.store.write_changes([], [GroupChange(Group(id="promo", name="Promo", members=list(members)), None)],
                                author="ada", message="groupe")


def test_checklist_states_follow_the_store_and_the_banner_goes_when_done(app_project, client, auth):
    auth.login("ada")
    html = client.get("/admin/").text
    assert [s for _, s in states(html)] == ["fait", "fait", "fait", "fait", "à faire"]
    assert "4 étapes faites sur 5" in html
    banner = client.get("/tableau-de-bord").text
    assert "Mise en route de l" in banner and 'href="/admin/">Voir les premiers pas' in banner
    add_group(app_project)
    html = client.get("/admin/").text
    assert [s for _, s in states(html)] == ["fait"] * 5 and "La mise en route est terminée" in html
    assert "Mise en route de l" not in client.get("/tableau-de-bord").text
    # Bulk actions are reached from here, per group.
    assert 'href="/admin/groupes/promo/assiduite"' in html and 'href="/admin/groupes/promo/entree"' in html


def test_a_learner_without_an_active_tutor_account_is_counted(app_project, client, auth):
    store = app_project.store
    bob = store.load_learner("bob").profile.model_copy(update={"tutors": []})
    store.write_profile(bob, None, author="ada", message="bob sans tuteur")
    auth.login("ada")
    html = client.get("/admin/").text
    assert "1 apprenant·e en formation n&#39;a pas de tuteur·rice" in html or \
        "1 apprenant·e en formation n'a pas de tuteur·rice" in html
    assert 'href="/tableau-de-bord?tuteur=-&amp;statut=en-cours"' in html
    assert re.findall(r'<th scope="row">\s*<a href="/apprenants/([a-z0-9-]+)/"',
                      client.get("/tableau-de-bord?tuteur=-&statut=en-cours").text) == ["bob"]
    # A disabled account follows nobody.
    Accounts.for_project(app_project).set_disabled("tina")
    html = client.get("/admin/").text
    assert "2 apprenant·es en formation n" in html


def test_only_admins(app_project, client, auth):
    for user in ("tina", "audra", "carl", "alice"):
        auth.login(user)
        assert client.get("/admin/").status_code == 403
        assert "Mise en route" not in client.get("/tableau-de-bord").text
    client.post("/deconnexion", data={"csrf_token": auth.token()})
    assert client.get("/admin/").status_code == 302


def test_links_fall_back_to_paths_when_a_page_is_missing(app):
    from forms_app.admin_home import FALLBACKS, admin_url

    with app.test_request_context():
        assert admin_url("admin_frameworks.upload") == "/admin/referentiels/importer"
        assert admin_url("no_such_blueprint.page") == "/admin/"
        for endpoint, path in FALLBACKS.items():
            url = admin_url(endpoint)
            assert url.startswith("/") and (url == path or endpoint in app.view_functions)


def test_the_first_admin_of_a_fresh_project_sees_every_step_to_do(tmp_path):
    root = tmp_path / "neuf"
    result = CliRunner().invoke(main, ["init", str(root)], catch_exceptions=False)
    assert result.exit_code == 0, result.output
    password = random_password("premiere")
    Accounts.for_project(Project.at(root)).add("premiere", "admin", password)
    client = make_app(root).test_client()
    auth = AuthActions(client)
    assert auth.login("premiere", password).status_code == 302
    html = client.get("/admin/").text
    assert [s for _, s in states(html)] == ["à faire"] * 5
    assert "Seul le référentiel d&#39;exemple" in html or "Seul le référentiel d'exemple" in html
    for link in ('href="/admin/referentiels/importer"', "/admin/comptes/", "/admin/apprenants/", "/admin/groupes/"):
        assert link in html
    assert "Mise en route de l" in client.get("/tableau-de-bord").text
