"""The use case of `rgpu-exec kubeconfig import FILE…`: each console kubeconfig read first (a
bad one stops the run before anything is written), then its namespace written as generate writes
one (`kubeconfig_write.write_namespace`), with one backup per command. The file never chooses
where the key goes: its API must be the one the user chose (or, re-imported, the one its
namespace's context already runs).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from dataclasses import replace as replace_fields
from pathlib import Path
from typing import TYPE_CHECKING, BinaryIO

from rgpu_exec import fixes
from rgpu_exec.errors import RgpuExecError, UsageError
from rgpu_exec.hotpath import request, settings, url_rules
from rgpu_exec.kubeconfig import console, edit, entries, listing
from rgpu_exec.sourced import Sourced, checked
from rgpu_exec.sourced import api_url as resolve_api_url
from rgpu_exec.terminal import printable, shown
from rgpu_exec.usecases.kubeconfig_report import WriteRequest, WriteResult
from rgpu_exec.usecases.kubeconfig_verify import ServerSource
from rgpu_exec.usecases.kubeconfig_write import StanzaRequest, spec_for, write_namespace

if TYPE_CHECKING:
    from collections.abc import Mapping


@dataclass(frozen=True)
class ImportRequest:
    """`kubeconfig import FILE…`: the files (`-`: stdin), and how to write each namespace."""

    files: tuple[str, ...]
    stanza: StanzaRequest = field(default_factory=StanzaRequest)
    write: WriteRequest = field(default_factory=WriteRequest)
    replace: bool = False  # swap out the console's own contexts for the namespace
    certificate_authority: str | None = None  # a PEM file: replaces or fills each file's CA
    certificate_authority_data: str | None = None  # base64 of one


@dataclass
class ImportResult:
    """What each import said, in order; and the failure that stopped a later one, if one did
    (the command says what the earlier ones did, then fails with it)."""

    results: list[WriteResult] = field(default_factory=list)
    error: RgpuExecError | None = None


def run_import(wanted: ImportRequest, environ: Mapping[str, str], stdin: BinaryIO) -> ImportResult:
    """`kubeconfig import`: several files only without `-` and without `--context` (each
    namespace gets its own context, rgpu-<namespace>); every file read first, so a bad one
    stops the run before anything is written; then one import each."""
    names = wanted.files
    if len(names) > 1 and ("-" in names or wanted.stanza.context is not None):
        raise UsageError(
            "import several files without - (stdin) and without --context (each namespace gets "
            "its own context, rgpu-<namespace>), or import them one at a time."
        )
    ca_data = entries.ca_data_from_flags(
        wanted.certificate_authority, wanted.certificate_authority_data
    )
    found = [console.read(None if n == "-" else Path(n), stdin) for n in names]
    done = ImportResult()
    backed_up: edit.Backups = {}  # one backup per command: the files as they were before it
    try:
        for name, source in zip(names, found, strict=True):
            done.results.append(
                import_console(
                    source,
                    wanted.write.api_url,
                    wanted.stanza,
                    wanted.write,
                    environ,
                    replace=wanted.replace,
                    ca_data=ca_data,
                    backed_up=backed_up,
                    file=name,
                )
            )
    except RgpuExecError as exc:
        if not done.results:
            raise
        done.error = exc
    return done


def import_console(
    source: console.ConsoleKubeconfig,
    api_url: Sourced[str] | None,
    stanza: StanzaRequest,
    options: WriteRequest,
    environ: Mapping[str, str],
    *,
    replace: bool = False,
    ca_data: str | None = None,
    backed_up: edit.Backups | None = None,
    file: str | None = None,
) -> WriteResult:
    """`kubeconfig import`: the namespace of a console kubeconfig (`console.read`), from `file`
    (`-`: stdin). The file never chooses where the key goes: its API must be the one the user
    chose. `ca_data`: a CA the user gave, which replaces (or fills in) the file's own."""
    sourced_url = api_url or resolve_api_url(None, environ)
    if not sourced_url.given and not settings.api_url_from_environment(environ):
        sourced_url = _reimported_url(source, options, environ) or sourced_url
        options = replace_fields(options, api_url=sourced_url)
    chosen = sourced_url.value
    if settings.normal_url(source.api_url) != chosen:
        where = sourced_url.source
        problem = url_rules.url_problem(source.api_url)
        if problem or not printable(source.api_url):
            # Shown escaped, never as a URL to copy: it is not one --api-url would take as is.
            raise UsageError(
                f"the file asks for credentials from the API at {shown(source.api_url)}, which "
                f"is not a usable API URL (it {problem or 'holds control characters'}). "
                f"rgpu-exec sends your API key only to an API URL you chose ({chosen}, "
                f"{where}); nothing was sent or written. Download the kubeconfig again from the "
                "console's namespace page."
            )
        again = (
            fixes.command("rgpu-exec", "kubeconfig", "import", file, "--api-url", source.api_url)
            if file and file != "-"
            else f"the import again with {fixes.command('--api-url', source.api_url)}"
        )
        raise UsageError(
            f"the file asks for credentials from the API at {source.api_url}, but the API URL "
            f"you chose is {chosen} ({where}). rgpu-exec sends your API key only to an API "
            f"URL you chose, never to one a file names; nothing was sent or written. If you "
            f"trust that API, run {again}."
        )
    spec = spec_for(
        stanza,
        environ,
        namespace=entries.check_namespace(source.namespace),
        namespace_id=checked(request.resolve_namespace_id(source.namespace_id)),
        server=entries.check_server(source.server),
        ca_data=ca_data or (entries.check_ca_data(source.ca_data) if source.ca_data else None),
        api_url=chosen,
    )
    named_in = ServerSource(f"named in {source.origin}", chosen=False)
    return write_namespace(
        spec,
        options,
        environ,
        replace=replace,
        server_source=named_in,
        backed_up=backed_up,
        imported=file,
    )


def _reimported_url(
    source: console.ConsoleKubeconfig, options: WriteRequest, environ: Mapping[str, str]
) -> Sourced[str] | None:
    """With no API URL chosen (neither --api-url nor REMOTEGPU_API_URL): the one a context of
    this namespace already runs, when it is the file's. Re-importing a file is then no new
    choice: the user chose that API when the context was written (with --api-url)."""
    wanted = settings.normal_url(source.api_url)
    if url_rules.url_problem(wanted) or not printable(wanted):
        return None
    name = listing.running(options.kubeconfig, environ, source.namespace_id, wanted)
    where = f"the --api-url of context {name!r}, which already runs it"
    return Sourced(wanted, where) if name else None
