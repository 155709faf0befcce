"""The real app on loopback, and a small HTTP client that uses it like a browser.

``serve()`` starts ``livret serve`` (waitress, the production server) as a
subprocess in its own process group on a free port; ``Client`` keeps one
HTTP/1.1 connection and the session cookie, reads the CSRF token from the
pages and posts the entry forms.  Only the standard library is used, so the
benchmark and the reliability tests need nothing beyond the project's own
dependencies.
"""

from __future__ import annotations

import datetime as dt
import http.client
import json as jsonlib
import os
import re
import signal
import subprocess
import sys
import time
import urllib.parse
from dataclasses import dataclass
from http.cookies import SimpleCookie
from pathlib import Path
from typing import Any

CSRF_META = re.compile(r'<meta name="csrf-token" content="([^"]+)"')
ENTRY_ANCHOR = re.compile(r"#entree-([0-9A-Z]{26})")

#: ``livret serve`` without the start-up rebuild request of every learner: for stores whose
#: sites were never built (the dashboard benchmark), where it would only add background load.
_SERVE_NO_STARTUP_BUILD = (
    "import sys; from livret.store.project import Project; from livret.cli.serve_cmds import run_server; "
    "run_server(Project.at(sys.argv[1]), '127.0.0.1', 0, rebuild_all=False)"
)


@dataclass
class Served:
    url: str
    host: str
    port: int
    process: subprocess.Popen
    log: Path

    def output(self) -> str:
        return self.log.read_text(encoding="utf-8", errors="replace")


def serve(root: Path, log: Path, *, startup_build: bool = True, timeout: float = 60) -> Served:
    """Start the app on 127.0.0.1 (a free port); return once it answers."""
    if startup_build:
        args = [sys.executable, "-m", "livret", "serve", "--root", str(root), "--port", "0"]
    else:
        args = [sys.executable, "-c", _SERVE_NO_STARTUP_BUILD, str(root)]
    with open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(args, stdout=handle, stderr=subprocess.STDOUT, start_new_session=True,
                                   env={**os.environ, "PYTHONUNBUFFERED": "1"})
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = re.search(r"http://127\.0\.0\.1:(\d+)/", log.read_text(encoding="utf-8", errors="replace"))
        if found:
            port = int(found.group(1))
            served = Served(found.group(0).rstrip("/"), "127.0.0.1", port, process, log)
            try:
                with Client(served) as probe:
                    if probe.get("/connexion").status == 200:
                        return served
            except OSError:
                pass
        if process.poll() is not None:
            raise RuntimeError("livret serve s'est arrêté :\n" + log.read_text(encoding="utf-8", errors="replace"))
        time.sleep(0.1)
    kill(Served("", "", 0, process, log))
    raise RuntimeError("livret serve n'a pas démarré :\n" + log.read_text(encoding="utf-8", errors="replace"))


def stop(served: Served) -> None:
    """Ctrl+C (the server finishes its requests and its current rebuild), else SIGKILL."""
    if served.process.poll() is None:
        os.killpg(served.process.pid, signal.SIGINT)
        try:
            served.process.wait(30)
            return
        except subprocess.TimeoutExpired:
            pass
    kill(served)


def kill(served: Served) -> None:
    """SIGKILL to the server and everything it started (git, build workers): a crash.

    Returns once every process of the group is gone, as a service manager
    does before it restarts a crashed service (systemd waits for the whole
    cgroup): a killed git busy with the disk can outlive its parent by
    seconds on a loaded machine, and still holds the index lock meanwhile.
    """
    try:
        os.killpg(served.process.pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    served.process.wait(30)
    wait_group_gone(served.process.pid)


def wait_group_gone(pgid: int, timeout: float = 120) -> None:
    """Wait until no process of the process group ``pgid`` is left (zombies excepted)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = False
        for entry in Path("/proc").iterdir() if Path("/proc/self").exists() else ():
            if not entry.name.isdigit():
                continue
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[2]) == pgid and fields[0] != "Z":  # state, ppid, pgrp
                alive = True
                break
        if not alive:
            return
        time.sleep(0.05)
    raise RuntimeError(f"le groupe de processus {pgid} survit à SIGKILL depuis {timeout:.0f} s")


@dataclass
class Response:
    status: int
    headers: dict[str, str]
    body: str

    @property
    def location(self) -> str:
        return self.headers.get("location", "")


class ServerGone(ConnectionError):
    """A request got no complete answer: every way a killed or restarting server
    can end a response (refused, reset, a status line or body cut short) is this
    one ``OSError``, so that load threads need one ``except``."""


class Client:
    """One browser: a keep-alive connection, the session cookie, the CSRF token."""

    def __init__(self, served: Served, timeout: float = 120):
        self.host, self.port, self.timeout = served.host, served.port, timeout
        self.conn: http.client.HTTPConnection | None = None
        self.cookies: dict[str, str] = {}
        self.token: str | None = None

    def close(self) -> None:
        if self.conn is not None:
            self.conn.close()
            self.conn = None

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def request(self, method: str, path: str, form: dict[str, Any] | None = None, *, json: Any = None,
                headers: dict[str, str] | None = None) -> Response:
        headers = {"Host": f"{self.host}:{self.port}", **(headers or {})}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True).encode()
            headers["Content-Type"] = "application/x-www-form-urlencoded"
        elif json is not None:
            body = jsonlib.dumps(json, ensure_ascii=False).encode()
            headers["Content-Type"] = "application/json"
        if self.conn is None:
            self.conn = http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        try:
            self.conn.request(method, path, body=body, headers=headers)
            raw = self.conn.getresponse()
            data = raw.read()
        except (http.client.HTTPException, OSError) as exc:
            self.conn.close()
            self.conn = None  # the next request opens a new connection
            raise ServerGone(f"{method} {path}: {exc!r}") from exc
        for value in raw.headers.get_all("Set-Cookie") or []:
            cookie = SimpleCookie()
            cookie.load(value)
            for name, morsel in cookie.items():
                if morsel["max-age"] == "0" or not morsel.value:
                    self.cookies.pop(name, None)
                else:
                    self.cookies[name] = morsel.value
        if raw.getheader("Connection", "").lower() == "close":
            self.conn.close()
            self.conn = None
        return Response(raw.status, {k.lower(): v for k, v in raw.getheaders()}, data.decode(errors="replace"))

    def get(self, path: str) -> Response:
        return self.request("GET", path)

    def post(self, path: str, form: dict[str, Any]) -> Response:
        return self.request("POST", path, {**form, "csrf_token": self.token or ""})

    def read_token(self, path: str) -> str:
        page = self.get(path)
        found = CSRF_META.search(page.body)
        if not found:
            raise RuntimeError(f"pas de jeton CSRF dans {path} ({page.status})")
        self.token = found.group(1)
        return self.token

    def login(self, username: str, password: str) -> None:
        self.read_token("/connexion")
        done = self.post("/connexion", {"username": username, "password": password})
        if done.status != 302:
            raise RuntimeError(f"connexion de {username} refusée ({done.status})")
        self.read_token("/compte/mot-de-passe")  # the session's token for the forms


def meeting_form(n: int, now: dt.datetime | None = None) -> dict[str, str]:
    """What a tutor types in the meeting form (a date a few minutes ago)."""
    when = (now or dt.datetime.now()) - dt.timedelta(minutes=5)
    return {"title": f"Entretien de suivi n° {n}", "date": when.strftime("%Y-%m-%dT%H:%M"), "kind": "suivi",
            "modality": "presentiel", "duration": str(30 + n % 60), "participants": "Apprenant·e\nTuteur·rice",
            "decisions": f"Décision {n}"}


def post_entry(client: Client, learner_id: str, entry_type: str, form: dict[str, Any]) -> tuple[Response, str | None]:
    """Post an entry form; (response, id of the new entry when it was stored)."""
    response = client.post(f"/apprenants/{learner_id}/nouvelle/{entry_type}", form)
    found = ENTRY_ANCHOR.search(response.location) if response.status == 302 else None
    return response, found.group(1) if found else None
