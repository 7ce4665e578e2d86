"""`RGPU_EXEC_LOG=debug`: each step on stderr, through the output gate (which cuts anything
shaped like an API key to its prefix, and removes every key this process knows)."""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

from rgpu_exec import output
from rgpu_exec.hotpath import settings

if TYPE_CHECKING:
    from collections.abc import Mapping


class LogHandler(logging.Handler):
    """Log records (`RGPU_EXEC_LOG`) on stderr, through the output gate (here, not in `output`:
    logging loads only when a log level is set)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            output.tell(self.format(record) + "\n")
        except Exception:  # logging never breaks the command
            self.handleError(record)


def configure(environ: Mapping[str, str]) -> str | None:
    """Log to stderr as `RGPU_EXEC_LOG` asks. Returns the warning for a value that is not a
    level (`settings.log_warning`, the rule the cache-hit path follows too): nothing is logged."""
    level = settings.log_level(environ)
    if level not in settings.LOG_LEVELS:
        return settings.log_warning(environ)
    handler = LogHandler()
    handler.setFormatter(logging.Formatter("rgpu-exec: %(levelname)s: %(name)s: %(message)s"))
    root = logging.getLogger("rgpu_exec")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
    return None
