"""Jasmin MT interceptor: charge every message through smsaccounts before Jasmin routes it.

Install (docs/charging.md, "From Jasmin"):

    jcli : mtinterceptor add
    > type DefaultInterceptor
    > script python3(/etc/jasmin/charge_interceptor.py)
    > ok

Jasmin runs this file for each submit_sm with the globals `routable`, `smpp_status` and
`http_status` set; leaving both statuses at 0 lets the message go on to the router, setting
one rejects it. The sender is the Jasmin user's username (create the same username in
smsaccounts), the reference a fresh id that also becomes Jasmin's message id, so that a DLR
handler can refund `/charging/v1/refund` with the same reference when delivery fails.

Environment: SMSACCOUNTS_URL (default http://127.0.0.1:8080) and SMSACCOUNTS_GATEWAY_KEY
(`smsaccounts apikey create jasmin --gateway`). Standard library only.
"""

import json
import os
import urllib.error
import urllib.request
import uuid

BASE_URL = os.environ.get("SMSACCOUNTS_URL", "http://127.0.0.1:8080")
GATEWAY_KEY = os.environ.get("SMSACCOUNTS_GATEWAY_KEY", "")
TIMEOUT_SECONDS = 5

# SMPP statuses Jasmin answers the submitter with (its interception documentation's table).
ESME_RINVDSTADR = 11  # a recipient refused: invalid, outside prefixes or countries
ESME_RSYSERR = 8  # smsaccounts did not answer: refuse rather than send unpaid
ESME_RSUBMITFAIL = 69  # any other refusal
ESME_RTHROTTLED = 88  # message limit or rate limit
ESME_RINVMSGLEN = 1  # too many parts
_SMPP_FOR = {
    "recipient_invalid": ESME_RINVDSTADR,
    "recipient_prefix_not_allowed": ESME_RINVDSTADR,
    "recipient_country_not_allowed": ESME_RINVDSTADR,
    "message_limit_reached": ESME_RTHROTTLED,
    "rate_limited": ESME_RTHROTTLED,
    "message_too_long": ESME_RINVMSGLEN,
}
_DATA_CODINGS = {8: "utf-16-be", 3: "latin-1"}  # UCS-2 and ISO-8859-1; else GSM/ASCII


def _text(params):
    """The message text as Python str, decoded by the PDU's data_coding."""
    raw = params.get("short_message") or params.get("message_payload") or b""
    if isinstance(raw, str):
        return raw
    coding = getattr(params.get("data_coding"), "schemeData", params.get("data_coding"))
    codec = _DATA_CODINGS.get(coding if isinstance(coding, int) else 0, "ascii")
    return raw.decode(codec, errors="replace")


def charge(username, recipient, text, reference):
    """(HTTP status, decoded JSON answer) of one charge."""
    body = json.dumps({"reference": reference, "username": username,
                       "recipients": [recipient], "text": text}).encode()  # fmt: skip
    request = urllib.request.Request(  # noqa: S310 - BASE_URL is the operator's http(s) URL
        BASE_URL + "/charging/v1/charge",
        data=body,
        method="POST",
        headers={"Authorization": "Bearer " + GATEWAY_KEY, "Content-Type": "application/json"},
    )
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as answer:  # noqa: S310
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"{}")


def intercept(routable):
    """(smpp_status, http_status) for this message: (0, 0) once it is paid for."""
    params = routable.pdu.params
    destination = params["destination_addr"]
    if isinstance(destination, bytes):
        destination = destination.decode("ascii", errors="replace")
    reference = uuid.uuid4().hex
    try:
        status, answer = charge(routable.user.username, destination, _text(params), reference)
    except (OSError, ValueError):
        return ESME_RSYSERR, 503
    if status == 200:
        params["message_id"] = reference  # Jasmin's message id: the DLR carries it back
        return 0, 0
    return _SMPP_FOR.get(answer.get("error"), ESME_RSUBMITFAIL), status


if "routable" in globals():  # run by Jasmin's interceptord, not imported
    _smpp, _http = intercept(routable)  # noqa: F821 - a global Jasmin sets
    if _smpp:  # a refusal; a paid message leaves both globals as Jasmin set them
        smpp_status, http_status = _smpp, _http
