"""`RGPU_EXEC_LOG=debug`: each step on stderr, through the output gate (which cuts anything
shaped like an API key to its prefix, and removes every key this process knows)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rgpu_exec import output
from rgpu_exec.hotpath import settings

if TYPE_CHECKING:
    from collections.abc import Mapping


def configure(environ: Mapping[str, str]) -> str | None:
    """Log to stderr as `RGPU_EXEC_LOG` asks. Returns the warning for a value that is not a
    level (`settings.log_warning`, the rule the cache-hit path follows too): nothing is logged."""
    level = settings.log_level(environ)
    if level not in settings.LOG_LEVELS:
        return settings.log_warning(environ)
    handler = output.LogHandler()
    handler.setFormatter(logging.Formatter("rgpu-exec: %(levelname)s: %(name)s: %(message)s"))
    root = logging.getLogger("rgpu_exec")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
    return None
