"""Accounts: scrypt hashes, validation, disable, and sign-in limits that hold across processes."""

from __future__ import annotations

import subprocess
import sys
import textwrap

import pytest

from livret.instance.accounts import (
    MAX_FAILURES_PER_ACCOUNT,
    MAX_FAILURES_PER_ORIGIN,
    AccountError,
    Accounts,
    LoginRefused,
    hash_password,
    verify_password,
)
from livret.instance.db import InstanceDB


@pytest.fixture
def accounts(tmp_path):
    return Accounts(InstanceDB(tmp_path / "instance"))


def test_hash_is_salted_scrypt_and_verifies():
    first, second = hash_password("correct horse"), hash_password("correct horse")
    assert first.startswith("scrypt$32768$8$1$") and first != second
    assert verify_password("correct horse", first)
    assert not verify_password("correct hors", first)
    assert not verify_password("x", "md5$abc") and not verify_password("x", "garbage")


def test_add_list_and_authenticate(accounts):
    user = accounts.add("marie.durand", "tutor", "Un-mot-de-passe-2026")
    assert (user.username, user.role, user.disabled) == ("marie.durand", "tutor", False)
    assert [u.username for u in accounts.list()] == ["marie.durand"]
    assert accounts.authenticate("marie.durand", "Un-mot-de-passe-2026").role == "tutor"
    raw = accounts.db.connect().execute("SELECT password_hash FROM users").fetchone()[0]
    assert "Un-mot-de-passe-2026" not in raw


@pytest.mark.parametrize("username, role, password, message", [
    ("Marie", "tutor", "Un-mot-de-passe-2026", "nom d'utilisateur invalide"),
    ("../etc", "tutor", "Un-mot-de-passe-2026", "nom d'utilisateur invalide"),
    ("marie", "chef", "Un-mot-de-passe-2026", "rôle inconnu"),
    ("marie", "tutor", "court", "trop court"),
])
def test_invalid_accounts_are_refused(accounts, username, role, password, message):
    with pytest.raises(AccountError, match=message):
        accounts.add(username, role, password)
    assert accounts.list() == []


def test_duplicate_is_refused(accounts):
    accounts.add("tina", "tutor", "Un-mot-de-passe-2026")
    with pytest.raises(AccountError, match="existe déjà"):
        accounts.add("tina", "admin", "Un-autre-mot-de-passe-2026")
    assert accounts.get("tina").role == "tutor"


def test_disable_and_password_change_rotate_the_session_stamp(accounts):
    stamp = accounts.add("tina", "tutor", "Un-mot-de-passe-2026").stamp
    accounts.set_password("tina", "Nouveau-mot-de-passe-2026")
    with pytest.raises(LoginRefused):
        accounts.authenticate("tina", "Un-mot-de-passe-2026")
    assert accounts.authenticate("tina", "Nouveau-mot-de-passe-2026").stamp != stamp
    accounts.set_disabled("tina")
    with pytest.raises(LoginRefused, match="incorrect, ou compte désactivé"):
        accounts.authenticate("tina", "Nouveau-mot-de-passe-2026")
    with pytest.raises(AccountError, match="compte inconnu"):
        accounts.set_disabled("personne")


def test_same_message_for_unknown_user_and_wrong_password(accounts):
    accounts.add("tina", "tutor", "Un-mot-de-passe-2026")
    with pytest.raises(LoginRefused) as unknown:
        accounts.authenticate("personne", "Un-mot-de-passe-2026")
    with pytest.raises(LoginRefused) as wrong:
        accounts.authenticate("tina", "mauvais mot de passe")
    assert str(unknown.value) == str(wrong.value)


def test_failures_per_account_and_origin_are_limited_and_success_resets(accounts):
    accounts.add("tina", "tutor", "Un-mot-de-passe-2026")
    for _ in range(MAX_FAILURES_PER_ACCOUNT - 1):
        with pytest.raises(LoginRefused):
            accounts.authenticate("tina", "faux", origin="10.0.0.1")
    accounts.authenticate("tina", "Un-mot-de-passe-2026", origin="10.0.0.1")  # resets the count
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(LoginRefused) as exc:
            accounts.authenticate("tina", "faux", origin="10.0.0.2")
        assert exc.value.retry_after is None
    with pytest.raises(LoginRefused, match="Trop de tentatives") as exc:
        accounts.authenticate("tina", "Un-mot-de-passe-2026", origin="10.0.0.2")  # even the right one, from there
    assert 0 < exc.value.retry_after <= 15 * 60
    # ... but the owner, elsewhere, is not locked out by someone else's guesses
    assert accounts.authenticate("tina", "Un-mot-de-passe-2026", origin="10.0.0.3").username == "tina"


def test_failures_per_client_are_limited(tmp_path):
    """One address trying many usernames is stopped too (here with a limit of 4 instead of 30)."""
    assert MAX_FAILURES_PER_ORIGIN > MAX_FAILURES_PER_ACCOUNT
    accounts = Accounts(InstanceDB(tmp_path), max_failures_per_origin=4)
    for i in range(4):
        with pytest.raises(LoginRefused):
            accounts.authenticate(f"user{i}", "faux", origin="10.9.9.9")
    accounts.add("tina", "tutor", "Un-mot-de-passe-2026")
    with pytest.raises(LoginRefused, match="Trop de tentatives"):
        accounts.authenticate("tina", "Un-mot-de-passe-2026", origin="10.9.9.9")
    assert accounts.authenticate("tina", "Un-mot-de-passe-2026", origin="10.1.1.1").username == "tina"


def test_limit_holds_across_processes(accounts, tmp_path):
    """Failures recorded by other processes count: the limit is in the database."""
    accounts.add("tina", "tutor", "Un-mot-de-passe-2026")
    code = textwrap.dedent(f"""
        from livret.instance.accounts import Accounts, LoginRefused
        from livret.instance.db import InstanceDB
        try:
            Accounts(InstanceDB({str(tmp_path / "instance")!r})).authenticate("tina", "faux")
        except LoginRefused:
            pass
    """)
    procs = [subprocess.Popen([sys.executable, "-c", code]) for _ in range(MAX_FAILURES_PER_ACCOUNT)]
    assert all(p.wait(60) == 0 for p in procs)
    with pytest.raises(LoginRefused, match="Trop de tentatives"):
        accounts.authenticate("tina", "Un-mot-de-passe-2026")
