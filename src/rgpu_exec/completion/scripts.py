"""The bash, zsh and fish completion scripts, written from a `completion.tree.Command` tree (the
CLI's parser, described)."""

from __future__ import annotations

from rgpu_exec.completion.tree import PROGRAMS

TYPE_CHECKING = False  # typing costs a TAB its import
if TYPE_CHECKING:
    from collections.abc import Callable

    from rgpu_exec.completion.tree import Command


def _words(command: Command) -> list[str]:
    return [s.path[-1] for s in command.subcommands] + command.positionals + command.flags


_BASH_KUBECTL_CONTEXTS = (
    '    kubectl config get-contexts -o name ${kubeconfig:+--kubeconfig "$kubeconfig"} 2>/dev/null'
)
# Data (context names, file names) never goes through `compgen -W`, which expands every word it
# is given (`$(…)`, backquotes, variables), nor through an unquoted `$(…)`, which splits and
# globs: each name is read as one line, matched as a literal prefix, and offered quoted for the
# command line (`printf %q`; bash quotes file names itself with `-o filenames`).
_BASH_DATA = (
    "_rgpu_exec_add_contexts() {",
    "    local name quoted",
    "    while IFS= read -r name; do",
    '        if [[ -n "$name" && "$name" == "$cur"* ]]; then',
    "            printf -v quoted '%q' \"$name\"",
    '            COMPREPLY+=("$quoted")',
    "        fi",
    "    done < <(_rgpu_exec_contexts)",
    "}",
    "_rgpu_exec_add_files() {",
    "    local name",
    "    compopt -o filenames 2>/dev/null",
    '    while IFS= read -r name; do COMPREPLY+=("$name"); done < <(compgen -f -- "$cur")',
    "}",
)
_BASH_REPLIES = {
    "file": "COMPREPLY=(); _rgpu_exec_add_files",
    "context": "COMPREPLY=(); _rgpu_exec_add_contexts",
    "text": "COMPREPLY=()",
}


def bash(root: Command) -> str:
    commands = root.walk()
    known = "|".join(c.key for c in commands if c.path)
    values, many, words = [], [], []
    for c in commands:
        for flag, choices in c.value_flags.items():
            kind = c.kind(flag)
            reply = (
                f'COMPREPLY=($(compgen -W "{" ".join(choices or [])}" -- "$cur"))'
                if kind == "choices"
                else _BASH_REPLIES[kind]
            )
            values.append(f'        "{c.key} {flag}") {reply}; return ;;')
            if flag in c.multi_value_flags and kind != "choices":
                many.append(f'            "{c.key} {flag}") {reply}; return ;;')
        files = "; files=1" if c.file_positional else ""
        files += "; contexts=1" if c.context_positional else ""
        words.append(f'        "{c.key}") words="{" ".join(_words(c))}"{files} ;;')
    return "\n".join(
        [
            "# bash completion for rgpu-exec and kubectl-rgpu: `rgpu-exec completion bash`",
            "_rgpu_exec_contexts() {",
            "    command -v kubectl >/dev/null 2>&1 || return 0",
            _BASH_KUBECTL_CONTEXTS,
            "}",
            *_BASH_DATA,
            "_rgpu_exec_complete() {",
            '    local cur="${COMP_WORDS[COMP_CWORD]}" prev="${COMP_WORDS[COMP_CWORD-1]}"',
            '    local cmdpath="" word words="" i lastflag="" kubeconfig="" files="" contexts=""',
            "    for ((i = 1; i < COMP_CWORD; i++)); do",
            '        word="${COMP_WORDS[i]}"',
            '        case "$cmdpath/$word" in',
            f'            {known}) cmdpath="$cmdpath/$word"; lastflag=""; continue ;;',
            "        esac",
            '        case "$word" in -*) lastflag="$word" ;; esac',
            '        if [[ "${COMP_WORDS[i-1]}" == --kubeconfig ]]; then kubeconfig="$word"; fi',
            "    done",
            '    case "$cmdpath $prev" in',
            *values,
            "    esac",
            "    # After a flag taking several values: more values.",
            '    if [[ "$cur" != -* ]]; then',
            '        case "$cmdpath $lastflag" in',
            *many,
            "        esac",
            "    fi",
            '    case "$cmdpath" in',
            *words,
            "    esac",
            "    # Only the parser's own words (commands, flags, choices) go through compgen -W.",
            '    COMPREPLY=($(compgen -W "$words" -- "$cur"))',
            '    if [[ -n "$contexts" && "$cur" != -* ]]; then _rgpu_exec_add_contexts; fi',
            '    if [[ -n "$files" && "$cur" != -* ]]; then _rgpu_exec_add_files; fi',
            "}",
            f"complete -F _rgpu_exec_complete {' '.join(PROGRAMS)}",
            "",
        ]
    )


# zsh: `${(f)…}` splits kubectl's output into lines and expands nothing in them; compadd quotes
# each candidate as it inserts it.
_ZSH_REPLIES = {
    "file": "_files",
    "context": 'compadd -- ${(f)"$(_rgpu_exec_contexts)"}',
    "text": ":",
}


def zsh(root: Command) -> str:
    commands = root.walk()
    known = "|".join(c.key for c in commands if c.path)
    values, words = [], []
    for c in commands:
        for flag, choices in c.value_flags.items():
            kind = c.kind(flag)
            reply = f"compadd -- {' '.join(choices or [])}" if kind == "choices" else None
            values.append(f'        "{c.key} {flag}") {reply or _ZSH_REPLIES[kind]}; return ;;')
        files = "; _files" if c.file_positional else ""
        files += f"; {_ZSH_REPLIES['context']}" if c.context_positional else ""
        words.append(f'        "{c.key}") compadd -- {" ".join(_words(c))}{files} ;;')
    return "\n".join(
        [
            f"#compdef {' '.join(PROGRAMS)}",
            "# zsh completion for rgpu-exec and kubectl-rgpu: `rgpu-exec completion zsh`",
            "_rgpu_exec_contexts() {",
            "    (( $+commands[kubectl] )) && kubectl config get-contexts -o name 2>/dev/null",
            "}",
            "_rgpu_exec_complete() {",
            '    local cmdpath="" word i prev="${words[CURRENT-1]}"',
            "    for ((i = 2; i < CURRENT; i++)); do",
            '        word="${words[i]}"',
            '        case "$cmdpath/$word" in',
            f'            {known}) cmdpath="$cmdpath/$word" ;;',
            "        esac",
            "    done",
            '    case "$cmdpath $prev" in',
            *values,
            "    esac",
            '    case "$cmdpath" in',
            *words,
            "    esac",
            "}",
            f"compdef _rgpu_exec_complete {' '.join(PROGRAMS)}",
            "",
        ]
    )


# fish: the lines of a command substitution are candidates as they are (not expanded again), and
# fish escapes a candidate as it inserts it.
_FISH_CONTEXTS = "(kubectl config get-contexts -o name 2>/dev/null)"


def fish(root: Command) -> str:
    lines = ["# fish completion for rgpu-exec and kubectl-rgpu: `rgpu-exec completion fish`"]
    for program in PROGRAMS:
        lines.append(f"complete -c {program} -f")
        for c in root.walk():
            condition = _fish_condition(c)
            lines += [
                f"complete -c {program} -n {condition} -a {s.path[-1]} -d {_fish_quote(s.help)}"
                for s in c.subcommands
            ]
            if c.positionals:
                words = _fish_quote(" ".join(c.positionals))
                lines.append(f"complete -c {program} -n {condition} -a {words}")
            if c.file_positional:
                lines.append(f"complete -c {program} -n {condition} -F")
            if c.context_positional:
                lines.append(
                    f"complete -c {program} -n {condition} -xa {_fish_quote(_FISH_CONTEXTS)}"
                )
            for flag in c.flags:
                option = f"-l {flag[2:]}"
                shorts = [s for s, long in c.long_forms.items() if long == flag and s != flag]
                option += "".join(f" -s {s[1:]}" for s in shorts)
                if flag in c.value_flags:
                    kind = c.kind(flag)
                    if kind == "choices":
                        option += f" -xa {_fish_quote(' '.join(c.value_flags[flag] or []))}"
                    elif kind == "context":
                        option += f" -xa {_fish_quote(_FISH_CONTEXTS)}"
                    else:
                        option += " -rF" if kind == "file" else " -r"
                lines.append(f"complete -c {program} -n {condition} {option}")
    return "\n".join([*lines, ""])


def _fish_condition(command: Command) -> str:
    if not command.path:
        return "__fish_use_subcommand"
    parts = [f"__fish_seen_subcommand_from {part}" for part in command.path]
    if command.subcommands:
        names = " ".join(s.path[-1] for s in command.subcommands)
        parts.append(f"not __fish_seen_subcommand_from {names}")
    return _fish_quote("; and ".join(parts))


def _fish_quote(text: str) -> str:
    return "'" + text.replace("\\", "\\\\").replace("'", "\\'") + "'"


SCRIPTS: dict[str, Callable[[Command], str]] = {"bash": bash, "zsh": zsh, "fish": fish}
