"""The lazy command line sees what the whole one sees: `cli.COMMANDS` (names, help lines,
modules) agrees with what each module registers, a parser built for one command lists every
command as the whole parser does, and `completion.table` (what a TAB reads) is the whole
parser's tree."""

from __future__ import annotations

import argparse
from typing import Any

import pytest

from rgpu_exec import cli
from rgpu_exec.completion import table, tree
from rgpu_exec.usecases import completion

NAMES = [name for name, _, _ in cli.COMMANDS]


def subcommands(parser: argparse.ArgumentParser) -> argparse._SubParsersAction[Any]:
    return next(a for a in parser._actions if isinstance(a, argparse._SubParsersAction))


def test_the_completion_table_is_the_whole_parser() -> None:
    whole = tree.to_table(tree.describe(cli.build_parser(prog="rgpu-exec")))
    assert whole == table.TREE, "the commands changed: run `make completion-table`"


def test_the_completion_table_reads_back_as_it_was_written() -> None:
    assert tree.to_table(tree.from_table(table.TREE)) == table.TREE
    assert set(table.TREE) >= {"", "kubeconfig", "kubeconfig generate", "token"}


@pytest.mark.parametrize(
    "words",
    [
        [""],
        ["k"],
        ["kubeconfig", ""],
        ["kubeconfig", "generate", "--"],
        ["kubeconfig", "list", "-o", ""],
        ["cache", "clear", "--"],
        ["doctor", "--output="],
        ["completion", ""],
        ["token", "--namespace-id", "x", "--"],
    ],
)
def test_a_tab_offers_from_the_table_what_the_whole_parser_offers(words: list[str]) -> None:
    from_parser = completion.candidates(words, {}, tree.describe(cli.build_parser()))
    assert completion.candidates(words, {}, tree.from_table(table.TREE)) == from_parser


@pytest.mark.parametrize("name", NAMES)
def test_each_command_s_module_registers_it_with_the_table_s_help_line(name: str) -> None:
    parser = cli.build_parser(prog="rgpu-exec", command=name)
    action = subcommands(parser)
    helps = {a.dest: a.help for a in action._choices_actions}
    assert helps == {n: text for n, text, _ in cli.COMMANDS}
    assert "func" in action.choices[name]._defaults  # the real parser, not a listed name


@pytest.mark.parametrize("name", ["", *NAMES])
def test_a_parser_for_one_command_lists_the_commands_as_the_whole_one_does(name: str) -> None:
    whole = cli.build_parser(prog="rgpu-exec")
    assert cli.build_parser(prog="rgpu-exec", command=name).format_help() == whole.format_help()


def test_a_parser_for_no_command_loads_no_command_module() -> None:
    action = subcommands(cli.build_parser(prog="rgpu-exec", command=""))
    assert all("func" not in sub._defaults for sub in action.choices.values())


def test_the_commands_of_one_module_sit_side_by_side_in_the_table() -> None:
    modules = [module for _, _, module in cli.COMMANDS]
    runs = [m for i, m in enumerate(modules) if i == 0 or modules[i - 1] != m]
    assert len(runs) == len(set(runs))


@pytest.mark.parametrize(
    ("argv", "command"),
    [
        ([], ""),
        (["--help"], ""),
        (["token", "--namespace-id", "x"], "token"),
        (["--version", "whoami"], "whoami"),
        (["-h", "logout"], "logout"),
        (["tokn"], ""),
        (["--", "cache", "list"], "cache"),
        (["kubeconfig", "list", "--", "token"], "kubeconfig"),
        (["rgpu_0123abcd_secret"], ""),
    ],
)
def test_the_command_typed_is_read_before_parsing_as_argparse_reads_it(
    argv: list[str], command: str
) -> None:
    assert cli.command_typed(argv) == command
