"""The app's download of the Qualiopi report (/qualiopi.csv): no cell runs as a formula in a spreadsheet."""

from __future__ import annotations

import csv
import io

import pytest

PAYLOADS = ['=HYPERLINK("http://evil.example","Cliquez")', "@SOMME(1+1)*cmd|' /C calc'!A0",
            "+33 6 12 34 56 78", "-2+3", "\u200b=1+1"]


def runs_as_formula(cell: str) -> bool:
    visible = cell.lstrip(" \t\r\n\u00a0\u200b\u2060\ufeff")
    return (cell[:1] != "" and cell[:1] in "=+-@\t\r") or (visible[:1] != "" and visible[:1] in "=+-@")


@pytest.mark.parametrize("payload", PAYLOADS)
def test_qualiopi_download_neutralises_formulas(app_project, client, auth, payload):
    store = app_project.store
    profile = store.load_learner("alice").profile.model_copy(update={"first_name": payload, "programme": payload})
    store.write_profile(profile, "Objectifs.", author="admin", message="alice renommée")
    auth.login("audra")
    response = client.get("/qualiopi.csv")
    assert response.status_code == 200
    rows = list(csv.reader(io.StringIO(response.get_data(as_text=True).lstrip("\ufeff"), newline=""),
                           delimiter=";"))
    assert not [c for row in rows for c in row if runs_as_formula(c)]
    alice = [r for r in rows if r[0] == "alice"]
    assert alice and {(r[1], r[2]) for r in alice} == {(f"'{payload} Test", "'" + payload)}
