"""A zip bomb uploaded through the form or the API: refused with a French 422 naming the field,
and the server's peak memory barely moves (measured in a fresh process that runs the real app)."""

from __future__ import annotations

import json

import pytest
from api_support import tokens_for
from hostile_support import BOMBS, GROWTH_BOUND, probe_upload, write_bombs


@pytest.fixture(scope="module")
def bomb_files(tmp_path_factory):
    return write_bombs(tmp_path_factory.mktemp("bombs"))


def files_of(project) -> list[str]:
    return sorted(p.name for p in (project.portfolios / "alice" / "files").iterdir())


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_a_zip_bomb_through_the_form(app_project, bomb_files, bomb):
    result = probe_upload("form", app_project.root, bomb_files[bomb])
    assert result["warm"].startswith("302 "), result["warm"][:2000]  # a real .odt: the entry is saved
    status, page = result["outcome"].split(" ", 1)
    assert status == "422" and "« bombe.odt » : type de fichier non accepté" in page  # names the file
    assert result["grown"] < GROWTH_BOUND, result["grown"]
    assert len(files_of(app_project)) == 1


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_a_zip_bomb_through_the_api(app_project, bomb_files, bomb):
    token = tokens_for(app_project)["alice"]
    result = probe_upload("api", app_project.root, bomb_files[bomb], token)
    assert result["warm"].startswith("201 "), result["warm"]
    status, body = result["outcome"].split(" ", 1)
    assert status == "422"
    [error] = json.loads(body)["errors"]
    assert error["field"] == "file" and error["detail"].startswith("« bombe.odt » : type de fichier non accepté")
    assert result["grown"] < GROWTH_BOUND, result["grown"]
    assert len(files_of(app_project)) == 1
