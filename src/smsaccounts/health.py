"""Readiness: whether this worker can serve, naming each dependency that cannot.

`/healthz` only says the process answers (liveness); `/readyz` checks what a request needs:
the database answers, its schema is at this code's migration head, and Redis answers when
the rate limits are kept there. A load balancer that routes by `/readyz` stops sending
requests to a node that would answer them all "unavailable".
"""

from __future__ import annotations

from alembic.script import ScriptDirectory
from sqlalchemy import exc, text

from smsaccounts.ratelimit import RateLimiter
from smsaccounts.storage.database import Database
from smsaccounts.storage.migrate import MIGRATIONS

DATABASE, MIGRATIONS_PENDING, REDIS = "database", "migrations", "redis"


def migration_heads() -> frozenset[str]:
    """The revisions this code's migration history ends in (read from the files, once)."""
    return frozenset(ScriptDirectory(str(MIGRATIONS)).get_heads())


def known_revisions() -> frozenset[str]:
    """Every revision of this code's migration history."""
    script = ScriptDirectory(str(MIGRATIONS))
    return frozenset(rev.revision for rev in script.walk_revisions())


class Readiness:
    """`failed()` lists the dependencies that are not ready; empty means ready.

    Migrations are pending when the database is behind this code. A database ahead of it
    (a revision this code does not know: a newer version migrated it during a rolling
    upgrade) is ready, since migrations only add columns and tables: the old workers keep
    serving until they are replaced.
    """

    def __init__(self, db: Database, limiter: RateLimiter) -> None:
        self.db = db
        self.limiter = limiter
        self.heads = migration_heads()
        self.known = known_revisions()

    def failed(self) -> list[str]:
        failed = []
        applied = self._applied()
        if applied is None:
            failed.append(DATABASE)
        elif applied != self.heads and applied <= self.known:
            failed.append(MIGRATIONS_PENDING)
        if self.limiter.shared and not self.limiter.check():
            failed.append(REDIS)
        return failed

    def _applied(self) -> frozenset[str] | None:
        """The database's applied revisions; None when it does not answer."""
        try:
            with self.db.engine.connect() as conn:
                rows = conn.execute(text("SELECT version_num FROM alembic_version")).all()
        except exc.ProgrammingError:
            return frozenset()  # no alembic_version table: nothing applied yet
        except exc.OperationalError as error:
            if "no such table" in str(error.orig):  # SQLite's way to say the same
                return frozenset()
            return None
        except exc.SQLAlchemyError:
            return None
        return frozenset(row.version_num for row in rows)
