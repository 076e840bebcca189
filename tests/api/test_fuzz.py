"""schemathesis over /openapi.json: every operation of every dialect, positive and negative
data, every check, a fixed seed. No 5xx, and every answer in its documented status, shape
and content type.

Each operation gets a fresh database seeded with a working tenant (a reseller, its customer
and client key, a mysms user with a token, a LINK admin user with a sub-user, a MOR secret),
and most generated requests have their credential fields replaced by working ones, so that
fuzzing reaches past authentication into every handler. `SMSACCOUNTS_FUZZ_EXAMPLES` raises
the examples per operation (`make fuzz`: 1000) and adds PostgreSQL when it is configured;
`make test` fuzzes on SQLite only, to stay near three minutes on two cores.
"""

from __future__ import annotations

import dataclasses
import os
import zlib
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, settings
from schemathesis.config import SchemathesisConfig
from sqlalchemy import Engine

from smsaccounts import openapi
from smsaccounts.app import create_app
from smsaccounts.config import Settings
from smsaccounts.domain import request_hash
from smsaccounts.domain.clock import FakeClock
from smsaccounts.domain.tree import ADMIN_ID
from smsaccounts.services import auth
from tests import factories
from tests.conftest import make_uow

FUZZ_RUN = "SMSACCOUNTS_FUZZ_EXAMPLES" in os.environ  # `make fuzz`
# `make test` fuzzes on SQLite (about 3 minutes); `make fuzz` on every backend.
pytestmark = [] if FUZZ_RUN else [pytest.mark.only_backend("sqlite")]
EXAMPLES = max(100, int(os.environ.get("SMSACCOUNTS_FUZZ_EXAMPLES", "100")))
MOR_SECRET = "fuzz-secret"
MSISDN = "436761234567"

# mysms, reseller and MOR answer every refusal with HTTP 200 and an error code in the body
# (docs/mysms.md, reseller.md, mor.md): for them, "rejected" negative data is a 200 as well.
_IN_BODY = ["200", "400", "413", "415"]
_LINK_OK = ["2xx", "400", "401", "403", "404", "429"]
# The charging API's refusals (docs/charging.md): a schema-valid message may still be
# refused by a rule (a number libphonenumber rejects, insufficient funds, a used reference).
_CHARGING_OK = ["2xx", "400", "401", "402", "403", "404", "409", "429"]
CONFIG = SchemathesisConfig.from_dict(
    {
        "operations": [
            {
                "include-path-regex": (
                    "^/(rest|json|xml)/(user|remote)/|^/services/rest/|^/billing/api/"
                ),
                "checks": {"negative_data_rejection": {"expected-statuses": _IN_BODY}},
            },
            {
                # LINK's field rules (lengths, formats, paging cursors) are the domain's, not
                # the schema's: a schema-valid value may still be refused with a named 400.
                "include-path-regex": "^/v2/",
                "checks": {"positive_data_acceptance": {"expected-statuses": _LINK_OK}},
            },
            {
                "include-path-regex": "^/charging/",
                "checks": {"positive_data_acceptance": {"expected-statuses": _CHARGING_OK}},
            },
        ]
    }
)
schema = schemathesis.openapi.from_dict(openapi.document(), config=CONFIG)


@dataclasses.dataclass
class Seed:
    """Working credentials and ids of the seeded tenant."""

    values: dict[str, str]
    link_key: str
    link_target: int
    gateway_key: str = ""


@pytest.fixture
def fuzz_app(settings: Settings, engine: Engine, clock: FakeClock) -> tuple[Any, Seed]:
    # Durability is not under test here; without fsync per commit the run is 3x faster.
    app_settings = settings.replace(
        rate_limit="1000000/second", mor_allow_get=True, sqlite_synchronous="OFF"
    )
    uow = make_uow(app_settings, engine, clock)
    reseller = factories.reseller(uow, credits=1000)
    customer = factories.customer(uow, parent=reseller)
    key = factories.client_key(uow, customer, rights=frozenset({"user.create", "user.delete"}))
    mysms_user = factories.user(uow, parent=customer, msisdn=MSISDN)
    with uow.write() as tx:
        token = auth.issue_token(tx, mysms_user)
    link_admin = factories.user(uow, parent=customer, acl_admin=True)
    link_child = factories.user(uow, parent=link_admin)
    auth.set_mor_secret(uow, account_id=ADMIN_ID, secret=MOR_SECRET)
    values = {
        "apiKey": key,
        "authToken": token,
        "msisdn": MSISDN,
        "resellerName": reseller.name,
        "resellerPassword": factories.PASSWORD,
        "reseller": reseller.name,
        "password": factories.PASSWORD,
        "customerId": customer.object_id,
        "u": reseller.name,
        "user_id": str(mysms_user.id),
    }
    gateway = factories.gateway_key(uow, name="fuzz-gw")
    seed = Seed(values, factories.user_key(uow, link_admin), link_child.id, gateway)
    return create_app(app_settings, uow=uow, deliver_sms=False), seed


def with_credentials(case: Any, seed: Seed) -> None:
    """Three requests in four get working credentials in the fields they already carry."""
    data = (case.body, case.query, case.path_parameters)
    if zlib.crc32(repr(data).encode()) % 4 == 0:
        return
    for container in (case.body, case.query):
        if isinstance(container, dict):
            for name in container.keys() & seed.values.keys():
                container[name] = seed.values[name]
    if isinstance(case.headers, dict) and "Authorization" in case.headers:
        case.headers["Authorization"] = f"Bearer {seed.gateway_key}"
    if isinstance(case.query, dict) and "apikey" in case.query:
        case.query["apikey"] = seed.link_key
    if isinstance(case.path_parameters, dict) and "id" in case.path_parameters:
        case.path_parameters["id"] = str(seed.link_target)
    _sign_mor(case)


def _sign_mor(case: Any) -> None:
    """A MOR request signed as a client would: SHA1 over its hash parameters and the secret."""
    function = case.operation.path.rpartition("/")[2]
    function = {
        "user_details": "user_details_get",
        "user_balance_change": "user_balance_update",
    }.get(function, function)
    params = case.body if case.operation.method.upper() == "POST" else case.query
    if function not in request_hash.HASH_PARAMS or not isinstance(params, dict):
        return
    values = [params.get(name) for name in request_hash.HASH_PARAMS[function]]
    if all(isinstance(v, str | None) for v in values):
        params["hash"] = request_hash.expected_hash(values, MOR_SECRET)


@schema.parametrize()
@settings(
    max_examples=EXAMPLES,
    derandomize=True,
    deadline=None,
    suppress_health_check=list(HealthCheck),
    database=None,
)
def test_every_operation_answers_as_documented(case: Any, fuzz_app: tuple[Any, Seed]) -> None:
    app, seed = fuzz_app
    # This test's app (and database) answers, for the case and for the probes checks send.
    case.operation.app = case.operation.schema.app = app
    with_credentials(case, seed)
    case.call_and_validate(base_url="http://testserver")
