"""The wire elements of seed 000, one Struct each, named exactly as the seed names them.

JSON is `msgspec.json.encode(struct)`, XML is `wire.to_xml(type(struct).__name__, struct)`:
two encoders of one value. Request fields are all optional here so that a missing one
reaches the use case and answers errorCode 2 instead of failing the decode. msisdns and
recipients arrive as JSON numbers or as strings (with or without `+`).
"""

from __future__ import annotations

import msgspec

Number = int | str  # an msisdn or PIN as clients send it


class request(msgspec.Struct, kw_only=True):
    """Every request: the client application's API key."""

    apiKey: str | None = None


class authRequest(request, kw_only=True):
    """A request made for a logged-in user."""

    authToken: str | None = None


class response(msgspec.Struct, kw_only=True, omit_defaults=True):
    """Every response: `errorCode` (0 = success); the other fields only on success."""

    errorCode: int


# -- requests ----------------------------------------------------------------------------


class userVerifyMsisdnRequest(request, kw_only=True):
    msisdn: Number | None = None
    pin: Number | None = None


class userCreateRequest(request, kw_only=True):
    msisdn: Number | None = None
    password: str | None = None
    pin: Number | None = None


class userLoginRequest(request, kw_only=True):
    msisdn: Number | None = None
    password: str | None = None
    key: str | None = None
    checkKey: bool = False


class userResetPasswordRequest(request, kw_only=True):
    msisdn: Number | None = None


class userGetBalanceRequest(authRequest, kw_only=True):
    pass


class userGetFeatureRequest(authRequest, kw_only=True):
    pass


class userGetSettingRequest(authRequest, kw_only=True):
    pass


class userSetSettingRequest(authRequest, kw_only=True):
    smsRouting: int | None = None
    signature: str | None = None
    a2aSendEnabled: bool | None = None
    a2aReceiveEnabled: bool | None = None


class userGetSmsRoutingRequest(authRequest, kw_only=True):
    recipient: Number | None = None


class userSetSmsRoutingRequest(authRequest, kw_only=True):
    recipient: Number | None = None
    smsRouting: int | None = None


class userChangePasswordRequest(authRequest, kw_only=True):
    password: str | None = None


class userDeleteRequest(authRequest, kw_only=True):
    pass


# -- responses ---------------------------------------------------------------------------


class userVerifyMsisdnResponse(response, kw_only=True, omit_defaults=True):
    pass


class userCreateResponse(response, kw_only=True, omit_defaults=True):
    authToken: str | None = None


class userLoginResponse(response, kw_only=True, omit_defaults=True):
    authToken: str | None = None


class userResetPasswordResponse(response, kw_only=True, omit_defaults=True):
    pass


class userGetBalanceResponse(response, kw_only=True, omit_defaults=True):
    freeSms: int | None = None
    credits: int | None = None


class userGetFeatureResponse(response, kw_only=True, omit_defaults=True):
    features: list[str] | None = None


class userGetSettingResponse(response, kw_only=True, omit_defaults=True):
    smsRouting: int | None = None
    signature: str | None = None
    a2aSendEnabled: bool | None = None
    a2aReceiveEnabled: bool | None = None


class userSetSettingResponse(response, kw_only=True, omit_defaults=True):
    pass


class userGetSmsRoutingResponse(response, kw_only=True, omit_defaults=True):
    recipient: int | None = None
    smsRouting: int | None = None


class userSetSmsRoutingResponse(response, kw_only=True, omit_defaults=True):
    pass


class userChangePasswordResponse(response, kw_only=True, omit_defaults=True):
    pass


class userDeleteResponse(response, kw_only=True, omit_defaults=True):
    pass


# The fields each method requires besides being decodable. The Structs keep every field
# optional so that a missing one is answered with its errorCode (2, or 600 / 100 for the
# key and token), never a decode failure; this says what the OpenAPI document and docs/
# mark required, and a test holds it to what the methods do.
_AUTH = ("apiKey", "authToken")
REQUIRED: dict[str, tuple[str, ...]] = {
    "balance/get": _AUTH,
    "create": ("apiKey", "msisdn", "password", "pin"),
    "delete": _AUTH,
    "feature/get": _AUTH,
    "login": ("apiKey", "msisdn", "password"),
    "msisdn/verify": ("apiKey", "msisdn"),
    "password/change": (*_AUTH, "password"),
    "password/reset": ("apiKey", "msisdn"),
    "setting/get": _AUTH,
    "setting/set": (*_AUTH, "smsRouting", "signature", "a2aSendEnabled", "a2aReceiveEnabled"),
    "smsrouting/get": (*_AUTH, "recipient"),
    "smsrouting/set": (*_AUTH, "recipient", "smsRouting"),
}

# Path below the mount -> (request element, response element), in the seed's order.
METHODS: dict[str, tuple[type[request], type[response]]] = {
    "balance/get": (userGetBalanceRequest, userGetBalanceResponse),
    "create": (userCreateRequest, userCreateResponse),
    "delete": (userDeleteRequest, userDeleteResponse),
    "feature/get": (userGetFeatureRequest, userGetFeatureResponse),
    "login": (userLoginRequest, userLoginResponse),
    "msisdn/verify": (userVerifyMsisdnRequest, userVerifyMsisdnResponse),
    "password/change": (userChangePasswordRequest, userChangePasswordResponse),
    "password/reset": (userResetPasswordRequest, userResetPasswordResponse),
    "setting/get": (userGetSettingRequest, userGetSettingResponse),
    "setting/set": (userSetSettingRequest, userSetSettingResponse),
    "smsrouting/get": (userGetSmsRoutingRequest, userGetSmsRoutingResponse),
    "smsrouting/set": (userSetSmsRoutingRequest, userSetSmsRoutingResponse),
}
