"""The web console at /console/: server-rendered pages over the same services as the APIs."""

from smsaccounts.console.web import mount

__all__ = ["mount"]
