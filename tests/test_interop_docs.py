"""docs/interop.md stays true: its commands exist and its JSON entry is a valid API request."""

from __future__ import annotations

import json
import re

from click.testing import CliRunner
from factories import REPO

from livret.cli import main
from livret.interop.openapi import wire_errors
from livret.store.schema import ENTRY_ADAPTER

DOC = (REPO / "docs" / "interop.md").read_text(encoding="utf-8")


def test_every_livret_command_of_the_page_exists():
    commands = set(re.findall(r"^livret ((?:framework |token )?[a-z-]+)", DOC, flags=re.M))
    assert {"framework import", "framework export", "export-progress", "badges", "token create",
            "token list", "token revoke"} <= commands
    for command in commands:
        result = CliRunner().invoke(main, [*command.split(), "--help"])
        assert result.exit_code == 0, f"livret {command}: {result.output}"


def test_the_entry_example_is_a_valid_create_request():
    example = json.loads(re.search(r"```json\n(\{\"type\": \"meeting\".*?)```", DOC, flags=re.S).group(1))
    assert wire_errors(example) == []
    fields = {k: v for k, v in example.items() if k != "body"}
    server = {"id": "01JM2Q8V6Z9X3K4T5R6S7W8Y9A", "recorded": "2026-03-02T16:00:00+01:00",
              "author": "paul.martin", "role": "tutor"}
    assert ENTRY_ADAPTER.validate_python({**fields, **server}).type == "meeting"
