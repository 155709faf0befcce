"""schemathesis (the real tool) against ``livret serve`` on loopback, with a valid token.

Every operation of /api/v1/openapi.json is exercised (coverage, fuzzing and
stateful phases, bounded examples, fixed seed so CI runs are repeatable):
no server error, no status, content type, header or body outside the
description, and schema-invalid requests refused.

One check is left out, ``positive_data_acceptance``: it expects every
schema-valid request to succeed, but whether an entry is acceptable also
depends on the store (the competency codes of the learner's framework, an
``about``/``corrects`` id that exists, a file already uploaded, a date not
after the recording).  Those refusals are documented 422 problems, with the
field named.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys

import pytest
from api_support import install_accounts, make_accounts_db, start_server, stop_server, tokens_for
from factories import add, meeting, when

SEED = os.environ.get("LIVRET_SCHEMATHESIS_SEED", "20260302")
MAX_EXAMPLES = os.environ.get("LIVRET_SCHEMATHESIS_EXAMPLES", "20")


def schemathesis_command() -> list[str]:
    exe = shutil.which("schemathesis") or shutil.which("st")
    if exe is None:
        pytest.fail("schemathesis is not installed: pip install -e '.[test]'")
    return [exe]


def test_schemathesis_finds_no_server_error_and_no_response_outside_the_description(project, tmp_path):
    install_accounts(make_accounts_db(tmp_path / "accounts"), project.instance)
    add(project, "alice", meeting(title="Entretien de suivi"))
    add(project, "alice", {"type": "evidence", "date": when("2026-02-05"), "title": "Preuve",
                           "competencies": [{"code": "A1"}]}, author="alice", role="learner")
    token = tokens_for(project)["ada"]  # an admin reaches every operation and every learner
    url, server = start_server(project.root, tmp_path / "serve.log")
    try:
        result = subprocess.run(
            [*schemathesis_command(), "run", f"{url}/api/v1/openapi.json",
             "--header", f"Authorization: Bearer {token}",
             "--max-examples", MAX_EXAMPLES, "--seed", SEED, "--workers", "1",
             "--exclude-checks", "positive_data_acceptance",
             "--generation-database", "none", "--request-timeout", "30", "--no-color"],
            cwd=tmp_path, capture_output=True, text=True, timeout=540,
            env={**os.environ, "PYTHONIOENCODING": "utf-8"},
        )
    finally:
        stop_server(server)
    report = result.stdout + result.stderr
    sys.stdout.write(report[-3000:])  # shown with -s or on failure
    assert result.returncode == 0, report[-8000:]
    assert "Tested: 7" in report, report[-3000:]  # (5 + the sessions list and create)
    server_log = (tmp_path / "serve.log").read_text(encoding="utf-8", errors="replace")
    assert "Traceback" not in server_log, server_log[-4000:]
    # The stateful phase created entries through the API: they are ordinary, valid store entries.
    assert project.store.check() == []
