"""`RGPU_EXEC_LOG=debug`: each step on stderr; anything shaped like an API key cut to its prefix."""

from __future__ import annotations

import logging
import re
import sys
from typing import TYPE_CHECKING

from rgpu_exec.credentials.api_key import KEY_PATTERN, KEY_PREFIX_LENGTH
from rgpu_exec.hotpath import settings

if TYPE_CHECKING:
    from collections.abc import Mapping

_KEY_SHAPE = re.compile(KEY_PATTERN)


class _RedactingFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        return _KEY_SHAPE.sub(
            lambda m: m.group(1)[:KEY_PREFIX_LENGTH] + "…", super().format(record)
        )


def configure(environ: Mapping[str, str]) -> None:
    level = settings.log_level(environ)
    if level not in ("debug", "info"):
        return
    handler = logging.StreamHandler(sys.stderr)
    handler.setFormatter(_RedactingFormatter("rgpu-exec: %(levelname)s: %(name)s: %(message)s"))
    root = logging.getLogger("rgpu_exec")
    root.addHandler(handler)
    root.setLevel(logging.DEBUG if level == "debug" else logging.INFO)
