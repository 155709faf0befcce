"""Groups administered from the browser: list, page, create, edit, filter without JavaScript, delete."""

from __future__ import annotations

import re
import subprocess

import pytest
from app_support import csrf_from

from livret.admin.groups import create_group


def head(project) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout.strip()


def last_commit(project) -> str:
    return subprocess.run(["git", "log", "-1", "--format=%an|%s"], cwd=project.portfolios, capture_output=True,
                          text=True, check=True).stdout.strip()


def files(project) -> list[str]:
    return sorted(p.relative_to(project.portfolios).as_posix() for p in project.portfolios.rglob("*")
                  if p.is_file() and ".git" not in p.parts)


def checked(html: str) -> set[str]:
    """Member boxes ticked on the page, and members kept in hidden inputs."""
    boxes = set(re.findall(r'name="members" value="([a-z0-9-]+)" id="m-[a-z0-9-]+" checked', html))
    return boxes | set(re.findall(r'<input type="hidden" name="members" value="([a-z0-9-]+)">', html))


@pytest.fixture
def group(app_project):
    return create_group(app_project.store, {"name": "BTS MCO 2026", "programme": "BTS MCO"}, ["alice"],
                        author="ada")


def test_create_a_group_with_members_in_one_commit(app_project, client, auth):
    auth.login("ada")
    page = client.get("/admin/groupes/nouveau")
    assert page.status_code == 200 and 'id="m-alice"' in page.text and 'id="m-bob"' in page.text
    before = head(app_project)
    response = auth.post("/admin/groupes/nouveau", {"name": "BTS MCO 2026", "programme": "BTS MCO",
                                                    "start": "2026-09-01", "end": "2028-06-30",
                                                    "weekly_hours": "35,5", "members": ["alice", "bob"]})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/groupes/bts-mco-2026/")
    assert last_commit(app_project) == "ada|groupe bts-mco-2026 : création « BTS MCO 2026 » (2 apprenant·es)"
    assert subprocess.run(["git", "rev-list", "--count", f"{before}..HEAD"], cwd=app_project.portfolios,
                          capture_output=True, text=True, check=True).stdout.strip() == "1"
    group = app_project.store.groups()["bts-mco-2026"]
    assert group.members == ["alice", "bob"] and group.weekly_hours == 35.5
    assert app_project.store.check() == []
    listing = client.get("/admin/groupes/").text
    assert "BTS MCO 2026" in listing and "<td>2</td>" in listing
    page = client.get("/admin/groupes/bts-mco-2026/").text
    assert 'href="/apprenants/alice/"' in page and 'href="/apprenants/bob/"' in page
    assert "/tableau-de-bord?groupe=bts-mco-2026" in page


def test_bad_group_input_names_the_field_and_writes_nothing(app_project, client, auth):
    auth.login("ada")
    before = (files(app_project), head(app_project))
    response = auth.post("/admin/groupes/nouveau", {"name": "", "start": "2026-09-01", "end": "2026-01-01",
                                                    "members": ["alice"]})
    assert response.status_code == 422
    assert 'id="name-error"' in response.text and "Le nom du groupe est obligatoire" in response.text
    response = auth.post("/admin/groupes/nouveau", {"name": "G", "start": "2026-09-01", "end": "2026-01-01",
                                                    "members": ["alice", "ghost"]})
    assert response.status_code == 422
    assert 'id="end-error"' in response.text and "précède la date de début" in response.text
    response = auth.post("/admin/groupes/nouveau", {"name": "G", "members": ["alice", "ghost"]})
    assert response.status_code == 422 and 'id="members-error"' in response.text
    assert "Apprenant·e inconnu·e : ghost" in response.text
    assert checked(response.text) == {"alice", "ghost"}  # what was ticked is kept
    assert (files(app_project), head(app_project)) == before


def test_the_members_filter_works_without_javascript_and_keeps_what_was_typed(app_project, client, auth, group):
    auth.login("ada")
    page = client.get(f"/admin/groupes/{group}/modifier?q=bob")
    assert 'id="m-bob"' in page.text and 'id="m-alice"' not in page.text
    assert checked(page.text) == {"alice"}  # alice is hidden by the filter, but stays a member
    token = csrf_from(page.text)
    revision = re.search(r'name="revision" type="hidden" value="([0-9a-f]{64})"', page.text).group(1)
    before = head(app_project)
    filtered = client.post(f"/admin/groupes/{group}/modifier", data={
        "csrf_token": token, "revision": revision, "name": "Nom tapé", "members": ["alice", "bob"],
        "q": "ALICE", "filtrer": "1"})
    assert filtered.status_code == 200 and head(app_project) == before  # filtering saves nothing
    assert 'value="Nom tapé"' in filtered.text and 'id="m-alice"' in filtered.text and 'id="m-bob"' not in filtered.text
    assert checked(filtered.text) == {"alice", "bob"}
    saved = client.post(f"/admin/groupes/{group}/modifier", data={
        "csrf_token": token, "revision": revision, "name": "Nom tapé", "members": ["alice", "bob"], "q": "ALICE"})
    assert saved.status_code == 302
    assert app_project.store.groups()[group].members == ["alice", "bob"]
    assert app_project.store.groups()[group].programme is None  # emptied on the form: removed
    assert last_commit(app_project) == f"ada|groupe {group} : modification (2 apprenant·es)"


def test_a_group_edited_meanwhile_is_not_overwritten(app_project, client, auth, group):
    auth.login("ada")
    page = client.get(f"/admin/groupes/{group}/modifier")
    revision = re.search(r'name="revision" type="hidden" value="([0-9a-f]{64})"', page.text).group(1)
    path = app_project.portfolios / "_groups" / f"{group}.yml"
    path.write_text(path.read_text(encoding="utf-8") + "description: à la main\n", encoding="utf-8")
    before = head(app_project)
    response = client.post(f"/admin/groupes/{group}/modifier", data={
        "csrf_token": csrf_from(page.text), "revision": revision, "name": "Autre nom", "members": ["bob"]})
    assert response.status_code == 409 and "modifié entre-temps" in response.text
    assert 'value="Autre nom"' in response.text
    assert "à la main" in path.read_text(encoding="utf-8") and head(app_project) == before


def test_delete_asks_first_then_removes_the_file_only(app_project, client, auth, group):
    auth.login("ada")
    page = client.get(f"/admin/groupes/{group}/supprimer")
    assert page.status_code == 200 and "Supprimer le groupe « BTS MCO 2026 » ?" in page.text
    assert (app_project.portfolios / "_groups" / f"{group}.yml").exists()
    revision = re.search(r'name="revision" value="([0-9a-f]{64})"', page.text).group(1)
    alice = (app_project.portfolios / "alice" / "learner.md").read_bytes()
    response = client.post(f"/admin/groupes/{group}/supprimer", data={"csrf_token": csrf_from(page.text),
                                                                       "revision": revision})
    assert response.status_code == 302
    assert not (app_project.portfolios / "_groups" / f"{group}.yml").exists()
    assert (app_project.portfolios / "alice" / "learner.md").read_bytes() == alice
    assert last_commit(app_project) == f"ada|groupe {group} : suppression"
    assert app_project.store.check() == []
    assert client.get(f"/admin/groupes/{group}/").status_code == 404


ROUTES = [("GET", "/admin/groupes/"), ("GET", "/admin/groupes/nouveau"), ("POST", "/admin/groupes/nouveau"),
          ("GET", "/admin/groupes/{g}/"), ("GET", "/admin/groupes/{g}/modifier"),
          ("POST", "/admin/groupes/{g}/modifier"), ("GET", "/admin/groupes/{g}/supprimer"),
          ("POST", "/admin/groupes/{g}/supprimer")]


@pytest.mark.parametrize("username", ["alice", "tina", "carl", "audra"])
def test_every_route_is_refused_to_non_admins_and_writes_nothing(app_project, client, auth, group, username):
    auth.login(username)
    before = (files(app_project), head(app_project))
    data = {"name": "Pirate", "members": ["bob"], "revision": app_project.store.revision(f"_groups/{group}.yml")}
    for method, url in ROUTES:
        url = url.format(g=group)
        response = client.get(url) if method == "GET" else auth.post(url, data)
        assert response.status_code == 403, (method, url)
    assert (files(app_project), head(app_project)) == before


def test_unknown_groups_are_404_and_posts_need_their_csrf_token(app_project, client, auth, group):
    auth.login("ada")
    for url in ("/admin/groupes/nope/", "/admin/groupes/nope/modifier", "/admin/groupes/..%2f..%2fx/supprimer",
                "/admin/groupes/_x/"):
        assert client.get(url).status_code == 404, url
    before = (files(app_project), head(app_project))
    assert client.post("/admin/groupes/nouveau", data={"name": "X"}).status_code == 400
    assert client.post(f"/admin/groupes/{group}/supprimer", data={}).status_code == 400
    assert (files(app_project), head(app_project)) == before
