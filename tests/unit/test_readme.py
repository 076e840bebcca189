"""The README documents every setting and every CLI command the code has."""

import dataclasses
import re
from pathlib import Path

from smsaccounts.cli import _parser
from smsaccounts.config import PREFIX, Settings

README = (Path(__file__).parents[2] / "README.md").read_text()


def test_every_setting_has_a_line_in_the_settings_table() -> None:
    for field in dataclasses.fields(Settings):
        assert f"| `{PREFIX}{field.name.upper()}` |" in README, field.name


def test_every_cli_command_is_documented() -> None:
    parser = _parser(Settings())
    commands: list[str] = []
    for action in parser._subparsers._group_actions:  # type: ignore[union-attr]
        for name, sub in action.choices.items():
            nested = sub._subparsers
            if nested is None:
                commands.append(name)
                continue
            for group in nested._group_actions:
                commands.extend(f"{name} {child}" for child in group.choices)
    assert len(commands) >= 12
    for command in commands:
        assert re.search(rf"`smsaccounts {command}\b", README), command


def test_the_quick_start_is_make_run_and_make_test() -> None:
    quick = README.split("## Quick start", 1)[1].split("##", 1)[0]
    assert "make run" in quick and "make test" in quick
