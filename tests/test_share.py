"""Share links, core and command line: tokens, expiry, revocation, visit log (real SQLite)."""

from __future__ import annotations

import datetime as dt
import sqlite3

import pytest
from click.testing import CliRunner

from livret.cli import main
from livret.instance.db import DB_NAME
from livret.instance.shares import ShareError, ShareLinks, hash_token, token_from

UTC = dt.timezone.utc
T0 = dt.datetime(2026, 11, 21, 9, 0, tzinfo=UTC)


@pytest.fixture
def links(project):
    return ShareLinks.for_project(project)


def test_token_is_random_long_and_stored_hashed(links, project):
    a = links.create("alice", created_by="alice", label="Entreprise Dupont", now=T0)
    b = links.create("alice", created_by="alice", now=T0)
    assert a.token != b.token and len(a.token) == 43  # 32 random bytes, URL-safe base64
    assert b.link.label == "Lien de partage"
    raw = (project.instance / DB_NAME).read_bytes()
    assert a.token.encode() not in raw and b.token.encode() not in raw
    conn = sqlite3.connect(project.instance / DB_NAME)
    stored = {row[0] for row in conn.execute("SELECT token_hash FROM share_links")}
    conn.close()
    assert stored == {hash_token(a.token), hash_token(b.token)}
    assert a.url("https://livret.example/") == f"https://livret.example/s/{a.token}/"


def test_a_link_life(links):
    created = links.create("alice", created_by="tina", label="Audit Qualiopi 2027", days=10, now=T0)
    link = links.find(created.token)
    assert link.id == created.link.id and link.learner == "alice"
    assert link.expires == T0 + dt.timedelta(days=10)
    assert link.state(T0 + dt.timedelta(days=9, hours=23)) == "active"
    assert link.state(T0 + dt.timedelta(days=10)) == "expired"
    links.log_visit(link, "/", 200, now=T0 + dt.timedelta(hours=1))
    links.log_visit(link, "/competences/", 200, now=T0 + dt.timedelta(hours=2))
    [second, first] = links.visits(learner_id="alice")
    assert (second.page, first.page) == ("/competences/", "/")
    assert second.label == "Audit Qualiopi 2027"
    assert links.get(link.id).visits == 2
    revoked = links.revoke(link.id, by="alice", now=T0 + dt.timedelta(days=1))
    assert revoked.state(T0 + dt.timedelta(days=1)) == "revoked" and revoked.revoked_by == "alice"
    # revoking again keeps the first revocation
    again = links.revoke(link.id, by="tina", now=T0 + dt.timedelta(days=2))
    assert again.revoked == revoked.revoked and again.revoked_by == "alice"


def test_find_refuses_other_tokens(links):
    created = links.create("alice", created_by="alice")
    assert links.find(created.token[:-1] + ("A" if created.token[-1] != "A" else "B")) is None
    assert links.find(created.token + "x") is None
    assert links.find("") is None
    assert links.find("../" + created.token) is None


def test_expiry_defaults_and_limits(project, links):
    (project.portfolios / "_organisation.yml").write_text(
        "name: OF de test\nshare:\n  default_days: 7\n  max_days: 20\n", encoding="utf-8")
    assert links.create("bob", created_by="tom", now=T0).link.expires == T0 + dt.timedelta(days=7)
    with pytest.raises(ShareError) as exc:
        links.create("bob", created_by="tom", days=21)
    assert str(exc.value) == "durée : au plus 20 jours (durée maximale fixée par l'organisme)"
    for bad in (0, -3, True, "5"):
        with pytest.raises(ShareError, match="durée"):
            links.create("bob", created_by="tom", days=bad)
    with pytest.raises(ShareError, match="libellé : trop long"):
        links.create("bob", created_by="tom", label="x" * 201)
    with pytest.raises(ShareError, match="libellé : caractères de contrôle"):
        links.create("bob", created_by="tom", label="a\nb")
    for bad in ("zoe", "../alice", "_frameworks"):
        with pytest.raises(ShareError, match="apprenant·e"):
            links.create(bad, created_by="tom")
    assert len(links.list()) == 1  # nothing else was written


def test_token_from_url_or_token():
    token = "A" * 43
    assert token_from(token) == token
    assert token_from(f"http://127.0.0.1:8000/s/{token}/") == token
    assert token_from(f"https://x.example/prefix/s/{token}/competences/") == token
    assert token_from(f"/s/{token}") == token
    assert token_from("http://x/s/short/") is None
    assert token_from("n'importe quoi") is None


# ----------------------------------------------------------------- command line


def cli(project, *args):
    return CliRunner().invoke(main, [*args, "--root", str(project.root)])


def test_cli_create_prints_the_url_last(project, links):
    result = cli(project, "share", "create", "alice", "--label", "Entreprise Dupont", "--expires", "15",
                 "--base-url", "https://livret.example")
    assert result.exit_code == 0, result.output
    url = result.output.strip().splitlines()[-1]
    token = token_from(url)
    assert url == f"https://livret.example/s/{token}/"
    link = links.find(token)
    assert link.label == "Entreprise Dupont" and link.learner == "alice"
    assert (link.expires - link.created).days == 15
    default = cli(project, "share", "create", "bob")
    assert default.output.strip().splitlines()[-1].startswith("http://127.0.0.1:8000/s/")


def test_cli_list_and_revoke(project):
    url = cli(project, "share", "create", "alice", "--label", "Entreprise Dupont").output.strip().splitlines()[-1]
    cli(project, "share", "create", "bob", "--label", "Pôle emploi")
    listed = cli(project, "share", "list", "alice")
    assert listed.exit_code == 0
    assert "Entreprise Dupont" in listed.output and "Pôle emploi" not in listed.output
    assert "actif, expire le" in listed.output
    everything = cli(project, "share", "list").output
    assert "Entreprise Dupont" in everything and "Pôle emploi" in everything
    revoked = cli(project, "share", "revoke", url)
    assert revoked.exit_code == 0 and "révoqué" in revoked.output
    assert "révoqué le" in cli(project, "share", "list", "alice").output
    by_token = cli(project, "share", "revoke", token_from(url))
    assert by_token.exit_code == 0 and "déjà révoqué" in by_token.output
    by_id = cli(project, "share", "revoke", "2")
    assert by_id.exit_code == 0 and "« Pôle emploi », bob) révoqué" in by_id.output


def test_cli_rejects_bad_input(project):
    too_long = cli(project, "share", "create", "alice", "--expires", "181")
    assert too_long.exit_code == 2
    assert "--expires : au plus 180 jours (durée maximale fixée par l'organisme)" in too_long.output
    assert "apprenant·e : 'zoe' inconnu·e" in cli(project, "share", "create", "zoe").output
    assert cli(project, "share", "list", "zoe").exit_code == 2
    unknown = cli(project, "share", "revoke", "http://127.0.0.1:8000/s/" + "Z" * 43 + "/")
    assert unknown.exit_code == 1 and "lien inconnu" in unknown.output
    garbage = cli(project, "share", "revoke", "pas-un-lien")
    assert garbage.exit_code == 2 and "jeton ou lien invalide" in garbage.output
    assert ShareLinks.for_project(project).list() == []
