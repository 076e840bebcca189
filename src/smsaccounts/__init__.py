"""smsaccounts: account and user management for an SMS platform, in four API dialects."""

__version__ = "0.1.0"
