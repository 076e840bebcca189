"""The in-process fixed-window counters under `limits`' strategies, on a fake clock."""

from __future__ import annotations

import threading

import pytest
from limits import parse
from limits.strategies import FixedWindowRateLimiter

from smsaccounts.config import Settings
from smsaccounts.errors import RateLimited
from smsaccounts.ratelimit import RateLimiter, WindowCounters


class Clock:
    def __init__(self) -> None:
        self.t = 1_000_000.0

    def __call__(self) -> float:
        return self.t


def test_a_window_allows_its_limit_and_starts_over_when_it_expires() -> None:
    clock = Clock()
    limiter = FixedWindowRateLimiter(WindowCounters(now=clock))
    two_a_minute = parse("2/minute")
    assert [limiter.hit(two_a_minute, "ip", "a") for _ in range(3)] == [True, True, False]
    assert limiter.hit(two_a_minute, "ip", "b")  # another identity has its own window
    clock.t += 59.9
    assert not limiter.hit(two_a_minute, "ip", "a")
    clock.t += 0.2
    assert [limiter.hit(two_a_minute, "ip", "a") for _ in range(3)] == [True, True, False]


def test_window_stats_and_test_read_the_same_counters() -> None:
    clock = Clock()
    limiter = FixedWindowRateLimiter(WindowCounters(now=clock))
    three = parse("3/second")
    limiter.hit(three, "k")
    stats = limiter.get_window_stats(three, "k")
    assert (stats.remaining, stats.reset_time) == (2, clock.t + 1)
    assert limiter.test(three, "k")
    limiter.hit(three, "k", cost=2)
    assert not limiter.test(three, "k")
    clock.t += 1
    assert limiter.test(three, "k")
    assert limiter.get_window_stats(three, "k").remaining == 3


def test_expired_counters_are_swept_and_live_ones_kept() -> None:
    clock = Clock()
    counters = WindowCounters(now=clock)
    for n in range(1000):
        counters.incr(f"gone-{n}", expiry=1)
    counters.incr("live", expiry=3600)
    clock.t += WindowCounters.SWEEP_SECONDS
    counters.incr("new", expiry=1)  # the request that finds the sweep due
    assert set(counters._counters) == {"live", "new"}
    assert counters.get("live") == 1


def test_reset_and_clear_drop_counters() -> None:
    counters = WindowCounters()
    counters.incr("a", expiry=60)
    counters.incr("b", expiry=60)
    counters.clear("a")
    assert (counters.get("a"), counters.get("b")) == (0, 1)
    assert counters.reset() == 1
    assert counters.get("b") == 0


def test_concurrent_hits_are_each_counted_once() -> None:
    counters = WindowCounters()

    def hit() -> None:
        for _ in range(2000):
            counters.incr("shared", expiry=3600)

    threads = [threading.Thread(target=hit) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert counters.get("shared") == 16_000


@pytest.mark.parametrize("amount", [1, 5])
def test_incr_returns_the_count_after_the_hit(amount: int) -> None:
    counters = WindowCounters()
    assert counters.incr("k", expiry=60, amount=amount) == amount
    assert counters.incr("k", expiry=60, amount=amount) == 2 * amount


@pytest.mark.parametrize("identity", ["127.0.0.1", "::1", "a/b c", "ünï", "0" * 64, ""])
@pytest.mark.parametrize("rate", ["5/second", "100/minute", "3 per 2 hours"])
def test_the_limiters_own_key_is_limits_key(rate: str, identity: str) -> None:
    """The in-memory limiter counts under the very key `limits`' strategy would."""
    limiter = RateLimiter(Settings(rate_limit=rate))
    assert limiter.key("credential", identity) == parse(rate).key_for("credential", identity)


def test_in_memory_hits_and_limits_strategy_count_one_window() -> None:
    """Counted directly or through `limits`, a hit lands in the same window, refused alike."""
    limiter = RateLimiter(Settings(rate_limit="3/minute"))
    strategy = FixedWindowRateLimiter(limiter._storage)
    limiter.hit("ip", "a")
    assert strategy.hit(limiter.limit, "ip", "a")
    limiter.hit("ip", "a")
    assert not strategy.test(limiter.limit, "ip", "a")
    with pytest.raises(RateLimited) as refused:
        limiter.hit("ip", "a")
    assert 0 < (refused.value.retry_after or 0) <= 60
    limiter.hit("ip", "b")  # another identity has its own window
