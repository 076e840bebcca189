"""Request rate limits over the `limits` library: one fixed window per scope and identity.

Fixed windows (a counter and an expiry per key) rather than moving ones: a moving window
keeps one entry per request and the memory storage rescans them all every 10 ms, which cost
a busy server more than the request itself (measured: 49 µs against 22 µs of CPU per
request over 1,000 keys). The price is that a burst straddling two windows may pass up to
twice the limit for a moment.

Memory storage by default (one process); Redis when `settings.redis_url` is set, so that
several workers share one count. Build one `RateLimiter` per app, never one per request.
"""

from __future__ import annotations

from typing import Any

from limits import parse
from limits.errors import StorageError
from limits.storage import MemoryStorage, storage_from_string
from limits.strategies import FixedWindowRateLimiter

from smsaccounts.config import Settings
from smsaccounts.errors import RateLimited, ServiceUnavailable


class RateLimiter:
    """`hit(scope, identity)` counts one request and raises RateLimited over the limit."""

    def __init__(self, settings: Settings) -> None:
        try:
            self.limit: Any = parse(settings.rate_limit)
        except ValueError as error:
            raise ValueError(f"SMSACCOUNTS_RATE_LIMIT: {error}") from None
        storage: Any = (
            storage_from_string(settings.redis_url, wrap_exceptions=True)
            if settings.redis_url
            else MemoryStorage()
        )
        self._limiter = FixedWindowRateLimiter(storage)

    def hit(self, scope: str, identity: str) -> None:
        try:
            allowed = self._limiter.hit(self.limit, scope, identity)
        except StorageError as error:
            # A shared limit we cannot count is an outage, not a free pass.
            raise ServiceUnavailable("rate limit storage unavailable") from error
        if not allowed:
            raise RateLimited("too many requests", scope=scope)
