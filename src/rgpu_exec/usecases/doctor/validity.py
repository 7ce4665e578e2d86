"""Whether the API accepts the key `token` would use by default: asked of the API (the party
that decides), with one exchange that issues no token (`key_exchange.judge_key`)."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.errors import RgpuExecError
from rgpu_exec.redact import key_prefix
from rgpu_exec.usecases.doctor.findings import Finding
from rgpu_exec.usecases.doctor.keys import new_key_fix
from rgpu_exec.usecases.key_exchange import KeyExchange, find_key, judge_key

if TYPE_CHECKING:
    from collections.abc import Mapping


def key_validity(
    environ: Mapping[str, str], profile_flag: str | None, api_url: str, url_source: str
) -> tuple[list[Finding], str | None]:
    """The API's verdict on the key, or nothing when there is no key to ask about (the key
    findings above say why); and the key when the API rejects it (nothing more is tried with
    it)."""
    try:
        key = find_key(environ, profile_flag)
    except RgpuExecError:
        return [], None
    verdict = judge_key(KeyExchange(key, ApiEndpoint(api_url, environ, url_source=url_source)))
    whose = f"key {key_prefix(key.value)} ({key.origin})"
    if verdict.state == "valid":
        return [Finding("API key", "ok", f"{whose}: {verdict.detail}")], None
    if verdict.state == "rejected":
        fix = new_key_fix(key.source, key.profile or "default")
        return [Finding("API key", "problem", f"{whose}: {verdict.detail}", fix)], key.value
    detail = f"{whose}: not verified: {verdict.detail}"
    return [Finding("API key", "note", detail)], None
