"""A rebuild that fails is seen by the people concerned: the learner's page and the dashboard say
the published portfolio is stale, and why; the next successful rebuild clears it."""

from __future__ import annotations

from app_support import AuthActions, make_app
from factories import meeting

BROKEN_PLUGIN = "\nplugins:\n  - extension-inexistante\n"


def test_a_failed_rebuild_is_shown_until_a_rebuild_succeeds(app_project):
    config = app_project.mkdocs_yml
    good = config.read_text(encoding="utf-8")
    app = make_app(app_project.root, config={"LIVRET_REBUILD": True})
    worker = app.extensions["livret"].rebuild
    store = app.extensions["livret"].project.store  # the app's store: its after-commit hook asks for the rebuild
    try:
        config.write_text(good + BROKEN_PLUGIN, encoding="utf-8")
        client = app.test_client()
        auth = AuthActions(client)
        auth.login("tina")
        assert store.load_learner("alice").ok
        response = store.append_entry("alice", meeting(title="Après la panne"), "Texte.",
                                                  author="tina", role="tutor")
        assert response.id
        assert worker.wait_idle(300)
        state = worker.state("alice")
        assert state.failed and "mkdocs.yml" in state.error

        page = client.get("/apprenants/alice/").get_data(as_text=True)
        assert "Le portfolio publié n'est pas à jour." in page
        assert "mkdocs.yml" in page and "extension-inexistante" in page
        board = client.get("/tableau-de-bord").get_data(as_text=True)
        assert "Portfolio publié pas à jour" in board
        assert board.count("Portfolio publié pas à jour") == 1  # bob's sites were not touched

        auth.login("alice")  # the learner sees it too on their page
        assert "Le portfolio publié n'est pas à jour." in client.get("/apprenants/alice/").get_data(as_text=True)

        config.write_text(good, encoding="utf-8")
        store.append_entry("alice", meeting(title="Réparé"), "Texte.", author="tina", role="tutor")
        assert worker.wait_idle(300)
        assert not worker.state("alice").error
        assert "Le portfolio publié n'est pas à jour." not in client.get("/apprenants/alice/").get_data(as_text=True)
    finally:
        worker.stop()
