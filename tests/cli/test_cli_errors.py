"""Every failure of the CLI is one JSON line and a non-zero exit; no traceback reaches an
operator (unless SMSACCOUNTS_LOG_LEVEL=debug); `--help` explains every argument."""

from __future__ import annotations

import argparse
import json
import os
import subprocess
from typing import Any

import pytest

from smsaccounts.cli import _parser
from smsaccounts.config import Settings
from tests.cli.test_cli import COMMAND


def call(*args: str, **env: str) -> tuple[int, list[Any], str]:
    """Run the command; its exit status, its stdout as JSON lines, its stderr."""
    environ = {**os.environ, **{f"SMSACCOUNTS_{k.upper()}": v for k, v in env.items()}}
    done = subprocess.run([COMMAND, *args], capture_output=True, text=True, env=environ, timeout=60)
    return done.returncode, [json.loads(line) for line in done.stdout.splitlines()], done.stderr


@pytest.mark.parametrize(
    "argv",
    [
        ["nope"],
        ["credits", "add", "admin"],
        ["reseller", "create", "r", "--password", "p", "--billing-type", "FREE"],
        ["serve", "--port", "eighty"],
    ],
)
def test_a_command_line_argparse_cannot_read_is_a_json_error_with_exit_2(
    argv: list[str], tmp_path: Any
) -> None:
    status, [error], stderr = call(*argv, database_url=f"sqlite:///{tmp_path}/x.db")
    assert status == 2
    assert (error["error"], error["code"]) == ("usage", "bad_request")
    assert error["usage"].startswith("usage: smsaccounts")
    assert stderr == ""


def test_version_prints_json() -> None:
    status, [version], _ = call("--version")
    assert status == 0
    assert version["name"] == "smsaccounts"
    assert version["version"]


@pytest.mark.parametrize(
    ("amount", "code"), [("9" * 30, "value_out_of_range"), ("many", "field_invalid")]
)
def test_an_amount_that_is_not_a_wallet_amount_is_the_apis_json_error(
    tmp_path: Any, amount: str, code: str
) -> None:
    """The same error every dialect gives for it: never a traceback, never a change."""
    status, [error], stderr = call(
        "credits", "add", "admin", amount, database_url=f"sqlite:///{tmp_path}/x.db"
    )
    assert status == 1
    assert (error["error"], error["code"], error["field"]) == ("invalid_field", code, "amount")
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("variable", "value", "words"),
    [
        ("log_level", "verbose", "debug, info, warning, error, critical"),
        ("log_format", "xml", "json, console"),
        ("sms_transport", "pigeon", "log, http"),
        ("port", "eighty", "an integer"),
        ("mor_api_enabled", "maybe", "true or false"),
        ("database_url", "mysql://u:hunter2@host/db", "sqlite:///PATH or postgresql://"),
    ],
)
def test_a_bad_setting_is_one_line_naming_the_variable_and_what_it_takes(
    variable: str, value: str, words: str
) -> None:
    status, [error], stderr = call("db", "upgrade", **{variable: value})
    assert status == 2
    assert error["variable"] == f"SMSACCOUNTS_{variable.upper()}"
    assert words in error["message"]
    assert "hunter2" not in error["message"]
    assert "Traceback" not in stderr


@pytest.mark.parametrize(
    ("url", "cause"),
    [
        ("postgresql://postgres:hunter2@127.0.0.1:1/test", "Connection refused"),
        ("sqlite:////nonexistent-dir/smsaccounts.db", "unable to open database file"),
        ("postgresql+nodriver://postgres:hunter2@127.0.0.1/test", "Can't load plugin"),
    ],
)
def test_a_database_that_cannot_be_used_is_one_line_naming_the_masked_url_and_the_cause(
    url: str, cause: str
) -> None:
    status, [error], stderr = call("db", "upgrade", database_url=url)
    assert status == 1
    assert error["error"] == "database"
    assert error["database"] == url.replace("hunter2", "***")
    assert cause in error["message"]
    assert "hunter2" not in error["message"]
    assert "Traceback" not in stderr


@pytest.mark.only_backend("postgresql")
def test_a_missing_postgresql_database_is_named(backend: Any) -> None:
    base = os.environ["SMSACCOUNTS_TEST_DATABASE_URL"].rsplit("/", 1)[0]
    url = f"{base}/no_such_database_{backend.kind}"
    status, [error], _ = call("db", "upgrade", database_url=url)
    assert status == 1
    assert 'database "no_such_database_postgresql" does not exist' in error["message"]


def _arguments(parser: argparse.ArgumentParser, prefix: str) -> list[tuple[str, argparse.Action]]:
    found = []
    for action in parser._actions:
        if isinstance(action, argparse._SubParsersAction):
            for name, child in action.choices.items():
                found += _arguments(child, f"{prefix} {name}")
        elif not isinstance(action, argparse._HelpAction):
            found.append((prefix, action))
    return found


def test_help_describes_every_argument_of_every_command() -> None:
    arguments = _arguments(_parser(Settings()), "smsaccounts")
    assert len(arguments) > 30
    for command, action in arguments:
        assert action.help, f"{command} {action.dest}"
