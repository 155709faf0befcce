"""Frameworks from the browser: list, page, import (preview, then one commit), replacement rules."""

from __future__ import annotations

import io
import re
import stat
import subprocess

import pytest
from app_support import AuthActions
from factories import add, when
from interop_support import MAHARA_MATRIX, MOODLE_CSV, cli

from livret.instance.accounts import Accounts, random_password

UPLOAD = "/admin/referentiels/importer"


def log(project) -> list[str]:
    out = subprocess.run(["git", "log", "--format=%an|%s"], cwd=project.portfolios, capture_output=True,
                         text=True, check=True).stdout
    return out.splitlines()


def files(project) -> dict[str, bytes]:
    return {p.relative_to(project.portfolios).as_posix(): p.read_bytes() for p in project.portfolios.rglob("*")
            if p.is_file() and ".git" not in p.parts}


def uploads(project) -> list:
    folder = project.instance / "imports" / "frameworks"
    return sorted(folder.iterdir()) if folder.is_dir() else []


def send(auth, path=MOODLE_CSV, fmt="moodle", ident="", data: bytes | None = None, name: str | None = None):
    content = path.read_bytes() if data is None else data
    return auth.post(UPLOAD, {"format": fmt, "identifiant": ident,
                              "fichier": (io.BytesIO(content), name or path.name)},
                     content_type="multipart/form-data")


def token_of(html: str) -> str:
    return re.search(r'name="jeton" value="([^"]+)"', html).group(1)


def revision_of(html: str) -> str:
    found = re.search(r'name="revision" value="([^"]*)"', html)
    return found.group(1) if found else ""


def test_preview_writes_nothing_then_import_is_one_commit_by_the_admin(app_project, client, auth):
    auth.login("ada")
    form = client.get(UPLOAD).text
    assert 'name="fichier"' in form and 'value="mahara"' in form and 'enctype="multipart/form-data"' in form
    before, head = files(app_project), log(app_project)
    preview = send(auth, ident="tuteur")
    assert preview.status_code == 200
    html = preview.text
    assert "Référentiel du tuteur en entreprise" in html and '<span class="code">tuteur</span>' in html
    assert "Rien n&#39;est encore enregistré" in html or "Rien n'est encore enregistré" in html
    assert files(app_project) == before and log(app_project) == head
    kept = uploads(app_project)
    assert len(kept) == 2 and all(stat.S_IMODE(p.stat().st_mode) == 0o600 for p in kept)
    response = auth.post("/admin/referentiels/importer/confirmer", {"jeton": token_of(html)})
    assert response.status_code == 302 and response.headers["Location"].endswith("/admin/referentiels/tuteur/")
    assert log(app_project)[0] == "ada|Référentiel tuteur importé de Moodle (moodle-tuteur.csv)"
    assert len(log(app_project)) == len(head) + 1
    assert app_project.store.framework("tuteur")[0].title == "Référentiel du tuteur en entreprise"
    assert app_project.store.check() == []
    assert uploads(app_project) == []  # the kept upload is gone once imported
    page = client.get("/admin/referentiels/tuteur/").text
    assert "Référentiel du tuteur en entreprise" in page and "Aucun·e." in page
    # The same token cannot import twice.
    assert auth.post("/admin/referentiels/importer/confirmer", {"jeton": token_of(html)}).status_code == 404


def test_mahara_matrix_with_a_chosen_id(app_project, client, auth):
    auth.login("ada")
    preview = send(auth, MAHARA_MATRIX, fmt="mahara", ident="accompagnement")
    assert preview.status_code == 200 and '<span class="code">accompagnement</span>' in preview.text
    assert auth.post("/admin/referentiels/importer/confirmer",
                     {"jeton": token_of(preview.text)}).status_code == 302
    assert app_project.store.framework("accompagnement")[0] is not None
    assert app_project.store.check() == []


def test_list_shows_each_framework_and_its_learners(app_project, client, auth):
    auth.login("ada")
    html = client.get("/admin/referentiels/").text
    assert "Référentiel de test" in html and '<span class="code">mini</span>' in html
    assert 'href="/apprenants/alice/">Alice Test</a>' in html and 'href="/apprenants/bob/">Bob Test</a>' in html
    assert re.search(r"<td>4</td>\s*<td>2 :", html)  # 4 competencies, 2 learners
    page = client.get("/admin/referentiels/mini/").text
    assert "Conduire un entretien de suivi" in page and "acquis à partir de ce niveau" in page
    assert client.get("/admin/referentiels/inconnu/").status_code == 404


def test_an_existing_id_is_replaced_only_when_chosen(app_project, client, auth):
    auth.login("ada")
    before, head = files(app_project), log(app_project)
    preview = send(auth, ident="mini")
    html = preview.text
    assert "Un référentiel « mini » existe déjà" in html
    assert "2 apprenant·es l&#39;utilisent" in html or "2 apprenant·es l'utilisent" in html
    assert "4 compétences disparaîtraient" in html and 'name="remplacer"' in html
    token, revision = token_of(html), revision_of(html)
    refused = auth.post("/admin/referentiels/importer/confirmer", {"jeton": token, "revision": revision})
    assert refused.status_code == 422 and "existe déjà : cochez" in refused.text
    assert files(app_project) == before and log(app_project) == head
    done = auth.post("/admin/referentiels/importer/confirmer", {"jeton": token, "revision": revision,
                                                                 "remplacer": "1"})
    assert done.status_code == 302
    assert log(app_project)[0] == "ada|Référentiel mini remplacé par un import de Moodle (moodle-tuteur.csv)"
    assert app_project.store.framework("mini")[0].title == "Référentiel du tuteur en entreprise"
    assert app_project.store.check() == []


def test_a_replacement_that_would_invalidate_entries_is_refused(app_project, client, auth):
    add(app_project, "alice", {"type": "assessment", "date": when("2026-03-02"), "title": "Évaluation",
                               "competencies": [{"code": "A1", "level": "3"}]})
    auth.login("ada")
    before, head = files(app_project), log(app_project)
    html = send(auth, ident="mini").text
    assert "Remplacement impossible" in html and "Alice Test (alice)" in html and "A1" in html
    assert ">Importer</button>" not in html
    refused = auth.post("/admin/referentiels/importer/confirmer", {"jeton": token_of(html), "remplacer": "1",
                                                                   "revision": revision_of(html)})
    assert refused.status_code == 422 and "ne peut pas être remplacé" in refused.text
    assert files(app_project) == before and log(app_project) == head
    # The command line shares the rule.
    result = cli(app_project, "framework", "import", str(MOODLE_CSV), "--format", "moodle", "--id", "mini",
                 "--force")
    assert result.exit_code == 1 and "ne peut pas être remplacé" in result.stderr
    assert files(app_project) == before and log(app_project) == head


def test_a_framework_edited_after_the_preview_is_not_overwritten(app_project, client, auth):
    auth.login("ada")
    html = send(auth, ident="mini").text
    path = app_project.portfolios / "_frameworks" / "mini.yml"
    path.write_text(path.read_text(encoding="utf-8").replace("Référentiel de test", "Modifié à la main"),
                    encoding="utf-8")
    before = files(app_project)
    response = auth.post("/admin/referentiels/importer/confirmer", {"jeton": token_of(html), "remplacer": "1",
                                                                    "revision": revision_of(html)})
    assert response.status_code == 409 and "modifié entre-temps" in response.text
    assert files(app_project) == before
    # The page shown is the fresh preview: confirming it now replaces the edited file.
    fresh = revision_of(response.text)
    assert fresh != revision_of(html)
    assert auth.post("/admin/referentiels/importer/confirmer", {"jeton": token_of(response.text),
                                                                "remplacer": "1", "revision": fresh}
                     ).status_code == 302


@pytest.mark.parametrize("over, field, message", [
    ({"data": b"pas,un,referentiel\n1,2,3\n"}, "fichier", "ne peut pas être importé"),
    ({"data": b""}, "fichier", "fichier vide"),
    ({"fmt": "word"}, "format", "Choisissez le format du fichier."),
    ({"ident": "../etc"}, "identifiant", "Identifiant invalide"),
    ({"path": MAHARA_MATRIX, "fmt": "moodle"}, "fichier", "ne peut pas être importé"),
])
def test_bad_input_is_named_and_nothing_is_kept(app_project, client, auth, over, field, message):
    auth.login("ada")
    before = files(app_project)
    response = send(auth, **over)
    assert response.status_code == 422
    assert f'id="f-{field}-error"' in response.text and message in response.text
    assert files(app_project) == before and uploads(app_project) == []


def test_no_file_chosen(app_project, client, auth):
    auth.login("ada")
    response = auth.post(UPLOAD, {"format": "moodle"}, content_type="multipart/form-data")
    assert response.status_code == 422 and "Choisissez un fichier." in response.text


@pytest.mark.parametrize("user", ["tina", "audra", "carl", "alice"])
def test_only_admins_and_nothing_written(app_project, client, auth, user):
    auth.login(user)
    before, head = files(app_project), log(app_project)
    for url in ("/admin/referentiels/", "/admin/referentiels/mini/", UPLOAD):
        assert client.get(url).status_code == 403
    assert send(auth).status_code == 403
    assert auth.post("/admin/referentiels/importer/confirmer", {"jeton": "x" * 32}).status_code == 403
    assert files(app_project) == before and log(app_project) == head and uploads(app_project) == []


def test_an_upload_is_bound_to_its_admin_and_tokens_are_never_paths(app_project, client, auth, app):
    password = random_password("ada2")
    Accounts.for_project(app_project).add("ada2", "admin", password)
    auth.login("ada")
    token = token_of(send(auth, ident="tuteur").text)
    other = AuthActions(app.test_client())
    other.login("ada2", password)
    before = files(app_project)
    assert other.post("/admin/referentiels/importer/confirmer", {"jeton": token}).status_code == 404
    assert other.post("/admin/referentiels/importer/annuler", {"jeton": token}).status_code == 404
    for forged in ("../../instance/livret", "x" * 31, "", token + "/"):
        assert auth.post("/admin/referentiels/importer/confirmer", {"jeton": forged}).status_code == 404
    assert files(app_project) == before and len(uploads(app_project)) == 2
    assert client.post("/admin/referentiels/importer/confirmer", data={"jeton": token}).status_code == 400  # CSRF
    cancelled = auth.post("/admin/referentiels/importer/annuler", {"jeton": token})
    assert cancelled.status_code == 302 and uploads(app_project) == [] and files(app_project) == before
