"""Fixtures of the forms app tests: a real project, real accounts, a real app.

- ``accounts_template``: an instance database with one account per role
  (see ``app_support.USERS``), hashed once per session (scrypt is slow on
  purpose) and copied into each test's project.
- ``app`` / ``client`` / ``auth``: the Flask app on the ``project`` fixture
  (learners alice and bob, see tests/factories.py), a test client, and a
  helper that signs in and posts forms with their CSRF token, like Flask's
  tutorial.
- ``live_server``: ``livret serve`` started as a real subprocess on a free
  loopback port (waitress), for HTTP and browser tests.
"""

from __future__ import annotations

import pytest
from app_support import USERS, AuthActions, install_accounts, make_app, password_of, start_server, stop_server

from livret.instance.accounts import Accounts
from livret.instance.db import DB_NAME, InstanceDB


@pytest.fixture(scope="session")
def accounts_template(tmp_path_factory):
    folder = tmp_path_factory.mktemp("accounts-template")
    accounts = Accounts(InstanceDB(folder))
    for username, role in USERS.items():
        accounts.add(username, role, password_of(username))
    return folder / DB_NAME


@pytest.fixture
def app_project(project, accounts_template):
    """The ``project`` fixture with an account per role in its instance folder."""
    install_accounts(accounts_template, project.instance)
    return project


@pytest.fixture
def app(app_project):
    return make_app(app_project.root)


@pytest.fixture
def client(app):
    return app.test_client()


@pytest.fixture
def auth(client):
    return AuthActions(client)


@pytest.fixture
def live_server(app_project, tmp_path):
    server = start_server(app_project.root, tmp_path / "serve.log")
    yield server
    stop_server(server)
