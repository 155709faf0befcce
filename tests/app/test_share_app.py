"""Share links through the app: a link's whole life, path tricks, staff confidentiality,
who manages links, the audit pack button, the Qualiopi report (real build, real SQLite)."""

from __future__ import annotations

import datetime as dt
import io
import os
import re
import urllib.error
import urllib.request
import zipfile
from urllib.parse import urlsplit

import pytest
from factories import add, meeting, when

from livret.audit.pack import verify_pack
from livret.instance.shares import ShareLinks, token_from
from livret.publish.build import build_learner, site_dir

SECRET = "zqx-staff-secret-4711"
BOB_ONLY = "Texte-de-bob-uniquement"
URL_IN_PAGE = re.compile(r'id="created-url"[^>]*>(http://localhost/s/[A-Za-z0-9_-]{43}/)</textarea>')


@pytest.fixture(scope="module")
def built_template(tmp_path_factory):
    """One built project for the module (an MkDocs build per learner and audience takes seconds)."""
    from factories import make_project

    project = make_project(tmp_path_factory.mktemp("share-app") / "proj")
    add(project, "alice", meeting(title="Entretien de rentrée"), "Échange sur le projet professionnel.")
    add(project, "alice", meeting(title=f"Point {SECRET}", visibility="staff", date=when("2026-03-10")),
        f"{SECRET} : difficultés de logement.")
    add(project, "alice", {"type": "alert", "date": when("2026-03-11"), "title": f"Alerte {SECRET}",
                           "category": "personnelle", "severity": "haute"}, f"{SECRET} détails.")
    add(project, "bob", meeting(title=BOB_ONLY), f"{BOB_ONLY} dans le texte.", author="tom")
    for learner in ("alice", "bob"):
        assert build_learner(project, learner).ok
    return project


@pytest.fixture
def built(built_template, accounts_template, tmp_path):
    """A private copy of the built project, with accounts (tests write share links)."""
    import shutil

    from app_support import install_accounts

    root = tmp_path / "proj"
    shutil.copytree(built_template.root, root, symlinks=True)
    from livret.store.project import Project

    project = Project.at(root)
    install_accounts(accounts_template, project.instance)
    return project


@pytest.fixture
def share_client(built):
    from forms_app import create_app

    app = create_app(built.root, testing=True)
    return ClosingClient(app.test_client())


@pytest.fixture
def share_auth(share_client):
    from app_support import AuthActions

    return AuthActions(share_client)


class ClosingClient:
    """The test client, closing each response once read (file responses hold the file open)."""

    def __init__(self, client):
        self.client = client

    def get(self, *args, **kwargs):
        response = self.client.get(*args, **kwargs)
        response.get_data()
        response.close()
        return response

    def __getattr__(self, name):
        return getattr(self.client, name)


def new_link(project, learner="alice", **kw):
    return ShareLinks.for_project(project).create(learner, created_by="tina", **kw)


def share_headers_ok(response):
    assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
    assert response.headers["Referrer-Policy"] == "no-referrer"
    assert response.headers["Cache-Control"] == "no-store"
    csp = response.headers["Content-Security-Policy"]
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp and "http" not in csp


# ----------------------------------------------------------------- a link's whole life


def test_a_link_life_in_the_app(built, share_client, share_auth):
    share_auth.login("alice")
    page = share_client.get("/apprenants/alice/partage")
    assert page.status_code == 200 and "Créer un lien" in page.get_data(as_text=True)
    created = share_auth.post("/apprenants/alice/partage", {"label": "Entreprise Dupont", "days": "10"})
    assert created.status_code == 201
    url = URL_IN_PAGE.search(created.get_data(as_text=True)).group(1)
    token = token_from(url)
    link = ShareLinks.for_project(built).find(token)
    assert (link.label, link.created_by, (link.expires - link.created).days) == ("Entreprise Dupont", "alice", 10)
    share_auth.logout()

    # open, anonymously
    home = share_client.get(f"/s/{token}/")
    assert home.status_code == 200 and "Alice Test" in home.get_data(as_text=True)
    share_headers_ok(home)
    css = next(iter(re.findall(r'href="([^"]+\.css)"', home.get_data(as_text=True))))
    asset = share_client.get(f"/s/{token}/{css}")
    assert asset.status_code == 200 and asset.mimetype == "text/css"
    assert share_client.get(f"/s/{token}/suivi").status_code == 302  # folder without its slash
    assert share_client.get(f"/s/{token}/suivi/").status_code == 200
    assert share_client.get(f"/s/{token}").status_code == 308

    # logged: pages only, not assets
    pages = [v.page for v in ShareLinks.for_project(built).visits(link_id=link.id)]
    assert pages == ["/suivi/", "/"]

    # the learner reads the log
    share_auth.login("alice")
    log = share_client.get("/apprenants/alice/partage").get_data(as_text=True)
    assert "Journal des consultations" in log and "<code>/suivi/</code>" in log and "Entreprise Dupont" in log

    # revoke: 410 with a French explanation, still logged
    revoked = share_auth.post(f"/apprenants/alice/partage/{link.id}/revoquer")
    assert revoked.status_code == 302
    share_auth.logout()
    gone = share_client.get(f"/s/{token}/")
    assert gone.status_code == 410
    body = gone.get_data(as_text=True)
    assert "Ce lien de partage a été révoqué" in body and "Alice" not in body and "Entreprise Dupont" not in body
    share_headers_ok(gone)
    assert ShareLinks.for_project(built).visits(link_id=link.id)[0].status == 410


def test_an_expired_link_answers_410(built, share_client):
    past = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
    created = new_link(built, days=2, now=past)
    response = share_client.get(f"/s/{created.token}/competences/")
    assert response.status_code == 410
    assert "Ce lien de partage a expiré" in response.get_data(as_text=True)
    share_headers_ok(response)


def test_unknown_tokens_are_404(built, share_client):
    created = new_link(built)
    other = created.token[:-2] + ("AA" if not created.token.endswith("AA") else "BB")
    for token in (other, "x", "A" * 43, created.token.lower() if created.token.lower() != created.token else "a" * 43):
        response = share_client.get(f"/s/{token}/")
        assert response.status_code == 404, token
        assert "Alice" not in response.get_data(as_text=True)
        share_headers_ok(response)


# ----------------------------------------------------------------- nothing else is reachable


TRICKS = [
    "../bob/", "../bob/index.html", "..%2Fbob%2Findex.html", "%2e%2e/bob/index.html", "%2e%2e%2fbob%2findex.html",
    "../../staff/alice/index.html", "..%2F..%2Fstaff%2Falice%2Findex.html", "//etc/passwd", "%2Fetc%2Fpasswd",
    "/etc/passwd", "..\\bob\\index.html", "....//bob/index.html", ".build-manifest.json", "../../../instance/",
    "../../../portfolios/alice/learner.md", "%00", "index.html%00.css",
]


def test_path_tricks_never_leave_the_learner_shared_site(built, share_client):
    created = new_link(built)
    # a symlink planted in alice's shared site, to bob's site and to the staff site
    root = site_dir(built, "shared", "alice")
    os.symlink(site_dir(built, "shared", "bob"), root / "vers-bob")
    os.symlink(site_dir(built, "staff", "alice") / "index.html", root / "equipe.html")
    for trick in [*TRICKS, "vers-bob/index.html", "vers-bob/", "equipe.html"]:
        response = share_client.get(f"/s/{created.token}/{trick}")
        body = response.get_data(as_text=True)
        assert response.status_code in (404, 308), (trick, response.status_code)
        if response.status_code == 308:  # merged slashes: the redirect stays on the link
            target = urlsplit(response.headers["Location"]).path
            assert target.startswith(f"/s/{created.token}/"), trick
            assert share_client.get(target).status_code == 404, trick
        assert BOB_ONLY not in body and SECRET not in body and "root:" not in body, trick
    # the token of another learner opens that learner only
    bob = new_link(built, "bob")
    home = share_client.get(f"/s/{bob.token}/").get_data(as_text=True)
    assert "Bob Test" in home and "Alice" not in home


def test_a_link_does_not_open_the_app(built, share_client):
    created = new_link(built)
    for path in ("../../tableau-de-bord", "../../apprenants/alice/", "../../qualiopi", "../../portfolio/alice/"):
        response = share_client.get(f"/s/{created.token}/{path}")
        assert response.status_code == 404, path
    assert share_client.get("/apprenants/alice/partage").status_code == 302  # sign-in first


def test_staff_text_reaches_no_share_response(built, share_client):
    created = new_link(built)
    root = site_dir(built, "shared", "alice")
    served = []
    for path in sorted(root.rglob("*")):
        if path.is_file():
            rel = path.relative_to(root).as_posix()
            response = share_client.get(f"/s/{created.token}/{rel}")
            if response.status_code == 200:
                served.append(rel)
                assert SECRET.encode() not in response.get_data(), rel
    assert "index.html" in served and "search/search_index.json" in served and len(served) >= 15
    assert SECRET.encode() in (site_dir(built, "staff", "alice") / "index.html").read_bytes() or any(
        SECRET.encode() in p.read_bytes() for p in site_dir(built, "staff", "alice").rglob("*.html"))


# ----------------------------------------------------------------- who manages links


@pytest.mark.parametrize("user, read, write", [
    ("alice", 200, 201), ("tina", 200, 201), ("ada", 200, 201), ("audra", 200, 403),
    ("bob", 403, 403), ("tom", 403, 403), ("carl", 403, 403),
])
def test_who_manages_alice_links(built, share_client, share_auth, user, read, write):
    share_auth.login(user)
    assert share_client.get("/apprenants/alice/partage").status_code == read
    response = share_auth.post("/apprenants/alice/partage", {"label": "Test", "days": "5"})
    assert response.status_code == write
    assert len(ShareLinks.for_project(built).list("alice")) == (1 if write == 201 else 0)


def test_revoke_needs_the_right_learner_and_csrf(built, share_client, share_auth):
    link = new_link(built).link
    bob_link = new_link(built, "bob").link
    share_auth.login("tina")
    assert share_client.post(f"/apprenants/alice/partage/{link.id}/revoquer").status_code == 400  # no CSRF token
    assert share_auth.post(f"/apprenants/alice/partage/{bob_link.id}/revoquer").status_code == 404
    assert share_auth.post(f"/apprenants/bob/partage/{bob_link.id}/revoquer").status_code == 403
    links = ShareLinks.for_project(built)
    assert links.get(link.id).revoked is None and links.get(bob_link.id).revoked is None


def test_bad_form_input_is_refused_with_field_errors(built, share_client, share_auth):
    share_auth.login("alice")
    response = share_auth.post("/apprenants/alice/partage", {"label": "x" * 201, "days": "500"})
    assert response.status_code == 422
    body = response.get_data(as_text=True)
    assert "au plus 180 jours" in body
    assert ShareLinks.for_project(built).list() == []


# ----------------------------------------------------------------- audit pack, Qualiopi


def test_audit_pack_button(built, share_client, share_auth):
    from app_support import ask_pack, pack_download

    share_auth.login("alice")
    assert share_auth.post("/apprenants/alice/dossier-audit", {"audience": "staff"}).status_code == 403
    _, job_id = ask_pack(share_auth, "alice", "shared")  # a background job (tests/app/test_app_pack_jobs.py)
    response = pack_download(share_client, "alice", job_id)
    assert response.status_code == 200 and response.mimetype == "application/zip"
    assert 'filename=dossier-audit-alice-partage.zip' in response.headers["Content-Disposition"]
    data = response.get_data()
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        assert "manifest.json" in zf.namelist()
        assert not any(SECRET.encode() in zf.read(n) for n in zf.namelist())
    share_auth.logout()
    share_auth.login("tina")
    staff = pack_download(share_client, "alice", ask_pack(share_auth, "alice", "staff")[1])
    assert staff.status_code == 200
    with zipfile.ZipFile(io.BytesIO(staff.get_data())) as zf:
        assert any(SECRET.encode() in zf.read(n) for n in zf.namelist() if n.startswith("site/"))


def test_audit_pack_verifies(built, share_client, share_auth, tmp_path):
    from app_support import ask_pack, pack_download

    share_auth.login("ada")
    response = pack_download(share_client, "bob", ask_pack(share_auth, "bob", "staff")[1])
    out = tmp_path / "bob.zip"
    out.write_bytes(response.get_data())
    assert verify_pack(out) == []


@pytest.mark.parametrize("user, status", [("ada", 200), ("audra", 200), ("tina", 403), ("alice", 403)])
def test_qualiopi_report_for_admins_and_auditors(built, share_client, share_auth, user, status):
    share_auth.login(user)
    page = share_client.get("/qualiopi")
    assert page.status_code == status
    csv = share_client.get("/qualiopi.csv")
    assert csv.status_code == status
    if status == 200:
        body = page.get_data(as_text=True)
        assert "Rapport Qualiopi" in body and "Indicateur 8" in body and "/portfolio/alice/entrees/" in body
        assert csv.get_data().startswith(b"\xef\xbb\xbfapprenant;nom;")


# ----------------------------------------------------------------- a real server


def test_share_link_over_real_http(built, tmp_path):
    from app_support import start_server, stop_server

    created = new_link(built, label="Audit Qualiopi 2027")
    server = start_server(built.root, tmp_path / "serve.log")
    try:
        with urllib.request.urlopen(created.url(server.url) + "competences/", timeout=10) as response:
            assert response.status == 200
            assert response.headers["X-Robots-Tag"] == "noindex, nofollow"
            assert response.headers["Referrer-Policy"] == "no-referrer"
            assert SECRET.encode() not in response.read()
        ShareLinks.for_project(built).revoke(created.link.id, by="tina")
        with pytest.raises(urllib.error.HTTPError) as exc:
            urllib.request.urlopen(created.url(server.url), timeout=10)
        assert exc.value.code == 410
        assert "révoqué" in exc.value.read().decode("utf-8")
    finally:
        stop_server(server)
    assert created.token not in server.output()  # the token never reaches the server log
