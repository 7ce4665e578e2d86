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


LEVELS = ("debug", "info")


def configure(environ: Mapping[str, str]) -> str | None:
    """Log to stderr as `RGPU_EXEC_LOG` asks; or why its value is refused (a usage error: a
    typo such as `verbose` must not silently log nothing). The cache-hit path never reads it."""
    level = settings.log_level(environ)
    if not level:
        return None
    if level not in LEVELS:
        return (
            f"{settings.ENV_LOG}={level!r} is not a log level: set it to debug (each step) or "
            "info, or unset it."
        )
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter("rgpu-exec: %(levelname)s: %(name)s: %(message)s"))
    root = logging.getLogger("rgpu_exec")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
    return None
