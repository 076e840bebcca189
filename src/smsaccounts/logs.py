"""structlog set-up: JSON lines in production, a console renderer for people; the standard
library's records (uvicorn's among them) go through the same renderer.

Also the request's caller slot: the pipeline opens one per request, and authentication
fills it in, so the access line names who called without any dialect passing it along.
"""

from __future__ import annotations

import contextvars
import dataclasses
import logging
import sys
from typing import Any

import structlog

from smsaccounts.config import CHOICES, Settings

LEVELS = CHOICES["log_level"]


@dataclasses.dataclass(slots=True)
class CallerSlot:
    account_id: int | None = None


_caller: contextvars.ContextVar[CallerSlot | None] = contextvars.ContextVar(
    "smsaccounts_caller", default=None
)


def caller_slot() -> CallerSlot:
    """A fresh slot for this request's context; worker threads share it (contexts are copied)."""
    slot = CallerSlot()
    _caller.set(slot)
    return slot


def note_caller(account_id: int) -> None:
    """Record the authenticated account of the current request, if one is being served."""
    slot = _caller.get()
    if slot is not None:
        slot.account_id = account_id


def level_of(name: str) -> int:
    """A level name from the settings; anything else is a clear error, not a KeyError."""
    if name.lower() not in LEVELS:
        raise ValueError(f"SMSACCOUNTS_LOG_LEVEL must be one of {', '.join(LEVELS)}: {name!r}")
    return logging.getLevelNamesMapping()[name.upper()]


def configure(settings: Settings) -> None:
    level = level_of(settings.log_level)
    renderer = _renderer(settings)
    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.processors.add_log_level,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    structlog.configure(
        processors=[*shared, structlog.processors.format_exc_info, renderer],
        wrapper_class=structlog.make_filtering_bound_logger(level),
        logger_factory=structlog.PrintLoggerFactory(file=sys.stderr),
        cache_logger_on_first_use=True,
    )
    # uvicorn's own lines (startup, errors, its access log) in the same format.
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(
        structlog.stdlib.ProcessorFormatter(
            processors=[structlog.stdlib.ProcessorFormatter.remove_processors_meta, renderer],
            foreign_pre_chain=[structlog.stdlib.add_logger_name, *shared],
        )
    )
    for name in ("uvicorn", "uvicorn.error", "uvicorn.access"):
        logger = logging.getLogger(name)
        logger.handlers = [handler]
        logger.propagate = False
        logger.setLevel(level)


def _renderer(settings: Settings) -> Any:
    if settings.log_format == "console":
        # Colours only for a person at a terminal: a file or a pipe gets plain text.
        return structlog.dev.ConsoleRenderer(colors=sys.stderr.isatty())
    return structlog.processors.JSONRenderer()
