"""What `rgpu-exec login` verifies a new key against, before it stores it: `--namespace-id`,
else the context named (`--context`), else the current context when it runs rgpu-exec with the
same profile; with the API URL `--api-url` gives, else that context's, else the environment's,
else the default. Or, when there is nothing to verify against, why (the key is then stored
unverified, and `login` says so).

`login`'s own (`usecases.login` alone imports it), apart so that `login` stays one flow.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import request, settings
from rgpu_exec.hotpath.request import namespace_label
from rgpu_exec.kubeconfig import listing
from rgpu_exec.sourced import checked

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.sourced import Sourced


@dataclass(frozen=True)
class Target:
    """The namespace a new key is verified against, and where that came from."""

    api_url: str
    namespace_id: str
    namespace: str | None = None
    context: str | None = None  # the kubeconfig context it was taken from
    api_url_source: str = "the default API URL"  # where `api_url` came from, in words

    @property
    def label(self) -> str:
        return namespace_label(self.namespace, self.namespace_id)


def verification_target(
    profile: str,
    environ: Mapping[str, str],
    *,
    namespace_id: str | None,
    api_url: Sourced[str] | None,
    context: str | None,
    kubeconfig: str | None,
) -> Target | str:
    """What to verify a key for `profile` against: `--namespace-id`, else the context named
    (`--context`), else the current context when it runs rgpu-exec with this profile; or why
    there is nothing to verify against. Flags are validated already, except the context; an
    `--api-url` (`api_url`) beats the context's."""
    if api_url is not None:
        api_url.value  # noqa: B018 - a refused --api-url stops before the kubeconfig is read
    if namespace_id is not None:
        url, source = _api_url(api_url, None, environ)
        return Target(url, namespace_id, api_url_source=source)
    try:
        config, managed = listing.load(kubeconfig, environ)
    except UsageError as exc:
        if context is not None:
            raise
        return f"the kubeconfig cannot be read ({exc.message.rstrip('.')})"
    name = context or config.current_context
    found = next((c for c in managed if c.name == name), None)
    if context is not None and found is None:
        what = "does not run rgpu-exec" if name in config.contexts else "is not in the kubeconfig"
        raise UsageError(f"context {name!r} {what}; give --namespace-id instead.")
    if found is None:
        return (
            "no namespace to verify it against (give --namespace-id, or make a context that runs "
            "rgpu-exec current)"
        )
    if found.problem or found.namespace_id is None:
        if context is not None:
            raise UsageError(f"context {name!r}: {found.problem}; give --namespace-id instead.")
        return f"the current context {name!r} cannot be used to verify it ({found.problem})"
    if context is None and settings.profile(found.profile, environ) != profile:
        return (
            f"the current context {name!r} uses another profile "
            f"({settings.profile(found.profile, environ)!r}); give --namespace-id to verify it"
        )
    url, source = _api_url(api_url, found.api_url, environ, found.name)
    return Target(url, found.namespace_id, found.namespace, found.name, source)


def _api_url(
    given: Sourced[str] | None, context: str | None, environ: Mapping[str, str], name: str = ""
) -> tuple[str, str]:
    """`--api-url`, else the context's (`name`'s), else the environment's, else the default;
    with where it came from."""
    if given is not None:
        return given.value, given.source
    source = (
        f"the --api-url in the exec args of context {name!r}"
        if context
        else request.api_url_source(None, environ)
    )
    return checked(request.resolve_api_url(context, environ)), source
