"""Lockout rules as pure functions over a small state: failures, window, block, last event.

A `Rule` counts failures (wrong passwords, wrong PINs) and blocks when they pile up; a
`Quota` spaces and caps events that cost something (a PIN SMS, a password reset). Storage
keeps one `State` per `key`, under a row lock while a service applies these rules to it.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib

_ZERO = dt.timedelta(0)


@dataclasses.dataclass(frozen=True, slots=True)
class Rule:
    max_failures: int
    window: dt.timedelta
    block: dt.timedelta


@dataclasses.dataclass(frozen=True, slots=True)
class Quota:
    """At most one event per `spacing`, and (if set) `max_events` per `window`."""

    spacing: dt.timedelta
    max_events: int | None = None
    window: dt.timedelta = dt.timedelta(days=1)


@dataclasses.dataclass(frozen=True, slots=True)
class State:
    failures: int = 0  # failures of a Rule's window, or events of a Quota's window
    window_start: dt.datetime | None = None
    blocked_until: dt.datetime | None = None
    last_at: dt.datetime | None = None


def key(purpose: str, *identity: object) -> str:
    """The key of one counter: the purpose and a fixed-length digest of whose it is.

    An account is counted by its id (`key("login", "account", 42)`), so every door that
    names it shares one count; anything else (an unknown name, an msisdn, an address) by
    its digest, so that no length or spelling of a name escapes the count.
    """
    text = "\x1f".join(str(part) for part in identity)
    return f"{purpose}:{hashlib.sha256(text.encode()).hexdigest()}"


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


def quota_wait(quota: Quota, state: State, now: dt.datetime) -> dt.timedelta:
    """How long until the quota allows one more event (zero: now)."""
    waits = [_ZERO]
    if too_soon(state, now, quota.spacing) and state.last_at is not None:
        waits.append(state.last_at + quota.spacing - now)
    full = quota.max_events is not None and state.failures >= quota.max_events
    if full and _in_window(quota, state, now) and state.window_start is not None:
        waits.append(state.window_start + quota.window - now)
    return max(waits)


def record_event(quota: Quota, state: State, now: dt.datetime) -> State:
    """One more event of the quota (the caller asked `quota_wait` first)."""
    if _in_window(quota, state, now):
        return State(failures=state.failures + 1, window_start=state.window_start, last_at=now)
    return State(failures=1, window_start=now, last_at=now)


def _in_window(quota: Quota, state: State, now: dt.datetime) -> bool:
    return state.window_start is not None and now - state.window_start < quota.window
