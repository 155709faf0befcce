"""Helpers of the JSON API tests: accounts, tokens, a real app and a real server."""

from __future__ import annotations

import os
import re
import signal
import sqlite3
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from factories import password_of

from livret.instance.accounts import Accounts
from livret.instance.db import DB_NAME, InstanceDB
from livret.instance.tokens import Tokens

#: username -> role; alice and bob are the learners of the ``project`` fixture
#: (tina tutors alice, tom tutors bob, carl is alice's company tutor).
USERS = {"tina": "tutor", "tom": "tutor", "carl": "company", "alice": "learner", "bob": "learner",
         "audra": "auditor", "ada": "admin"}


def make_accounts_db(folder: Path) -> Path:
    """An instance database with one account per role (scrypt is slow: build it once)."""
    accounts = Accounts(InstanceDB(folder))
    for username, role in USERS.items():
        accounts.add(username, role, password_of(username))
    return folder / DB_NAME


def install_accounts(template: Path, instance: Path) -> None:
    instance.mkdir(mode=0o700, parents=True, exist_ok=True)
    src, dst = sqlite3.connect(template), sqlite3.connect(instance / DB_NAME)
    try:
        src.backup(dst)
    finally:
        src.close()
        dst.close()


def tokens_for(project) -> dict[str, str]:
    """A fresh API token for every account of :data:`USERS`."""
    tokens = Tokens(InstanceDB.for_project(project))
    return {name: tokens.create(name, "tests")[1] for name in USERS}


def bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def start_server(root: Path, log: Path, timeout: float = 30) -> tuple[str, subprocess.Popen]:
    """``livret serve --port 0`` as a real subprocess on loopback; returns (base URL, process)."""
    with open(log, "w", encoding="utf-8") as handle:
        process = subprocess.Popen(
            [sys.executable, "-m", "livret", "serve", "--root", str(root), "--port", "0"],
            stdout=handle, stderr=subprocess.STDOUT, env={**os.environ, "PYTHONUNBUFFERED": "1"},
        )
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        match = re.search(r"http://127\.0\.0\.1:\d+/", log.read_text(encoding="utf-8", errors="replace"))
        if match:
            url = match.group(0).rstrip("/")
            try:
                urllib.request.urlopen(url + "/api/v1/openapi.json", timeout=5).read()
                return url, process
            except OSError:
                pass
        if process.poll() is not None:
            raise RuntimeError("livret serve exited:\n" + log.read_text(encoding="utf-8", errors="replace"))
        time.sleep(0.1)
    stop_server(process)
    raise RuntimeError("livret serve did not start:\n" + log.read_text(encoding="utf-8", errors="replace"))


def stop_server(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(15)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait(10)
