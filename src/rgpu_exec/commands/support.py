"""What the commands share: the common flags, the `--help` epilog layout, and flag values
checked by the rules of `hotpath.request` (a refusal is a usage error, exit 2).

Light imports only: the CLI imports every command module to build its parser."""

from __future__ import annotations

from typing import TYPE_CHECKING

from rgpu_exec import sourced
from rgpu_exec.commands.render import FORMATS
from rgpu_exec.hotpath import request, settings

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

    from rgpu_exec.sourced import Sourced


def epilog(*examples: str, exit_codes: str) -> str:
    """`examples:` then the exit codes, for a RawDescriptionHelpFormatter epilog."""
    lines = "\n".join(f"  {example}" for example in examples)
    return f"examples:\n{lines}\n\nexit codes:\n{exit_codes}"


def add_api_url(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--api-url",
        help=f"RemoteGPU API base URL (default: ${settings.ENV_API_URL} or "
        f"{settings.DEFAULT_API_URL})",
    )


OUTPUT_FORMATS = FORMATS  # the renderer's
JSON_DOC = "its schema: docs/json-output.md"


def add_output(parser: argparse.ArgumentParser, json_shape: str = JSON_DOC) -> None:
    """`-o/--output {table,json,yaml}`, the same on every command that prints a report (the
    renderer, `commands.render`, prints each form)."""
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_FORMATS,
        default="table",
        help=f"table: for people (default); json: one document for scripts ({json_shape}); "
        "yaml: the same document as YAML",
    )


def add_kubeconfig(parser: argparse.ArgumentParser, what: str = "read") -> None:
    """`--kubeconfig PATH`: that file only, as kubectl's own flag (else KUBECONFIG, else
    ~/.kube/config)."""
    parser.add_argument(
        "--kubeconfig", metavar="PATH", help=f"{what} this kubeconfig file only (as kubectl does)"
    )


def add_profile(parser: argparse._ActionsContainer, what: str) -> None:
    parser.add_argument(
        "--profile",
        help=f"{what} (default: ${settings.ENV_PROFILE} or {settings.DEFAULT_PROFILE!r})",
    )


def api_url(flag: str | None, environ: Mapping[str, str]) -> Sourced[str]:
    """`--api-url`, else the environment's, else the default, with its source (refused where
    it is used: `Sourced.value`)."""
    return sourced.api_url(flag, environ)


def profile(flag: str | None, environ: Mapping[str, str]) -> Sourced[str]:
    """`--profile`, else the environment's, else `default`, with its source."""
    return sourced.profile(flag, environ)


def namespace_id(value: str) -> str:
    return sourced.checked(request.resolve_namespace_id(value))
