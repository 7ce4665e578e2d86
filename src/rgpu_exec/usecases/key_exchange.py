"""One exchange that proves a key can get a credential for a namespace, before something is
kept that would otherwise fail later: a kubeconfig context (`kubeconfig generate` / `import`),
a key in the keyring (`login`). The token is dropped unseen; the cache is neither read nor
written."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import request

if TYPE_CHECKING:
    from collections.abc import Mapping

    from rgpu_exec.api.exchange import IssuedToken


def exchange_once(
    api_url: str,
    key: str,
    namespace_id: str,
    environ: Mapping[str, str],
    url_source: str = "the API URL",
    *,
    namespace_name: str | None = None,
) -> IssuedToken:
    """The exchange's answer, or its error (exit 3, 4 or 5 as `token` would give)."""
    from rgpu_exec.api.exchange import Exchanger  # noqa: PLC0415 - httpx, pydantic

    deadline, problem = request.resolve_deadline(environ)
    if problem:
        raise UsageError(problem)
    exchanger = Exchanger(api_url, key, environ, deadline=deadline, url_source=url_source)
    return exchanger.exchange(namespace_id, namespace_name)
