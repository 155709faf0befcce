"""The CSV import page: preview (nothing written), confirmation (one commit by the admin), the kept file."""

from __future__ import annotations

import html
import io
import os
import re
import subprocess

import pytest
from factories import password_of
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from livret.admin.groups import create_group
from livret.instance.accounts import Accounts

GOOD = ("prénom;nom;formation;référentiel;début;tuteurs;groupes\n"
        "Zoé;Martin;BTS MCO;mini;01/09/2026;tina;BTS MCO 2026\n"
        "Léo;Petit;BTS MCO;mini;01/09/2026;tom;\n")
BROKEN = GOOD + "Ana;Lima;BTS MCO;mini;01/09/2026;carl;\n"
URL = "/admin/import/apprenants/"


def head(project) -> str:
    return subprocess.run(["git", "rev-parse", "HEAD"], cwd=project.portfolios, capture_output=True, text=True,
                          check=True).stdout.strip()


def files(project) -> list[str]:
    return sorted(p.relative_to(project.portfolios).as_posix() for p in project.portfolios.rglob("*")
                  if p.is_file() and ".git" not in p.parts)


def upload(auth, text: str | bytes, name: str = "eleves.csv"):
    """Post the file as a browser does: one multipart body, encoded in memory (no temporary file)."""
    data = text.encode("utf-8") if isinstance(text, str) else text
    fields = MultiDict([("csrf_token", auth.token()), ("fichier", FileStorage(io.BytesIO(data), filename=name))])
    boundary, body = encode_multipart(fields)
    return auth.client.post(URL, data=body, content_type=f"multipart/form-data; boundary={boundary}")


def hidden(page, name: str) -> str:
    return re.search(rf'name="{name}" type="hidden" value="([^"]*)"', page.text).group(1)


def text_of(page) -> str:
    return html.unescape(re.sub(r"\s+", " ", re.sub(r"<[^>]+>", " ", page.text)))


@pytest.fixture
def group(app_project):
    return create_group(app_project.store, {"name": "BTS MCO 2026"}, [], author="ada")


def test_the_preview_shows_every_row_and_error_and_writes_nothing(app_project, client, auth, group):
    auth.login("ada")
    before = (files(app_project), head(app_project))
    page = upload(auth, BROKEN)
    assert page.status_code == 200
    text = text_of(page)
    assert "Rien n'a encore été écrit." in text
    assert "2 créations, 0 mise à jour, 0 inchangée, 1 ligne en erreur" in text
    assert "4 tuteurs carl n'est pas un compte tuteur·rice (rôle : tuteur·rice entreprise)" in text
    assert "Zoé Martin" in text and "Ajout aux groupes : BTS MCO 2026" in text and "nouveau (tiré à l'import)" in text
    assert "Formation : BTS MCO" in text
    assert 'name="only_valid"' in page.text
    assert (files(app_project), head(app_project)) == before
    kept = list((app_project.instance / "imports").glob("*.csv"))
    assert len(kept) == 1 and os.stat(kept[0]).st_mode & 0o777 == 0o600
    assert kept[0].stem == hidden(page, "token")


def test_confirm_writes_one_commit_by_the_admin_and_removes_the_kept_file(app_project, client, auth, group):
    auth.login("ada")
    page = upload(auth, GOOD)
    before = head(app_project)
    done = auth.post(URL + "confirmer", {"token": hidden(page, "token"), "digest": hidden(page, "digest")})
    assert done.status_code == 200
    text = text_of(done)
    assert "2 apprenant·es créé·es, 0 mis·e à jour" in text
    assert "/tableau-de-bord?groupe=bts-mco-2026" in done.text
    log = subprocess.run(["git", "log", f"{before}..HEAD", "--format=%an|%s"], cwd=app_project.portfolios,
                         capture_output=True, text=True, check=True).stdout.splitlines()
    assert log == ["ada|Import d'apprenant·es (eleves.csv) : 2 créations"]
    created = [lid for lid in app_project.store.learner_ids() if lid not in ("alice", "bob")]
    assert len(created) == 2 and all(f'href="/apprenants/{lid}/"' in done.text for lid in created)
    assert len(app_project.store.groups()[group].members) == 1
    assert app_project.store.check() == []
    assert list((app_project.instance / "imports").iterdir()) == []
    again = auth.post(URL + "confirmer", {"token": hidden(page, "token"), "digest": hidden(page, "digest")})
    assert again.status_code == 410 and "n'est plus disponible" in text_of(again)


def test_errors_block_the_import_until_the_valid_rows_alone_are_chosen(app_project, client, auth, group):
    auth.login("ada")
    page = upload(auth, BROKEN)
    before = (files(app_project), head(app_project))
    refused = auth.post(URL + "confirmer", {"token": hidden(page, "token"), "digest": hidden(page, "digest")})
    assert refused.status_code == 422 and "rien n'a été écrit" in text_of(refused)
    assert (files(app_project), head(app_project)) == before
    done = auth.post(URL + "confirmer", {"token": hidden(page, "token"), "digest": hidden(page, "digest"),
                                         "only_valid": "y"})
    assert done.status_code == 200 and "1 ligne en erreur a été ignorée" in text_of(done)
    assert len(app_project.store.learner_ids()) == 4
    assert app_project.store.check() == []


def test_a_store_changed_since_the_preview_shows_the_new_preview_instead(app_project, client, auth):
    auth.login("ada")
    page = upload(auth, "identifiant;formation\nalice;BTS NDRC\n")
    path = app_project.portfolios / "alice" / "learner.md"
    path.write_text(path.read_text(encoding="utf-8").replace("Alice", "Alicia"), encoding="utf-8")
    before = head(app_project)
    response = auth.post(URL + "confirmer", {"token": hidden(page, "token"), "digest": hidden(page, "digest")})
    assert response.status_code == 409 and "Le dépôt a changé depuis l'aperçu" in text_of(response)
    assert head(app_project) == before and "BTS NDRC" not in path.read_text(encoding="utf-8")


def test_the_kept_file_cannot_be_used_by_another_account_or_named_by_a_path(app_project, client, auth):
    Accounts.for_project(app_project).add("eve", "admin", password_of("eve"))
    auth.login("ada")
    page = upload(auth, GOOD.replace(";BTS MCO 2026", ";"))
    token, digest = hidden(page, "token"), hidden(page, "digest")
    auth.login("eve")
    before = (files(app_project), head(app_project))
    for forged in (token, "../../../etc/passwd", "/etc/passwd", "a" * 32, ""):
        response = auth.post(URL + "confirmer", {"token": forged, "digest": digest})
        assert response.status_code == 410, forged
    assert (files(app_project), head(app_project)) == before
    auth.login("ada")
    assert auth.post(URL + "confirmer", {"token": token, "digest": digest}).status_code == 200


def test_bad_uploads_are_named_next_to_the_file_field(app_project, client, auth):
    auth.login("ada")
    assert "Choisissez un fichier CSV" in auth.post(URL, {}, content_type="multipart/form-data").text
    empty = upload(auth, b"")
    assert empty.status_code == 422 and "Le fichier est vide" in text_of(empty)
    big = upload(auth, b"x" * (5 * 1024 * 1024 + 1))
    assert big.status_code == 422 and "Fichier trop volumineux" in text_of(big)
    unreadable = upload(auth, "a;b\n1;2\n")
    assert unreadable.status_code == 200 and "aucune colonne reconnue" in text_of(unreadable)
    assert 'action="/admin/import/apprenants/confirmer"' not in unreadable.text  # nothing to confirm
    assert not (app_project.instance / "imports").exists() or len(
        list((app_project.instance / "imports").glob("*.csv"))) == 1


@pytest.mark.parametrize("username", ["alice", "tina", "carl", "audra"])
def test_non_admins_are_refused_and_nothing_is_written(app_project, client, auth, username):
    auth.login("ada")
    page = upload(auth, GOOD.replace(";BTS MCO 2026", ";"))
    token, digest = hidden(page, "token"), hidden(page, "digest")
    auth.login(username)
    before = (files(app_project), head(app_project))
    assert client.get(URL).status_code == 403
    assert upload(auth, GOOD).status_code == 403
    assert auth.post(URL + "confirmer", {"token": token, "digest": digest, "only_valid": "y"}).status_code == 403
    assert (files(app_project), head(app_project)) == before
    assert len(list((app_project.instance / "imports").glob("*.csv"))) == 1


def test_posts_need_their_csrf_token(app_project, client, auth):
    auth.login("ada")
    page = upload(auth, GOOD.replace(";BTS MCO 2026", ";"))
    before = (files(app_project), head(app_project))
    response = client.post(URL + "confirmer", data={"token": hidden(page, "token"), "digest": hidden(page, "digest")})
    assert response.status_code == 400
    assert client.post(URL, data={"fichier": (io.BytesIO(b"x"), "a.csv")},
                       content_type="multipart/form-data").status_code == 400
    assert (files(app_project), head(app_project)) == before
