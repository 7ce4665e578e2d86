"""What the commands share: the common flags, the `--help` epilog layout, and flag values
checked by the rules of `hotpath.request` (a refusal is a usage error, exit 2).

Light imports only: the CLI imports every command module to build its parser."""

from __future__ import annotations

from typing import TYPE_CHECKING, TypeVar

from rgpu_exec.errors import UsageError
from rgpu_exec.hotpath import request, settings

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

T = TypeVar("T")


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


OUTPUT_FORMATS = ("table", "json")
JSON_DOC = "its schema: docs/json-output.md"


def add_output(parser: argparse.ArgumentParser, json_shape: str = JSON_DOC) -> None:
    """`-o/--output {table,json}`, the same on every command that prints a report."""
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_FORMATS,
        default="table",
        help=f"table: for people (default); json: one document for scripts ({json_shape})",
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


def api_url(flag: str | None, environ: Mapping[str, str]) -> str:
    return _valid(request.resolve_api_url(flag, environ))


def profile(flag: str | None, environ: Mapping[str, str]) -> str:
    return _valid(request.resolve_profile(flag, environ))


def deadline(environ: Mapping[str, str]) -> float:
    """Seconds an exchange may take, retries included (`RGPU_EXEC_DEADLINE`), like `token`."""
    return _valid(request.resolve_deadline(environ))


def namespace_id(value: str) -> str:
    return _valid(request.resolve_namespace_id(value))


def _valid(resolved: tuple[T, str | None]) -> T:
    value, problem = resolved
    if problem:
        raise UsageError(problem)
    return value
