"""Open Badges: an alignment's targetUrl is a page livret really serves (real build, real app)."""

from __future__ import annotations

import json

from factories import SMALL_FRAMEWORK
from interop_support import cli, cohort_history

from livret.interop.badges import competency_page_url
from livret.publish.build import build_learner
from livret.store.yamlio import dump_yaml

BASE = "https://formation.example.org"


def served_path(url: str) -> str:
    assert url.startswith(BASE + "/"), url
    return url[len(BASE):]


def test_the_badge_alignment_opens_the_competency_page(app_project, client, auth, tmp_path):
    cohort_history(app_project)
    out = tmp_path / "badges"
    result = cli(app_project, "badges", "alice", "-o", str(out), "--base-url", BASE + "/")
    assert result.exit_code == 0, result.stderr
    doc = json.loads((out / "alice-A1.json").read_text(encoding="utf-8"))
    [alignment] = doc["credentialSubject"]["achievement"]["alignment"]
    assert build_learner(app_project, "alice").ok
    for user in ("tina", "alice"):  # the staff site and the shared site both have the page
        auth.login(user)
        page = client.get(served_path(alignment["targetUrl"]))
        assert page.status_code == 200, (user, alignment["targetUrl"])
        assert "Préparer l'arrivée" in page.get_data(as_text=True)


def test_every_competency_page_url_is_served_even_with_codes_that_look_alike(app_project, client, auth):
    framework = json.loads(json.dumps(SMALL_FRAMEWORK))
    framework["id"] = "ressemblants"
    framework["blocks"][0]["competencies"] = [{"code": c, "title": f"Compétence {c}"}
                                              for c in ("A.1", "A-1", "a_1", "A/1", "A:1")]
    (app_project.portfolios / "_frameworks" / "ressemblants.yml").write_text(dump_yaml(framework), encoding="utf-8")
    store = app_project.store
    profile = store.load_learner("alice").profile.model_copy(update={"framework": "ressemblants"})
    store.write_profile(profile, "Objectifs.", author="admin", message="alice : référentiel ressemblants")
    assert build_learner(app_project, "alice").ok
    fw = store.framework("ressemblants")[0]
    auth.login("tina")
    seen = set()
    for _, competency in fw.competencies():
        path = served_path(competency_page_url(BASE, "alice", fw, competency.code))
        assert path not in seen
        seen.add(path)
        page = client.get(path)
        assert page.status_code == 200, path
        assert competency.title in page.get_data(as_text=True)
