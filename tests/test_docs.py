"""Docs that tests keep honest: the README's commands, the format reference's examples."""

import re

from click.testing import CliRunner
from factories import REPO

from livret.cli import main
from livret.store.schema import ENTRY_ADAPTER, ENTRY_MODELS, Framework, LearnerProfile, Organisation
from livret.store.yamlio import load_yaml, parse_front_matter

README = (REPO / "README.md").read_text(encoding="utf-8")
FORMAT = (REPO / "docs" / "format.md").read_text(encoding="utf-8")


def fenced(text, lang):
    return re.findall(rf"```{lang}\n(.*?)```", text, flags=re.S)


def test_quickstart_has_two_commands_and_ci_runs_the_test_one():
    block = fenced(README.split("## Quickstart", 1)[1], "sh")[0]
    commands = [ln for ln in block.splitlines() if ln and not ln.startswith("#")]
    assert len(commands) == 2
    demo, tests = commands
    assert demo.endswith("livret demo")
    ci = (REPO / ".ci" / "run").read_text()
    assert tests in ci.splitlines()  # CI runs the README's test command, word for word


def test_every_command_in_the_readme_exists():
    runner = CliRunner()
    listed = set(re.findall(r"^\| `livret ([a-z-]+)", README, flags=re.M))
    assert {"init", "check"} <= listed
    for name in listed:
        result = runner.invoke(main, [name, "--help"])
        assert result.exit_code == 0, f"livret {name}: {result.output}"


def test_format_reference_examples_are_valid():
    yaml_blocks = fenced(FORMAT, "yaml")
    organisation, framework = yaml_blocks[0], yaml_blocks[1]
    assert Organisation.model_validate(load_yaml(organisation).data) == Organisation()
    fw = load_yaml(framework.replace("    - ...\n", "")).data
    fw["blocks"][0]["competencies"][1]["title"] = "Sous-compétence"
    fw["description"] = "x"
    Framework.model_validate(fw)
    md = fenced(FORMAT, "markdown")
    LearnerProfile.model_validate(parse_front_matter(md[0]).data)
    entry = ENTRY_ADAPTER.validate_python(parse_front_matter(md[1]).data)
    assert entry.type == "meeting"


def test_format_reference_session_example_is_valid():
    from livret.store.schema import TrainingSession

    section = FORMAT.split("## Training sessions:", 1)[1].split("\n## ", 1)[0]
    session = TrainingSession.model_validate(load_yaml(fenced(section, "yaml")[0]).data)
    assert (session.half_day, session.hours, session.chain) == ("matin", 3.5, session.id)


def test_format_reference_lists_every_type():
    for name in ENTRY_MODELS:
        assert f"| `{name}` |" in FORMAT
