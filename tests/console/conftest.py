"""A signed-in console client: signs in through the form and posts forms with their token."""

from __future__ import annotations

import re
from collections.abc import Callable
from typing import Any

import pytest
from starlette.testclient import TestClient

from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.services import auth
from smsaccounts.storage.unit_of_work import UnitOfWork

ADMIN_PASSWORD = "admin-pw-1"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


class Browser:
    """A TestClient that keeps its cookies, reads each page's CSRF token and sends it back."""

    def __init__(self, http: TestClient) -> None:
        self.http = http
        self.csrf = ""

    def get(self, path: str, **kwargs: Any) -> Any:
        response = self.http.get(path, follow_redirects=True, **kwargs)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def post(self, path: str, data: dict[str, str], *, csrf: bool = True) -> Any:
        body = {**data, "csrf": self.csrf} if csrf else data
        response = self.http.post(path, data=body, follow_redirects=True)
        found = CSRF.search(response.text)
        if found:
            self.csrf = found.group(1)
        return response

    def sign_in(self, name: str, password: str) -> Any:
        self.get("/console/sign-in")
        return self.post("/console/sign-in", {"name": name, "password": password})


@pytest.fixture
def admin_password(uow: UnitOfWork) -> str:
    auth.change_password(uow, account_id=ADMIN_ID, password=ADMIN_PASSWORD)
    return ADMIN_PASSWORD


@pytest.fixture
def browser(make_http: Callable[..., TestClient]) -> Callable[..., Browser]:
    def build(**changes: Any) -> Browser:
        return Browser(make_http(**changes))

    return build


@pytest.fixture
def admin(browser: Callable[..., Browser], admin_password: str) -> Browser:
    b = browser()
    assert b.sign_in("admin", admin_password).status_code == 200
    return b
