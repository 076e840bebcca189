"""Domain errors: a stable `kind` and named fields, no HTTP.

Each dialect maps these to its own codes in one table; nothing below the dialects knows
what a status code is.
"""

from __future__ import annotations

from typing import Any, ClassVar


class DomainError(Exception):
    """Base of every error the core raises on purpose."""

    kind: ClassVar[str] = "domain_error"

    def __init__(self, message: str = "", **fields: Any) -> None:
        super().__init__(message or self.kind)
        self.message = message or self.kind
        self.fields = fields

    def __getattr__(self, name: str) -> Any:
        try:
            return self.__dict__["fields"][name]
        except KeyError:
            raise AttributeError(name) from None

    def __repr__(self) -> str:
        return f"{type(self).__name__}({self.message!r}, {self.fields!r})"


class MissingField(DomainError):
    """A required field was not given (fields: field)."""

    kind = "missing_field"


class InvalidField(DomainError):
    """A field's value breaks a rule (fields: field, reason)."""

    kind = "invalid_field"


class ForbiddenField(DomainError):
    """The caller may not set this field (fields: field)."""

    kind = "forbidden_field"


class NotFound(DomainError):
    """No such entity, or one outside the caller's subtree (fields: entity)."""

    kind = "not_found"


class AlreadyExists(DomainError):
    """A unique name or number is taken (fields: entity, field)."""

    kind = "already_exists"


class AuthenticationFailed(DomainError):
    """Credentials did not match (fields: reason)."""

    kind = "authentication_failed"


class AccountDisabled(DomainError):
    """The account is disabled or deactivated (fields: account_id)."""

    kind = "account_disabled"


class AccessDenied(DomainError):
    """The caller may not do this: a missing right, an IP outside its ranges (fields: reason)."""

    kind = "access_denied"


class Blocked(DomainError):
    """A throttle blocks this action until `until` (fields: action, until)."""

    kind = "blocked"


class InsufficientFunds(DomainError):
    """A pre-paid wallet would go below zero (fields: account_id, asset)."""

    kind = "insufficient_funds"


class IncompatibleBillingType(DomainError):
    """A billing type combination the tree does not allow (fields: reason)."""

    kind = "incompatible_billing_type"


class RateLimited(DomainError):
    """Too many requests in a short time (fields: scope)."""

    kind = "rate_limited"


class ServiceUnavailable(DomainError):
    """The database (or another dependency) does not answer."""

    kind = "service_unavailable"
