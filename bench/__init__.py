"""`make bench`: the load benchmark of smsaccounts and its baselines (see bench/README.md)."""
