"""The use case of `rgpu-exec whoami`: which API key `rgpu-exec token` would use now, and why.

For a kubeconfig context (named, else the current one when it runs rgpu-exec), the key is found
as `token` finds it there: the environment kubectl gives it (the exec stanza's `env` on top), the
`--profile` in its exec args (which beats `REMOTEGPU_API_KEY`). Without a context: `--profile`,
else the environment. Never prompts, never shows more of a key than its prefix. Unless offline,
asks the API whether it accepts the key (`key_exchange.judge_key`: no token is issued). Also
lists the profiles stored in the keyring, when the backend can list them.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rgpu_exec.api.endpoint import ApiEndpoint
from rgpu_exec.credentials import file_store, keyring_store
from rgpu_exec.credentials.api_key import ApiKey, find_api_key
from rgpu_exec.errors import ApiKeyError, ExitCode, UsageError
from rgpu_exec.hotpath import request, settings
from rgpu_exec.kubeconfig import listing
from rgpu_exec.sourced import checked
from rgpu_exec.usecases.key_exchange import (
    KeyExchange,
    KeyVerdict,
    judge_key,
    named_kubernetes_server,
)

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.errors import RgpuExecError
    from rgpu_exec.kubeconfig.listing import ManagedContext


@dataclass(frozen=True)
class WhoamiRequest:
    """`--profile` (None: the context's, else the environment's), `--context`, `--kubeconfig`,
    and whether to ask the API (not with `--offline`)."""

    profile: str | None = None
    context: str | None = None
    kubeconfig: str | None = None
    ask_api: bool = True


@dataclass(frozen=True)
class WhoamiResult:
    key: ApiKey | None
    problem: RgpuExecError | None  # why there is no usable key (no key, or a malformed one)
    profile: str
    profile_source: str  # where the profile name comes from, in words
    api_url: str | None  # the API the key would be sent to, when it is known
    context: ManagedContext | None
    keyring_backend: str  # its name, or "none" when no backend can hold a key here
    keyring_profiles: list[str] | None  # None: the backend cannot list its entries
    keyring_problem: str | None = None  # why no new key is stored in the keyring, if not
    keyring_holds_keys: bool = True  # whether it holds keys at all (a plaintext one does)
    key_file: file_store.KeyFile | None = None  # the key file of `login --insecure-storage`
    verdict: KeyVerdict | None = None  # what the API says of the key (None: not asked, offline)
    url_refused: UsageError | None = None  # why the API was not asked: its URL is a cluster's

    @property
    def exit_code(self) -> ExitCode:
        """OK when a key would be used and the API does not reject it; else why not."""
        if self.verdict is not None and self.verdict.state == "rejected":
            return ExitCode.API_KEY
        if self.url_refused is not None:  # the API URL is a Kubernetes server: nothing asked
            return self.url_refused.exit_code
        if self.key is not None:
            return ExitCode.OK
        return self.problem.exit_code if self.problem else ExitCode.API_KEY


def run(wanted: WhoamiRequest, environ: Mapping[str, str]) -> WhoamiResult:
    """The key `token` would use, for `--profile` (which beats the environment's key, and
    reads no context), else the context named or the current one, else the environment."""
    profile_flag = wanted.profile
    chosen, env = (
        _context(environ, wanted.context, wanted.kubeconfig) if profile_flag is None else (None, {})
    )
    environment = env or environ
    flag = profile_flag or (chosen.profile if chosen else None)
    profile = checked(request.resolve_profile(flag, environment))
    url_flag = chosen.api_url if chosen else None
    api_url, url_problem = request.resolve_api_url(url_flag, environment)
    key: ApiKey | None = None
    failure: RgpuExecError | None = None
    try:
        key = find_api_key(environment, profile, interactive=False, profile_flag=flag)
    except (ApiKeyError, UsageError) as exc:
        failure = exc
    holds_keys = keyring_store.holds_keys()  # a backend that holds nothing has no name to show
    verdict = refused = None
    if wanted.ask_api and key is not None and not url_problem:  # the API decides: valid?
        source = request.api_url_source(url_flag, environment)
        servers = _servers(chosen, wanted, environ)
        refused = named_kubernetes_server(api_url, source, servers, environment)
        if refused is not None:
            verdict = KeyVerdict("not verified", refused.message, refused)
        else:
            endpoint = ApiEndpoint(api_url, environment, url_source=source)
            verdict = judge_key(KeyExchange(key, endpoint))
    return WhoamiResult(
        key,
        failure,
        profile,
        _profile_source(profile_flag, chosen, environment),
        None if url_problem else api_url,
        chosen,
        keyring_store.backend_name() if holds_keys else "none",
        keyring_store.list_profiles(),
        keyring_store.backend_problem(environ),
        holds_keys,
        file_store.status(environ),
        verdict,
        refused,
    )


def _servers(
    chosen: ManagedContext | None, wanted: WhoamiRequest, environ: Mapping[str, str]
) -> list[tuple[str, str]]:
    """The Kubernetes servers the API URL must not be: the context's cluster's, then every
    cluster's in the kubeconfig."""
    servers = listing.cluster_servers(wanted.kubeconfig, environ)
    if chosen is not None and chosen.server:
        servers.insert(0, (chosen.server, f"of the cluster of context {chosen.name!r}"))
    return servers


def _context(
    environ: Mapping[str, str], name: str | None, kubeconfig: str | None
) -> tuple[ManagedContext | None, dict[str, str]]:
    """The context asked for (an error when it does not run rgpu-exec), else the current one
    when it runs rgpu-exec; and the environment `token` gets there. A kubeconfig named with
    --kubeconfig that cannot be read (or does not exist) is an error, as in `list` and `doctor`."""
    try:
        config, managed = listing.load(kubeconfig, environ)
    except UsageError:
        if name is not None or kubeconfig is not None:  # asked for: its problem is the answer
            raise
        return None, {}
    wanted = name or config.current_context
    found = next((c for c in managed if c.name == wanted), None)
    if name is not None and found is None:
        raise UsageError(listing.not_managed(name, config))
    if found is None:
        return None, {}
    user = config.user_of(config.contexts[found.name])
    return found, listing.exec_environment(user, environ) if user is not None else {}


def _profile_source(
    flag: str | None, context: ManagedContext | None, environ: Mapping[str, str]
) -> str:
    if flag:
        return "--profile"
    if context is not None and context.profile:
        return f"--profile in the exec args of context {context.name!r}"
    if settings.profile(None, environ) != settings.DEFAULT_PROFILE:
        return settings.ENV_PROFILE
    return "the default"
