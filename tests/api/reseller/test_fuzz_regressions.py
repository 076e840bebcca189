"""Bodies schemathesis found crashing the parameter reader (wire.read_params)."""

from __future__ import annotations

from typing import Any

from smsaccounts.domain.models import Account
from tests.factories import PASSWORD


def test_a_multipart_form_is_read_like_any_other_form(client: Any, pool_reseller: Account) -> None:
    """It used to answer 500: starlette's form parser needs python-multipart to be installed."""
    response = client.post(
        "/services/rest/customer/create",
        files={"name": (None, "acme"), "resellerName": (None, pool_reseller.name),
               "resellerPassword": (None, PASSWORD), "integrationId": (None, "i-1"),
               "billingType": (None, "PRE_PAID")},
    )  # fmt: skip
    assert response.status_code == 200
    assert response.json()["status"] == 0


def test_a_malformed_multipart_body_is_status_2_naming_the_body(client: Any) -> None:
    response = client.post(
        "/services/rest/customer/create",
        content=b"not multipart at all",
        headers={"content-type": "multipart/form-data; boundary=xyz"},
    )
    assert response.status_code == 200
    assert response.json()["status"] == 2
    assert response.json()["field"] == "body"
