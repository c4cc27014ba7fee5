"""greenlight completion SHELL: argcomplete's script; greenlight's own parser answers on TAB."""

from __future__ import annotations

import sys

import argcomplete

NAME = "completion"
HELP = "print the shell completion script (argcomplete's): eval \"$(greenlight completion bash)\""
COMMON = False
READ_ONLY = True


def arguments(parser) -> None:
    parser.add_argument("shell", choices=("bash", "zsh", "fish"))


def script(shell: str) -> str:
    """The shell's half of the completion, argcomplete's: on TAB it runs greenlight, whose
    parser completes the words (commands, environments, options, files) and whose part
    arguments offer the parts the environment's last playbook reported (containers.complete_parts)."""
    return argcomplete.shellcode(["greenlight"], shell=shell)


def direct(args) -> int:
    sys.stdout.write(script(args.shell))
    return 0
