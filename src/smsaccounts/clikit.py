"""What every CLI command shares: JSON output, and every failure as one JSON error line.

No traceback reaches an operator unless SMSACCOUNTS_LOG_LEVEL=debug: a bad setting names
its variable and the words it takes, a database that cannot be reached names its URL
(password masked) and the cause, on one line each.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from decimal import Decimal
from typing import Any, NoReturn

from sqlalchemy import exc

from smsaccounts.config import SettingError, mask_url
from smsaccounts.errors import DomainError, ServiceUnavailable

USAGE_EXIT = 2  # argparse's own exit status for a command line it cannot read


class Failure(Exception):
    """A failure already worded for the operator: one JSON object and an exit status."""

    def __init__(self, body: dict[str, Any], status: int = 1) -> None:
        super().__init__(body.get("message", ""))
        self.body = body
        self.status = status


class JsonArgumentParser(argparse.ArgumentParser):
    """argparse, but a command line it cannot read is a JSON error too (exit 2)."""

    def error(self, message: str) -> NoReturn:
        raise Failure(
            {
                "error": "usage",
                "code": "bad_request",
                "message": message,
                "usage": self.format_usage().strip(),
            },
            USAGE_EXIT,
        )


def emit(obj: Any) -> None:
    sys.stdout.write(json.dumps(obj, default=_default) + "\n")


def explain(error: BaseException, database_url: str) -> Failure | None:
    """The operator's one-line account of an error, or None for a bug (shown only in debug)."""
    if isinstance(error, Failure):
        return error
    if isinstance(error, SettingError):
        return Failure({"error": "setting", "code": "bad_setting", "message": str(error),
                        "variable": error.variable}, USAGE_EXIT)  # fmt: skip
    if isinstance(error, ServiceUnavailable) and error.__cause__ is not None:
        return _database(error.__cause__, database_url)
    if isinstance(error, DomainError):
        return Failure(
            {
                "error": error.kind,
                "code": error.code.value,
                "message": error.message,
                **{k: _json_value(v) for k, v in error.fields.items()},
            }
        )
    if isinstance(error, exc.ArgumentError | exc.NoSuchModuleError | exc.DBAPIError):
        return _database(error, database_url)
    return None


def _database(error: BaseException, database_url: str) -> Failure:
    cause = getattr(error, "orig", None) or error
    lines = [line.strip() for line in str(cause).splitlines() if line.strip()]
    reason = lines[0] if lines else type(cause).__name__
    url = mask_url(database_url)
    return Failure(
        {
            "error": "database",
            "code": "unavailable",
            "message": f"cannot use database {url}: {reason}",
            "database": url,
        }
    )


def _json_value(value: Any) -> Any:
    if isinstance(value, str | int | float | bool | None):
        return value
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _default(value: Any) -> Any:
    if isinstance(value, Decimal):
        return str(value)
    if isinstance(value, dt.datetime):
        return value.isoformat()
    raise TypeError(type(value).__name__)
