"""The OS keyring, where `rgpu-exec login` keeps a profile's API key.

Service `rgpu-exec`, username = the profile name. Reading never raises: a keyring that is
missing, locked or broken (headless Linux, CI) means "no key there".
"""

from __future__ import annotations

import logging

log = logging.getLogger(__name__)

SERVICE = "rgpu-exec"


def get_key(profile: str) -> str | None:
    try:
        import keyring  # noqa: PLC0415

        value = keyring.get_password(SERVICE, profile)
    except Exception as exc:
        log.debug("keyring unavailable (%s): treating it as holding no key", type(exc).__name__)
        return None
    return value or None
