"""Which RemoteGPU API an exchange asks, and how: the one declaration of what the exchange
(`api.exchange.Exchanger`) and the use cases' sequence around it
(`usecases.key_exchange.KeyExchange`) share.

Light to import (no httpx, no pydantic): the use cases build it before they know that an
exchange will be made.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

from rgpu_exec import output
from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import request, settings

if TYPE_CHECKING:
    from collections.abc import Callable, Mapping


@dataclass(frozen=True)
class ApiEndpoint:
    """The API's base URL, and how to ask it.

    `environ`: the environment the request reads (CA bundles, proxies). `url_source`: where the
    URL came from, for a message about a wrong one (`request.api_url_source`). `deadline`: the
    seconds the whole exchange may take, retries included; None: `RGPU_EXEC_DEADLINE`, as
    `token` reads it. `interactive`: kubectl runs the plugin interactively (exec info
    `spec.interactive`), so a long wait is told, through `notify`.
    """

    api_url: str
    environ: Mapping[str, str]
    url_source: str = "the API URL"
    deadline: float | None = None
    interactive: bool = False
    notify: Callable[[str], None] = output.say

    def __post_init__(self) -> None:
        """An API URL that holds a key (pasted into `--api-url`, say) is never asked: its host
        alone would send the key to a DNS server. The output gate's rule decides what is
        key-shaped (`output.holds_secret`), and the URL is never shown."""
        if output.holds_secret(self.api_url):
            raise UsageError(
                f"the API URL ({self.url_source}) holds what looks like an API key, so rgpu-exec "
                "asks nothing of it and does not show it. Give the API's base URL there (such "
                f"as {settings.DEFAULT_API_URL}), and the key through {settings.ENV_API_KEY} or "
                "`rgpu-exec login`; if the key was pasted or shared, revoke it in the console."
            )

    def seconds(self) -> float:
        """The deadline in seconds; a `RGPU_EXEC_DEADLINE` that is not one is a usage error."""
        if self.deadline is not None:
            return self.deadline
        deadline, problem = request.resolve_deadline(self.environ)
        if problem:
            raise UsageError(problem)
        return deadline
