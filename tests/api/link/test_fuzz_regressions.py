"""What schemathesis found in the LINK dialect, pinned down."""

from __future__ import annotations

from typing import Any

from lxml import etree

from smsaccounts.domain.models import Account


def test_a_control_character_set_through_json_still_renders_in_xml(
    client: Any, root: Account, root_key: str
) -> None:
    """A control character stored through JSON used to fail the XML encoder with a 500."""
    put = client.put(f"/v2/user/{root.id}.json?apikey={root_key}",
                     json={"user": {"company": "a\x01b\x1fc"}})  # fmt: skip
    assert put.status_code == 200
    assert put.json()["user"]["company"] == "a\x01b\x1fc"  # stored as sent
    answer = client.get(f"/v2/user/{root.id}.xml?apikey={root_key}")
    assert answer.status_code == 200
    company = etree.fromstring(answer.content).findtext("user/company")
    assert company == "a\ufffdb\ufffdc"


def test_a_nul_in_a_body_or_a_parameter_is_a_400_and_changes_nothing(
    client: Any, root: Account, root_key: str
) -> None:
    """A NUL used to reach the database: PostgreSQL refused it and the client got a 500."""
    put = client.put(f"/v2/user/{root.id}.json?apikey={root_key}",
                     json={"user": {"company": "a\x00b"}})  # fmt: skip
    assert put.status_code == 400
    legacy = client.get("/v2/ping.json?apikey=legacy&username=a%00b&password=x")
    assert legacy.status_code == 400
    answer = client.get(f"/v2/user/{root.id}.json?apikey={root_key}")
    assert answer.json()["user"]["company"] is None


def test_a_405_on_a_user_lists_every_method_of_that_path(
    client: Any, root: Account, root_key: str
) -> None:
    """`Allow` used to list only GET: each method of the path was a route of its own."""
    answer = client.request("PATCH", f"/v2/user/{root.id}.json?apikey={root_key}")
    assert answer.status_code == 405
    assert set(answer.headers["allow"].replace(" ", "").split(",")) >= {"GET", "PUT", "DELETE"}
    assert client.delete(f"/v2/user/{root.id}.json?apikey={root_key}").status_code == 200
