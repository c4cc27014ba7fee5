"""Text from outside is scrubbed wherever greenlight shows, records or sends it."""

from __future__ import annotations

import argparse

from greenlight.cli import print_report
from greenlight.notify import Notice, render_text
from greenlight.pipeline import ExitCode, Outcome
from greenlight.scrub import scrub

# A migration's output as an app could print it: colors, a window title, a cursor move that
# would hide the line before, a link under other text, a bidirectional override, and a
# database URL with its password.
HOSTILE = ("\x1b[31mERROR\x1b[0m \x1b]0;owned\x07\x1b[1A\x1b[2Kok \x1b]8;;https://evil.example\x07docs\x1b]8;;\x07 "
           "\u202etxt.exe mysql://app:s3cret@db:3306/shop\r\x00done")


def test_credentials_go_whatever_they_hold_or_hide_behind() -> None:
    assert scrub("https://u:p@ss@host/x") == "https://***@host/x"
    assert scrub("https:/\x1b[m/u:tok@h/x") == "https://***@h/x"
    assert scrub("https://u:to\x0bk@h/x") == "https://***@h/x"
    assert scrub("ssh://git@host/repo") == "ssh://git@host/repo"


def test_escape_sequences_controls_and_credentials_are_gone() -> None:
    assert scrub(HOSTILE) == "ERROR ok docs ?txt.exe mysql://***@db:3306/shop??done"
    assert scrub("line one\n\tline two") == "line one\n\tline two"


def test_a_notification_carries_no_escape_sequence_and_no_credential() -> None:
    text = render_text(Notice(kind="promote", outcome="failed", env="staging -> production",
                              version="v3\x1b[2J", summary=HOSTILE, details={"stages": HOSTILE}))
    assert "\x1b" not in text and "s3cret" not in text and "\u202e" not in text and "\r" not in text


def test_history_and_status_print_scrubbed_records(capsys) -> None:
    record = {"ended": "2026-12-06T10:00:00Z", "kind": "deploy", "version": "v3", "outcome": "failed",
              "commit": "abc", "actor": "ana", "error": HOSTILE}
    args = argparse.Namespace(command="history", env="production", json=False)
    print_report(args, Outcome("history production", ExitCode.OK, "", [], {"history": [record]}))
    args.json = True
    print_report(args, Outcome("history production", ExitCode.OK, "", [], {"history": [record]}))
    printed = capsys.readouterr().out
    assert "\x1b" not in printed and "s3cret" not in printed and "ERROR ok docs" in printed
