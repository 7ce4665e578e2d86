"""`RGPU_EXEC_LOG=debug`: each step on stderr; anything shaped like an API key cut to its prefix."""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING

from rgpu_exec.hotpath import settings
from rgpu_exec.redact import KEY_PATTERN, KEY_PREFIX_LENGTH

if TYPE_CHECKING:
    from collections.abc import Mapping

_KEY_SHAPE = re.compile(KEY_PATTERN)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return _KEY_SHAPE.sub(
            lambda m: m.group(1)[:KEY_PREFIX_LENGTH] + "…", super().format(record)
        )


def configure(environ: Mapping[str, str]) -> str | None:
    """Log to stderr as `RGPU_EXEC_LOG` asks. Returns the warning for a value that is not a
    level (`settings.log_warning`, the rule the cache-hit path follows too): nothing is logged."""
    level = settings.log_level(environ)
    if level not in settings.LOG_LEVELS:
        return settings.log_warning(environ)
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter("rgpu-exec: %(levelname)s: %(name)s: %(message)s"))
    root = logging.getLogger("rgpu_exec")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
    return None
