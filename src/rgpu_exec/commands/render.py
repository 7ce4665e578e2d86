"""The one renderer: every command's result goes out as a table for people, `-o json` or
`-o yaml`, and only through the output gate (`rgpu_exec.output`).

A command hands over its result twice over: the document (the same dict for JSON and YAML; the
JSON schema is in docs/json-output.md) and the table, each as a function, so only the form asked
for is built. JSON goes through `output.document`, which scrubs it value by value and keeps it
byte-identical otherwise; YAML is the same document, dumped by PyYAML (imported only when YAML
is asked for) and cleaned by the gate.
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from rgpu_exec import output

if TYPE_CHECKING:
    from collections.abc import Callable

FORMATS = ("table", "json", "yaml")
DOCUMENT_FORMATS = ("json", "yaml")  # the forms that print one document, a failure's included
Document = object  # a JSON value: dicts, lists, str, int, float, bool, None


def render(
    form: str,
    *,
    document: Callable[[], Document],
    table: Callable[[], str] | None = None,
    indent: int | None = 2,
) -> None:
    """Print one result as `form` (one of FORMATS). `table` is the text for people on stdout;
    without one, the table form prints the JSON document. `indent`: the JSON's, as documented
    for that command (None: one line)."""
    if form == "yaml":
        output.write(as_yaml(document()))
    elif form == "json" or table is None:
        output.document(as_json(document(), indent))
    else:
        output.write(table())


def failure(exit_code: int, message: str) -> dict[str, object]:
    """The one document of a command that failed before it built its own (docs/json-output.md):
    `{"ok": false, "error": {"exit_code", "message"}}`, the message as stderr says it, without
    `rgpu-exec: `."""
    said = message.removeprefix("rgpu-exec: ").strip()
    return {"ok": False, "error": {"exit_code": int(exit_code), "message": said}}


def render_failure(form: str | None, exit_code: int, message: str) -> None:
    """Print the failure document when `form` is one that prints a document (json, yaml);
    nothing for the table, whose message goes to stderr alone."""
    if form in DOCUMENT_FORMATS:
        render(form, document=lambda: failure(exit_code, message))


def as_json(document: Document, indent: int | None = 2) -> str:
    return json.dumps(document, indent=indent) + "\n"


def as_yaml(document: Document) -> str:
    import yaml  # noqa: PLC0415 - only when YAML is asked for

    dumped: str = yaml.safe_dump(
        document, sort_keys=False, default_flow_style=False, allow_unicode=True
    )
    return dumped
