"""The README documents every setting and every CLI command the code has."""

import argparse
import dataclasses
import re
from pathlib import Path

from smsaccounts.cli import _parser
from smsaccounts.config import PREFIX, Settings

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_every_setting_has_a_line_in_the_settings_table() -> None:
    for field in dataclasses.fields(Settings):
        assert f"| `{PREFIX}{field.name.upper()}` |" in README, field.name


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return {
        name: sub
        for action in parser._actions
        if isinstance(action, argparse._SubParsersAction)
        for name, sub in action.choices.items()
    }


def test_every_cli_command_is_documented() -> None:
    commands: list[str] = []
    for name, sub in _subcommands(_parser(Settings())).items():
        nested = _subcommands(sub)
        commands += [f"{name} {child}" for child in nested] if nested else [name]
    assert len(commands) >= 12
    for command in commands:
        assert re.search(rf"`smsaccounts {command}\b", README), command


def test_the_quick_start_is_make_run_and_make_test() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick
    assert "make test" in quick
