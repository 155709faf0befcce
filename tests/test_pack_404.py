"""The audit pack's 404.html opens from disk: every link, style and script it names is in the pack."""

from __future__ import annotations

import re
import zipfile
from pathlib import Path
from urllib.parse import unquote, urlsplit

from livret.audit.pack import build_pack

REFERENCE = re.compile(r"""(?:href|src)\s*=\s*["']([^"']+)["']""")


def local_targets(page: Path) -> list[str]:
    """The links of a page that point into its own site (not #anchors, not data: or mailto:)."""
    out = []
    for value in REFERENCE.findall(page.read_text(encoding="utf-8")):
        parts = urlsplit(value)
        if parts.scheme or parts.netloc or not parts.path:
            continue
        out.append(unquote(parts.path))
    return out


def test_the_404_page_of_a_pack_works_from_disk(project, tmp_path):
    pack = tmp_path / "dossier.zip"
    build_pack(project, "alice", pack)
    with zipfile.ZipFile(pack) as archive:
        archive.extractall(tmp_path / "x")
    site = tmp_path / "x" / "site"
    page = site / "404.html"
    targets = local_targets(page)
    assert len(targets) > 10, "the 404 page keeps the site's navigation, styles and scripts"
    absolute = [t for t in targets if t.startswith("/")]
    assert not absolute, f"absolute links, broken from disk: {absolute[:5]}"
    missing = [t for t in targets if not (page.parent / t).resolve().exists()]
    assert not missing, f"404.html names files the pack does not hold: {missing[:5]}"
    assert (site / "index.html").read_text(encoding="utf-8").count('href="/') == 0
