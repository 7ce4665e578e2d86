"""What kubectl sends and what the API answers, for tests of the exchange: the exec info string,
and the exchange's 200 answer (an ExecCredential with a token and its expiry).

    api.post(PATH).mock(return_value=credential_answer("tok-1", lifetime=600))
"""

from __future__ import annotations

from datetime import datetime, timedelta, timezone
from email.utils import format_datetime

import httpx

API = "https://api.example.test"  # the base URL of the `api` fixture (respx)
V1 = "client.authentication.k8s.io/v1"
# KUBERNETES_EXEC_INFO as kubectl sends it: its JSON encoder ends the value with a newline.
KUBECTL_EXEC_INFO = (
    '{"kind":"ExecCredential","apiVersion":"client.authentication.k8s.io/v1",'
    '"spec":{"interactive":false}}\n'
)


def stamp(moment: datetime) -> str:
    """An expirationTimestamp as the API writes it (whole seconds, UTC, `Z`)."""
    return moment.strftime("%Y-%m-%dT%H:%M:%SZ")


def credential_body(
    token: str = "tok-1", expiry: datetime | None = None, version: str = "v1"
) -> dict[str, object]:
    """The ExecCredential the exchange answers; `expiry` defaults to 15 minutes from now."""
    expiry = expiry or datetime.now(timezone.utc) + timedelta(minutes=15)
    return {
        "apiVersion": f"client.authentication.k8s.io/{version}",
        "kind": "ExecCredential",
        "status": {"token": token, "expirationTimestamp": stamp(expiry)},
    }


def credential_answer(
    token: str = "tok-1",
    *,
    lifetime: float = 900,
    server_now: datetime | None = None,
    server_skew: float = 0,
    date: bool = True,
    body: object | None = None,
) -> httpx.Response:
    """The exchange's 200 answer: a token that lives `lifetime` seconds from the server's now
    (ours, to the second, moved by `server_skew` seconds, unless given), with that now in the
    Date header (none if `date` is false). `body` replaces the ExecCredential when given."""
    now = server_now or datetime.now(timezone.utc).replace(microsecond=0)
    now += timedelta(seconds=server_skew)
    if body is None:
        body = credential_body(token, now + timedelta(seconds=lifetime))
    headers = {"date": format_datetime(now, usegmt=True)} if date else {}
    return httpx.Response(200, json=body, headers=headers)


# How the API refuses: a revoked key (401) and a namespace out of the key's scope (403), in its
# error shape (docs/api-contract.md).
REVOKED = {
    "error": {"code": "revoked_api_key", "message": "Missing, invalid, revoked, or expired API key"}
}
FORBIDDEN = {"error": {"code": "forbidden", "message": "The API key may not access this namespace"}}
