"""Sniffing an uploaded office file inflates a bounded amount, whatever its zip claims
(real zip bombs built in the test; the store's upload measured in a fresh process)."""

from __future__ import annotations

import zipfile

import pytest
from hostile_support import BOMBS, GROWTH_BOUND, ODT, probe_upload, small_odt, write_bombs

from livret.store.attachments import ZIP_MAX_MEMBERS, sniff


@pytest.fixture(scope="module")
def bomb_files(tmp_path_factory):
    return write_bombs(tmp_path_factory.mktemp("bombs"))


def test_real_office_files_are_still_recognised():
    assert sniff(small_odt()) == ODT.decode()
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<w:document/>" * 1000)
    assert sniff(buf.getvalue()) == "application/vnd.openxmlformats-officedocument.wordprocessingml.document"


def test_a_zip_listing_too_many_members_is_refused_unread():
    import io

    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_STORED) as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), ODT)
        for i in range(ZIP_MAX_MEMBERS):
            zf.writestr(zipfile.ZipInfo(f"m/{i}"), b"")
    assert sniff(buf.getvalue()) is None


@pytest.mark.parametrize("bomb", list(BOMBS))
def test_a_zip_bomb_through_the_store_costs_no_memory(project, bomb_files, bomb):
    result = probe_upload("store", project.root, bomb_files[bomb])
    assert result["warm"].startswith("stored files/")  # a real .odt still goes in
    assert result["outcome"].startswith("refused attachments[0]: « bombe.odt » : type de fichier non accepté"), result
    assert result["grown"] < GROWTH_BOUND, result
    stored = sorted(p.name for p in (project.portfolios / "alice" / "files").iterdir())
    assert len(stored) == 1 and stored[0].endswith("-vrai.odt")  # the bomb was not written
