"""The one place that calls ansible-runner.

Runs a playbook of the project against one environment's inventory and turns what
ansible-runner reports (status, rc, stats, events) into a PlaybookResult. Progress is
passed on as (kind, text) pairs while the playbook runs.

Each run gets a private folder (mode 0700) under the state folder, removed when the run
ends: ansible-runner's files (events, the inventory read with its decrypted values) and
every temporary file Ansible and its modules make on this machine (TMPDIR, Ansible's local
temp) go there. A folder left by a killed greenlight is removed by the next one, with the
temporary folders of Ansible's killed processes in ~/.ansible/tmp. A run can be
cancelled (a signal to greenlight): ansible-runner then kills the playbook's whole process
group, and the result says `canceled`.

Every process of a run carries GREENLIGHT_RUN (this command's run id) and GREENLIGHT_PID (its
pid) in its environment: the deploy lock names this command as its holder, and
greenlight/reaper.py, started before the first playbook, ends every process of the run
once this command is gone, however it ended.
"""

from __future__ import annotations

import collections
import json
import os
import shutil
import subprocess
import sys
import tempfile
import threading
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import ansible_runner
import yaml

from . import COLLECTION_PATH, variables
from .scrub import scrub

Progress = Callable[[str, str], None]

# How often ansible-runner looks at the cancel flag while a playbook runs.
CANCEL_POLL_S = 0.25


class SecretPipes:
    """Secrets handed to a playbook through named pipes (FIFOs) in the run's private folder,
    one per secret, each written once by a thread of this process when the play opens it
    (`lookup('ansible.builtin.file', greenlight_secret_pipes.NAME, rstrip=false)`, read once
    into a no_log fact). A pipe's contents live in the kernel: unlike extra variables, which
    ansible-runner writes to a file, and its environment, which it writes into the run's
    artifacts, a secret here never reaches a disk, argv or a log (docs/security.md)."""

    MAX_BYTES = 4096  # under a pipe's buffer: the writer never waits on a reader gone

    def __init__(self, private_data_dir: str, secrets: dict[str, str]) -> None:
        self.paths: dict[str, str] = {}
        self.threads: list[threading.Thread] = []
        for name, value in secrets.items():
            if not name.isidentifier() or len(value.encode("utf-8")) > self.MAX_BYTES:
                raise ValueError(f"secret {name!r}: a name and at most {self.MAX_BYTES} bytes")
        folder = os.path.join(private_data_dir, "secrets")
        if secrets:
            os.mkdir(folder, mode=0o700)
        for name, value in secrets.items():
            data = value.encode("utf-8")
            path = os.path.join(folder, name)
            os.mkfifo(path, 0o600)
            self.paths[name] = path
            thread = threading.Thread(target=self._feed, args=(path, data), name=f"secret-{name}", daemon=True)
            thread.start()
            self.threads.append(thread)

    @property
    def extravars(self) -> dict:
        return {"greenlight_secret_pipes": dict(self.paths)} if self.paths else {}

    @staticmethod
    def _feed(path: str, data: bytes) -> None:
        try:
            descriptor = os.open(path, os.O_WRONLY)  # waits for the play (or close()) to open it
        except OSError:
            return
        try:
            os.write(descriptor, data)
        except OSError:  # close() opened it and went: nobody reads
            pass
        finally:
            os.close(descriptor)

    def close(self) -> None:
        """Free the writers the play never read from: open each pipe ourselves, read nothing."""
        for path, thread in zip(self.paths.values(), self.threads):
            if thread.is_alive():
                try:
                    descriptor = os.open(path, os.O_RDONLY | os.O_NONBLOCK)
                except OSError:
                    continue
                thread.join(timeout=5)
                os.close(descriptor)


def write_extravars(private_data_dir: str, extravars: dict) -> None:
    """The playbook's extra variables, as data (docs/security.md).

    Everything greenlight hands a playbook may hold text from outside: a failed stage's
    message quoting an app's output, the digests and commit an earlier stage reported, a
    history record. ansible-runner would pass them as JSON, which Ansible templates like its
    own files, so `{{ lookup('pipe', ...) }}` in a migration's error would run on this
    machine. Written here as one YAML document tagged !unsafe (Ansible's marking for values it
    must never template; on the document, it covers every key and value in it, each keeping
    its type), ansible-runner finds the file and passes it as it is.
    """
    folder = Path(private_data_dir, "env")
    folder.mkdir(mode=0o700, exist_ok=True)
    descriptor = os.open(folder / "extravars", os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(descriptor, "w") as stream:
        stream.write("--- !unsafe\n" + yaml.safe_dump(extravars, default_flow_style=False, allow_unicode=True))


@dataclass
class PlaybookResult:
    playbook: str
    env: str
    status: str
    rc: int
    failures: int = 0
    unreachable: int = 0
    changed: int = 0
    hosts: int = 0
    error: str = ""
    stats: dict = field(default_factory=dict)

    @property
    def ok(self) -> bool:
        # status, rc and stats are checked together: any one of them can report a failure alone.
        return self.status == "successful" and self.rc == 0 and not self.failures and not self.unreachable

    @property
    def canceled(self) -> bool:
        return self.status == "canceled"

    @property
    def code(self) -> str:
        """What kind of failure the playbook reported (set_stats greenlight_result.code), "" when none."""
        return str(self.stats.get("greenlight_result", {}).get("code", ""))

    @property
    def data(self) -> dict:
        """What the failing module handed over with its failure (greenlight_result.data)."""
        return self.stats.get("greenlight_result", {}).get("data") or {}


class Runner:
    def __init__(self, project_dir: Path, inventory_dir: Path, state_dir: Path,
                 progress: Progress | None = None, cancelled: Callable[[], bool] | None = None,
                 verbosity: int = 0) -> None:
        self.project_dir = project_dir
        # 0: only greenlight's progress. n: Ansible's own output too, at ansible-playbook's -v * (n - 1).
        self.verbosity = verbosity
        self.inventory_dir = inventory_dir
        self.state_dir = state_dir
        self.runs_dir = state_dir / "runs"
        self.progress = progress or (lambda kind, text: None)
        self.cancelled = cancelled or (lambda: False)
        self._settings: dict[str, dict | Exception] = {}
        # One lock per environment: both environments' settings are read at once (check_pair).
        self._settings_locks: dict[str, threading.Lock] = collections.defaultdict(threading.Lock)
        self.run_id = uuid.uuid4().hex
        self._reaper: subprocess.Popen | None = None
        # ansible-runner looks for ansible-playbook on PATH; cron's PATH lacks the virtualenv.
        bin_dir = str(Path(sys.executable).parent)
        if bin_dir not in os.environ.get("PATH", "").split(os.pathsep):
            os.environ["PATH"] = bin_dir + os.pathsep + os.environ.get("PATH", "")
        # Mitogen's debug switches (MITOGEN_LOG_LEVEL=debug, MITOGEN_ROUTER_DEBUG...) print every
        # module's arguments, passwords among them, whatever no_log says (docs/security.md).
        for name in [name for name in os.environ if name.startswith("MITOGEN_")]:
            del os.environ[name]
        # The older spelling of ANSIBLE_COLLECTIONS_PATH (envvars sets that one).
        os.environ.pop("ANSIBLE_COLLECTIONS_PATHS", None)
        sweep_runs(self.runs_dir)

    def private_dir(self) -> str:
        self.runs_dir.mkdir(parents=True, exist_ok=True, mode=0o700)
        os.chmod(self.runs_dir, 0o700)
        return tempfile.mkdtemp(prefix=f"{os.getpid()}-", dir=self.runs_dir)

    def start_reaper(self) -> None:
        """greenlight/reaper.py, once: it ends this run's processes when this command is gone."""
        if self._reaper is not None:
            return
        # Only this process holds the write end (os.pipe's ends are not inherited): its exit,
        # however it comes, is the end of file the reaper waits for.
        read_end, self._reaper_pipe = os.pipe()
        try:
            self._reaper = subprocess.Popen(
                [sys.executable, "-I", "-m", "greenlight.reaper", self.run_id], stdin=read_end,
                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, cwd="/", start_new_session=True,
                env={key: value for key, value in os.environ.items() if not key.startswith("GREENLIGHT_RUN")})
        finally:
            os.close(read_end)

    def envvars(self, private_data_dir: str) -> dict[str, str]:
        temporary = os.path.join(private_data_dir, "tmp")
        os.makedirs(temporary, mode=0o700, exist_ok=True)
        return {"ANSIBLE_CONFIG": str(self.project_dir / "ansible.cfg"),
                # greenlight.deploy is the one beside this ansible.cfg: a collections path of the
                # user's (which beats ansible.cfg's) must not bring another copy of it.
                "ANSIBLE_COLLECTIONS_PATH": str(self.project_dir / COLLECTION_PATH.parts[0]),
                "GREENLIGHT_RUN": self.run_id, "GREENLIGHT_PID": str(os.getpid()),
                "TMPDIR": temporary, "ANSIBLE_LOCAL_TEMP": temporary,
                # ansible-runner turns SSH host key checking off unless told otherwise: a VPS
                # whose key is not the one in known_hosts must not be deployed to.
                "ANSIBLE_HOST_KEY_CHECKING": os.environ.get("ANSIBLE_HOST_KEY_CHECKING", "True"),
                "ANSIBLE_FORCE_COLOR": "0", "ANSIBLE_NOCOLOR": "1",
                **({"GREENLIGHT_BASE_IMAGE": os.environ["GREENLIGHT_BASE_IMAGE"]}
                   if "GREENLIGHT_BASE_IMAGE" in os.environ else {}),
                **({"ANSIBLE_VAULT_PASSWORD_FILE": str(self.vault_password_file)} if self.vault_password_file else {})}

    @property
    def vault_password_file(self) -> Path | None:
        """The inventories' own .vault-password (greenlight init writes one) unless
        ANSIBLE_VAULT_PASSWORD_FILE names a file; else ansible.cfg's (the demo's)."""
        own = self.inventory_dir / ".vault-password"
        return own if "ANSIBLE_VAULT_PASSWORD_FILE" not in os.environ and own.is_file() else None

    def run(self, playbook: str, env: str, extravars: dict | None = None, cancellable: bool = True,
            secrets: dict[str, str] | None = None) -> PlaybookResult:
        """Run a playbook of the collection on the inventory of `env`. `secrets` (name -> value)
        reach it through pipes (SecretPipes), named in greenlight_secret_pipes."""
        errors: list[str] = []
        timings: list[dict] = []

        def on_event(event: dict) -> bool:
            data = event.get("event_data", {})
            kind = event.get("event", "")
            if kind in TIMED_EVENTS and data.get("duration") is not None:
                timings.append({"playbook": playbook, "env": env, "task": data.get("task", ""),
                                "action": data.get("resolved_action") or data.get("task_action", ""),
                                "seconds": float(data["duration"]), "start": data.get("start", ""),
                                "skipped": kind == "runner_on_skipped"})
            if kind == "playbook_on_task_start" and not data.get("task", "").startswith("Validating arguments"):
                self.progress("task", data.get("task", ""))
            elif kind in ("runner_on_failed", "runner_on_unreachable") and not data.get("ignore_errors"):
                result = data.get("res", {})
                errors.append(scrub(str(result.get("msg") or result.get("stderr") or result))[:2000])
            if kind in ("runner_on_ok", "runner_on_failed") and isinstance(data.get("res", {}).get("verdict"), dict):
                # A canary step or watch window was judged: show its numbers, not just its task.
                verdict = data["res"]["verdict"]
                self.progress("verdict", f"{data.get('task', '')}: {verdict.get('outcome', '?').upper()}"
                                         f" - {verdict.get('reason', '')}")
            return True

        self.start_reaper()
        private_data_dir = self.private_dir()
        pipes = SecretPipes(private_data_dir, secrets or {})
        try:
            write_extravars(private_data_dir, {**(extravars or {}), **pipes.extravars})
            run = ansible_runner.run(
                private_data_dir=private_data_dir,
                project_dir=str(self.project_dir),
                playbook=str(COLLECTION_PATH / "playbooks" / playbook),
                inventory=str(self.inventory_dir / env),
                envvars=self.envvars(private_data_dir),
                event_handler=on_event,
                cancel_callback=self.cancelled if cancellable else None,
                quiet=not self.verbosity,
                verbosity=max(0, self.verbosity - 1),
                settings={"suppress_ansible_output": not self.verbosity, "pexpect_timeout": CANCEL_POLL_S},
            )
            stats = run.stats or {}
            custom = _custom_stats(run.events)
        finally:
            pipes.close()
            shutil.rmtree(private_data_dir, ignore_errors=True)
            record_timings(timings)
        return PlaybookResult(
            playbook=playbook, env=env, status=run.status, rc=run.rc,
            failures=sum(stats.get("failures", {}).values()),
            unreachable=sum(stats.get("dark", {}).values()),
            changed=sum(stats.get("changed", {}).values()),
            hosts=len(stats.get("processed", {})),
            # The last failure is the play's own verdict; earlier ones were rescued.
            error=errors[-1] if errors else "",
            stats=custom,
        )

    def settings(self, env: str, extra_vars: dict) -> dict:
        """The environment's settings the command reads, as Ansible resolves them (role
        defaults, the inventory, then `extra_vars`, templated by Ansible: greenlight/variables.py).

        Read once per run (a second of CPU; `extra_vars` are the run's, the same at every call):
        the notifications and the lock alert share it, and the pair check reads both
        environments at once (one lock per environment). A process of its own, read from a
        pipe, not through ansible-runner, which writes a command's output to its artifacts:
        the decrypted vault on disk (tests/e2e/test_secrets.py caught it there)."""
        with self._settings_locks[env]:
            if env not in self._settings:
                try:
                    self._settings[env] = self._read_settings(env, extra_vars)
                except ValueError as exc:
                    self._settings[env] = exc
            found = self._settings[env]
        if isinstance(found, Exception):
            raise found
        return dict(found)

    def _read_settings(self, env: str, extra_vars: dict) -> dict:
        inventory = self.inventory_dir / env
        private_data_dir = self.private_dir()
        try:
            done = subprocess.run([sys.executable, "-m", "greenlight.variables", str(inventory)],
                                  input=json.dumps(extra_vars, default=str), capture_output=True, text=True,
                                  cwd=str(self.project_dir), env={**os.environ, **self.envvars(private_data_dir)},
                                  timeout=300, check=False)
        except (OSError, subprocess.TimeoutExpired) as error:
            raise ValueError(f"cannot read {inventory}: {error}") from None
        finally:
            shutil.rmtree(private_data_dir, ignore_errors=True)
        # Only what follows the marker is read, and only stderr explains a failure: stdout
        # holds the settings, decrypted secrets among them.
        _, marker, after = done.stdout.partition(variables.MARKER + "\n")
        try:
            found = json.loads(after) if done.returncode == 0 and marker else None
        except ValueError:
            found = None
        if not isinstance(found, dict):
            raise ValueError(inventory_error(inventory, done.stderr or f"exit code {done.returncode}", self.project_dir))
        return found


# Events that end a task on a host, with its duration (ansible-runner's event data).
TIMED_EVENTS = ("runner_on_ok", "runner_on_failed", "runner_on_skipped", "runner_on_unreachable")


def record_timings(timings: list[dict]) -> None:
    """Each task's seconds, one JSON line each, into GREENLIGHT_TIMINGS when it names a file
    (bench/engine.py: where the time of a run goes; never set in normal use)."""
    path = os.environ.get("GREENLIGHT_TIMINGS", "")
    if path and timings:
        with open(path, "a", encoding="utf-8") as stream:
            stream.writelines(json.dumps(timing) + "\n" for timing in timings)


def inventory_error(inventory: Path, error: str, project_dir: Path) -> str:
    """One line for an inventory Ansible could not read: for its vault, which file and what to fix."""
    errors = [line.split(":", 1)[1].strip() for line in error.splitlines() if line.startswith("[ERROR]")]
    first = (errors or [line.strip() for line in error.splitlines() if line.strip()] or ["no answer"])[0]
    vaults = sorted(str(path) for path in inventory.rglob("*.yml") if path.read_bytes()[:14] == b"$ANSIBLE_VAULT")
    vault = vaults[0] if vaults else f"the vault files of {inventory}"
    own = inventory.parent / ".vault-password"
    password_file = (os.environ.get("ANSIBLE_VAULT_PASSWORD_FILE") or (str(own) if own.is_file() else "")
                     or f"the vault_password_file of {project_dir / 'ansible.cfg'}")
    if "vault password file" in first and "not found" in first:
        return (f"cannot open {vault}: the vault password file {password_file} does not exist; point "
                f"ANSIBLE_VAULT_PASSWORD_FILE at the file holding its password")
    if "Decryption failed" in first or "no vault secrets" in first:
        return (f"cannot open {vault}: the password in {password_file} is not its vault password; point "
                f"ANSIBLE_VAULT_PASSWORD_FILE at the file holding the right one")
    return f"cannot read {inventory}: {first[:300]}"


# Mitogen makes its connection's socket in TMPDIR (<state>/runs/<pid>-<8>/tmp): mitogen_unix_<8>.sock,
# and a socket's path is at most 107 bytes on Linux (sun_path).
STATE_DIR_MAX = 107 - len("/runs/1234567-12345678/tmp/mitogen_unix_12345678.sock")


def state_dir() -> Path:
    """The command's state folder: its log, its host lock, its runs (docs/operations.md)."""
    configured = os.environ.get("GREENLIGHT_STATE_DIR")
    if configured:
        return Path(configured)
    return Path("/var/lib/greenlight") if os.geteuid() == 0 else Path.home() / ".local/state/greenlight"


def state_dir_problem(state_dir: Path) -> str:
    """A line saying why playbooks cannot run with this state folder, "" when they can."""
    if len(str(state_dir).encode()) <= STATE_DIR_MAX:
        return ""
    return (f"the state folder {state_dir} is longer than {STATE_DIR_MAX} bytes: a run's connection socket "
            f"is made under it; set GREENLIGHT_STATE_DIR to a shorter path")


def sweep_runs(runs_dir: Path, ansible_tmp: Path = Path.home() / ".ansible" / "tmp") -> None:
    """Remove what killed runs left: greenlight's private folders (named <pid>-...) and the
    folders Ansible's processes on this machine make for a module's files and arguments
    (ansible-tmp-<time>-<pid>-<random>), both only when their process is gone; and Mitogen's
    (ansible_mitogen_action_*, ansible_mitogen_runner_*: a file copy's, a module's), which name
    no process, only when no other greenlight run is alive on this machine."""
    from .reaper import deploy_lock  # module_utils, as the command imports them

    folders = [(folder, folder.name.split("-", 1)[0]) for folder in _children(runs_dir)]
    folders += [(folder, folder.name.split("-")[3]) for folder in _children(ansible_tmp)
                if folder.name.startswith("ansible-tmp-") and folder.name.count("-") >= 4]
    for folder, pid in folders:
        if pid.isdigit() and int(pid) != os.getpid() and not Path(f"/proc/{pid}").exists():
            shutil.rmtree(folder, ignore_errors=True)
    mitogen = [folder for folder in _children(ansible_tmp) if folder.name.startswith("ansible_mitogen_")]
    if mitogen and not deploy_lock.run_processes(None):
        for folder in mitogen:
            shutil.rmtree(folder, ignore_errors=True)


def _children(folder: Path) -> list[Path]:
    return list(folder.iterdir()) if folder.is_dir() else []


def _custom_stats(events: object) -> dict:
    """What the playbook reported with set_stats (per_host: false)."""
    for event in events:
        if event.get("event") == "playbook_on_stats":
            return event.get("event_data", {}).get("artifact_data", {}) or {}
    return {}
