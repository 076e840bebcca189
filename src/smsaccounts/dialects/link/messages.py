"""What the LINK v2 users API sends and accepts, as msgspec Structs (seed 002).

JSON is these Structs encoded by msgspec; XML is the same Structs through `wire.to_xml`.
The field order of `User` is the seed's.
"""

from __future__ import annotations

import msgspec
from msgspec import UNSET, UnsetType, field

FORMATS = ("json", "xml")

# A text field in a write: left out (UNSET), a string, or null (cleared to '').
Text = str | UnsetType | None


class User(msgspec.Struct, gc=False):
    """One user, exactly the seed's 25 fields and JSON types.

    Positional too: a page builds 100 of them in field order (`views.page_users`).

    `gc=False`: its fields are strings, numbers and None, so it can be in no reference
    cycle, and a page's 100 of them need not be tracked by the cycle collector.
    """

    integration_id: str | None
    company: str | None
    integration: str | None
    defaultsender: str | None
    balance: str  # money with 7 decimals
    use_currency: int  # 0 | 1
    max_forbrug: str  # max messages; "0" = no limit
    forbrug: str  # messages sent
    deactivated: str | None  # DD-MM-YYYY HH:MM:SS (UTC), null while active
    created: str  # DD-MM-YYYY HH:MM:SS (UTC)
    parent: int  # the parent user's id, 0 for a topmost user
    id: int
    username: str
    apikey: str  # "---" except the caller's own (or a new user's, once)
    materialized_path: str
    prefixes: str
    iprange: str
    acl_billing: bool = field(name="aclBilling")
    acl_billing_high: bool = field(name="aclBillingHigh")
    acl_charity: bool = field(name="aclCharity")
    acl_incoming: bool = field(name="aclIncoming")
    acl_smsinbox: bool = field(name="aclSmsinbox")
    acl_hlr: bool = field(name="aclHlr")
    acl_admin: bool = field(name="aclAdmin")
    enabled: bool
    credits: int
    # Not LINK's: who pays (`own` or `parent`); balance and credits are the paying wallet's.
    funding: str


class Paging(msgspec.Struct, kw_only=True):
    """LINK's paging object; `next` is an opaque cursor for `?after=` (null on the last page)."""

    current: int
    pages: int
    offset: int  # the page size, as LINK's other listings report it
    next: str | None


class Stats(msgspec.Struct, kw_only=True):
    total: int


class UsersResponse(msgspec.Struct, kw_only=True):
    users: list[User]
    paging: Paging
    stats: Stats
    status: int = 200


class UserResponse(msgspec.Struct, kw_only=True):
    user: User
    status: int = 200


class PingResponse(msgspec.Struct, kw_only=True):
    status: int
    userid: str
    username: str
    iprange: str
    apikey: str


class ErrorResponse(msgspec.Struct, kw_only=True):
    status: int
    message: str


class UserInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """What POST and PUT accept inside `user`; a field left out is left unchanged."""

    username: str | UnsetType = UNSET
    password: str | UnsetType = UNSET
    company: Text = UNSET
    integration_id: Text = UNSET
    integration: Text = UNSET
    defaultsender: Text = UNSET
    max_forbrug: int | Text = UNSET
    prefixes: Text = UNSET
    iprange: Text = UNSET
    acl_billing: bool | UnsetType = field(default=UNSET, name="aclBilling")
    acl_billing_high: bool | UnsetType = field(default=UNSET, name="aclBillingHigh")
    acl_charity: bool | UnsetType = field(default=UNSET, name="aclCharity")
    acl_incoming: bool | UnsetType = field(default=UNSET, name="aclIncoming")
    acl_smsinbox: bool | UnsetType = field(default=UNSET, name="aclSmsinbox")
    acl_hlr: bool | UnsetType = field(default=UNSET, name="aclHlr")
    acl_admin: bool | UnsetType = field(default=UNSET, name="aclAdmin")
    enabled: bool | UnsetType = UNSET
    funding: str | UnsetType = UNSET  # own | parent (default for a sub-user: parent)
    # MOR personal and registration details, kept here so another dialect can read them.
    first_name: Text = UNSET
    surname: Text = UNSET
    personalid: Text = UNSET
    agreement_number: Text = UNSET
    agreement_date: Text = UNSET
    taxation_country: Text = UNSET
    vat_reg_number: Text = UNSET
    vat_percent: Text = UNSET
    language: str | UnsetType = UNSET
    reg_address: Text = UNSET
    reg_postcode: Text = UNSET
    reg_city: Text = UNSET
    reg_country: Text = UNSET
    reg_state: Text = UNSET
    reg_direction: Text = UNSET
    reg_phone: Text = UNSET
    reg_mobile: Text = UNSET
    reg_fax: Text = UNSET
    reg_email: Text = UNSET


# Shown by GET but never set through the API: naming one in a body is a 400.
READ_ONLY = frozenset(
    {"balance", "credits", "forbrug", "parent", "id", "apikey", "created", "deactivated",
     "materialized_path", "use_currency"}
)  # fmt: skip


class MessageInput(msgspec.Struct, kw_only=True, forbid_unknown_fields=True):
    """`POST /v2/message`'s `message` object, as LINK documents its Messages resource.

    `recipients`, `sender` and `message` are acted on; `price` (øre, at least 100: a premium
    message), `charity` and `format` (GSM or UNICODE) set the charge's class and coding.
    Every other documented field is accepted by the schema and refused by name (400), as this
    server cannot honour it: it is never silently dropped.
    """

    recipients: str | list[str] | None = None  # comma-separated, or a list
    sender: str | None = None
    message: str | None = None
    price: int | None = None
    charity: bool | None = None
    format: str | None = None
    status: bool | None = None
    statusurl: str | None = None
    returndata: str | None = None
    # LINK's SMS class (0-3), not a charge class; `class` is a Python keyword.
    sms_class: int | None = field(default=None, name="class")
    sendtime: str | None = None
    invoicetext: str | None = None
    validity: int | None = None
    contenttype: int | None = None
    udh: str | None = None
    attachment: list[str] | None = None
    pushurl: str | None = None
    pushexpire: str | None = None
    filter: list[str] | None = None
    segmentation: list[str] | None = None
    pid: int | None = None
    advanced: str | None = None
    protocol: str | None = None
    revenuetext: str | None = None


class MessageBody(msgspec.Struct):
    """`POST /v2/message.{json|xml}` body: `{"message": {...}}`, or `<message>` in XML."""

    message: MessageInput


class BatchStat(msgspec.Struct, kw_only=True):
    sendtime: str  # DD-MM-YYYY HH:MM:SS (UTC)
    buffered: int
    received: int  # recipients queued
    rejected: int


class BatchDetails(msgspec.Struct, kw_only=True):
    sendtime: str
    batchid: int
    state: str  # QUEUED


class MessageResponse(msgspec.Struct, kw_only=True):
    """LINK's batch status for a submitted message (the PHP SDK's BatchStatusResponse)."""

    stat: BatchStat
    details: BatchDetails
    status: int = 201
