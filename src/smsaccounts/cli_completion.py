"""Tab completion of the CLI by argcomplete: commands and options from the parser, account
names (`user:al<TAB>` -> `user:alice`) from the database when it can be read.

`smsaccounts completion bash` prints the shell code to eval (argcomplete's `shellcode`, what
`register-python-argcomplete smsaccounts` prints); the shell then runs `smsaccounts` itself
with `_ARGCOMPLETE`, `COMP_LINE` and `COMP_POINT` set, and `autocomplete` answers and exits.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator
from typing import Any

import argcomplete
import argcomplete.shell_integration
import sqlalchemy

from smsaccounts.config import Settings
from smsaccounts.domain.tree import ADMIN_ID, Kind

SHELLS = ("bash", "zsh", "fish", "tcsh", "powershell")
PROGRAM = "smsaccounts"
# Arguments naming an account as ACCOUNT (KIND:NAME, an id, ...), and those naming one of a
# known kind by its bare name.
ACCOUNT_ARGUMENTS = frozenset({"account", "source", "target", "under", "actor"})
NAME_ARGUMENTS = {"reseller": Kind.RESELLER, "customer": Kind.CUSTOMER, "user": Kind.USER,
                  "parent": Kind.USER}  # fmt: skip
MAX_NAMES = 50  # a TAB lists at most this many names


def add_parser(sub: Any) -> None:
    c = sub.add_parser("completion", help="print the shell code that enables tab completion")
    c.add_argument("shell", choices=SHELLS, help='the shell: eval "$(smsaccounts completion bash)"')
    c.set_defaults(handler=shellcode)


def shellcode(args: argparse.Namespace) -> str:
    """The code for `args.shell` to eval; plain text, not JSON, since a shell reads it."""
    return argcomplete.shell_integration.shellcode([PROGRAM], shell=args.shell)


def autocomplete(parser: argparse.ArgumentParser, settings: Settings) -> None:
    """Answer the shell's TAB and exit, when the shell asks (`_ARGCOMPLETE` set); else nothing."""
    if "_ARGCOMPLETE" not in os.environ:
        return
    for action in _actions(parser):
        if action.dest in ACCOUNT_ARGUMENTS:
            action.completer = _account_completer(settings)  # type: ignore[attr-defined]
        elif action.dest in NAME_ARGUMENTS:
            kind = NAME_ARGUMENTS[action.dest]
            action.completer = _name_completer(settings, kind)  # type: ignore[attr-defined]
    # sys.exit, not os._exit: the database engine a completer opened is closed on the way out.
    argcomplete.autocomplete(parser, exit_method=sys.exit)


def _actions(parser: argparse.ArgumentParser) -> Iterator[argparse.Action]:
    for action in parser._actions:
        yield action
        if isinstance(action, argparse._SubParsersAction):
            for child in dict.fromkeys(action.choices.values()):
                yield from _actions(child)


def _account_completer(settings: Settings) -> Callable[..., list[str]]:
    def complete(prefix: str, **_kwargs: Any) -> list[str]:
        kind, sep, name = prefix.partition(":")
        if not sep or kind not in Kind.__members__.values():
            return [f"{k.value}:" for k in Kind if k is not Kind.ADMIN] + ["admin"]
        return [f"{kind}:{found}" for found in names(settings, Kind(kind), name)]

    return complete


def _name_completer(settings: Settings, kind: Kind) -> Callable[..., list[str]]:
    def complete(prefix: str, **_kwargs: Any) -> list[str]:
        return names(settings, kind, prefix)

    return complete


def names(settings: Settings, kind: Kind, prefix: str) -> list[str]:
    """Live account names of `kind` starting with `prefix`; none when the database cannot be
    read (a TAB never prints an error into the operator's command line)."""
    from smsaccounts.services import accounts
    from smsaccounts.storage.unit_of_work import build

    if not _may_open(settings.database_url):
        return []
    try:
        uow = build(settings)
    except Exception:  # noqa: BLE001 - completion is best effort: no names, no noise
        return []
    try:
        with uow.read() as tx:
            root = tx.accounts.get(ADMIN_ID)
        if root is None:
            return []
        found = accounts.search(uow, actor=root, kind=kind, text=prefix or None, limit=MAX_NAMES)
        return [a.name for a in found if a.name.startswith(prefix) and a.deactivated is None]
    except Exception:  # noqa: BLE001 - completion is best effort: no names, no noise
        return []
    finally:
        uow.db.dispose()


def _may_open(url: str) -> bool:
    """Opening a SQLite file that is not there would create it: a TAB must not."""
    if not url.startswith("sqlite"):
        return True
    database = sqlalchemy.engine.make_url(url).database or ""
    return database not in ("", ":memory:") and os.path.exists(database)
