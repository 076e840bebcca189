"""Lockout rules with a moving clock: counts, windows, blocks."""

import datetime as dt

from smsaccounts.domain import throttle

T0 = dt.datetime(2026, 1, 1, tzinfo=dt.UTC)
RULE = throttle.Rule(
    max_failures=5, window=dt.timedelta(minutes=15), block=dt.timedelta(minutes=15)
)


def at(minutes: float) -> dt.datetime:
    return T0 + dt.timedelta(minutes=minutes)


def fail(times: int, state: throttle.State | None = None, start: float = 0) -> throttle.State:
    state = state or throttle.State()
    for i in range(times):
        state = throttle.record_failure(RULE, state, at(start + i))
    return state


def test_five_failures_within_the_window_block_for_fifteen_minutes() -> None:
    state = fail(5)
    assert throttle.is_blocked(state, at(5))
    assert throttle.is_blocked(state, at(4 + 14.9))
    assert not throttle.is_blocked(state, at(4 + 15))


def test_four_failures_do_not_block() -> None:
    assert not throttle.is_blocked(fail(4), at(4))


def test_failures_spread_wider_than_the_window_never_block() -> None:
    state = throttle.State()
    for i in range(20):
        state = throttle.record_failure(RULE, state, at(i * 4))
        assert not throttle.is_blocked(state, at(i * 4))


def test_the_count_does_not_grow_while_blocked() -> None:
    blocked = fail(5)
    assert throttle.record_failure(RULE, blocked, at(6)) == blocked


def test_a_success_clears_the_failures_but_never_lifts_a_block() -> None:
    state = throttle.record_success(fail(4), at(5))
    assert state.failures == 0
    assert not throttle.is_blocked(fail(4, state, start=6), at(10))
    blocked = fail(5)
    assert throttle.is_blocked(throttle.record_success(blocked, at(6)), at(6))


def test_too_soon_measures_from_the_last_event() -> None:
    state = throttle.record_success(throttle.State(), at(0))
    assert throttle.too_soon(state, at(14), dt.timedelta(minutes=15))
    assert not throttle.too_soon(state, at(15), dt.timedelta(minutes=15))
    assert not throttle.too_soon(throttle.State(), at(0), dt.timedelta(minutes=15))


def test_keys_are_fixed_length_whatever_the_name() -> None:
    short, long = (
        throttle.key("login", "reseller", "r"),
        throttle.key("login", "reseller", "r" * 500),
    )
    assert len(short) == len(long) <= 128  # the column's width
    assert short != long
    assert throttle.key("login", "account", 7) != throttle.key("login", "account", 70)
    assert throttle.key("login", "a", "bc") != throttle.key("login", "ab", "c")


QUOTA = throttle.Quota(spacing=dt.timedelta(minutes=1), max_events=5, window=dt.timedelta(days=1))


def send(state: throttle.State, minute: float) -> throttle.State:
    assert throttle.quota_wait(QUOTA, state, at(minute)) == dt.timedelta(0)
    return throttle.record_event(QUOTA, state, at(minute))


def test_a_quota_spaces_events() -> None:
    state = send(throttle.State(), 0)
    assert throttle.quota_wait(QUOTA, state, at(0.5)) == dt.timedelta(seconds=30)
    send(state, 1)


def test_a_quota_caps_events_per_window_then_opens_a_new_one() -> None:
    state = throttle.State()
    for minute in range(5):
        state = send(state, minute)
    assert throttle.quota_wait(QUOTA, state, at(60)) == dt.timedelta(days=1) - dt.timedelta(
        minutes=60
    )
    state = send(state, 24 * 60)
    assert (state.failures, state.window_start) == (1, at(24 * 60))


def test_a_quota_without_a_cap_only_spaces() -> None:
    quota = throttle.Quota(spacing=dt.timedelta(minutes=15))
    state = throttle.State()
    for i in range(50):
        assert throttle.quota_wait(quota, state, at(i * 15)) == dt.timedelta(0)
        state = throttle.record_event(quota, state, at(i * 15))
    assert throttle.quota_wait(quota, state, at(49 * 15 + 14)) == dt.timedelta(minutes=1)
