"""The command line: options before or after the command, extra vars, and bad input's exit code."""

from __future__ import annotations

import argparse
import http.server
import json
import os
import re
import shlex
import signal
import subprocess
import sys
import threading
import time
from pathlib import Path

import pytest

from greenlight.cli import LockAlert, build_parser, main, parse_extra_vars, run_command
from greenlight.pipeline import UsageError


@pytest.mark.parametrize("argv", [
    ["promote", "--latest", "--quiet"],
    ["--quiet", "promote", "--latest"],
])
def test_common_options_go_before_or_after_the_command(argv: list[str]) -> None:
    args = build_parser().parse_args(argv)
    assert args.quiet and args.latest and args.command == "promote"


def test_extra_vars_from_both_sides_are_kept() -> None:
    args = build_parser().parse_args(["-e", "a=1", "deploy", "staging", "v2", "-e", "b=2"])
    assert args.extra_vars + args.extra_vars_after == ["a=1", "b=2"]
    assert parse_extra_vars(["a=1", "b=x=y"]) == {"a": "1", "b": "x=y"}


def test_extra_vars_file(tmp_path: Path) -> None:
    path = tmp_path / "vars.yml"
    path.write_text("greenlight_app: e2e\nproxy_http_port: 18080\n")
    assert parse_extra_vars([f"@{path}"]) == {"greenlight_app": "e2e", "proxy_http_port": 18080}


@pytest.mark.parametrize("item", ["novalue", "@/nonexistent/vars.yml"])
def test_bad_extra_vars_are_usage_errors(item: str) -> None:
    with pytest.raises(UsageError):
        parse_extra_vars([item])


@pytest.mark.parametrize("argv", [["deploy", "qa", "v1"], ["promote"], ["promote", "v2", "--latest"], ["nope"]])
def test_malformed_command_lines_exit_2(argv: list[str]) -> None:
    with pytest.raises(SystemExit) as exited:
        build_parser().parse_args(argv)
    assert exited.value.code == 2


class Recorder:
    """Stands in for the functions that run a command's stages (greenlight/commands/): records
    which one the command line reached, with what, and runs no stage."""

    def __init__(self, monkeypatch) -> None:
        from greenlight.commands import backup, backups, restore

        self.calls: list[tuple[str, tuple]] = []
        for module, name in [(backup, "backup"), (backup, "verify_backup"), (backup, "scheduled_backup"),
                             (backups, "backups"), (restore, "restore")]:
            monkeypatch.setattr(module, name, self.recording(name))

    def recording(self, name: str):
        def record(pipeline, *args, **kwargs):
            assert pipeline == "the pipeline"
            self.calls.append((name, args))
            self.kwargs = kwargs
        return record


@pytest.mark.parametrize(("argv", "call"), [
    (["backup", "production"], ("backup", ("production", "manual"))),
    (["backup", "production", "--label", "nightly"], ("backup", ("production", "nightly"))),
    (["backup", "verify", "staging"], ("verify_backup", ("staging", ""))),
    (["backup", "verify", "staging", "shop-1.sql.gz"], ("verify_backup", ("staging", "shop-1.sql.gz"))),
    (["backups", "staging"], ("backups", ("staging",))),
    (["backup", "production", "--scheduled"], ("scheduled_backup", ("production",))),
])
def test_backup_command_lines(argv: list[str], call: tuple, monkeypatch) -> None:
    recorder = Recorder(monkeypatch)
    run_command(build_parser().parse_args(argv), "the pipeline")
    assert recorder.calls == [call]


@pytest.mark.parametrize("argv", [["backup", "verify"], ["backup", "staging", "extra"],
                                  ["backup", "verify", "staging", "a.sql.gz", "b.sql.gz"]])
def test_backup_command_lines_with_a_missing_or_extra_word_are_usage_errors(argv: list[str], monkeypatch) -> None:
    recorder = Recorder(monkeypatch)
    with pytest.raises(UsageError, match="usage: greenlight backup"):
        run_command(build_parser().parse_args(argv), "the pipeline")
    assert recorder.calls == []


def test_restore_with_yes_confirms_itself_and_passes_the_environment_it_may_come_from(monkeypatch) -> None:
    recorder = Recorder(monkeypatch)
    argv = ["restore", "staging", "shop-1.sql.gz", "--yes", "--force-from", "production"]
    run_command(build_parser().parse_args(argv), "the pipeline")
    assert recorder.calls == [("restore", ("staging", "shop-1.sql.gz", "production"))]
    assert recorder.kwargs["confirm"]({"file": "shop-1.sql.gz"}) is True


def test_restore_without_yes_and_without_a_terminal_is_refused(monkeypatch) -> None:
    monkeypatch.setattr(sys, "stdin", open("/dev/null"))
    with pytest.raises(UsageError, match="with no terminal to answer, pass --yes"):
        run_command(build_parser().parse_args(["restore", "production", "shop-1.sql.gz"]), "the pipeline")


def test_restore_asks_for_the_environments_name(monkeypatch, capsys) -> None:
    from greenlight.commands.restore import ask_restore

    backup = {"file": "shop-1.sql.gz", "env": "production", "database": "shop", "rows": 12, "tables": {"shop.a": 12}}
    monkeypatch.setattr("builtins.input", lambda prompt: "production")
    assert ask_restore("production", backup) is True
    assert "replaces production's database with shop-1.sql.gz" in capsys.readouterr().err
    monkeypatch.setattr("builtins.input", lambda prompt: "y")
    assert ask_restore("production", backup) is False


@pytest.mark.parametrize("signum", [signal.SIGTERM, signal.SIGINT], ids=["SIGTERM", "SIGINT"])
def test_a_second_signal_within_five_seconds_kills_the_playbook_and_exits_at_once(tmp_path: Path, signum: int) -> None:
    # A stand-in for greenlight: the Stopper installed, a child in its own session (as
    # ansible-runner starts ansible-playbook), then two signals in a row (Ctrl-C twice, or
    # two SIGTERMs; tests/e2e sends one SIGTERM at a canary step of a real deploy).
    script = tmp_path / "run.py"
    script.write_text(
        "import subprocess, sys, time\n"
        "from pathlib import Path\n"
        "from greenlight.cli import Output, Stopper\n"
        f"stopper = Stopper(Output(False, Path({str(tmp_path / 'log')!r})))\n"
        "stopper.install()\n"
        "child = subprocess.Popen(['sleep', '60'], start_new_session=True)\n"
        "print(child.pid, flush=True)\n"
        "time.sleep(60)\n")
    process = subprocess.Popen([sys.executable, str(script)], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    child = int(process.stdout.readline())
    process.send_signal(signum)
    time.sleep(0.5)
    assert process.poll() is None, "the first signal must not end the run at once"
    process.send_signal(signum)
    assert process.wait(timeout=10) == 128 + signum
    assert "stopping at once" in process.stderr.read()
    time.sleep(0.2)
    assert not Path(f"/proc/{child}").exists() or "Z" in Path(f"/proc/{child}/stat").read_text().split()[2]


class Receiver(http.server.BaseHTTPRequestHandler):
    received: list[dict] = []

    def do_POST(self) -> None:  # noqa: N802 (http.server's naming)
        Receiver.received.append(json.loads(self.rfile.read(int(self.headers["Content-Length"]))))
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


class SettingsRunner:
    def __init__(self, variables: dict) -> None:
        self.variables = variables

    def settings(self, env: str, extra_vars: dict) -> dict:
        return self.variables


def test_a_run_holding_the_host_lock_too_long_sends_one_notification() -> None:
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), Receiver)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    Receiver.received.clear()
    try:
        settings = {"greenlight_lock_alert_minutes": 0.01,  # 0.6 s
                    "greenlight_notify_webhook_url": f"http://127.0.0.1:{server.server_address[1]}/hook"}
        with LockAlert(SettingsRunner(settings), {}, "greenlight promote v2"):
            time.sleep(2)
        assert len(Receiver.received) == 1
        assert "greenlight promote v2" in Receiver.received[0]["text"] and "0.01 minutes" in Receiver.received[0]["text"]
        with LockAlert(SettingsRunner({**settings, "greenlight_lock_alert_minutes": 1}), {}, "quick run"):
            time.sleep(0.2)
        time.sleep(0.2)
        assert len(Receiver.received) == 1, "a run that ends in time sends nothing"
    finally:
        server.shutdown()


def test_a_secret_given_with_e_is_not_logged() -> None:
    from greenlight.cli import redacted

    assert redacted(["backup", "production", "-e", "backup_restic_password=hunter2", "-e", "backup_keep=3",
                     "--label", "x"]) == ["backup", "production", "-e", "backup_restic_password=******", "-e",
                                          "backup_keep=3", "--label", "x"]


@pytest.mark.parametrize("given", [
    ["-e", "backup_restic_password=hunter2"], ["-ebackup_restic_password=hunter2"], ["-e=backup_restic_password=hunter2"],
    ["--extra-vars", "backup_restic_password=hunter2"], ["--extra-vars=backup_restic_password=hunter2"],
    ["-e", "greenlight_notify_webhook_url=https://hooks.example/T0/hunter2"],
    ["-e", "app_repo=https://deploy:hunter2@git.example/shop.git"],
    # argparse takes an abbreviated option and bundled flags too.
    ["--extra=backup_restic_password=hunter2"], ["-vebackup_restic_password=hunter2"],
])
def test_no_form_of_e_puts_a_secret_in_the_log(tmp_path: Path, monkeypatch, given: list[str]) -> None:
    monkeypatch.setenv("GREENLIGHT_STATE_DIR", str(tmp_path))
    assert main(["backup", "production", "--inventories", str(tmp_path / "none"), *given]) == 2
    log = (tmp_path / "greenlight.log").read_text()
    assert "hunter2" not in log and ("******" in log or "***@" in log), log


def test_the_version_is_written_once_and_python_m_greenlight_prints_it() -> None:
    import greenlight

    done = subprocess.run([sys.executable, "-m", "greenlight", "--version"], capture_output=True, text=True, timeout=60)
    assert done.returncode == 0 and done.stdout.strip() == f"greenlight {greenlight.__version__}"
    # Declared in the collection's galaxy.yml only: the command, the wheel (setup.py) and
    # ansible-galaxy read it there.
    repo = Path(__file__).resolve().parents[2]
    holders = [path for path in (repo / "pyproject.toml", repo / "setup.py", *repo.glob("greenlight/*.py"),
                                 repo / "galaxy.yml", repo / "meta" / "runtime.yml")
               if f"'{greenlight.__version__}'" in path.read_text() or f'"{greenlight.__version__}"' in path.read_text()
               or f"version: {greenlight.__version__}" in path.read_text()]
    assert holders == [repo / "galaxy.yml"]


@pytest.mark.parametrize(("argv", "verbosity"), [
    (["status"], 0), (["-v", "status"], 1), (["status", "-vv"], 2), (["-v", "deploy", "staging", "v1", "-vv"], 2),
])
def test_v_counts_before_or_after_the_command(argv: list[str], verbosity: int) -> None:
    assert build_parser().parse_args(argv).verbosity == verbosity


@pytest.fixture
def completing(tmp_path: Path) -> dict[str, str]:
    """greenlight on PATH, a state folder whose production descriptor names the parts web and
    worker (what the last playbook reported), and inventories beside it."""
    from greenlight import descriptor

    inventories = tmp_path / "inventories"
    (inventories / "production").mkdir(parents=True)
    saved = descriptor._path(tmp_path / "state", inventories, "production")
    saved.parent.mkdir(parents=True)
    saved.write_text(json.dumps({"fingerprint": "old", "environment": {"parts": ["web", "worker"]}}))
    return {**os.environ, "PATH": f"{Path(sys.executable).parent}:{os.environ['PATH']}",
            "GREENLIGHT_STATE_DIR": str(tmp_path / "state"), "GREENLIGHT_INVENTORIES": str(inventories)}


COMPLETIONS = [
    ("greenlight de", {"deploy"}),
    ("greenlight deploy st", {"staging"}),
    ("greenlight logs production w", {"web", "worker"}),  # the app's own parts, from its descriptor
    ("greenlight exec production ", {"proxy", "web", "worker", "mysql"}),
    ("greenlight logs production web --fo", {"--follow"}),
    ("greenlight --quiet promote --la", {"--latest"}),
    # An option's value is not the command: --inventories DIR, then the command.
    ("greenlight --inventories /tmp status --js", {"--json"}),
    ("greenlight logs --since 10m production w", {"web", "worker"}),
]


@pytest.mark.parametrize(("line", "offered"), COMPLETIONS)
def test_completion_in_bash_offers_commands_environments_parts_and_options(completing, line: str, offered: set[str]) -> None:
    """bash runs argcomplete's function from `greenlight completion bash`, which asks greenlight."""
    script = subprocess.run(["greenlight", "completion", "bash"], capture_output=True, text=True, check=True,
                            timeout=60, env=completing).stdout
    probe = (f"{script}\nCOMP_LINE={shlex.quote(line)}; COMP_POINT={len(line)}; COMP_TYPE=9\n"
             "_python_argcomplete greenlight; printf '%s\\n' \"${COMPREPLY[@]}\"")
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60, env=completing)
    assert done.returncode == 0, done.stderr
    assert {word.strip() for word in done.stdout.split()} == offered


@pytest.mark.parametrize(("line", "offered"), COMPLETIONS[:4])
def test_completion_in_zsh_loads_and_greenlight_answers_its_protocol(completing, tmp_path: Path, line: str,
                                                                      offered: set[str]) -> None:
    """zsh: the script loads into zsh's completion system (make unit installs zsh), and
    greenlight answers what that script asks as zsh asks it (word:description pairs)."""
    script = subprocess.run(["greenlight", "completion", "zsh"], capture_output=True, text=True, check=True,
                            timeout=60, env=completing).stdout
    loaded = subprocess.run(["zsh", "-fc", f"autoload -U compinit && compinit -u -D\n{script}\nprint loaded"],
                            capture_output=True, text=True, timeout=60, env=completing)
    assert loaded.returncode == 0 and loaded.stdout.split() == ["loaded"], loaded.stderr
    answers = tmp_path / "answers"
    subprocess.run(["greenlight"], capture_output=True, timeout=60, env={
        **completing, "_ARGCOMPLETE": "1", "_ARGCOMPLETE_SHELL": "zsh", "COMP_LINE": line, "COMP_POINT": str(len(line)),
        "_ARGCOMPLETE_STDOUT_FILENAME": str(answers), "IFS": "\013"})
    words = {answer.split(":", 1)[0].replace("\\", "").strip() for answer in answers.read_text().split("\013") if answer}
    assert words == offered


def test_completion_offers_file_names_after_an_option_that_takes_a_path(completing, tmp_path) -> None:
    (tmp_path / "inventories-here").mkdir()
    script = subprocess.run(["greenlight", "completion", "bash"], capture_output=True, text=True, check=True,
                            timeout=60, env=completing).stdout
    probe = (f"{script}\ncd {tmp_path}; COMP_LINE='greenlight --inventories inv'; COMP_POINT=28; COMP_TYPE=9\n"
             "_python_argcomplete greenlight; printf '%s\\n' \"${COMPREPLY[@]}\"")
    done = subprocess.run(["bash", "-c", probe], capture_output=True, text=True, timeout=60, env=completing)
    assert sorted(done.stdout.split()) == ["inventories-here/", "inventories/"], done.stderr  # the fixture made inventories/


def test_help_lists_every_command_with_its_line() -> None:
    parser = build_parser()
    commands = next(action for action in parser._actions if isinstance(action, argparse._SubParsersAction))
    shown = parser.format_help()
    assert len(commands.choices) >= 17
    for choice in commands._choices_actions:
        assert re.search(rf"^\s+{re.escape(choice.dest)}\s", shown, re.M), choice.dest
        assert choice.help.split()[0] in shown
    # No hand-written synopsis beside the generated list: the last one named 11 of 17 commands.
    assert not re.search(r"^\s+greenlight [a-z]", parser.description, re.M)


def test_completion_offers_only_part_names_the_settings_check_allows(tmp_path: Path) -> None:
    from greenlight import descriptor

    saved = descriptor._path(tmp_path, tmp_path / "inv", "staging")
    saved.parent.mkdir(parents=True)
    saved.write_text(json.dumps({"environment": {"parts": ["web", "\x1b]0;x\x07", "a\x0bb", 5, "web", "api"]}}))
    assert descriptor.parts(tmp_path, tmp_path / "inv", "staging") == ["web", "api"]
    saved.write_text(json.dumps({"environment": {"parts": 5}}))
    assert descriptor.parts(tmp_path, tmp_path / "inv", "staging") == []


def test_a_module_utils_of_greenlights_name_in_the_working_folder_is_never_imported(tmp_path: Path) -> None:
    """python -m greenlight puts the working folder first on the path: greenlight's own collection
    goes before it (greenlight/__init__.py), so planted namespace folders
    ansible_collections/greenlight/deploy are ignored. (A planted regular package, with an
    __init__.py, still wins, as a planted yaml.py or greenlight/ would: python -m runs what the
    working folder holds.)"""
    planted = tmp_path / "ansible_collections" / "greenlight" / "deploy" / "plugins" / "module_utils"
    planted.mkdir(parents=True)
    (planted / "settings.py").write_text("raise SystemExit('planted module_utils imported')\n")
    done = subprocess.run([sys.executable, "-m", "greenlight", "--version"], capture_output=True, text=True, timeout=60,
                          cwd=tmp_path)
    assert done.returncode == 0 and done.stdout.startswith("greenlight "), done.stdout + done.stderr


def test_status_prints_each_environment_then_its_alerts_then_its_certificate(capsys) -> None:
    from greenlight.commands import status
    from greenlight.pipeline import ExitCode, Outcome

    report = {"live": {"version": "v2", "color": "blue", "healthy": True}, "idle": {}, "history": [],
              "monitoring": True, "alerts": [{"name": "BackupTooOld", "severity": "ticket"}],
              "certificate": {"names": ["shop.example.com"], "not_after": "2027-03-01T00:00:00Z", "days_left": 84,
                              "self_signed": False}}
    status.render(None, Outcome("status", ExitCode.OK, "", data={"production": report, "staging": {**report, "certificate": {}}}))
    lines = capsys.readouterr().out.splitlines()
    # Scripts (and the monitoring test) read the alerts on the line after the environment's.
    assert lines[0].startswith("production") and "alerts: BackupTooOld (ticket)" in lines[1]
    assert "certificate: shop.example.com until 2027-03-01T00:00:00Z (84 days)" in lines[2]
    assert lines[3].startswith("staging") and "alerts:" in lines[4] and len(lines) == 5
