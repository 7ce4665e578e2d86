"""What the user-facing commands (login, check, cache, doctor) share: validated options, the
cache directory, colour, and the `--help` epilog layout. Light imports only: the CLI imports it."""

from __future__ import annotations

from typing import TYPE_CHECKING, TextIO

from rgpu_exec import settings
from rgpu_exec.errors import UsageError

if TYPE_CHECKING:
    import argparse
    from collections.abc import Mapping

_COLOURS = {"green": "32", "red": "31", "yellow": "33", "bold": "1", "dim": "2"}


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


def add_output(parser: argparse.ArgumentParser, json_shape: str) -> None:
    """`-o/--output {table,json}`, the same on every command that prints a report."""
    parser.add_argument(
        "-o",
        "--output",
        choices=OUTPUT_FORMATS,
        default="table",
        type=_output_format,
        help=f"table: aligned text for people (default); json, for scripts: {json_shape}",
    )


def _output_format(value: str) -> str:
    return "table" if value == "text" else value  # `text`: doctor's first name for `table`


def add_profile(parser: argparse.ArgumentParser, what: str) -> None:
    parser.add_argument(
        "--profile",
        help=f"{what} (default: ${settings.ENV_PROFILE} or {settings.DEFAULT_PROFILE!r})",
    )


def api_url(flag: str | None, environ: Mapping[str, str]) -> str:
    url = settings.api_url(flag, environ)
    problem = settings.url_problem(url)
    if problem:
        raise UsageError(
            f"the API URL {url!r} {problem}. Use an https:// URL "
            f"(--api-url or {settings.ENV_API_URL})."
        )
    return url


def profile(flag: str | None, environ: Mapping[str, str]) -> str:
    name = settings.profile(flag, environ)
    if not settings.valid_profile(name):
        raise UsageError(
            f"profile name {name!r} is not valid: use 1-64 letters, digits, '.', '_' or '-'."
        )
    return name


def deadline(environ: Mapping[str, str]) -> float:
    """Seconds an exchange may take, retries included (`RGPU_EXEC_DEADLINE`), like `token`."""
    value = settings.deadline(environ)
    if value is None:
        raise UsageError(
            f"{settings.ENV_DEADLINE} must be a number of seconds between 0.1 and 300 "
            f"(got {environ.get(settings.ENV_DEADLINE)!r}); unset it for the default "
            f"of {settings.DEFAULT_DEADLINE:.0f} s."
        )
    return value


def namespace_id(value: str) -> str:
    if not settings.looks_like_uuid(value):
        raise UsageError(
            f"{value!r} is not a namespace ID (a lower-case UUID such as "
            "6f1c2d4e-8a9b-4c3d-9e8f-0a1b2c3d4e5f). Copy it from the console's namespace page."
        )
    return value


def cache_directory(environ: Mapping[str, str]) -> str:
    """The token cache directory, exactly as `rgpu-exec token` chooses it."""
    directory = settings.cache_dir(environ)
    if directory is None:
        import platformdirs  # noqa: PLC0415

        directory = platformdirs.user_cache_dir(settings.APP_NAME, appauthor=False)
    return directory


def cache_directory_fix(directory: str) -> str:
    """What to do about a cache directory that `token_cache.directory_problem` refuses."""
    from pathlib import Path  # noqa: PLC0415

    if Path(directory).exists() and not Path(directory).is_dir():
        return (
            f"remove that file, or set {settings.ENV_CACHE_DIR} to a directory of yours "
            "(rgpu-exec creates it, mode 700)"
        )
    return (
        f"chmod 700 {directory} (and make it yours), or set {settings.ENV_CACHE_DIR} to a "
        "private directory"
    )


def colour_on(stream: TextIO, environ: Mapping[str, str]) -> bool:
    """Colour only on a terminal, and never with NO_COLOR set or TERM=dumb."""
    if environ.get(settings.ENV_NO_COLOR) or environ.get("TERM") == "dumb":
        return False
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


def paint(text: str, colour: str, on: bool) -> str:
    return f"\033[{_COLOURS[colour]}m{text}\033[0m" if on else text


def table(rows: list[list[str]], header: list[str]) -> list[list[str]]:
    """Cells padded to align in columns (colour is applied after padding, so widths hold)."""
    widths = [max(len(row[i]) for row in [header, *rows]) for i in range(len(header))]
    return [
        [cell.ljust(width) for cell, width in zip(row, widths, strict=True)]
        for row in [header, *rows]
    ]
