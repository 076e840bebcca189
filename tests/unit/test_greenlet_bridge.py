"""SQLAlchemy's greenlet bridge is made once, at import, before any worker thread asks for it.

SQLAlchemy imports greenlet on the first call that needs it, and that first call is not safe
across threads: a thread asking while another is halfway through recurses until
RecursionError. A CI run saw it as one MOR debit's "Internal error" just after a restart,
when four worker threads asked `AwaitedConnections.inside()` at once."""

from __future__ import annotations

import subprocess
import sys
import textwrap

# In a fresh interpreter, as `smsaccounts serve` starts: import the module, then ask the bridge
# (descriptors, which never run the lazy set-up) whether it is already made.
_PROBE = textwrap.dedent(
    """
    import sqlalchemy.util.concurrency as concurrency
    import smsaccounts.storage.awaited  # noqa: F401
    shim = concurrency._concurrency_shim
    made = []
    for name in type(shim).__slots__:
        try:
            getattr(type(shim), name).__get__(shim, type(shim))
        except AttributeError:
            made.append(f"{name}: not made")
        else:
            made.append(f"{name}: made")
    print(";".join(made))
    """
)


def test_importing_the_awaited_reads_makes_sqlalchemys_greenlet_bridge() -> None:
    done = subprocess.run(
        [sys.executable, "-c", _PROBE], capture_output=True, text=True, check=True, timeout=60
    )
    states = done.stdout.strip().split(";")
    assert all(state.endswith(": made") for state in states), states
