"""The second factor (TOTP, RFC 6238) and its recovery codes, in the instance database."""

from __future__ import annotations

import sqlite3
import time

import pyotp
import pytest

from livret.instance.accounts import MAX_FAILURES_PER_ACCOUNT, AccountError, Accounts, LoginRefused
from livret.instance.db import InstanceDB
from livret.instance.totp import KEY_FILE, RECOVERY_CODES, SecondFactor, code_at_step, current_step

PASSWORD = "Vx7!kq2#Lm9z"


@pytest.fixture
def factor(tmp_path):
    accounts = Accounts(InstanceDB(tmp_path))
    accounts.add("tina", "tutor", PASSWORD)
    return SecondFactor(accounts)


def enrolled(factor) -> tuple[str, list[str]]:
    secret = factor.begin("tina")
    return secret, factor.confirm("tina", pyotp.TOTP(secret).now())


def test_enrolment_needs_a_code_from_the_secret(factor):
    secret = factor.begin("tina")
    assert factor.pending("tina") == secret
    with pytest.raises(AccountError, match="code incorrect"):
        factor.confirm("tina", "000000" if pyotp.TOTP(secret).now() != "000000" else "111111")
    assert not factor.accounts.get("tina").totp_enabled
    codes = factor.confirm("tina", pyotp.TOTP(secret).now())
    assert len(codes) == RECOVERY_CODES == len(set(codes))
    assert factor.accounts.get("tina").totp_enabled and factor.pending("tina") is None


def test_secrets_and_codes_are_not_stored_in_clear(factor, tmp_path):
    secret, codes = enrolled(factor)
    conn = sqlite3.connect(tmp_path / "livret.sqlite3")
    try:
        dump = "\n".join(conn.iterdump())
    finally:
        conn.close()
    assert secret not in dump and not any(code in dump or code.replace("-", "") in dump for code in codes)
    assert (tmp_path / KEY_FILE).stat().st_mode & 0o777 == 0o600
    # Without the instance's key, the stored secret is useless (a copy of the database alone).
    (tmp_path / KEY_FILE).write_text("00" * 32)
    with pytest.raises(AccountError, match="illisible"):
        SecondFactor(factor.accounts).verify("tina", pyotp.TOTP(secret).now())


def test_sign_in_code_with_one_step_of_drift_and_never_twice(factor):
    secret, _ = enrolled(factor)
    totp = pyotp.TOTP(secret)
    later = totp.at(time.time() + 30)  # the next step (a phone a little ahead): accepted once
    user, how = factor.verify("tina", later, origin="10.0.0.1")
    assert (user.username, how) == ("tina", "totp") and user.last_login
    with pytest.raises(LoginRefused, match="déjà utilisé"):
        factor.verify("tina", later, origin="10.0.0.1")  # the same code again
    with pytest.raises(LoginRefused):
        factor.verify("tina", code_at_step(secret, current_step() - 5))  # far in the past


def test_a_recovery_code_works_once(factor):
    _, codes = enrolled(factor)
    assert factor.verify("tina", codes[3].upper().replace("-", " "))[1] == "recovery"
    assert factor.remaining_codes("tina") == RECOVERY_CODES - 1
    with pytest.raises(LoginRefused):
        factor.verify("tina", codes[3])
    new = factor.regenerate_codes("tina")
    with pytest.raises(LoginRefused):
        factor.verify("tina", codes[4])  # the old ones stop working
    assert factor.verify("tina", new[0])[1] == "recovery"


def test_wrong_codes_are_limited_like_passwords(factor):
    secret, _ = enrolled(factor)
    for _ in range(MAX_FAILURES_PER_ACCOUNT):
        with pytest.raises(LoginRefused) as exc:
            factor.verify("tina", "abcd-efgh-jkmn", origin="10.0.0.2")
        assert exc.value.retry_after is None
    with pytest.raises(LoginRefused, match="Trop de tentatives"):
        factor.verify("tina", pyotp.TOTP(secret).at(time.time() + 30), origin="10.0.0.2")
    # a correct password does not reset the count of an account with a second factor...
    factor.accounts.authenticate("tina", PASSWORD, origin="10.0.0.3")
    with pytest.raises(LoginRefused, match="Trop de tentatives"):
        factor.accounts.authenticate("tina", PASSWORD, origin="10.0.0.2")
    # ...and the owner elsewhere is not locked out
    assert factor.verify("tina", pyotp.TOTP(secret).at(time.time() + 30), origin="10.0.0.3")[1] == "totp"


def test_a_changed_account_refuses_the_pending_step(factor):
    secret, _ = enrolled(factor)
    stamp = factor.accounts.get("tina").stamp
    factor.accounts.set_password("tina", "Nouveau-Vx7!kq2#")
    with pytest.raises(LoginRefused):
        factor.verify("tina", pyotp.TOTP(secret).at(time.time() + 30), stamp=stamp)


def test_reset_by_an_admin_forgets_everything_and_ends_sessions(factor):
    from livret.instance.sessions import Sessions

    _, codes = enrolled(factor)
    sessions = Sessions(factor.db)
    sid = sessions.start(factor.accounts.get("tina"))
    factor.reset("tina")
    user = factor.accounts.get("tina")
    assert not user.totp_enabled and factor.remaining_codes("tina") == 0 and sessions.user(sid) is None
    assert factor.accounts.authenticate("tina", PASSWORD).username == "tina"  # the password alone again
    with pytest.raises(LoginRefused):
        factor.verify("tina", codes[0])
