"""A real VPS path (docs/getting-started.md; docs/your-app.md): staging on a second
VPS, reached over SSH, while production stays on this machine.

The "second VPS" is this machine behind Debian's sshd on 127.0.0.1:VPS_SSH_PORT, with a Docker
engine of its own: a second dockerd (its own socket, data root, address pool, no default
bridge), which the sshd's sessions see at the usual /var/run/docker.sock (the sshd runs in a
mount namespace where that path is the second engine's socket). The test takes the steps
of docs/getting-started.md: a non-root deploy user with sudo and only key authentication,
the VPS's host key in known_hosts (checking on), staging's inventory pointing there with
ansible_user and ansible_become, and a vault of the user's own (not the demo's). `greenlight promote` then
moves the images staging ran to production's engine (docker save there streamed through
this machine into docker load here), checked by digest. It has its own app name, state folder and ports, and
removes all of it (by its label, its names) at the end.
"""

from __future__ import annotations

import json
import os
import pwd
import secrets
import shutil
import signal
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml

from . import stack
from .stack import BIN, INVENTORIES, REPO

pytestmark = pytest.mark.usefixtures("command_inventories")

APP = "vps"
ROOT = Path("/tmp/greenlight-vps")
USER = "greenlight-deploy"
VPS_SSH_PORT = 18022
PORTS = {
    "production": {"proxy_http_port": 16080, "proxy_https_port": 16443, "proxy_api_port": 16500,
                   "proxy_preview_port": 16900, "proxy_metrics_port": 16404, "mysql_port": 16307},
    "staging": {"proxy_http_port": 26080, "proxy_https_port": 26443, "proxy_api_port": 26500,
                "proxy_preview_port": 26900, "proxy_metrics_port": 26404, "mysql_port": 26308},
}


def sh(*argv: str, **kwargs) -> subprocess.CompletedProcess:
    return subprocess.run(argv, check=True, capture_output=True, text=True, **kwargs)


# The second engine: its socket, state and address pool are the test's own.
ENGINE_SOCKET = Path("/run/greenlight-vps-docker.sock")
ENGINE_DATA = Path("/var/lib/greenlight-vps-docker")
ENGINE_EXEC = Path("/run/greenlight-vps-docker")
ENGINE_POOL = "10.213.0.0/16"
# Its default bridge, made by the test. Not `--bridge none`: a daemon started so deletes the
# interface docker0, the main engine's (found when every later build failed).
ENGINE_BRIDGE, ENGINE_BRIDGE_ADDRESS = "greenlight-vps0", "10.214.0.1/24"
# The second engine has no iptables of its own (two daemons would fight over the chains), so
# the test gives it what a VPS's Docker sets up: the main engine drops forwarded traffic of
# bridges it does not know (FORWARD policy, br_netfilter on), and the containers' DNS
# forwarding to the host's resolver needs masquerading (else each name the embedded DNS
# does not know waits for a timeout, and HAProxy's start with them).
MARK = ["-m", "comment", "--comment", "greenlight-vps-docker"]
ENGINE_RULES = [("filter", "DOCKER-USER", ["-s", ENGINE_POOL, "-j", "ACCEPT", *MARK]),
                ("filter", "DOCKER-USER", ["-i", ENGINE_BRIDGE, "-j", "ACCEPT", *MARK]),
                ("filter", "DOCKER-USER", ["-o", ENGINE_BRIDGE, "-j", "ACCEPT", *MARK]),
                ("nat", "POSTROUTING", ["-s", "10.214.0.0/24", "!", "-o", ENGINE_BRIDGE, "-j", "MASQUERADE", *MARK]),
                ("filter", "DOCKER-USER", ["-d", ENGINE_POOL, "-j", "ACCEPT", *MARK]),
                ("nat", "POSTROUTING", ["-s", ENGINE_POOL, "!", "-d", ENGINE_POOL, "-j", "MASQUERADE", *MARK])]
# The VPS's /usr/local/bin (first on sudo's path there).
VPS_BIN = ROOT / "vps-bin"
# The app's images: its own repositories (<app>-<image>), so production's engine lacks them
# until promote moves them.
IMAGES = ("vps-backend", "vps-frontend")


def docker2(*args: str) -> str:
    return sh("docker", "-H", f"unix://{ENGINE_SOCKET}", *args).stdout


def remove_app() -> None:
    for listing, remove in ((["ps", "-aq"], ["rm", "-f"]), (["volume", "ls", "-q"], ["volume", "rm"]),
                            (["network", "ls", "-q"], ["network", "rm"])):
        ids = stack.docker(*listing, "--filter", f"label=greenlight.app={APP}").split()
        if ids:
            stack.docker(*remove, *ids)
    for repository in IMAGES:  # tags only: their layers are the demo's images'
        tags = stack.docker("images", repository, "--format", "{{.Repository}}:{{.Tag}}").split()
        if tags:
            stack.docker("rmi", *tags)
    # The scheduled backups' cron entries (roles/backup/tasks/schedule.yml), by the app's name.
    for env in ("staging", "production"):
        Path(f"/etc/cron.d/greenlight-{APP}-{env}").unlink(missing_ok=True)
    shutil.rmtree(ROOT, ignore_errors=True)


def stop_engine() -> None:
    """Stop the second engine (one a killed run left too), and remove its state and rules."""
    pidfile = ENGINE_EXEC / "docker.pid"
    if ENGINE_SOCKET.exists():
        subprocess.run(["docker", "-H", f"unix://{ENGINE_SOCKET}", "rm", "-f",
                        *subprocess.run(["docker", "-H", f"unix://{ENGINE_SOCKET}", "ps", "-aq"], capture_output=True,
                                        text=True).stdout.split()], capture_output=True)
    if pidfile.exists():
        pid = int(pidfile.read_text().strip() or 0)
        try:
            os.kill(pid, signal.SIGTERM)
            for _ in range(300):
                os.kill(pid, 0)
                time.sleep(0.1)
        except ProcessLookupError:
            pass
    mounts = subprocess.run(["findmnt", "-rn", "-o", "TARGET"], capture_output=True, text=True).stdout.split()
    for target in sorted((m for m in mounts if m.startswith((str(ENGINE_DATA), str(ENGINE_EXEC)))), reverse=True):
        subprocess.run(["umount", "-l", target], capture_output=True)
    shutil.rmtree(ENGINE_DATA, ignore_errors=True)
    shutil.rmtree(ENGINE_EXEC, ignore_errors=True)
    ENGINE_SOCKET.unlink(missing_ok=True)
    subprocess.run(["ip", "link", "delete", ENGINE_BRIDGE, "type", "bridge"], capture_output=True)
    for table, chain, rule in ENGINE_RULES:
        while subprocess.run(["iptables", "-t", table, "-D", chain, *rule], capture_output=True).returncode == 0:
            pass


def start_engine() -> None:
    """The second VPS's Docker: its own socket, data root, exec root, address pool and
    default bridge; no iptables of its own (two daemons would fight over the chains)."""
    stop_engine()
    ENGINE_EXEC.mkdir(parents=True)
    sh("ip", "link", "add", ENGINE_BRIDGE, "type", "bridge")
    sh("ip", "address", "add", ENGINE_BRIDGE_ADDRESS, "dev", ENGINE_BRIDGE)
    sh("ip", "link", "set", ENGINE_BRIDGE, "up")
    # Its own daemon.json, not this machine's: without iptables, published ports go through
    # docker-proxy (the userland proxy).
    config = ENGINE_EXEC / "daemon.json"
    config.write_text(json.dumps({"userland-proxy": True}))
    subprocess.Popen(["dockerd", "--config-file", str(config), "-H", f"unix://{ENGINE_SOCKET}", "--data-root", str(ENGINE_DATA),
                      "--exec-root", str(ENGINE_EXEC), "--pidfile", str(ENGINE_EXEC / "docker.pid"),
                      "--bridge", ENGINE_BRIDGE, "--iptables=false", "--ip-masq=false", "--cgroup-parent", "greenlight-vps-docker",
                      "--default-address-pool", f"base={ENGINE_POOL},size=24"],
                     stdout=open(ROOT / "dockerd.log", "w"), stderr=subprocess.STDOUT, start_new_session=True)
    for _ in range(300):
        if subprocess.run(["docker", "-H", f"unix://{ENGINE_SOCKET}", "info"], capture_output=True).returncode == 0:
            break
        time.sleep(0.1)
    for table, chain, rule in ENGINE_RULES:
        sh("iptables", "-t", table, "-I", chain, *rule)
    # What a new VPS gets before its first deploy: the base image (make setup built it; no
    # registry here), and, to spare the suite their builds, greenlight's own images and the
    # app's v2 images as the main engine has them. Production's engine has no vps-* image.
    base = yaml.safe_load((REPO / "inventories/staging/group_vars/all/base_image.yml").read_text())["greenlight_base_image"]
    wanted = [base, "greenlight/mariadb", "greenlight/haproxy"]
    commit = sh("git", "--git-dir", str(stack.ROOT / "warehouse.git" / ".git"), "rev-parse", "v2^{commit}").stdout.strip()
    built = [f"warehouse-{image}:{commit[:12]}" for image in ("backend", "frontend")]
    present = [ref for ref in built if stack.docker("images", "-q", ref).strip()]
    subprocess.run(f"docker save {' '.join(wanted + present)} | docker -H unix://{ENGINE_SOCKET} load",
                   shell=True, check=True, capture_output=True)
    for ref in present:
        docker2("tag", ref, ref.replace("warehouse-", "vps-"))
        docker2("rmi", ref)


class Vps:
    def __init__(self) -> None:
        self.dir = ROOT / "client"
        self.known_hosts = self.dir / "known_hosts"
        self.key = self.dir / "id_ed25519"
        self.inventories = ROOT / "inventories"
        self.vault_password = self.dir / "vault-password"
        self.sshd_log = ROOT / "sshd.log"

    def run(self, *args: str, vault_password: Path | None = None, **env: str) -> subprocess.CompletedProcess:
        environment = {**os.environ, "GREENLIGHT_STATE_DIR": str(ROOT / "state"),
                       "ANSIBLE_VAULT_PASSWORD_FILE": str(vault_password or self.vault_password), **env}
        return subprocess.run([str(BIN / "greenlight"), "--inventories", str(self.inventories), *args],
                              cwd="/", env=environment, capture_output=True, text=True, timeout=1200)

    def get(self, env: str, path: str) -> str:
        import urllib.request
        with urllib.request.urlopen(f"http://127.0.0.1:{PORTS[env]['proxy_http_port']}{path}", timeout=5) as answer:
            return answer.read().decode()


@pytest.fixture(scope="module")
def vps() -> Iterator[Vps]:
    remove_app()
    if not (stack.ROOT / "warehouse.git").is_dir():
        stack.make_app_repo()
    server = Vps()
    server.dir.mkdir(parents=True, mode=0o700)
    # The VPS: a deploy user that logs in with a key only and becomes root with sudo. The name
    # is the test's own: one left by a killed run is made again.
    subprocess.run(["userdel", "--remove", USER], capture_output=True)
    ROOT.mkdir(parents=True, exist_ok=True)
    start_engine()
    # "*": no password to log in with, and not a locked account (sshd refuses those, keys or not).
    sh("useradd", "--create-home", "--shell", "/bin/bash", "--password", "*", USER)
    sudoers = Path(f"/etc/sudoers.d/{USER}")
    sudoers.write_text(f"{USER} ALL=(ALL) NOPASSWD: ALL\n")
    sudoers.chmod(0o440)
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(server.key))
    home = Path(pwd.getpwnam(USER).pw_dir)
    (home / ".ssh").mkdir(mode=0o700, exist_ok=True)
    (home / ".ssh" / "authorized_keys").write_text(Path(f"{server.key}.pub").read_text())
    (home / ".ssh" / "authorized_keys").chmod(0o600)
    shutil.chown(home / ".ssh", USER, USER)
    shutil.chown(home / ".ssh" / "authorized_keys", USER, USER)
    host_key = ROOT / "ssh_host_ed25519_key"
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(host_key))
    config = ROOT / "sshd_config"
    config.write_text(f"Port {VPS_SSH_PORT}\nListenAddress 127.0.0.1\nHostKey {host_key}\nPidFile {ROOT}/sshd.pid\n"
                      "PasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin no\n"
                      f"AllowUsers {USER}\nUsePAM no\nLogLevel VERBOSE\n")
    # The client knows the VPS's host key before the first connection (ssh-keyscan, checked:
    # docs/getting-started.md).
    public = Path(f"{host_key}.pub").read_text().split()
    server.known_hosts.write_text(f"[127.0.0.1]:{VPS_SSH_PORT} {public[0]} {public[1]}\n")
    # The user's own vault: a password of theirs, and the secrets encrypted with it.
    server.vault_password.write_text(secrets.token_urlsafe(32))
    server.vault_password.chmod(0o600)
    shutil.copytree(INVENTORIES, server.inventories)
    for env in ("staging", "production"):
        group_vars = server.inventories / env / "group_vars" / "all"
        plain = "\n".join(f"{key}: {secrets.token_urlsafe(24)}" for key in
                          ("vault_mysql_app_password", "vault_mysql_migrator_password", "vault_restic_password"))
        (group_vars / "vault.yml").unlink()
        sh(str(BIN / "ansible-vault"), "encrypt", "--output", str(group_vars / "vault.yml"), "-", input=plain + "\n",
           env={**os.environ, "ANSIBLE_VAULT_PASSWORD_FILE": str(server.vault_password)}, cwd="/")
        # The app's own image repositories (<app>-<image>), not the suite's shared ones.
        own = {"greenlight_app": APP, "greenlight_root": str(ROOT), **PORTS[env],
               "release_images": {"backend": "vps-backend", "frontend": "vps-frontend"}}
        if env == "staging":  # the one line (and the SSH login that goes with any VPS)
            own.update({"ansible_connection": "ssh", "ansible_port": VPS_SSH_PORT, "ansible_user": USER,
                        "ansible_become": True, "ansible_python_interpreter": "/usr/bin/python3",
                        "ansible_ssh_private_key_file": str(server.key),
                        "ansible_ssh_common_args": f"-o UserKnownHostsFile={server.known_hosts} "
                                                   "-o StrictHostKeyChecking=yes"})
            hosts = server.inventories / env / "hosts.yml"
            hosts.write_text(hosts.read_text().replace("ansible_host: localhost", "ansible_host: 127.0.0.1"))
        (group_vars / "zz-vps.yml").write_text(yaml.safe_dump(own))
    Path("/run/sshd").mkdir(mode=0o755, exist_ok=True)
    # The VPS's sessions see the second engine where Docker's socket usually is, and a
    # /usr/local/bin of the test's (empty: a test makes it a compromised host's).
    VPS_BIN.mkdir(parents=True, exist_ok=True)
    sshd = subprocess.Popen(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                             f"mount --bind {ENGINE_SOCKET} /var/run/docker.sock && mount --bind {VPS_BIN} /usr/local/bin"
                             ' && exec /usr/sbin/sshd -D -e -f "$0"',
                             str(config)], stdout=open(server.sshd_log, "w"), stderr=subprocess.STDOUT)
    for _ in range(50):
        if subprocess.run(["ss", "-ltn", f"sport = :{VPS_SSH_PORT}"], capture_output=True, text=True).stdout.count("LISTEN"):
            break
        time.sleep(0.1)
    try:
        yield server
    finally:
        sshd.send_signal(signal.SIGTERM)
        sshd.wait(timeout=10)
        # The sessions our sshd opened (Ansible's persistent connections) end with their user.
        subprocess.run(["pkill", "-KILL", "-u", USER], capture_output=True)
    stack.LAST_LOGS.mkdir(parents=True, exist_ok=True)
    shutil.copy2(server.sshd_log, stack.LAST_LOGS / "sshd.log")
    shutil.copy2(ROOT / "dockerd.log", stack.LAST_LOGS / "vps-dockerd.log")
    stop_engine()
    remove_app()
    sudoers.unlink(missing_ok=True)
    # Stopping the second engine left the main engine's bridge alone too.
    assert subprocess.run(["ip", "link", "show", "docker0"], capture_output=True).returncode == 0
    subprocess.run(["userdel", "--remove", USER], capture_output=True)


def test_the_demo_vault_password_is_refused_for_a_host_reached_over_ssh(vps: Vps) -> None:
    demo = REPO / ".greenlight" / "demo-vault-password"
    inventories = vps.inventories.parent / "inventories-demo"
    shutil.copytree(vps.inventories, inventories, dirs_exist_ok=True)
    for env in ("staging", "production"):
        shutil.copy2(INVENTORIES / env / "group_vars" / "all" / "vault.yml", inventories / env / "group_vars" / "all")
    done = subprocess.run([str(BIN / "greenlight"), "--inventories", str(inventories), "deploy", "staging", "v1"],
                          cwd="/", env={**os.environ, "GREENLIGHT_STATE_DIR": str(ROOT / "state"),
                                        "ANSIBLE_VAULT_PASSWORD_FILE": str(demo)},
                          capture_output=True, text=True, timeout=300)
    shutil.rmtree(inventories)
    assert done.returncode == 2, done.stdout + done.stderr
    assert "reached over SSH but its secrets are opened with the demo's vault password" in done.stderr
    assert stack.docker("ps", "-aq", "--filter", f"label=greenlight.app={APP}").split() == []


def test_a_host_whose_key_is_not_the_known_one_is_not_deployed_to(vps: Vps) -> None:
    genuine = vps.known_hosts.read_text()
    other = ROOT / "other_key"
    sh("ssh-keygen", "-q", "-t", "ed25519", "-N", "", "-f", str(other))
    public = Path(f"{other}.pub").read_text().split()
    vps.known_hosts.write_text(f"[127.0.0.1]:{VPS_SSH_PORT} {public[0]} {public[1]}\n")
    try:
        # A fresh connection: a persistent one (ControlPersist) would skip the key's check.
        done = vps.run("deploy", "staging", "v1", ANSIBLE_SSH_ARGS="-o ControlMaster=no")
    finally:
        vps.known_hosts.write_text(genuine)
    assert done.returncode == 3, done.stdout + done.stderr
    # Mitogen's words for ssh's refusal (mitogen/ssh.py hostkey_failed_msg; ansible.cfg's strategy).
    assert "SSH reported an unrecognized or mismatching host key" in done.stderr, done.stderr
    assert stack.docker("ps", "-aq", "--filter", f"label=greenlight.app={APP}").split() == []


def test_promote_moves_the_images_staging_ran_on_its_own_vps_to_production(vps: Vps) -> None:
    # A first promote, onto two empty environments (the first deploy of each): the strategies
    # on a live release are the other modules' tests.
    done = vps.run("promote", "v2")
    print("\n" + done.stdout[-1500:])
    assert done.returncode == 0, done.stdout + done.stderr
    assert json.loads(vps.get("production", "/api/version"))["version"] == "v2"
    assert json.loads(vps.get("staging", "/api/version"))["version"] == "v2"
    # Staging runs on the second engine only, production on this machine's only.
    assert sorted(docker2("ps", "--filter", f"label=greenlight.app={APP}", "--format", "{{.Label \"greenlight.env\"}}")
                  .split()) and set(docker2("ps", "--filter", f"label=greenlight.app={APP}",
                                            "--format", "{{.Label \"greenlight.env\"}}").split()) == {"staging"}
    assert set(stack.docker("ps", "--filter", f"label=greenlight.app={APP}",
                            "--format", "{{.Label \"greenlight.env\"}}").split()) == {"production"}
    # The images moved by docker save and load, and are the very ones staging ran (by digest).
    assert "images from staging to production" in done.stdout, done.stdout
    color = {env: (ROOT / f"{APP}-{env}" / "proxy" / "live-color").read_text().split()[0] for env in ("staging", "production")}
    for part in ("backend", "frontend"):
        ran = docker2("inspect", "-f", "{{.Image}}", f"{APP}-staging-{part}-{color['staging']}").strip()
        runs = stack.docker("inspect", "-f", "{{.Image}}", f"{APP}-production-{part}-{color['production']}").strip()
        assert ran == runs and ran.startswith("sha256:"), (part, ran, runs)
    history = [json.loads(line) for line in (ROOT / f"{APP}-production" / "history.jsonl").read_text().splitlines()]
    staged = [json.loads(line) for line in (ROOT / f"{APP}-staging" / "history.jsonl").read_text().splitlines()]
    assert history[-1]["digests"] == staged[-1]["digests"]
    # Staging went over SSH, as the deploy user with its key, and nothing logged in as root.
    log = vps.sshd_log.read_text()
    assert f"Accepted publickey for {USER} from 127.0.0.1" in log
    assert "for root" not in log


def test_the_second_engine_leaves_the_main_engines_bridge_alone(vps: Vps) -> None:
    """Runs after the promote: this machine's docker0 is still there (a build needs it)."""
    assert subprocess.run(["ip", "link", "show", "docker0"], capture_output=True).returncode == 0


def test_a_rerun_over_ssh_of_the_live_release_changes_nothing(vps: Vps) -> None:
    """Runs after the promote: a deploy of staging's live release over SSH keeps every
    container (the converged checks, over SSH). Prints its seconds: issue 24's remote number
    (docs/benchmarks.md)."""
    before = docker2("ps", "-q", "--no-trunc", "--filter", f"label=greenlight.app={APP}").split()
    timings = ROOT / "rerun-timings.jsonl"
    timings.unlink(missing_ok=True)
    started = time.monotonic()
    done = vps.run("deploy", "staging", "v2", GREENLIGHT_TIMINGS=str(timings))
    seconds = time.monotonic() - started
    assert done.returncode == 0, done.stdout + done.stderr
    assert sorted(docker2("ps", "-q", "--no-trunc", "--filter", f"label=greenlight.app={APP}").split()) == sorted(before)
    stack.LAST_LOGS.mkdir(parents=True, exist_ok=True)
    shutil.copy2(timings, stack.LAST_LOGS / "ssh-rerun-timings.jsonl")
    tasks = [json.loads(line) for line in timings.read_text().splitlines()]
    assert not [task for task in tasks if task["task"].startswith("Start the part") and not task["skipped"]], tasks
    print(f"\nstaging's live release again, over SSH: {seconds:.1f} s, {len(tasks)} tasks "
          f"({sum(task['seconds'] for task in tasks):.1f} s in tasks)")


def test_logs_and_exec_reach_the_containers_over_ssh(vps: Vps) -> None:
    """Runs after the promote above: staging serves v2 on the VPS, over SSH."""
    marker = f"/api/version?probe={os.urandom(4).hex()}"
    vps.get("staging", marker)
    logs = vps.run("logs", "staging", "proxy", "--since", "10m")
    assert logs.returncode == 0, logs.stderr
    assert marker in logs.stdout
    color = (ROOT / f"{APP}-staging" / "proxy" / "live-color").read_text().split()[0]
    hostname = vps.run("exec", "staging", "backend", "--", "hostname")
    assert hostname.returncode == 0, hostname.stderr
    assert hostname.stdout.strip() == docker2("inspect", "-f", "{{.Config.Hostname}}",
                                              f"{APP}-staging-backend-{color}").strip()
    # Over SSH as the deploy user, with sudo on the VPS: never as root.
    assert "for root" not in vps.sshd_log.read_text()


def own_images() -> dict[str, str]:
    """Production's engine: every tag of greenlight's own images and the app's, and its image ID."""
    listed = stack.docker("images", "--no-trunc", "--format", "{{.Repository}}:{{.Tag}} {{.ID}}").splitlines()
    return dict(line.split() for line in listed if line.startswith(("greenlight/", "vps-")))


def test_a_compromised_staging_cannot_retag_what_production_runs(vps: Vps) -> None:
    """Runs after the promote: staging's host, asked for the release's images, sends one of its
    own along under the tag of production's proxy image. The promote refuses it; nothing is loaded."""
    pins = json.loads((ROOT / f"{APP}-production" / "image-pins.json").read_text())
    proxy_tag = next(tag for tag in pins if tag.startswith("greenlight/haproxy:"))
    color = (ROOT / f"{APP}-staging" / "proxy" / "live-color").read_text().split()[0]
    own = docker2("inspect", "-f", "{{.Config.Image}}", f"{APP}-staging-backend-{color}").strip()
    genuine = docker2("images", "-q", "--no-trunc", proxy_tag).strip()
    # Its docker, asked to save, tags the app's image as the proxy's for the stream only (its own
    # proxy, pinned, would refuse it in its next deploy: greenlight.deploy.image_pin).
    (VPS_BIN / "docker").write_text(
        "#!/bin/sh\n# A compromised host: its docker save slips another tag in.\n"
        f'if [ "$1" = save ]; then shift; /usr/bin/docker tag {own} {proxy_tag}; /usr/bin/docker save "$@" {proxy_tag}; '
        f"status=$?; /usr/bin/docker tag {genuine} {proxy_tag}; exit $status; fi\n"
        'exec /usr/bin/docker "$@"\n')
    (VPS_BIN / "docker").chmod(0o755)
    # Production sends for the release's images only when it lacks them: untagged here (its
    # containers keep them by ID), so the promote asks staging for them again.
    release = {ref: ref_id for ref, ref_id in own_images().items() if ref.startswith("vps-")}
    stack.docker("rmi", "-f", *release)
    before = own_images()
    try:
        done = vps.run("promote", "v2")
        after = own_images()  # before the release's tags are put back below
    finally:
        (VPS_BIN / "docker").unlink()
        docker2("tag", genuine, proxy_tag)
        for ref, ref_id in release.items():
            stack.docker("tag", ref_id, ref)
    assert done.returncode == 1, done.stdout + done.stderr
    assert "refused the images staging sent" in done.stderr and proxy_tag in done.stderr, done.stderr
    assert after == before
    assert json.loads(vps.get("production", "/api/version"))["version"] == "v2"


def test_the_scheduled_backup_runs_in_crons_bare_environment_with_the_users_own_vault(vps: Vps) -> None:
    """cron knows nothing of the shell greenlight was run from: the entry names the vault
    password file (outside the project) and the state folder itself."""
    line = next(line for line in Path(f"/etc/cron.d/greenlight-{APP}-production").read_text().splitlines()
                if line.endswith("--scheduled"))
    command = line.split(None, 6)[6]
    assert f"ANSIBLE_VAULT_PASSWORD_FILE={vps.vault_password}" in command, command
    done = subprocess.run(["sh", "-c", command], env={"PATH": "/usr/bin:/bin", "SHELL": "/bin/sh", "HOME": "/root",
                                                      "LOGNAME": "root"}, capture_output=True, text=True, timeout=900)
    assert done.returncode == 0, done.stdout + done.stderr


def test_check_reports_a_docker_engine_without_live_restore(vps: Vps) -> None:
    """The second engine was started without live-restore: a Docker update there would stop staging."""
    done = vps.run("check", "staging")
    assert done.returncode == 2, done.stdout + done.stderr
    assert "runs without live-restore" in done.stdout, done.stdout
