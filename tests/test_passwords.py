"""The password policy: the CNIL's case 1 (deliberation 2022-100), with messages that say what is missing."""

from __future__ import annotations

import pytest

from livret.instance.accounts import AccountError, Accounts, random_password
from livret.instance.db import InstanceDB
from livret.instance.passwords import MIN_BITS, entropy_bits, needed_length, weakness


@pytest.mark.parametrize("password", [
    "Vx7!kq2#Lm9z",                         # CNIL example 1: 12 characters, the four classes
    "Vx7kq2Lm9zPa4R",                       # CNIL example 2: 14 characters, upper, lower, digits
    "le vieux chat dort sur le canapé",     # CNIL example 3: a passphrase of 7 words
    "mdp-12345678-secret",                  # the tests' accounts (lower, digits, signs; 19 characters)
    "x" * 3 + "Qz8!" + "pw" * 3,            # not a repetition as a whole
])
def test_compliant_passwords_are_accepted(password):
    assert weakness(password, "marie.durand") is None


@pytest.mark.parametrize("password, username, expected", [
    ("court", "", ["trop court", "5 caractères (minuscules)", "au moins 17",
                   "12 en ajoutant majuscules, chiffres et caractères spéciaux"]),
    ("Vx7kq2Lm9zPa4", "", ["trop court", "13 caractères", "au moins 14", "12 en ajoutant caractères spéciaux"]),
    ("Vx7!kq2#Lm9", "", ["trop court", "11 caractères", "au moins 12"]),
    ("aB3!aB3!aB3!aB3!", "", ["un motif de 4 répété"]),
    ("un mot de passe sûr", "", ["phrase de passe trop courte", "5 mots", "au moins 7"]),
    ("Marie.Durand-2026!", "marie.durand", ["contient l'identifiant"]),
    ("Durand-Vx7!kq2#", "marie.durand", ["contient l'identifiant (« durand »)"]),
    ("Azerty-123456!", "", ["trop courant", "azerty"]),
    ("MotDePasse#2026", "", ["trop courant", "motdepasse"]),
    ("123456789", "", ["trop courant"]),
    ("", "", ["vide"]),
    ("Vx7!kq2#Lm9z\x00", "", ["caractère non permis"]),
    ("Vx7!" * 300, "", ["trop long"]),
])
def test_weak_passwords_are_refused_with_what_is_missing(password, username, expected):
    message = weakness(password, username)
    assert message is not None
    for part in expected:
        assert part in message, message


def test_entropy_follows_the_cnil_count():
    assert round(entropy_bits("Vx7!kq2#Lm9z")) == MIN_BITS  # 12 × log2(26+26+10+37)
    assert round(entropy_bits("Vx7kq2Lm9zPa4R")) == 83      # 14 × log2(62)
    assert needed_length({0, 1, 2, 3}) == 12 and needed_length({0, 1, 2}) == 14
    assert needed_length({0}) == 17 and needed_length({2}) == 24


def test_a_short_username_part_is_not_looked_for():
    assert weakness("Al-Vx7!kq2#Lm9z", "al") is None  # two letters are in too many words


def test_random_passwords_comply():
    for _ in range(200):
        password = random_password("ada")
        assert weakness(password, "ada") is None and not password.startswith("-") and len(password) == 20


def test_accounts_apply_the_policy_and_write_nothing_when_refused(tmp_path):
    accounts = Accounts(InstanceDB(tmp_path))
    with pytest.raises(AccountError, match="trop court"):
        accounts.add("tina", "tutor", "salut2026")
    with pytest.raises(AccountError, match="contient l'identifiant"):
        accounts.add("tina", "tutor", "Tina-Vx7!kq2#Lm9z")
    assert accounts.list() == []
    accounts.add("tina", "tutor", "Vx7!kq2#Lm9z")
    with pytest.raises(AccountError, match="phrase de passe trop courte"):
        accounts.set_password("tina", "un mot de passe sûr")
    assert accounts.authenticate("tina", "Vx7!kq2#Lm9z").username == "tina"


def test_an_account_without_password_opens_nothing(tmp_path):
    accounts = Accounts(InstanceDB(tmp_path))
    user = accounts.add("paul", "tutor", display_name="Paul Martin", email="paul@exemple.fr")
    assert not user.has_password and user.name == "Paul Martin" and user.email == "paul@exemple.fr"
    for guess in ("", "!", "Vx7!kq2#Lm9z"):
        with pytest.raises(AccountError):
            accounts.authenticate("paul", guess)


@pytest.mark.parametrize("field, value, message", [
    ("email", "pas une adresse", "adresse e-mail invalide"),
    ("email", "a@" + "b" * 300, "trop longue"),
    ("display_name", "x" * 201, "trop long"),
])
def test_profile_fields_are_checked(tmp_path, field, value, message):
    accounts = Accounts(InstanceDB(tmp_path))
    with pytest.raises(AccountError, match=message):
        accounts.add("paul", "tutor", **{field: value})
    accounts.add("paul", "tutor")
    with pytest.raises(AccountError, match=message):
        accounts.set_profile("paul", **{"display_name": "", "email": "", field: value})
    assert accounts.get("paul").email == "" and accounts.get("paul").display_name == ""
