"""Lockout rules as pure functions over a small state: failures, window, block, last event."""

from __future__ import annotations

import dataclasses
import datetime as dt


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    max_failures: int
    window: dt.timedelta
    block: dt.timedelta


@dataclasses.dataclass(frozen=True, slots=True)
class State:
    failures: int = 0
    window_start: dt.datetime | None = None
    blocked_until: dt.datetime | None = None
    last_at: dt.datetime | None = None


def is_blocked(state: State, now: dt.datetime) -> bool:
    return state.blocked_until is not None and now < state.blocked_until


def record_failure(rule: Rule, state: State, now: dt.datetime) -> State:
    """One more failure; the count does not grow while blocked, and the last one blocks."""
    if is_blocked(state, now):
        return state
    fresh = state.window_start is None or now - state.window_start >= rule.window
    failures = 1 if fresh else state.failures + 1
    start = now if fresh else state.window_start
    if failures >= rule.max_failures:
        return State(blocked_until=now + rule.block, last_at=now)
    return State(failures=failures, window_start=start, last_at=now)


def record_success(state: State, now: dt.datetime) -> State:
    """A success clears the failures; it never lifts a block (the caller checks first)."""
    return State(blocked_until=state.blocked_until, last_at=now)


def too_soon(state: State, now: dt.datetime, spacing: dt.timedelta) -> bool:
    """True while the last event is less than `spacing` ago (e.g. a second password reset)."""
    return state.last_at is not None and now - state.last_at < spacing
