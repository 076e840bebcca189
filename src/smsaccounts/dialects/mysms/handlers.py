"""One function per method: typed request in, use case called, typed response out."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from smsaccounts.dialects.mysms import messages as m
from smsaccounts.services import passwords, registration, sessions, user_settings
from smsaccounts.services.sessions import Caller
from smsaccounts.storage.unit_of_work import UnitOfWork

Handler = Callable[[UnitOfWork, Caller, Any], m.response]


def verify(uow: UnitOfWork, caller: Caller, req: m.userVerifyMsisdnRequest) -> m.response:
    """Without a PIN: send one. With a PIN: check it."""
    if req.pin is None or req.pin == "":
        registration.request_pin(uow, caller, msisdn=req.msisdn)
    else:
        registration.check_pin(uow, caller, msisdn=req.msisdn, pin=req.pin)
    return m.userVerifyMsisdnResponse(errorCode=0)


def create(uow: UnitOfWork, caller: Caller, req: m.userCreateRequest) -> m.response:
    token = registration.create_user(
        uow, caller, msisdn=req.msisdn, password=req.password, pin=req.pin
    )
    return m.userCreateResponse(errorCode=0, authToken=token)


def login(uow: UnitOfWork, caller: Caller, req: m.userLoginRequest) -> m.response:
    token = sessions.login(uow, caller, msisdn=req.msisdn, password=req.password, key=req.key,
                           check_key=req.checkKey)  # fmt: skip
    return m.userLoginResponse(errorCode=0, authToken=token)


def reset(uow: UnitOfWork, caller: Caller, req: m.userResetPasswordRequest) -> m.response:
    passwords.reset_password(uow, caller, msisdn=req.msisdn)
    return m.userResetPasswordResponse(errorCode=0)


def balance(uow: UnitOfWork, caller: Caller, req: m.userGetBalanceRequest) -> m.response:
    free_sms, credits = sessions.balance(uow, caller, auth_token=req.authToken)
    return m.userGetBalanceResponse(errorCode=0, freeSms=free_sms, credits=credits)


def features(uow: UnitOfWork, caller: Caller, req: m.userGetFeatureRequest) -> m.response:
    user = sessions.session(uow, caller, auth_token=req.authToken)
    return m.userGetFeatureResponse(errorCode=0, features=user_settings.features(user))


def get_settings(uow: UnitOfWork, caller: Caller, req: m.userGetSettingRequest) -> m.response:
    user = sessions.session(uow, caller, auth_token=req.authToken)
    s = user_settings.get_settings(user)
    return m.userGetSettingResponse(
        errorCode=0,
        smsRouting=s.sms_routing,
        signature=s.signature,
        a2aSendEnabled=s.a2a_send_enabled,
        a2aReceiveEnabled=s.a2a_receive_enabled,
    )


def set_settings(uow: UnitOfWork, caller: Caller, req: m.userSetSettingRequest) -> m.response:
    user = sessions.session(uow, caller, auth_token=req.authToken)
    user_settings.set_settings(
        uow,
        user,
        sms_routing=req.smsRouting,
        signature=req.signature,
        a2a_send_enabled=req.a2aSendEnabled,
        a2a_receive_enabled=req.a2aReceiveEnabled,
    )
    return m.userSetSettingResponse(errorCode=0)


def get_route(uow: UnitOfWork, caller: Caller, req: m.userGetSmsRoutingRequest) -> m.response:
    user = sessions.session(uow, caller, auth_token=req.authToken)
    digits, route = user_settings.get_route(uow, user, recipient=req.recipient)
    return m.userGetSmsRoutingResponse(errorCode=0, recipient=int(digits), smsRouting=route)


def set_route(uow: UnitOfWork, caller: Caller, req: m.userSetSmsRoutingRequest) -> m.response:
    user = sessions.session(uow, caller, auth_token=req.authToken)
    user_settings.set_route(uow, user, recipient=req.recipient, sms_routing=req.smsRouting)
    return m.userSetSmsRoutingResponse(errorCode=0)


def change_password(
    uow: UnitOfWork, caller: Caller, req: m.userChangePasswordRequest
) -> m.response:
    user = sessions.session(uow, caller, auth_token=req.authToken)
    passwords.change_password(uow, user, password=req.password)
    return m.userChangePasswordResponse(errorCode=0)


def delete(uow: UnitOfWork, caller: Caller, req: m.userDeleteRequest) -> m.response:
    registration.delete_user(uow, caller, auth_token=req.authToken)
    return m.userDeleteResponse(errorCode=0)


HANDLERS: dict[str, Handler] = {
    "balance/get": balance,
    "create": create,
    "delete": delete,
    "feature/get": features,
    "login": login,
    "msisdn/verify": verify,
    "password/change": change_password,
    "password/reset": reset,
    "setting/get": get_settings,
    "setting/set": set_settings,
    "smsrouting/get": get_route,
    "smsrouting/set": set_route,
}
