"""Browser tests: Playwright (the Python package) driving Debian's Chromium, headless.

No browser is ever downloaded: the tests use /usr/bin/chromium (package `chromium`). When
it or the playwright package is missing, only the tests marked `browser` are deselected,
and one line says why. Screenshots go to SCREENSHOTS.
"""

from __future__ import annotations

import importlib.util
import socket
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from smsaccounts.config import Settings
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.services import auth
from smsaccounts.storage.unit_of_work import UnitOfWork

CHROMIUM = Path("/usr/bin/chromium")
SCREENSHOTS = Path(__file__).resolve().parents[2] / "build" / "console-screenshots"
ARGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
        "--disable-component-update", "--disable-sync", "--no-first-run"]  # fmt: skip
ADMIN_PASSWORD = "admin-pw-1"


def missing() -> str | None:
    """Why the browser tests cannot run here, or None."""
    if importlib.util.find_spec("playwright") is None:
        return "the playwright package is not installed (pip install playwright)"
    if not CHROMIUM.exists():
        return f"{CHROMIUM} is missing (apt-get install -y chromium)"
    return None


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    why = missing()
    marked = [item for item in items if item.get_closest_marker("browser")]
    if why is None or not marked:
        return
    config.hook.pytest_deselected(items=marked)
    items[:] = [item for item in items if not item.get_closest_marker("browser")]
    reporter = config.pluginmanager.get_plugin("terminalreporter")
    line = f"browser tests deselected ({len(marked)}): {why}"
    if reporter is not None:
        reporter.write_line(line)
    else:  # pragma: no cover - without a terminal
        print(line)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port: int = probe.getsockname()[1]
        return port


@pytest.fixture
def server(settings: Settings, uow: UnitOfWork) -> Iterator[str]:
    """The whole app served by uvicorn on a free local port, on this test's database."""
    import uvicorn

    from smsaccounts.app import create_app

    auth.change_password(uow, account_id=ADMIN_ID, password=ADMIN_PASSWORD)
    port = _free_port()
    # Fresh dashboard figures on every page: the scenario reads them right after each change.
    served_settings = settings.replace(rate_limit="100000/second", console_stats_seconds=0)
    app = create_app(served_settings, uow=uow, deliver_sms=False)
    config = uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                            proxy_headers=False, lifespan="on")  # fmt: skip
    served = uvicorn.Server(config)
    thread = threading.Thread(target=served.run, daemon=True)
    thread.start()
    while not served.started:  # readiness, not timing: it flips once the socket listens
        if not thread.is_alive():
            raise RuntimeError("uvicorn did not start")
        time.sleep(0.01)
    yield f"http://127.0.0.1:{port}"
    served.should_exit = True
    thread.join()


@pytest.fixture
def chromium() -> Iterator[Any]:
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=ARGS
        )
        yield browser
        browser.close()


@pytest.fixture
def screenshots() -> Path:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    return SCREENSHOTS
