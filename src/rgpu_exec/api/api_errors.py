"""What an error answer of the exchange means, in words for the user.

The API's error body (`api_contract.ErrorBody`) carries a code and a message. Each code this
plugin knows is explained in its own words; the server's message is then shown only when it
says something more. The docs' one message for every rejected key ("Missing, invalid, revoked,
or expired API key") beside "the key has been revoked" would only blur the answer. The code is
always shown: it is what support and scripts search for.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass

from pydantic import ValidationError

from rgpu_exec import contract
from rgpu_exec.api import api_contract
from rgpu_exec.errors import (
    ApiError,
    ApiKeyError,
    NamespaceAccessError,
    RgpuExecError,
    UsageError,
)
from rgpu_exec.hotpath import settings
from rgpu_exec.redact import excerpt, key_prefix

HTTP_OK = 200
HTTP_UNAUTHORIZED = 401
HTTP_FORBIDDEN = 403
HTTP_NOT_FOUND = 404
HTTP_TOO_MANY = 429
HTTP_SERVER_ERROR = 500

# What each 401 code of the API means (docs/api-contract.md), in words for the user.
KEY_REJECTIONS = {
    "revoked_api_key": "the key has been revoked",
    "expired_api_key": "the key has expired",
    "invalid_api_key": "no such key exists (a typo, a truncated copy, or a deleted key)",
    "missing_api_key": "no key reached the API (a proxy may strip the x-api-key header)",
}
_WORD = re.compile(r"[a-z0-9]+")
# What to do about a key whose scope does not cover a namespace (a key's scopes can be changed).
SCOPE_FIX = (
    f"In {contract.KEYS_CONSOLE_PAGE}, change the key's scopes so that kubernetes_exec covers "
    "the namespace (or give it all namespaces), or use a key whose scope covers it."
)


@dataclass(frozen=True)
class ErrorAnswer:
    """An error answer, read: the API's code and message when the body has its error shape,
    else a short excerpt of whatever came. Both sanitised (no key, no control characters)."""

    code: str | None
    message: str
    kubernetes: bool = False  # the body is a Kubernetes `Status`: a Kubernetes API server answered

    @classmethod
    def read(cls, body: bytes, api_key: str) -> ErrorAnswer:
        try:
            error = api_contract.ErrorBody.model_validate_json(body).error
        except ValidationError:
            return cls(None, excerpt(body, api_key) or "no details in the answer", _status(body))
        return cls(excerpt(error.code.encode(), api_key), excerpt(error.message.encode(), api_key))

    def beside(self, ours: str) -> str:
        """What to show in brackets after our own words `ours`: the code, and the server's
        message unless it only repeats them (or is the docs' generic wording for the code)."""
        if self.code is None:
            return self.message
        if repeats(self.message, ours):
            return self.code
        return f"{self.code}: {self.message}"


def _status(body: bytes) -> bool:
    try:
        api_contract.KubernetesStatus.model_validate_json(body)
    except ValidationError:
        return False
    return True


def repeats(message: str, ours: str) -> bool:
    """Whether the server's `message` adds nothing to our explanation `ours`: it is one of the
    API's generic messages, or every word of it is already in ours."""
    words = _WORD.findall(message.lower())
    if " ".join(words) in contract.GENERIC_MESSAGES:
        return True
    return set(words) <= set(_WORD.findall(ours.lower()))


def status_failure(
    status: int,
    answer: ErrorAnswer,
    *,
    api_url: str,
    api_key: str,
    namespace: str,
    url_source: str,
    retry_after: float | None = None,
) -> RgpuExecError:
    """The error for an exchange answered with HTTP `status` (not 200); `namespace` as people
    know it (`request.namespace_label`); `retry_after`: the seconds a 429 asked to wait."""
    prefix = key_prefix(api_key)
    code = answer.code
    if status in (HTTP_UNAUTHORIZED, HTTP_FORBIDDEN, HTTP_NOT_FOUND) and answer.kubernetes:
        # Only a Kubernetes API server answers with a `Status`: the key was never judged.
        return UsageError(
            f"{api_url} is not the RemoteGPU API: it answered HTTP {status} with a Kubernetes "
            f"Status ({answer.message}), as a Kubernetes API server does. Check {url_source}: "
            f"it must be the RemoteGPU API's base URL, such as {settings.DEFAULT_API_URL}, not "
            "the cluster's server (that one belongs in the kubeconfig's cluster entry)."
        )
    if status in (HTTP_UNAUTHORIZED, HTTP_FORBIDDEN) and code is None:
        # Not in the API's error shape: maybe not the API at all. Say so; do not blame the key.
        return ApiError(
            f"{api_url} refused the credential exchange (HTTP {status}) without the RemoteGPU "
            f"API's error body ({answer.message}), so it may not be the RemoteGPU API.",
            transient=False,
            status=status,
            api_message=answer.message,
            remedy=f"Check {url_source}: it must be the API's base URL, such as "
            f"{settings.DEFAULT_API_URL}; if it is, the key {prefix} may be refused: "
            f"`rgpu-exec whoami` asks the API about it.",
        )
    if status == HTTP_UNAUTHORIZED:
        why = KEY_REJECTIONS.get(code or "", "the API gave no reason")
        return ApiKeyError(
            f"the RemoteGPU API rejected the API key {prefix}: {why} ({answer.beside(why)}).",
            code=code,
            remedy=f"Create a key with Kubernetes access in {contract.KEYS_CONSOLE_PAGE}, "
            f"then run `rgpu-exec login` or set {settings.ENV_API_KEY}.",
        )
    if status == HTTP_FORBIDDEN:
        ours = f"the API key {prefix} may not get credentials for namespace {namespace}"
        return NamespaceAccessError(
            f"{ours} ({answer.beside(ours)}). {SCOPE_FIX}",
            status=status,
            code=code,
            api_message=answer.message,
        )
    if status == HTTP_NOT_FOUND and code != contract.NAMESPACE_NOT_FOUND:
        # The API says namespace_not_found for a namespace it does not know: any other 404
        # (or an answer not in its error shape) means the URL reaches no exchange endpoint.
        # A setting to fix, not an outage: exit 2, as for any other bad setting.
        return UsageError(
            f"{api_url} is not the RemoteGPU API: it answered HTTP 404 to the credential "
            f"exchange ({answer.beside('')}), without the API's namespace_not_found. Check "
            f"{url_source}: it must be the API's base URL, such as {settings.DEFAULT_API_URL} "
            "(no /v1 or other path)."
        )
    if status == HTTP_NOT_FOUND:
        ours = f"namespace {namespace} does not exist in the account of the API key {prefix}"
        return NamespaceAccessError(
            f"{ours} ({answer.beside(ours)}). Check the namespace ID against the console's "
            "namespace page, and that the key belongs to the account that owns the namespace.",
            status=status,
            code=code,
            api_message=answer.message,
        )
    if status == HTTP_TOO_MANY:
        what = "is rate limiting"
        advice = (
            f"It asked to wait {retry_after:.0f} s before trying again."
            if retry_after
            else "Wait a minute before trying again."
        )
    elif status >= HTTP_SERVER_ERROR:
        what, advice = "has a problem", "Try again in a few minutes."
    else:
        what = "answered an unexpected error"
        advice = f"Check that {settings.ENV_API_URL} points at the RemoteGPU API."
    return ApiError(
        f"the RemoteGPU API at {api_url} {what}: HTTP {status} ({answer.beside('')}). {advice}",
        transient=status == HTTP_TOO_MANY or status >= HTTP_SERVER_ERROR,
        status=status,
        code=code,
        api_message=answer.message,
    )


def is_verdict(failure: RgpuExecError) -> bool:
    """Whether a failed exchange is the API's verdict on the key or the namespace: a 401, 403 or
    404 in the API's error shape, which `status_failure` alone turns into an `ApiKeyError` with
    the API's code or a `NamespaceAccessError`. Nothing else says anything of the key: no
    answer, a stall, a 5xx, a dropped, truncated, empty or malformed answer, an HTML page, or a
    401/403/404 without the API's error body (a proxy's, a captive portal's). A token cached
    for this very key and URL may then still be used (the stale fallback of `token`)."""
    if isinstance(failure, NamespaceAccessError):
        return True
    return isinstance(failure, ApiKeyError) and failure.code is not None


def longer_wait(remedy: str, retry_after: float | None, now: float, give_up_at: float) -> str:
    """A 429's remedy when the wait it asked for (`retry_after`) does not fit before
    `give_up_at`: how long to wait, and how to let the exchange wait for it."""
    if not retry_after or now + retry_after < give_up_at:
        return remedy
    needed = min(math.ceil(retry_after) + 5, int(settings.MAX_DEADLINE))
    return (
        f"{remedy} The wait it asked for is longer than this exchange may take: run the command "
        f"again in {retry_after:.0f} s, or let rgpu-exec wait for it with "
        f"{settings.ENV_DEADLINE}={needed} (seconds; at most {settings.MAX_DEADLINE:.0f})."
    ).lstrip()
