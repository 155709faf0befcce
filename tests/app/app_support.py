"""Helpers of the forms app tests (accounts, CSRF-aware client actions, a real server)."""

from __future__ import annotations

import datetime as dt
import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

from factories import password_of  # noqa: F401 - the test accounts' passwords (re-exported)
from flask.testing import FlaskClient

from livret.instance import db as instance_db
from livret.instance.db import DB_NAME

#: username -> role; alice and bob are the learners of the ``project`` fixture.
USERS = {
    "tina": "tutor",  # alice's tutor
    "tom": "tutor",  # bob's tutor
    "carl": "company",  # alice's company tutor
    "alice": "learner",
    "bob": "learner",
    "audra": "auditor",
    "ada": "admin",
}


class BufferedClient(FlaskClient):
    """A test client that reads every response whole, so served files are closed at once."""

    def open(self, *args, **kwargs):
        kwargs.setdefault("buffered", True)
        return super().open(*args, **kwargs)


def make_app(root, **kwargs):
    """``create_app`` for tests (testing mode, buffered test client)."""
    from forms_app import create_app

    app = create_app(root, testing=True, **kwargs)
    app.test_client_class = BufferedClient
    return app




def install_accounts(template: Path, instance: Path) -> None:
    """Copy a prepared accounts database (SQLite backup API) into a project's instance folder."""
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    src = sqlite3.connect(template)
    dst = sqlite3.connect(instance / DB_NAME)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()
    # The copy replaced a database this process may have migrated already (witnessed() opens it): the
    # components registered after the template was made must be created again at the next connection.
    key = str((instance / DB_NAME).resolve())
    instance_db._migrated.difference_update({m for m in instance_db._migrated if m[0] == key})


CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
#: The CSRF token, in the page's meta tag and in every form's hidden input (whatever the attribute order).
CSRF_VALUE = re.compile(r'((?:name="csrf_token"(?: type="hidden")? value|name="csrf-token" content)=")[^"]*"')


def without_csrf(page: str) -> str:
    """The page with its CSRF tokens masked: a token is signed with the current second, so two
    identical pages served across a second boundary differ in it (a busy CI run caught that)."""
    return CSRF_VALUE.sub(r'\1<csrf>"', page)


def csrf_from(html: str) -> str:
    match = CSRF_META.search(html)
    assert match, "no CSRF token in the page"
    return match.group(1)


class AuthActions:
    """Sign in and post forms the way a browser does (with the page's CSRF token)."""

    def __init__(self, client):
        self.client = client

    def login(self, username: str, password: str | None = None):
        page = self.client.get("/connexion")
        if page.status_code == 302:  # someone is signed in: sign out first
            self.logout()
            page = self.client.get("/connexion")
        return self.client.post("/connexion", data={
            "username": username, "password": password or password_of(username),
            "csrf_token": csrf_from(page.get_data(as_text=True)),
        })

    def logout(self):
        return self.client.post("/deconnexion", data={"csrf_token": self.token()})

    def token(self) -> str:
        """A valid CSRF token for the current session (from a page every signed-in user may open)."""
        page = self.client.get("/compte/mot-de-passe")
        return csrf_from(page.get_data(as_text=True))

    def post(self, url: str, data: dict | None = None, **kwargs):
        data = dict(data or {})
        data.setdefault("csrf_token", self.token())
        return self.client.post(url, data=data, **kwargs)


PACK_JOB_URL = re.compile(r"/apprenants/[a-z0-9._-]+/dossier-audit/([A-Za-z0-9_-]{24})$")


def ask_pack(auth: AuthActions, learner_id: str, audience: str):
    """Press the audit pack button: (the answer, the job id it redirects to, or None)."""
    response = auth.post(f"/apprenants/{learner_id}/dossier-audit", {"audience": audience})
    match = PACK_JOB_URL.search(response.headers.get("Location", "")) if response.status_code == 303 else None
    return response, match.group(1) if match else None


def pack_download(client, learner_id: str, job_id: str):
    """Once the job is finished (waiting on its own event, not on a clock), the download's answer."""
    client.application.extensions["livret"].jobs.wait(job_id, timeout=600)
    return client.get(f"/apprenants/{learner_id}/dossier-audit/{job_id}/fichier")


@dataclass
class LiveServer:
    url: str
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def start_server(root: Path, log: Path, *, env: dict | None = None, timeout: float = 30) -> LiveServer:
    """``livret serve --root ROOT --port 0`` in a subprocess; waits for the printed address."""
    with open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "livret", "serve", "--root", str(root), "--port", "0"],
            stdout=handle, stderr=subprocess.STDOUT,
            env={**os.environ, "PYTHONUNBUFFERED": "1", **(env or {})},
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(r"http://127\.0\.0\.1:\d+/", log.read_text(encoding="utf-8", errors="replace"))
        if match:
            server = LiveServer(match.group(0).rstrip("/"), process, log)
            try:
                urllib.request.urlopen(server.url + "/connexion", timeout=5).read()
            except OSError:
                time.sleep(0.1)
                continue
            return server
        if process.poll() is not None:
            raise RuntimeError("livret serve exited:\n" + log.read_text(encoding="utf-8", errors="replace"))
        time.sleep(0.1)
    process.kill()
    process.wait(10)
    raise RuntimeError("livret serve did not start:\n" + log.read_text(encoding="utf-8", errors="replace"))


def stop_server(server: LiveServer) -> None:
    """Ctrl+C, as a person would; kill only if it does not stop."""
    if server.process.poll() is None:
        server.process.send_signal(signal.SIGINT)
        try:
            server.process.wait(15)
        except subprocess.TimeoutExpired:
            server.process.kill()
            server.process.wait(10)


# --------------------------------------------------------------------------
# Valid form input for every entry type (the ``mini`` framework of tests/factories.py:
# competencies A1, A2, B1, B2 are picker rows 0 to 3; scale 1 to 4)
# --------------------------------------------------------------------------

PAST = "2026-11-02T10:00"
#: A planned meeting's start: in the future whatever the day the tests run (the programme ends
#: 18 December 2026; plans are admitted up to 365 days after).
FUTURE = f"{min(dt.date.today() + dt.timedelta(days=30), dt.date(2027, 12, 1)).isoformat()}T10:00"

VALID_FORMS: dict[str, dict] = {
    "positioning": {"title": "Positionnement initial", "date": PAST, "needs": "Organiser son temps\nS'outiller",
                    "goals": "Valider le bloc A", "competencies": ["A1"], "competencies-0-level": "1",
                    "competencies-2-level": "2"},
    "meeting": {"title": "Entretien de suivi", "date": PAST, "kind": "suivi", "modality": "presentiel",
                "duration": "45", "participants": "Alice Test\nTina", "decisions": "Finir le dossier"},
    "feedback": {"title": "Retour sur la séquence", "date": PAST, "body": "Très **bon** travail."},
    "evidence": {"title": "Compte rendu de séquence", "date": PAST, "context": "En entreprise",
                 "competencies": ["A1", "B1"]},
    "reflection": {"title": "Auto-évaluation", "date": PAST, "competencies-2-level": "2"},
    "assessment": {"title": "Évaluation du bloc A", "date": PAST, "competencies-0-level": "3",
                   "competencies-1-level": "2"},
    "action-plan": {"title": "Rattrapage", "date": PAST, "objectives": "Rattraper le module B", "due": "2026-12-15"},
    "attendance": {"title": "Assiduité de novembre", "date": PAST, "period_start": "2026-11-01",
                   "period_end": "2026-11-15", "hours_planned": "35", "hours_attended": "31,5"},
    "alert": {"title": "Difficulté de logement", "date": PAST, "category": "personnelle", "severity": "moyenne"},
    "company-feedback": {"title": "Retour de l'entreprise", "date": PAST, "period_start": "2026-10-01",
                         "period_end": "2026-10-31", "missions": "Accueil des clients",
                         "observations": "Sérieuse.", "competencies-3-level": "2"},
    # the company's observation grid: one select per competency (a level, "non-vu", or empty)
    "observation": {"title": "Grille d'observation d'octobre", "date": PAST, "period_start": "2026-10-01",
                    "period_end": "2026-10-31", "competencies-0-level": "2", "competencies-2-level": "non-vu"},
    # a plan: ahead; the learners of the fixtures have no address, so without them (the box unchecked)
    "planned-meeting": {"title": "Entretien de suivi", "date": FUTURE, "kind": "suivi", "modality": "presentiel",
                        "place": "Salle 2", "duration": "60", "others": "Marie Curie",
                        "others-email": "marie.curie@exemple.fr"},
    # a company mission: competencies without levels (checkboxes only)
    "mission": {"title": "Accueil téléphonique", "date": PAST, "term": "court", "period_start": "2026-11-02",
                "competencies": ["A1", "B1"]},
    # asynchronous distance work (FOAD): one activity per line
    "distance-work": {"title": "FOAD semaine 45", "date": PAST, "period_start": "2026-10-26",
                      "period_end": "2026-10-30", "hours": "4,5", "activities": "Module en ligne\nQuiz final",
                      "assistance": "Forum et visio hebdomadaire"},
}

#: What each role may write on a learner assigned to it (admins: every type on every learner).
WRITES = {
    "learner": {"evidence", "reflection"},
    "tutor": {"positioning", "meeting", "feedback", "assessment", "action-plan", "attendance", "alert",
              "planned-meeting", "mission", "distance-work"},
    "company": {"company-feedback", "observation", "mission"},
    "auditor": set(),
    "admin": set(VALID_FORMS),
}


def png_bytes(width: int = 64, height: int = 48, rgb: tuple[int, int, int] = (31, 95, 174)) -> bytes:
    """A real PNG image (solid colour), written by hand: no imaging library needed."""
    import struct
    import zlib

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    row = b"\x00" + bytes(rgb) * width
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0))
            + chunk(b"IDAT", zlib.compress(row * height)) + chunk(b"IEND", b""))


#: The start of a HEIC photo as an iPhone writes it (ISO BMFF ``ftyp`` box, brand ``heic``).
HEIC_HEAD = b"\x00\x00\x00\x18ftypheic\x00\x00\x00\x00mif1heic"


# --------------------------------------------------------------------------
# Plain HTTP against a live server (standard library only)
# --------------------------------------------------------------------------


class HttpSession:
    """A signed-in HTTP client for a live server: cookies kept, redirects not followed."""

    def __init__(self, base: str):
        import http.cookiejar

        self.base = base
        self.jar = http.cookiejar.CookieJar()

        class NoRedirect(urllib.request.HTTPRedirectHandler):
            def redirect_request(self, *args, **kwargs):
                return None

        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar), NoRedirect)

    def request(self, method: str, path: str, data: dict | None = None, headers: dict | None = None):
        """(status, headers, text); HTTP errors are answers too."""
        import urllib.error
        import urllib.parse

        body = urllib.parse.urlencode(data, doseq=True).encode() if data is not None else None
        req = urllib.request.Request(self.base + path, data=body, method=method, headers=headers or {})
        try:
            with self.opener.open(req, timeout=60) as resp:
                return resp.status, resp.headers, resp.read().decode("utf-8", "replace")
        except urllib.error.HTTPError as err:
            with err:
                return err.code, err.headers, err.read().decode("utf-8", "replace")

    def get(self, path: str):
        return self.request("GET", path)

    def login(self, username: str, password: str | None = None) -> None:
        _, _, page = self.get("/connexion")
        status, _, _ = self.request("POST", "/connexion", {
            "username": username, "password": password or password_of(username), "csrf_token": csrf_from(page)})
        assert status == 302, f"sign-in of {username} failed ({status})"

    def token(self) -> str:
        return csrf_from(self.get("/compte/mot-de-passe")[2])

    def cookie_header(self) -> str:
        return "; ".join(f"{c.name}={c.value}" for c in self.jar)
