"""Whose a kubeconfig entry is: the one rule every planner asks before it changes or removes an
entry (`planners`: upsert for generate and import, replace for `import --replace`, remove, and
the orphans of `remove --all`).

- A user is rgpu-exec's when its exec stanza runs rgpu-exec (`entries.foreign_exec`); the
  console's when it is the console's own curl stanza (`console.console_stanza_target`, for one
  namespace ID); anyone else's otherwise (a client certificate, a static token, another exec
  plugin).
- A context is whoever its user is (the user of that name as kubectl merges the files).
- A cluster has no mark of its own: it is foreign when a context that is not rgpu-exec's (nor
  the console's) uses it; else rgpu-exec's (or the console's) when one of theirs uses it, or,
  unused, when the user of the same name in the same file is (rgpu-exec names both after the
  context), or when it is alone and named as rgpu-exec names entries (`rgpu-<namespace>`);
  else foreign.

The verdict carries the entry's kind, name, file and what it is, so a refusal can say what is
there without reading any text back.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING, Literal

from rgpu_exec.kubeconfig import console, entries, merge

if TYPE_CHECKING:
    from pathlib import Path

    from rgpu_exec.kubeconfig.document import Document

Owner = Literal["rgpu-exec", "console", "foreign", "absent"]
RGPU_EXEC: Owner = "rgpu-exec"
CONSOLE: Owner = "console"
FOREIGN: Owner = "foreign"
ABSENT: Owner = "absent"


@dataclass(frozen=True)
class Verdict:
    """Whose the entry `kind`/`name` in `file` is, and what it is (for messages)."""

    owner: Owner
    kind: merge.Kind
    name: str
    file: Path | None = None
    what: str = ""  # e.g. "a user with a client certificate"
    reason: str = ""  # why it is not rgpu-exec's, as `remove` says it: "its user 'x' runs …"
    namespace_id: str | None = None  # the console's: the namespace its stanza is for
    server: str | None = None  # a cluster's server

    def describe(self) -> str:
        """`user 'x' in /home/me/.kube/config (a user with a client certificate)`."""
        return f"{self.kind} {self.name!r} in {self.file} ({self.what})"


def holder(
    paths: tuple[Path, ...], docs: dict[Path, Document], kind: merge.Kind, name: str
) -> Path | None:
    """The file whose entry kubectl uses: the first one, in order, that defines it."""
    return next((p for p in paths if p in docs and docs[p].find(kind, name) is not None), None)


def judge(
    paths: tuple[Path, ...],
    docs: dict[Path, Document],
    kind: merge.Kind,
    name: str,
    file: Path | None = None,
) -> Verdict:
    """Whose the entry is: the one in `file`, else the one kubectl uses (`holder`)."""
    where = file if file is not None else holder(paths, docs, kind, name)
    found = docs[where].find(kind, name) if where is not None else None
    if where is None or found is None:
        return Verdict(ABSENT, kind, name, where, "absent", "it does not exist")
    body = found.get(kind)
    if kind == "user":
        return _user(name, where, body, _contexts_of(paths, docs, "user", name))
    if kind == "context":
        user = body.get("user") if isinstance(body, Mapping) else None
        if not isinstance(user, str) or not user:
            what = "a context that names no user"
            return Verdict(FOREIGN, kind, name, where, what, "it names no user")
        of_user = judge(paths, docs, "user", user)
        if of_user.owner == ABSENT:
            reason = f"its user {user!r} does not exist"
            return Verdict(FOREIGN, kind, name, where, f"a context whose {reason[4:]}", reason)
        what = f"a context of {of_user.what}"
        reason = f"its user {user!r} {of_user.reason}" if of_user.reason else ""
        return Verdict(of_user.owner, kind, name, where, what, reason, of_user.namespace_id)
    return _cluster(paths, docs, name, where, body)


def _user(name: str, where: Path, body: object, used_by: list[str]) -> Verdict:
    reason = entries.foreign_exec(body)
    if reason is None:
        return Verdict(RGPU_EXEC, "user", name, where, "a user that runs rgpu-exec")
    target = console.console_stanza_target(body)
    if target is not None:
        what = "the console's curl stanza"
        return Verdict(CONSOLE, "user", name, where, what, reason, namespace_id=target[1])
    others = [context for context in used_by if context != name]
    used = f", used by context {', '.join(map(repr, others))}" if others else ""
    return Verdict(FOREIGN, "user", name, where, _what_user(body) + used, reason)


def _contexts_of(
    paths: tuple[Path, ...], docs: dict[Path, Document], kind: merge.Kind, name: str
) -> list[str]:
    """The contexts, in every file, whose `kind` (user or cluster) is `name`."""
    return [
        str(item.get("name"))
        for path in paths
        if path in docs
        for item in docs[path].items("context")
        if isinstance(item.get("context"), Mapping) and item["context"].get(kind) == name
    ]


def _what_user(body: object) -> str:
    fields = body if isinstance(body, Mapping) else {}
    if any(k in fields for k in ("client-certificate", "client-certificate-data")):
        return "a user with a client certificate"
    if any(k in fields for k in ("token", "tokenFile")):
        return "a user with a static token"
    if "password" in fields:
        return "a user with a password"
    if "auth-provider" in fields:
        return "a user with an auth provider"
    exec_ = fields.get("exec")
    if isinstance(exec_, Mapping):
        return f"a user that runs {str(exec_.get('command'))!r}"
    return "a user rgpu-exec did not write"


def _cluster(
    paths: tuple[Path, ...], docs: dict[Path, Document], name: str, where: Path, body: object
) -> Verdict:
    server = body.get("server") if isinstance(body, Mapping) else None
    server = server if isinstance(server, str) else None
    at = f"a cluster at {server}" if server else "a cluster with no server"
    owners: list[Verdict] = []
    for path in paths:
        for item in docs[path].items("context") if path in docs else []:
            context = item.get("context")
            if isinstance(context, Mapping) and context.get("cluster") == name:
                owners.append(judge(paths, docs, "context", str(item.get("name")), path))
    strangers = [v for v in owners if v.owner not in (RGPU_EXEC, CONSOLE)]
    if strangers:
        what = f"{at}, used by context {strangers[0].name!r}"
        return Verdict(FOREIGN, "cluster", name, where, what, what, server=server)
    if owners:
        owner = RGPU_EXEC if any(v.owner == RGPU_EXEC for v in owners) else CONSOLE
        namespace_id = owners[0].namespace_id
        return Verdict(owner, "cluster", name, where, at, "", namespace_id, server)
    twin = judge(paths, docs, "user", name, where)
    if twin.owner in (RGPU_EXEC, CONSOLE):
        return Verdict(twin.owner, "cluster", name, where, at, "", twin.namespace_id, server)
    if twin.owner == ABSENT and name.startswith(entries.CONTEXT_PREFIX):
        # Unused, alone, and named as rgpu-exec names its entries (`rgpu-<namespace>`).
        return Verdict(RGPU_EXEC, "cluster", name, where, at, "", None, server)
    return Verdict(
        FOREIGN, "cluster", name, where, at, "no context of rgpu-exec uses it", None, server
    )
