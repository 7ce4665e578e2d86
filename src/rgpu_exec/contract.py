"""The plain facts of the RemoteGPU API this plugin relies on: paths, header, codes, where keys
are managed. Standard library only, no pydantic (the answer models are `api.api_contract`), so
any layer can name them without loading anything.

Some of it is assumed rather than published (the exchange path, the error codes); every such
detail lives here so it can change in one edit (docs/api-contract.md).
"""

from __future__ import annotations

API_KEY_HEADER = "x-api-key"
# The exchange's 404 code for a namespace the key's account does not have.
NAMESPACE_NOT_FOUND = "namespace_not_found"
# Assumed: the docs do not publish the exchange path.
EXCHANGE_PATH = "/v1/kubernetes/namespaces/{namespace_id}/exec-credential"
# The API's generic error messages, lower case, words only: the docs give one message for every
# rejected key, and the platform words a missing namespace this way. They add nothing to the
# plugin's own explanation of the code (`api.api_errors.ErrorAnswer.beside`).
GENERIC_MESSAGES = frozenset(
    {
        "missing invalid revoked or expired api key",
        "namespace not found",
        "missing access token",
    }
)
# A namespace ID no account has (the nil UUID, which no generator of UUIDs produces): an exchange
# for it is answered without issuing a token. Without a key, the API asks for one (401, how
# doctor's keyless probe knows the API); with a key, it answers 401 when the key is rejected,
# else about the namespace (404 namespace_not_found, or 403): how a key is judged without
# spending a token (docs/api-contract.md).
NO_NAMESPACE_ID = "00000000-0000-0000-0000-000000000000"
# Where users create and manage keys (and change a key's scopes), named in messages.
KEYS_CONSOLE_PAGE = "Settings / API Keys"


def exchange_url(api_url: str, namespace_id: str) -> str:
    return api_url.rstrip("/") + EXCHANGE_PATH.format(namespace_id=namespace_id)
