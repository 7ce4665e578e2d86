"""Usage errors that name what is wrong, never a value typed: a value may be a secret.

`rgpu-exec login rgpu_…` (the `gh auth login --with-token` habit), `--api-key rgpu_…`,
`--token=…`, a key pasted where a UUID goes: argparse would print each value back, into a
terminal, a CI log or a JSON artifact. These functions say which options were not recognised,
how many other arguments there were, and what is wrong with a value, without showing it.
"""

from __future__ import annotations

import argparse
import difflib
import re
from typing import TYPE_CHECKING

from rgpu_exec import output
from rgpu_exec.errors import ExitCode
from rgpu_exec.hotpath import settings
from rgpu_exec.redact import looks_like_remotegpu_key

if TYPE_CHECKING:
    from collections.abc import Iterable, Sequence
    from collections.abc import Set as AbstractSet

NOT_SHOWN = "not shown: it may be a secret"
_KEY_ADVICE = (
    "An argument looks like an API key: keep keys off command lines (shells keep them in their "
    "history); pipe the key into `rgpu-exec login`, type it when asked, or set "
    f"{settings.ENV_API_KEY}"
)
# A mistyped command is shown back only when it looks like a word someone meant as a command.
_COMMAND_WORD = re.compile(r"[a-z][a-z0-9-]{0,31}")
# A word of a command line that may be shown back in a fix: a command or a flag's name.
_SHOWABLE = re.compile(r"(--?)?[a-z][a-z0-9-]{0,31}")
NO_HELP_COMMAND = "there is no help command: the help is the --help flag"
# How close a mistyped option must be to a known one to be offered (difflib's ratio).
_CLOSE = 0.75
_INVALID_CHOICE = re.compile(r"invalid choice: '?([^'\s]+?)'? \(")
# argparse's own messages that quote what was typed, and what to say instead.
_ECHOES = (
    (re.compile(r"invalid choice: .*( \(choose from .*\))", re.DOTALL), r"invalid choice\1"),
    (re.compile(r"invalid (\S+) value: .*", re.DOTALL), r"not a valid \1 value"),
    (re.compile(r"ignored explicit argument .*", re.DOTALL), "takes no value"),
    (re.compile(r"ambiguous option: (-[^=\s]*)\S*"), r"ambiguous option: \1"),
)


def unrecognized(extras: Sequence[str], known: Sequence[str] = ()) -> str:
    """`unrecognized arguments: --api-key, and 1 more argument (not shown: …)`: the options by
    name (`--token=…` for `--token=VALUE`), the other arguments counted; then, for a mistyped
    option, the `known` one it is close to (`--namspace`: did you mean --namespace?)."""
    options = list(dict.fromkeys(_option_name(arg) for arg in extras if _is_option(arg)))
    others = sum(not _is_option(arg) for arg in extras)
    plural = "" if others == 1 else "s"
    if not others:
        message = f"unrecognized arguments: {', '.join(options)}"
    elif not options:
        count = "an" if others == 1 else str(others)
        message = f"{count} unexpected argument{plural} ({NOT_SHOWN})"
    else:
        message = (
            f"unrecognized arguments: {', '.join(options)}, and {others} more "
            f"argument{plural} ({NOT_SHOWN})"
        )
    if any(looks_like_remotegpu_key(_value_of(arg)) for arg in extras):
        message += f". {_KEY_ADVICE}"
    return message + did_you_mean(options, known)


def mistyped(typed: Iterable[str], public: AbstractSet[str]) -> list[str]:
    """The options typed that no command has (by name: `--tokn=…` for `--tokn=VALUE`)."""
    names = (_option_name(arg) for arg in typed if arg.startswith("--") and _is_option(arg))
    return [name for name in dict.fromkeys(names) if name.removesuffix("=…") not in public]


def did_you_mean(options: Sequence[str], known: Sequence[str]) -> str:
    """`; did you mean --namespace?` for each option typed that is close to a known long one
    (only names: `--tokn=…` is compared as `--tokn`): one that differs only in case first
    (`--namespace-ID` is `--namespace-id`), else the closest in lower case."""
    longs = {option.lower(): option for option in known if option.startswith("--")}
    guesses = []
    for option in options:
        name = option.removesuffix("=…").lower()
        close = difflib.get_close_matches(name, longs, n=1, cutoff=_CLOSE)
        if name in longs:
            close = [name]
        if close and name.startswith("--"):
            guesses.append((option, longs[close[0]]))
    if not guesses:
        return ""
    if len(guesses) == 1:
        return f"; did you mean {guesses[0][1]}?"
    pairs = ", ".join(f"{guess} for {typed}" for typed, guess in guesses)
    return f"; did you mean {pairs}?"


def _is_option(arg: str) -> bool:
    return arg.startswith("-") and len(arg) > 1 and not _is_number(arg)


def _is_number(arg: str) -> bool:
    try:
        float(arg)
    except ValueError:
        return False
    return True


def _option_name(arg: str) -> str:
    """`--token=…` → `--token`; `-kVALUE` → `-k…` (a short option's value may follow it)."""
    if arg.startswith("--"):
        name, sep, _ = arg.partition("=")
        return f"{name}=…" if sep else name
    return arg[:2] + ("…" if len(arg) > 2 else "")  # noqa: PLR2004 - `-k` and its value


def _value_of(arg: str) -> str:
    if arg.startswith("--"):
        return arg.partition("=")[2]
    return arg[2:] if _is_option(arg) else arg


def unknown_command(message: str, commands: Sequence[str]) -> str | None:
    """A mistyped command, with `did you mean 'check'?` as git and kubectl say it; the word is
    shown back only when it looks like one meant as a command."""
    typed = _INVALID_CHOICE.search(message)
    if typed is None or not commands or not message.startswith("argument COMMAND"):
        return None
    if typed[1] == "help":  # `git help`'s habit
        return NO_HELP_COMMAND
    known = f"commands: {', '.join(commands)}"
    # `Whoami` too: compared in lower case, but shown back only as a plain command word.
    close = difflib.get_close_matches(typed[1].lower(), commands, n=1)
    guess = f"; did you mean {close[0]!r}?" if close else ""
    if not _COMMAND_WORD.fullmatch(typed[1]):
        return f"unknown command ({NOT_SHOWN}; {known}){guess}"
    return f"unknown command {typed[1]!r} ({known}){guess}"


def without_values(message: str, typed: Iterable[str], public: AbstractSet[str]) -> str:
    """argparse's `message` with no value typed in it: its messages that quote a value are
    said without it, and any other quoted value typed (but a command, an option or a choice
    the parser offers) is replaced, whatever the Python version's wording."""
    for pattern, instead in _ECHOES:
        message = pattern.sub(instead, message)
    for arg in typed:
        for value in {arg, _value_of(arg)}:
            if value and value not in public:
                message = message.replace(repr(value), f"a value ({NOT_SHOWN})")
    return message


def public_words(parser: argparse.ArgumentParser) -> set[str]:
    """Every command, option and choice of `parser` and its subcommands: words that may be
    shown back."""
    words: set[str] = set()
    for action in parser._actions:  # noqa: SLF001 - argparse has no public way
        words.update(action.option_strings)
        if isinstance(action, argparse._SubParsersAction):  # noqa: SLF001 - no public way
            for name, sub in action.choices.items():
                words.add(name)
                words |= public_words(sub)
        elif action.choices is not None:
            words.update(str(choice) for choice in action.choices)
    return words


def commands_of(parser: argparse.ArgumentParser) -> list[str]:
    """The commands `parser` takes (its subcommands), in order."""
    return list(_subcommands(parser))


def _subcommands(parser: argparse.ArgumentParser) -> dict[str, argparse.ArgumentParser]:
    return {
        name: sub
        for action in parser._actions  # noqa: SLF001 - argparse has no public way
        if isinstance(action, argparse._SubParsersAction)  # noqa: SLF001 - no public way
        for name, sub in action.choices.items()
    }


def help_of(typed: Sequence[str], parser: argparse.ArgumentParser) -> str:
    """`rgpu-exec help whoami` (`git help`'s habit): the program whose --help was meant, the
    commands typed after `help` as far as `parser` has them (`rgpu-exec whoami`)."""
    prog = parser.prog
    for word in typed[typed.index("help") + 1 :] if "help" in typed else ():
        sub = _subcommands(parser).get(word)
        if sub is None:
            break
        parser, prog = sub, sub.prog
    return prog


def name_a_command(parser: argparse.ArgumentParser) -> int:
    """A command group typed without a command (`rgpu-exec`, `rgpu-exec cache`): its help, then
    the line that says what is missing."""
    from rgpu_exec import fixes  # noqa: PLC0415 - a usage error only, not every parse

    output.tell(parser.format_help())
    names = ", ".join(commands_of(parser))
    see = fixes.command(*parser.prog.split(), "--help")
    output.tell(f"rgpu-exec: name a command ({names}). See {see}.\n")
    return ExitCode.USAGE


def misplaced_flags(typed: Sequence[str], parser: argparse.ArgumentParser) -> str | None:
    """Flags typed before the command that takes them, as kubectl allows (`rgpu-exec -o json
    whoami`, `rgpu-exec --context ml whoami`, `rgpu-exec kubeconfig -o json list`): the command
    line with them moved after the command, when every word of it may be shown back; else what
    goes where, in words. None when that is not what went wrong."""
    from rgpu_exec import fixes  # noqa: PLC0415 - a usage error only, not every parse

    commands = _subcommands(parser)
    if not typed or not commands:
        return None
    if typed[0] in commands:  # a group: its own command may follow flags
        return misplaced_flags(typed[1:], commands[typed[0]])
    at = next((i for i, word in enumerate(typed) if word in commands), None)
    if at is None or "--" in typed[:at]:
        return None
    path, target = [typed[at]], commands[typed[at]]
    while at + len(path) < len(typed) and typed[at + len(path)] in _subcommands(target):
        word = typed[at + len(path)]
        target = _subcommands(target)[word]
        path.append(word)
    moved = _split_flags(typed[:at])
    names = moved[::2]
    takes = {name for action in target._actions for name in action.option_strings}  # noqa: SLF001
    if _subcommands(target) or not names or not set(names) <= takes:
        return None
    rest = list(typed[at + len(path) :])
    public = public_words(parser)
    said = f"{' and '.join(names)} {'goes' if len(names) == 1 else 'go'} after the command"
    values = moved[1::2]
    if not all(w in public or _SHOWABLE.fullmatch(w) or _a_file(w) for w in values):
        return f"{said} ({target.prog}), not before it"  # a value never shown back
    shown = rest if all(word in public or _SHOWABLE.fullmatch(word) for word in rest) else []
    fix = fixes.command(*parser.prog.split(), *path, *shown, *moved)
    others = "" if shown == rest else " (with the other arguments you gave after it)"
    return f"{said}: {fix}{others}"


def _a_file(word: str) -> bool:
    """A path to a file that exists (a kubeconfig, a CA file), shown as it is: no secret is
    one, and a path is what the user needs to see again in the command to paste."""
    from pathlib import Path  # noqa: PLC0415 - a usage error only, not every parse

    from rgpu_exec import terminal  # noqa: PLC0415

    try:
        return terminal.printable(word) and Path(word).is_file()
    except (OSError, ValueError):
        return False


def _split_flags(words: Sequence[str]) -> list[str]:
    """Flags and their values, each flag with its own value after it: `-ojson` and `-o=json`
    become `-o json`, `--output=json` `--output json`. Words that are not flags each with a
    value (a flag alone, a value alone) give nothing: they are not moved."""
    out: list[str] = []
    queue = list(words)
    while queue:
        word = queue.pop(0)
        if word.startswith("--") and "=" in word:
            out += word.split("=", 1)
        elif word.startswith("-") and not word.startswith("--") and len(word) > 2:  # noqa: PLR2004
            out += [word[:2], word[2:].removeprefix("=")]
        elif word.startswith("-") and queue and not queue[0].startswith("-"):
            out += [word, queue.pop(0)]
        else:
            return []  # a value without its flag, or a flag without a value: not ours to move
    return out
