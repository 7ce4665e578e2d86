"""The kubeconfig contexts rgpu-exec manages, as kubectl merges the files: for `kubeconfig list`,
`check` (every context, or the ones named), `whoami`, `login` (the current context), `doctor`
(`managed_call`: the contexts it inspects) and the namespace names other commands show beside
IDs. The one model of which contexts are rgpu-exec's.

A context is managed when its user's exec stanza runs rgpu-exec (`view.plugin_call`), or passes
`token --namespace-id` as `generate` writes it with an `--exec-command` of another name
(`entries.foreign_exec`). Read-only: nothing here writes a file.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

from rgpu_exec import fixes
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import request, settings
from rgpu_exec.kubeconfig import entries
from rgpu_exec.kubeconfig import view as kubeconfig_view

if TYPE_CHECKING:
    from rgpu_exec.kubeconfig.view import Entry, Kubeconfig, PluginCall


@dataclass(frozen=True)
class ManagedContext:
    """A context whose user runs `rgpu-exec token`, and what its exec args ask for."""

    name: str
    namespace: str | None  # the context's `namespace:` (the namespace's name)
    namespace_id: str | None  # from `--namespace-id`, lower-cased; None when missing or invalid
    api_url: str | None  # `--api-url` in the args; None: the environment's, else the default
    profile: str | None  # `--profile` in the args; None: the environment's, else `default`
    command: str
    user: str
    file: str  # the file that defines the context
    current: bool
    problem: str | None = None  # why `token` would refuse these args, if it would
    token_namespace: str | None = None  # the `--namespace` in the exec args: the ID's name
    server: str | None = None  # its cluster's server, where kubectl sends the token

    @property
    def label(self) -> str:
        """`team-ml (6f1c2d4e…)`, the way people are shown a namespace: the one the exec stanza
        gets tokens for, with its ID; a namespace switched away from it (kubens) is said as such
        (`team-ml (6f1c2d4e…); switched to namespace team-cv`), never beside the other's ID."""
        if self.mismatch:
            served = request.namespace_label(self.token_namespace, self.namespace_id)
            return f"{served}; switched to namespace {self.namespace}"
        return request.namespace_label(self.namespace, self.namespace_id)

    @property
    def mismatch(self) -> str | None:
        """What is wrong when the context's namespace is not the one its exec stanza gets
        tokens for (a namespace switched with `kubectl config set-context --namespace`, or
        kubens): kubectl is then Forbidden there, since a token is valid in its own namespace
        only. None when they agree, or when the exec args do not name the namespace."""
        serves = self.token_namespace
        if not serves or not self.namespace or serves == self.namespace:
            return None
        return (
            f"its namespace is {self.namespace}, but its exec stanza gets tokens for "
            f"{request.namespace_label(serves, self.namespace_id)}, which are valid there only "
            f"(kubectl is Forbidden in {self.namespace}): use the context made for "
            f"{self.namespace}, or set it back with "
            + fixes.command("kubectl", "config", "set-context", self.name, "--namespace", serves)
        )


def managed_call(user: Entry) -> PluginCall | None:
    """The `token` call of a user rgpu-exec manages, or None for any other user."""
    call = kubeconfig_view.plugin_call(user)
    if call is not None:
        return call
    if entries.foreign_exec(user.body) is not None:
        return None
    exec_ = user.body["exec"]
    return kubeconfig_view.token_call(str(exec_.get("command")), [str(a) for a in exec_["args"]])


def managed_contexts(config: Kubeconfig) -> list[ManagedContext]:
    """Every managed context, by name."""
    found = []
    for name in sorted(config.contexts):
        context = config.contexts[name]
        user = config.user_of(context)
        call = managed_call(user) if user is not None else None
        if user is None or call is None:
            continue
        namespace = context.body.get("namespace")
        found.append(
            ManagedContext(
                name=name,
                # The context's namespace, else the name its exec args give `token`.
                namespace=namespace
                if isinstance(namespace, str) and namespace
                else call.namespace_name,
                namespace_id=_namespace_id(call),
                api_url=call.api_url.rstrip("/") if call.api_url else None,
                profile=call.profile,
                command=call.command,
                user=user.name,
                file=context.file,
                current=name == config.current_context,
                problem=_problem(call),
                token_namespace=call.namespace_name,
                server=_server(config, context),
            )
        )
    return found


def _server(config: Kubeconfig, context: Entry) -> str | None:
    cluster = config.cluster_of(context)
    server = cluster.body.get("server") if cluster is not None else None
    return server if isinstance(server, str) and server else None


def load(flag: str | None, environ: Mapping[str, str]) -> tuple[Kubeconfig, list[ManagedContext]]:
    """The merged kubeconfig and its managed contexts. UsageError when a file is unusable."""
    config = kubeconfig_view.load(flag, environ)
    return config, managed_contexts(config)


def not_managed(name: str, config: Kubeconfig) -> str:
    """Why a context named is not one of `managed_contexts`, for every command that takes
    --context: it is not in the kubeconfig, or it does not run rgpu-exec with a namespace ID."""
    what = (
        "does not run rgpu-exec with a namespace ID"
        if name in config.contexts
        else "is not in the kubeconfig"
    )
    return f"context {name!r} {what} (`rgpu-exec kubeconfig list` lists those that do)."


def cluster_servers(flag: str | None, environ: Mapping[str, str]) -> list[tuple[str, str]]:
    """Every cluster's server in the merged kubeconfig, with what names it (`of cluster 'x'
    in FILE`): the servers an API URL must not be. Empty when the kubeconfig is unusable."""
    try:
        config = kubeconfig_view.load(flag, environ)
    except UsageError:
        return []
    found = []
    for name, cluster in sorted(config.clusters.items()):
        server = cluster.body.get("server")
        if isinstance(server, str) and server:
            found.append((server, f"of cluster {name!r} in {cluster.file}"))
    return found


def exec_environment(user: Entry, environ: Mapping[str, str]) -> dict[str, str]:
    """The environment `rgpu-exec token` gets from kubectl for this user: `environ` with the
    exec stanza's `env` list on top."""
    exec_ = user.body.get("exec")
    listed = exec_.get("env") if isinstance(exec_, Mapping) else None
    merged = dict(environ)
    for item in listed if isinstance(listed, list) else []:
        if isinstance(item, Mapping) and isinstance(item.get("name"), str):
            merged[item["name"]] = str(item.get("value", ""))
    return merged


def namespace_names(flag: str | None, environ: Mapping[str, str]) -> dict[str, str]:
    """Namespace ID → name, from the managed contexts; empty when the kubeconfig is unusable
    (the names only decorate output, so they never stop a command). The name is the one the
    exec stanza serves (its `--namespace`), never a context's namespace switched away from it
    (kubens); a context's own namespace names an ID only when no exec stanza names it, and no
    other ID already goes by that name."""
    try:
        _, contexts = load(flag, environ)
    except UsageError:
        return {}
    names = {
        c.namespace_id: c.token_namespace for c in contexts if c.namespace_id and c.token_namespace
    }
    taken = set(names.values())
    for c in contexts:
        guess = c.namespace
        if c.namespace_id and guess and c.namespace_id not in names and guess not in taken:
            names[c.namespace_id] = guess
            taken.add(guess)
    return names


def _namespace_id(call: PluginCall) -> str | None:
    if call.namespace_id is None:
        return None
    namespace_id, problem = request.resolve_namespace_id(call.namespace_id)
    return None if problem else namespace_id


def _problem(call: PluginCall) -> str | None:
    if not call.args_valid:
        return "its exec args are not a `token` command line rgpu-exec accepts"
    if call.namespace_id is None:
        return "its exec args give no --namespace-id"
    _, problem = request.resolve_namespace_id(call.namespace_id)
    if problem:
        return f"its --namespace-id: {problem}"
    problem = request.namespace_name_problem(call.namespace_name)
    if problem:
        return f"its {problem}"
    if call.api_url:
        problem = request.api_url_problem(call.api_url)
        if problem:
            return f"its --api-url: {problem}"
    if call.profile:
        _, problem = request.resolve_profile(call.profile, {})
        if problem:
            return f"its --profile: {problem}"
    return None


def running(
    flag: str | None, environ: Mapping[str, str], namespace_id: str, url: str
) -> str | None:
    """The managed context of this namespace ID whose exec args run this API URL (as
    `settings.normal_url` spells it), if any; None too when the kubeconfig cannot be read."""
    try:
        _, managed = load(flag, environ)
    except UsageError:
        return None
    for context in managed:
        runs = context.api_url and settings.normal_url(context.api_url)
        if runs == url and context.namespace_id == namespace_id.lower():
            return context.name
    return None
