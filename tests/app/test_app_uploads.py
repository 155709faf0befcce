"""Attachments through the forms: types read from the content, size limits, names."""

from __future__ import annotations

from io import BytesIO

import pytest
from app_support import HEIC_HEAD, VALID_FORMS, make_app, png_bytes
from werkzeug.datastructures import FileStorage, MultiDict
from werkzeug.test import encode_multipart

from livret.store.yamlio import dump_yaml

MB = 1024 * 1024


@pytest.fixture
def small_limit(app_project):
    """The organisation allows 1 MB per attachment."""
    (app_project.portfolios / "_organisation.yml").write_text(
        dump_yaml({"name": "OF de test", "uploads": {"max_mb": 1}}), encoding="utf-8")
    return app_project


@pytest.fixture
def learner(small_limit):
    from app_support import AuthActions

    client = make_app(small_limit.root).test_client()
    auth = AuthActions(client)
    auth.login("alice")
    return auth


def upload(auth, *files, entry_type="evidence", **extra):
    """Post the form as a browser does: one multipart body, encoded in memory."""
    data = dict(VALID_FORMS[entry_type], csrf_token=auth.token(), **extra)
    data["attachments"] = [FileStorage(BytesIO(content), filename=name) for name, content in files]
    boundary, body = encode_multipart(MultiDict([(k, v) for k, vs in data.items()
                                                 for v in (vs if isinstance(vs, list) else [vs])]))
    return auth.client.post(f"/apprenants/alice/nouvelle/{entry_type}", data=body,
                            content_type=f"multipart/form-data; boundary={boundary}")


def stored_files(project):
    return sorted(p.name for p in (project.portfolios / "alice" / "files").iterdir())


def test_image_and_phone_photos_are_accepted(small_limit, learner):
    png = png_bytes()
    jpeg = b"\xff\xd8\xff\xe1\x00\x10Exif\x00\x00" + b"\x00" * 2000  # JPEG straight from a phone (EXIF)
    heic = HEIC_HEAD + b"\x00" * 4000
    response = upload(learner, ("schéma de séquence.png", png), ("IMG_0042.JPG", jpeg), ("IMG_0043.HEIC", heic))
    assert response.status_code == 302, response.text[:3000]
    [entry] = small_limit.store.load_learner("alice").entries
    names = [a.split("-", 1)[1] for a in entry.meta.attachments]
    assert names == ["schema-de-sequence.png", "IMG_0042.jpg", "IMG_0043.heic"]
    assert (small_limit.portfolios / "alice" / entry.meta.attachments[0]).read_bytes() == png


def test_type_comes_from_the_content_not_the_name(small_limit, learner):
    response = upload(learner, ("cv.jpg", b"%PDF-1.7\n..."))
    assert response.status_code == 302
    [entry] = small_limit.store.load_learner("alice").entries
    assert entry.meta.attachments[0].endswith("-cv.pdf")


@pytest.mark.parametrize("name, content", [
    ("photo.jpg", b"MZ\x90\x00\x03" + b"\x00" * 100),  # a Windows program named as a photo
    ("page.png", b"\x00\x01<html><script>alert(1)</script>"),
    ("archive.zip", b"PK\x03\x04" + b"\x00" * 50),
])
def test_refused_types_show_an_error_next_to_the_file_input(small_limit, learner, name, content):
    response = upload(learner, (name, content))
    assert response.status_code == 422
    assert 'id="attachments-error"' in response.text
    assert f"« {name} » : type de fichier non accepté" in response.text  # the error names the file
    assert 'aria-describedby="attachments-help attachments-error"' in response.text
    assert 'value="Compte rendu de séquence"' in response.text  # the rest of the input is kept
    assert stored_files(small_limit) == [] and small_limit.store.load_learner("alice").entries == []


def test_file_over_the_limit_is_refused_with_its_size(small_limit, learner):
    response = upload(learner, ("gros.png", png_bytes() + b"\x00" * (int(1.5 * MB))))
    assert response.status_code == 422
    assert "« gros.png » : fichier trop volumineux (1,5\u00a0Mo ; au plus 1\u00a0Mo)" in response.text
    assert stored_files(small_limit) == []


def test_huge_upload_is_refused_before_it_is_read(small_limit, learner):
    response = upload(learner, ("film.mp4", b"\x00\x00\x00\x18ftypisom" + b"\x00" * (5 * MB)))
    assert response.status_code == 413
    assert "Envoi trop volumineux" in response.text and "Rien n&#39;a été enregistré" in response.text
    assert stored_files(small_limit) == []


def test_a_second_bad_file_leaves_nothing_behind(small_limit, learner):
    response = upload(learner, ("ok.png", png_bytes()), ("bad.png", b"MZ\x90\x00"))
    assert response.status_code == 422
    assert stored_files(small_limit) == []


def test_names_with_paths_never_reach_the_filesystem(small_limit, learner):
    response = upload(learner, ("../../../etc/passwd.png", png_bytes()))
    # Werkzeug keeps the name as sent; the store refuses a path separator.
    assert response.status_code == 422 and "séparateur de chemin" in response.text
    assert stored_files(small_limit) == []
    assert not (small_limit.root / "etc").exists()


def test_tutors_attach_files_too(small_limit):
    from app_support import AuthActions

    auth = AuthActions(make_app(small_limit.root).test_client())
    auth.login("tina")
    response = upload(auth, ("feuille-emargement.pdf", b"%PDF-1.4 ..."), entry_type="attendance")
    assert response.status_code == 302
    assert len(stored_files(small_limit)) == 1
