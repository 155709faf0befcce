"""Hostile stores for the hardening tests: real files, real links, real git.

:func:`hostile_store`: a store full of symbolic links; :func:`alias_bomb`: YAML
that expands to a billion values; :func:`zip_bomb`: an office file whose
small member inflates to gigabytes.

Links from alice's ``files/`` to a file outside the store, to
``instance/secret_key`` and to bob's attachment, a link loop, a dangling link,
an entry file that is a link, chloe's ``files/`` folder that is a link, a
learner folder (zoe) that is a link, a framework file that is a link.
"""

from __future__ import annotations

import functools
import io
import os
import zipfile
from pathlib import Path

from factories import SMALL_FRAMEWORK, add, hand_written, make_project, when

from livret.store.history import History
from livret.store.yamlio import dump_yaml, render_front_matter

OUTSIDE = "SENTINELLE-HORS-DEPOT-5501"
KEY = "SENTINELLE-CLE-SECRETE-5502-" + "k" * 40  # long enough to be the app's key
BOB = "SENTINELLE-PIECE-DE-BOB-5503"
ENTRY = "SENTINELLE-ENTREE-LIEE-5504"
CHLOE = "SENTINELLE-DOSSIER-LIE-5505"
ZOE = "SENTINELLE-APPRENANTE-LIEE-5506"
FRAMEWORK = "SENTINELLE-REFERENTIEL-LIE-5507"
#: What must never appear in alice's, chloe's or anybody's published output (bob's own site may show BOB).
FOREIGN = (OUTSIDE, KEY, ENTRY, CHLOE, ZOE, FRAMEWORK)

ALIAS_MESSAGE = "alias YAML (*nom) refusé"

LINKS = {  # alice/files/<name> -> target
    "aaaa0001-secret.txt": "OUTSIDE/secret.txt",
    "aaaa0002-key.txt": "../../../instance/secret_key",
    "aaaa0003-bob.txt": "BOB",
    "aaaa0004-loop.txt": "aaaa0004-loop.txt",
    "aaaa0005-dangling.txt": "absent.txt",
}


def hostile_store(root: Path) -> dict:
    """The project described in the module's docstring; returns what the tests need."""
    project = make_project(root / "proj", learners=("alice", "bob", "chloe"))
    outside = root / "outside"
    outside.mkdir()
    (outside / "secret.txt").write_text(OUTSIDE, encoding="utf-8")
    project.instance.mkdir(exist_ok=True)
    (project.instance / "secret_key").write_text(KEY, encoding="utf-8")
    pf = project.portfolios

    legit = add(project, "alice", {"type": "evidence", "date": when("2026-02-02"), "title": "Vraie preuve"},
                author="alice", role="learner", uploads=[("vrai.txt", b"contenu legitime")])
    bob = add(project, "bob", {"type": "evidence", "date": when("2026-02-02"), "title": "Preuve de Bob"},
              author="bob", role="learner", uploads=[("preuve.txt", BOB.encode())])
    bob_file = pf / "bob" / bob.meta.attachments[0]

    for name, target in LINKS.items():
        target = target.replace("OUTSIDE", str(outside)).replace("BOB", os.path.relpath(bob_file, pf / "alice" / "files"))
        os.symlink(target, pf / "alice" / "files" / name)
    cited = [f"files/{name}" for name in list(LINKS)[:3]]
    citing = hand_written(project, "alice", {"type": "evidence", "date": when("2026-02-03"),
                                             "title": "Preuve qui cite des liens", "attachments": cited},
                          author="alice", role="learner")

    # An entry file that is a link to a valid entry outside the store.
    entry = {"id": "01J0000000000000000ZZZZ001", "type": "meeting", "date": when("2026-02-04"),
             "recorded": when("2026-02-04"), "author": "tina", "role": "tutor", "title": "Entretien externe",
             "kind": "suivi", "modality": "presentiel", "duration": 30}
    (outside / "entry.md").write_text(render_front_matter(entry, ENTRY), encoding="utf-8")
    os.symlink(outside / "entry.md", pf / "alice" / "entries" / "2026-02-04-meeting-zzzz0001.md")

    # chloe's files/ is a link to a folder outside; her entry cites a file there.
    (outside / "chloe-files").mkdir()
    (outside / "chloe-files" / "x-secret.txt").write_text(CHLOE, encoding="utf-8")
    (pf / "chloe" / "files").rmdir()
    os.symlink(outside / "chloe-files", pf / "chloe" / "files")
    hand_written(project, "chloe", {"type": "evidence", "date": when("2026-02-03"), "title": "Preuve de Chloé",
                                    "attachments": ["files/x-secret.txt"]}, author="chloe", role="learner")

    # zoe's whole folder is a link to a valid learner folder outside.
    (outside / "zoe" / "entries").mkdir(parents=True)
    (outside / "zoe" / "files").mkdir()
    alice_profile = (pf / "alice" / "learner.md").read_text(encoding="utf-8")
    (outside / "zoe" / "learner.md").write_text(alice_profile.replace("id: alice", "id: zoe"), encoding="utf-8")
    (outside / "zoe" / "entries" / "2026-02-04-meeting-zzzz0002.md").write_text(
        render_front_matter({**entry, "id": "01J0000000000000000ZZZZ002"}, ZOE), encoding="utf-8")
    os.symlink(outside / "zoe", pf / "zoe")

    # A framework file that is a link.
    (outside / "lien.yml").write_text(dump_yaml({**SMALL_FRAMEWORK, "id": "lien", "title": FRAMEWORK}),
                                      encoding="utf-8")
    os.symlink(outside / "lien.yml", pf / "_frameworks" / "lien.yml")
    History(pf).commit([p.relative_to(pf).as_posix() for p in sorted(pf.rglob("*"))
                        if p.is_symlink() or (p.is_file() and ".git" not in p.parts)],
                       author="intrus", message="liens")
    links = [f"alice/files/{name}" for name in LINKS] + [
        "alice/entries/2026-02-04-meeting-zzzz0001.md", "chloe/files", "zoe", "_frameworks/lien.yml"]
    return {"project": project, "legit": legit, "citing": citing, "links": links}


def alias_bomb(levels: int = 9, width: int = 10) -> list[str]:
    """YAML lines whose last key expands to ``width ** levels`` values (10**9: hours to walk)."""
    lines = [f"l0: &l0 [{', '.join(['ha'] * width)}]"]
    lines += [f"l{i}: &l{i} [{', '.join([f'*l{i - 1}'] * width)}]" for i in range(1, levels)]
    return lines


def with_front_matter_lines(path, extra: list[str]) -> int:
    """Insert ``extra`` at the end of a file's front matter; returns the line of the first one."""
    lines = path.read_text(encoding="utf-8").split("\n")
    end = lines.index("---", 1)
    path.write_text("\n".join(lines[:end] + extra + lines[end:]), encoding="utf-8")
    return end + 1


ODT = b"application/vnd.oasis.opendocument.text"


@functools.cache
def zip_bomb(inflated: int, *, lie: bool = False, method: int = zipfile.ZIP_DEFLATED) -> bytes:
    """A ``.odt`` whose ``mimetype`` member inflates to ``inflated`` bytes (the type, then spaces).

    Written by streaming (and once per test process), so the test itself
    never holds the inflated bytes.
    With ``lie``, the sizes in the headers are rewritten to say the member
    holds only the type (what a hand-made bomb does to pass a size check).
    """
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        info = zipfile.ZipInfo("mimetype", date_time=(2026, 1, 1, 0, 0, 0))
        info.compress_type = method
        # Level 1: a GiB in a second or two (the attribute is ``compress_level`` from Python 3.13).
        setattr(info, "compress_level" if hasattr(info, "compress_level") else "_compresslevel", 1)
        with zf.open(info, "w", force_zip64=False) as member:
            member.write(ODT)
            chunk = b" " * (1 << 20)
            left = inflated - len(ODT)
            while left > 0:
                member.write(chunk[:left])
                left -= len(chunk)
        zf.writestr("content.xml", "<office:document-content/>")
    data = bytearray(buf.getvalue())
    if lie:
        small = len(ODT).to_bytes(4, "little")
        local = data.index(b"PK\x03\x04")
        data[local + 22:local + 26] = small  # uncompressed size in the local header
        central = data.index(b"PK\x01\x02")
        data[central + 24:central + 28] = small  # and in the central directory
    return bytes(data)


#: Run by :func:`probe_upload` in a fresh interpreter: one upload, the process's peak memory around it.
_UPLOAD_PROBE = r"""
import io, json, resource, sys
from pathlib import Path

tests, kind, root, bomb, token, limit = sys.argv[1:7]
sys.path[:0] = [tests, tests + "/app"]
# A safety net for the code under test: it may not take the machine's memory whatever it does.
resource.setrlimit(resource.RLIMIT_AS, (int(limit), int(limit)))
from hostile_support import small_odt

def peak():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024  # (KiB on Linux)

def upload(data, name):
    if kind == "store":
        from livret.store.errors import InvalidInput
        try:
            return "stored " + store.save_attachment("alice", name, data, author="alice")
        except InvalidInput as exc:
            return "refused " + str(exc)
    if kind == "form":
        from app_support import VALID_FORMS
        form = dict(VALID_FORMS["evidence"], csrf_token=auth.token(), attachments=(io.BytesIO(data), name))
        response = client.post("/apprenants/alice/nouvelle/evidence", data=form, content_type="multipart/form-data")
    else:
        response = client.post("/api/v1/learners/alice/files", headers={"Authorization": f"Bearer {token}"},
                               data={"file": (io.BytesIO(data), name)}, content_type="multipart/form-data")
    return f"{response.status_code} {response.get_data(as_text=True)}"

if kind == "store":
    from livret.store.project import Project
    store = Project.at(root).store
else:
    from app_support import AuthActions, make_app
    client = make_app(root).test_client()
    auth = AuthActions(client)
    auth.login("alice")
warm = upload(small_odt(), "vrai.odt")  # every code path imported and used once
data = Path(bomb).read_bytes()
before = peak()
outcome = upload(data, "bombe.odt")
print(json.dumps({"warm": warm, "outcome": outcome, "grown": peak() - before}))
"""


def small_odt() -> bytes:
    """A real-looking OpenDocument text: ``mimetype`` stored first, as office suites write it."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as zf:
        zf.writestr(zipfile.ZipInfo("mimetype"), ODT, compress_type=zipfile.ZIP_STORED)
        zf.writestr("content.xml", "<office:document-content/>", compress_type=zipfile.ZIP_DEFLATED)
    return buf.getvalue()


def probe_upload(kind: str, root: Path, bomb: Path, token: str = "", *, limit: int = 2 << 30) -> dict:
    """Upload ``bomb`` to alice through ``kind`` (store, form or api) in a fresh process.

    Returns the outcome of a small real ``.odt`` first (``warm``), of the bomb
    (``outcome``), and by how many bytes the process's peak memory grew
    during the bomb's upload (``grown``).  The process may not take more
    than ``limit`` bytes of address space: code that inflates the bomb dies
    there instead of taking the machine's memory.
    """
    import json
    import subprocess
    import sys

    tests = str(Path(__file__).resolve().parent)
    done = subprocess.run([sys.executable, "-c", _UPLOAD_PROBE, tests, kind, str(root), str(bomb), token,
                           str(limit)], capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-3000:]
    return json.loads(done.stdout.strip().splitlines()[-1])


GIB = 1 << 30
MIB = 1 << 20
#: What the upload of a bomb may add to the process's peak memory (its inflated member is 1 GiB).
GROWTH_BOUND = 64 * MIB

#: The zip bombs every upload path is tried with (an .odt whose member inflates far past any limit).
BOMBS = {
    "declares-1GiB": lambda: zip_bomb(GIB),
    "lies-about-its-size": lambda: zip_bomb(GIB, lie=True),
    "lzma-lies": lambda: zip_bomb(128 * MIB, lie=True, method=zipfile.ZIP_LZMA),
}


def write_bombs(folder: Path) -> dict[str, Path]:
    """Each bomb of :data:`BOMBS` as a file in ``folder``."""
    out = {}
    for name, make in BOMBS.items():
        out[name] = folder / f"{name}.odt"
        out[name].write_bytes(make())
    return out
