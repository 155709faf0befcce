"""``livret serve`` as a real process (waitress on loopback): headers, 413, 20 concurrent submits."""

from __future__ import annotations

import subprocess
import sys
import threading
import urllib.error
import urllib.parse
import urllib.request

from app_support import VALID_FORMS, HttpSession
from click.testing import CliRunner

from livret.cli import main


def commits(project) -> int:
    out = subprocess.run(["git", "rev-list", "--count", "HEAD"], cwd=project.portfolios,
                         capture_output=True, text=True, check=True)
    return int(out.stdout)


def test_serves_on_loopback_with_waitress(live_server):
    assert live_server.url.startswith("http://127.0.0.1:")
    with urllib.request.urlopen(live_server.url + "/connexion") as resp:
        assert resp.headers["Server"] == "livret"  # waitress, with our ident (not Werkzeug's dev server)
        assert "Connexion" in resp.read().decode()
    assert "livret sert" in live_server.output()


def test_twenty_concurrent_submits_all_land(app_project, live_server):
    """20 tutors' submits at once for one learner: 20 files, 20 commits, all valid."""
    session = HttpSession(live_server.url)
    session.login("tina")
    token, cookie = session.token(), session.cookie_header()
    before_commits = commits(app_project)
    statuses: list[int] = []
    lock = threading.Lock()
    barrier = threading.Barrier(20)

    def submit(i: int) -> None:
        data = dict(VALID_FORMS["meeting"], title=f"Entretien concurrent {i:02d}", csrf_token=token)
        req = urllib.request.Request(
            live_server.url + "/apprenants/alice/nouvelle/meeting",
            data=urllib.parse.urlencode(data).encode(), method="POST", headers={"Cookie": cookie})
        opener = urllib.request.build_opener(NoFollow)
        barrier.wait(30)
        try:
            with opener.open(req, timeout=120) as resp:
                status = resp.status
        except urllib.error.HTTPError as err:
            status = err.code
            err.close()
        with lock:
            statuses.append(status)

    threads = [threading.Thread(target=submit, args=(i,)) for i in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(180)
    assert statuses == [302] * 20
    files = sorted((app_project.portfolios / "alice" / "entries").glob("*.md"))
    assert len(files) == 20
    assert commits(app_project) - before_commits == 20
    record = app_project.store.load_learner("alice")
    assert record.problems == []
    assert sorted(e.meta.title for e in record.entries) == [f"Entretien concurrent {i:02d}" for i in range(20)]
    authors = subprocess.run(["git", "log", "-20", "--format=%an"], cwd=app_project.portfolios,
                             capture_output=True, text=True, check=True).stdout.split()
    assert authors == ["tina"] * 20
    result = CliRunner().invoke(main, ["--root", str(app_project.root), "check"])
    assert result.exit_code == 0, result.output


class NoFollow(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def test_huge_upload_gets_a_french_413(app_project, live_server):
    session = HttpSession(live_server.url)
    session.login("alice")
    boundary = "livret-test-boundary"
    token = session.token()
    body = (f"--{boundary}\r\nContent-Disposition: form-data; name=\"csrf_token\"\r\n\r\n{token}\r\n"
            f"--{boundary}\r\nContent-Disposition: form-data; name=\"attachments\"; filename=\"film.mp4\"\r\n"
            "Content-Type: video/mp4\r\n\r\n").encode()
    body += b"\x00" * (40 * 1024 * 1024) + f"\r\n--{boundary}--\r\n".encode()
    req = urllib.request.Request(live_server.url + "/apprenants/alice/nouvelle/evidence", data=body, method="POST",
                                 headers={"Cookie": session.cookie_header(),
                                          "Content-Type": f"multipart/form-data; boundary={boundary}"})
    try:
        with urllib.request.urlopen(req, timeout=120) as resp:
            status, text = resp.status, resp.read().decode()
    except urllib.error.HTTPError as err:
        with err:
            status, text = err.code, err.read().decode()
    assert status == 413 and "Envoi trop volumineux" in text
    assert list((app_project.portfolios / "alice" / "files").iterdir()) == []


def test_sigterm_stops_the_server_cleanly(live_server):
    import signal

    live_server.process.send_signal(signal.SIGTERM)
    assert live_server.process.wait(20) == 0


def test_port_in_use_gives_a_clear_message(app_project, live_server):
    port = live_server.url.rsplit(":", 1)[1]
    result = subprocess.run([sys.executable, "-m", "livret", "serve", "--root", str(app_project.root),
                             "--port", port], capture_output=True, text=True, timeout=60)
    assert result.returncode == 2
    assert f"impossible d'écouter sur 127.0.0.1:{port}" in result.stderr and "Traceback" not in result.stderr
