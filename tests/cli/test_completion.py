"""Tab completion (argcomplete): the shell code to eval, commands and options from the parser,
and account names from the database when it can be read. The command runs as the shell code
runs it, with `_ARGCOMPLETE`, `COMP_LINE` and `COMP_POINT` set (in a process of its own:
argcomplete leaves its output and debug streams open, expecting its process to end)."""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from smsaccounts import cli
from tests.cli.test_cli import COMMAND, run

IFS = "\013"  # argcomplete's default separator of completions


def complete(line: str, tmp_path: Path, db_url: str | None = None) -> list[str]:
    """What a TAB at the end of `line` offers, as the shell would receive it."""
    out = tmp_path / "completions"
    env = {**os.environ, "_ARGCOMPLETE": "1", "COMP_LINE": line, "COMP_POINT": str(len(line)),
           "_ARGCOMPLETE_STDOUT_FILENAME": str(out)}  # fmt: skip
    if db_url is not None:
        env["SMSACCOUNTS_DATABASE_URL"] = db_url
    done = subprocess.run([COMMAND], env=env, capture_output=True, text=True, timeout=60)
    assert done.returncode == 0, done.stdout + done.stderr
    return [word.strip() for word in out.read_text().split(IFS) if word]


def test_a_command_completes_from_its_first_letters(tmp_path: Path) -> None:
    assert complete("smsaccounts acc", tmp_path) == ["account"]
    assert set(complete("smsaccounts account d", tmp_path)) == {"disable", "delete"}
    assert complete("smsaccounts account list --ki", tmp_path) == ["--kind"]


def test_completion_bash_prints_the_shell_code_to_eval(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["completion", "bash"]) == 0
    code = capsys.readouterr().out
    assert "complete " in code
    assert "smsaccounts" in code
    assert "_ARGCOMPLETE" in code


def test_an_unknown_shell_is_a_json_usage_error(capsys: pytest.CaptureFixture[str]) -> None:
    assert cli.main(["completion", "cmd.exe"]) == 2
    assert '"error": "usage"' in capsys.readouterr().out


def test_account_names_complete_from_the_database(db_url: str, tmp_path: Path) -> None:
    run(db_url, "reseller", "create", "acme", "--password", "acme-pw")
    for name in ("shop", "shelf", "bakery"):
        run(db_url, "customer", "create", name, "--reseller", "acme")
    offered = complete("smsaccounts account show customer:sh", tmp_path, db_url)
    assert sorted(offered) == ["customer:shelf", "customer:shop"]
    kinds = complete("smsaccounts ledger list ", tmp_path, db_url)
    assert {"reseller:", "customer:", "user:", "admin"} <= set(kinds)
    bare = complete("smsaccounts apikey create app --customer b", tmp_path, db_url)
    assert bare == ["bakery"]


def test_without_a_database_names_complete_to_nothing_and_no_file_is_made(tmp_path: Path) -> None:
    missing = tmp_path / "none.db"
    url = f"sqlite:///{missing}"
    assert complete("smsaccounts account show user:a", tmp_path, url) == []
    assert not os.path.exists(missing)
