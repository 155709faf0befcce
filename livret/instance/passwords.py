"""The password policy: the CNIL's recommendation, case 1 (password alone).

The CNIL's deliberation 2022-100 of 21 July 2022 (recommendation on
passwords and other shared secrets) sets the strength a password needs by
the case it is used in.  livret applies **case 1, authentication by a
password alone**, which asks for at least 80 bits of entropy, although it
also limits failed sign-ins (which would allow case 2, 50 bits): the limit
is per account *and* origin (a stranger cannot lock an owner out), so an
attacker with many addresses keeps guessing; a password of case 1 holds
then too, and the portfolios hold health and personal notes.

The entropy of a password is its length times log2 of the size of the
alphabet it draws from, the alphabet being the union of the classes it
uses: 26 lowercase letters, 26 uppercase letters, 10 digits and the CNIL's
"at least 37" special characters (anything else: punctuation, spaces,
accented letters).  Rounded to the nearest bit, this gives the CNIL's own
examples: 12 characters mixing the four classes (example 1), 14 with
lowercase, uppercase and digits (example 2).  Two more rules make the
count honest:

- a *passphrase* (words of letters separated by spaces) is counted in
  words, as in the CNIL's example 3: at least 7 words (and the 80 bits of
  its characters), since words are far more guessable than their letters;
- a pattern repeated (``abcabcabc…``) counts once.

Beyond entropy: a password containing the username, or made of a very
common password (``azerty``, ``motdepasse``… whatever digits and signs
surround it), is refused.  Every refusal says what is missing, in French.
"""

from __future__ import annotations

import math
import re

#: The CNIL's threshold for case 1 (password alone), in bits.
MIN_BITS = 80
#: Words of a passphrase (the CNIL's example 3).
MIN_WORDS = 7
MAX_PASSWORD = 1024
#: A username part shorter than this is not looked for in the password ("al" is in too many words).
MIN_NAME_PART = 3

CLASSES: tuple[tuple[str, int], ...] = (
    ("minuscules", 26),
    ("majuscules", 26),
    ("chiffres", 10),
    ("caractères spéciaux", 37),
)

#: The first passwords any attacker tries (French and English lists), compared letters only, case folded.
COMMON = frozenset("""
    azerty azertyuiop qwerty qwertz qwertyuiop motdepasse password passw passwd mdp secret soleil bonjour
    bonsoir doudou loulou chouchou coucou marseille paris iloveyou jetaime admin administrateur root
    changeme bienvenue welcome football princesse nicolas camille abc abcd abcdef abcdefgh letmein monkey
    dragon master sunshine superman batman azertyui livret portfolio formation apprenant tuteur test
    utilisateur user login
""".split())
COMMON_DIGITS = frozenset({"123456", "1234567", "12345678", "123456789", "1234567890", "000000", "111111",
                           "123123", "654321", "121212", "696969", "112233", "0123456789"})

#: Shown next to every new-password field.
POLICY_TEXT = ("Au moins 12 caractères mêlant minuscules, majuscules, chiffres et caractères spéciaux, "
               "ou 14 caractères avec trois de ces catégories, ou une phrase de passe d'au moins 7 mots ; "
               "ni votre identifiant ni un mot de passe courant (recommandation de la CNIL, "
               "délibération 2022-100, cas n° 1 : mot de passe seul).")


def char_class(char: str) -> int:
    """Index of the class of ``char`` in :data:`CLASSES`."""
    if "a" <= char <= "z":
        return 0
    if "A" <= char <= "Z":
        return 1
    if "0" <= char <= "9":
        return 2
    return 3


def classes_of(password: str) -> set[int]:
    return {char_class(c) for c in password}


def pattern_length(password: str) -> int:
    """The length of the shortest pattern ``password`` repeats (its own length when none)."""
    n = len(password)
    for size in range(1, n // 2 + 1):
        if n % size == 0 and password[:size] * (n // size) == password:
            return size
    return n


def pool_size(classes: set[int]) -> int:
    return sum(CLASSES[i][1] for i in classes)


def entropy_bits(password: str) -> float:
    """Length (a repeated pattern counted once) × log2(alphabet size), as the CNIL counts it."""
    classes = classes_of(password)
    if not classes:
        return 0.0
    return pattern_length(password) * math.log2(pool_size(classes))


def needed_length(classes: set[int]) -> int:
    """The shortest length that reaches :data:`MIN_BITS` (rounded to the bit) with these classes."""
    bits_per_char = math.log2(pool_size(classes))
    length = 1
    while round(length * bits_per_char) < MIN_BITS:
        length += 1
    return length


def passphrase_words(password: str) -> list[str] | None:
    """The words of a passphrase (letters only, separated by spaces), None when it is not one."""
    words = password.split()
    if len(words) >= 2 and all(w.isalpha() for w in words):
        return words
    return None


def _letters(text: str) -> str:
    return "".join(c for c in text.casefold() if c.isalpha())


def _name_parts(username: str) -> list[str]:
    username = (username or "").casefold()
    parts = {username, *re.split(r"[._-]+", username)}
    return sorted((p for p in parts if len(p) >= MIN_NAME_PART), key=len, reverse=True)


def _join(names: list[str]) -> str:
    return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " et " + names[-1]


def weakness(password: str, username: str = "") -> str | None:
    """Why ``password`` is refused (French, starting lowercase), or None when it complies."""
    if not password:
        return "mot de passe vide"
    if len(password) > MAX_PASSWORD:
        return f"mot de passe trop long : au plus {MAX_PASSWORD} caractères"
    if any(ord(c) < 32 or 0xD800 <= ord(c) <= 0xDFFF for c in password):
        return "le mot de passe contient un caractère non permis (caractère de contrôle)"
    folded = password.casefold()
    for part in _name_parts(username):
        if part in folded:
            return f"le mot de passe contient l'identifiant (« {part} ») : c'est le premier essai d'un attaquant"
    letters = _letters(password)
    digits = "".join(c for c in password if c.isdigit())
    if (letters and letters in COMMON) or (not letters and digits in COMMON_DIGITS):
        shown = letters or digits
        return (f"mot de passe trop courant : « {shown} », même entouré de chiffres ou de signes, "
                "figure dans les listes que les attaquants essaient en premier")
    words = passphrase_words(password)
    classes = classes_of(password)
    if words is not None and len(words) < MIN_WORDS:
        return (f"phrase de passe trop courte : {len(words)} mots, il en faut au moins {MIN_WORDS} "
                "(ou un mot de passe de 12 caractères mêlant minuscules, majuscules, chiffres et "
                "caractères spéciaux)")
    if round(entropy_bits(password)) >= MIN_BITS:
        return None
    have = [CLASSES[i][0] for i in sorted(classes)]
    missing = [CLASSES[i][0] for i in range(len(CLASSES)) if i not in classes]
    effective = pattern_length(password)
    repeated = "" if effective == len(password) else f", un motif de {effective} répété"
    message = (f"mot de passe trop court : {len(password)} caractères ({_join(have)}{repeated}), "
               f"environ {round(entropy_bits(password))} bits d'entropie pour {MIN_BITS} demandés ; "
               f"il en faut au moins {needed_length(classes)} avec ces catégories")
    if missing:
        message += (f", ou {needed_length(set(range(len(CLASSES))))} en ajoutant {_join(missing)}")
    return message
