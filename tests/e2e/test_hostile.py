"""Hostile and mistaken input, through the real greenlight command (docs/security.md).

Every case runs the command on a copy of the real inventories changed for that case, with
its own app (`hostile`) and state folder (greenlight_root /tmp/greenlight-hostile), and
asserts three things:

- the exit code: 2 (bad input), 3 for a host that cannot be reached;
- one failure line on stderr that says what to fix (the summary line; the lines after it
  may only be the stages' timings), and no traceback;
- nothing changed on the host (`unchanged`): no container, volume or network labelled
  greenlight.app=hostile, no cron entry of the app, and every file and folder under
  greenlight_root exactly as before the command (path, size, modification time). The
  command's own log and host lock live outside it (GREENLIGHT_STATE_DIR), as do the test's
  fixtures (the app's repository, the inventories, certificates).

No case needs a deployed environment: the files greenlight reads on the host (history,
live-color, HAProxy's server state) are checked by the first task of every playbook, before
recovery or anything else runs, so a damaged file is planted in an empty greenlight_root.
"""

from __future__ import annotations

import datetime
import os
import shutil
import socket
import subprocess
import sys
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
import yaml

REPO = Path(__file__).resolve().parents[2]
BIN = Path(sys.executable).parent
APP = "hostile"
ROOT = Path("/tmp/greenlight-hostile")
FIXTURES = Path("/tmp/greenlight-hostile-fixtures")
STATE = FIXTURES / "state"
INVENTORIES = FIXTURES / "inventories"
APP_REPO = FIXTURES / "app"
PORTS = {
    "staging": {"proxy_http_port": 36080, "proxy_https_port": 36443, "proxy_api_port": 36500,
                "proxy_preview_port": 36900, "proxy_metrics_port": 36404, "mysql_port": 36308,
                "monitoring_mysqld_exporter_port": 36104},
    "production": {"proxy_http_port": 46080, "proxy_https_port": 46443, "proxy_api_port": 46500,
                   "proxy_preview_port": 46900, "proxy_metrics_port": 46404, "mysql_port": 46307,
                   "monitoring_mysqld_exporter_port": 46104},
}


def docker(*args: str) -> str:
    return subprocess.run(["docker", *args], check=True, capture_output=True, text=True).stdout


def remove_everything() -> None:
    """What this file could have made: docker objects labelled app=hostile, its folders, its cron entries."""
    label = f"label=greenlight.app={APP}"
    for listing, remove in ((["ps", "-aq"], ["rm", "-f"]), (["volume", "ls", "-q"], ["volume", "rm"]),
                            (["network", "ls", "-q"], ["network", "rm"])):
        ids = docker(*listing, "--filter", label).split()
        if ids:
            docker(*remove, *ids)
    shutil.rmtree(ROOT, ignore_errors=True)
    shutil.rmtree(FIXTURES, ignore_errors=True)
    for env in ("staging", "production"):
        Path(f"/etc/cron.d/greenlight-{APP}-{env}").unlink(missing_ok=True)


def git(*args: str, cwd: Path = APP_REPO) -> None:
    subprocess.run(["git", *args], cwd=cwd, check=True, capture_output=True,
                   env={**os.environ, "GIT_AUTHOR_NAME": "t", "GIT_AUTHOR_EMAIL": "t@example.com",
                        "GIT_COMMITTER_NAME": "t", "GIT_COMMITTER_EMAIL": "t@example.com"})


@pytest.fixture(scope="module", autouse=True)
def fixtures() -> Iterator[None]:
    """A tiny app repository (a tag v1; `twice` both a branch and a tag, on different commits)."""
    remove_everything()
    APP_REPO.mkdir(parents=True)
    git("init", "-q", "-b", "main")
    (APP_REPO / "README").write_text("one\n")
    git("add", "README")
    git("commit", "-q", "-m", "one")
    git("tag", "v1")
    git("tag", "twice")
    (APP_REPO / "README").write_text("two\n")
    git("commit", "-q", "-am", "two")
    git("branch", "twice")
    yield
    remove_everything()


def write_inventories(staging: dict | None = None, production: dict | None = None,
                      hosts: dict | None = None) -> Path:
    """A copy of the real inventories, with the test app's settings and the case's changes
    (one more group_vars file each, as a user keeps inventories outside the repository)."""
    shutil.rmtree(INVENTORIES, ignore_errors=True)
    shutil.copytree(REPO / "inventories", INVENTORIES)
    for env, changes in (("staging", staging), ("production", production)):
        settings = {"greenlight_app": APP, "greenlight_root": str(ROOT), "app_repo": str(APP_REPO),
                    **PORTS[env], **(changes or {})}
        (INVENTORIES / env / "group_vars" / "all" / "zz-hostile.yml").write_text(yaml.safe_dump(settings))
    for env, host in (hosts or {}).items():
        (INVENTORIES / env / "hosts.yml").write_text(yaml.safe_dump({env: {"hosts": {f"{env}_server": host}}}))
    return INVENTORIES


def host_state() -> dict:
    """What `unchanged` compares: the app's docker objects, cron entries and greenlight_root's tree."""
    label = f"label=greenlight.app={APP}"
    tree = {}
    if ROOT.exists():
        for path in [ROOT, *sorted(ROOT.rglob("*"))]:
            info = path.lstat()
            tree[str(path)] = (info.st_size if path.is_file() else 0, info.st_mtime_ns, info.st_mode)
    return {
        "containers": docker("ps", "-aq", "--filter", label).split(),
        "volumes": docker("volume", "ls", "-q", "--filter", label).split(),
        "networks": docker("network", "ls", "-q", "--filter", label).split(),
        "cron": sorted(str(p) for p in Path("/etc/cron.d").glob(f"greenlight-{APP}-*")),
        "greenlight_root": tree,
    }


@pytest.fixture
def unchanged() -> Iterator[Callable[[], None]]:
    """Each case starts from an empty greenlight_root (plus what it plants) and must leave the host as it found it."""
    shutil.rmtree(ROOT, ignore_errors=True)
    write_inventories()
    planted: list[dict] = []

    def before() -> None:
        planted.append(host_state())

    yield before
    after = host_state()
    assert after == (planted[0] if planted else {"containers": [], "volumes": [], "networks": [], "cron": [],
                                                 "greenlight_root": {}}), "the command changed the host"


def run(*args: str, env: dict | None = None, before: Callable[[], None] | None = None) -> subprocess.CompletedProcess:
    """The greenlight command (its entry point, from this worktree) on the case's inventories."""
    if before is not None:
        before()
    return subprocess.run(
        [sys.executable, "-m", "greenlight.cli", "--inventories", str(INVENTORIES), *args],
        cwd="/", capture_output=True, text=True, timeout=300,
        env={**os.environ, "GREENLIGHT_STATE_DIR": str(STATE), "PYTHONPATH": str(REPO), **(env or {})})


def refused(done: subprocess.CompletedProcess, phrase: str, code: int = 2) -> str:
    """The command exited `code` with one failure line holding `phrase`; that line."""
    lines = done.stderr.splitlines()
    assert done.returncode == code, done.stdout + done.stderr
    assert "Traceback" not in done.stderr, done.stderr
    assert lines and phrase in lines[0], done.stderr
    # After the one line only the stages' timings ("  deploy staging   2.1 s  failed").
    assert all(line.startswith("  ") and line.rstrip().endswith(("ok", "failed")) for line in lines[1:]), done.stderr
    return lines[0]


# -- the version or ref ------------------------------------------------------------------

VERSIONS = {
    "semicolon": ("v1;rm -rf /", "is not a tag, branch or commit name"),
    "command-substitution": ("$(id)", "is not a tag, branch or commit name"),
    "backticks": ("`id`", "is not a tag, branch or commit name"),
    "trailing-newline": ("v1\n", "is not a tag, branch or commit name"),
    "dot-dot": ("v1..v2", "is not a valid git ref name"),
    "reflog-syntax": ("main@{1}", "is not a tag, branch or commit name"),
    "cyrillic-look-alike": ("v1-rеlease", "is not a tag, branch or commit name"),  # е is U+0435
    "fullwidth-digit": ("v１", "is not a tag, branch or commit name"),
    "200-characters": ("v" * 200, "is 200 characters long"),
}


@pytest.mark.parametrize("version,phrase", VERSIONS.values(), ids=VERSIONS.keys())
def test_a_version_that_is_not_a_plain_ref_is_refused(version: str, phrase: str, unchanged) -> None:
    refused(run("deploy", "staging", version, before=unchanged), phrase)


def test_a_promote_of_a_hostile_version_is_refused(unchanged) -> None:
    refused(run("promote", "v1;id", before=unchanged), "is not a tag, branch or commit name")


def test_a_hostile_latest_ref_is_refused(unchanged) -> None:
    refused(run("promote", "--latest", "--ref", "$(id)", before=unchanged), "is not a tag, branch or commit name")


def test_a_ref_that_is_both_a_branch_and_a_tag_is_refused(unchanged) -> None:
    """git rev-parse would take the tag silently. The release role asks the repository (git
    ls-remote, before fetching anything) and refuses; refs/tags/twice says which."""
    line = refused(run("deploy", "staging", "twice", before=unchanged), "is both a branch and a tag")
    assert "refs/tags/twice" in line


# -- -e and the user's name ----------------------------------------------------------------

def test_an_extra_var_with_a_template_expression_is_refused(unchanged) -> None:
    refused(run("deploy", "staging", "v1", "-e", "deploy_watch_seconds={{ 7*7 }}", before=unchanged),
            "holds a template marker")


def test_an_extra_var_with_a_template_statement_is_refused(unchanged) -> None:
    refused(run("verify", "staging", "-e", "x={% for i in range(3) %}a{% endfor %}", before=unchanged),
            "holds a template marker")


def test_an_extra_vars_file_with_a_template_inside_is_refused(unchanged) -> None:
    extra = FIXTURES / "extra.yml"
    extra.write_text(yaml.safe_dump({"release_images": {"backend": "{{ lookup('pipe', 'id') }}"}}))
    refused(run("deploy", "staging", "v1", "-e", f"@{extra}", before=unchanged), "holds a template marker")


def test_a_user_name_with_a_template_is_recorded_as_plain_text() -> None:
    """Not refused (a user cannot choose another name): the name is neutralised to
    [A-Za-z0-9._@-] before any playbook sees it. Staging's deploy fails at its preflight (its
    port is taken), so the promotion is recorded in production's history: the recorded actor
    is the neutralised name, and 49 appears nowhere."""
    shutil.rmtree(ROOT, ignore_errors=True)
    write_inventories()
    listener = socket.socket()
    listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    listener.bind(("127.0.0.1", PORTS["staging"]["proxy_http_port"]))
    listener.listen()
    logged = (STATE / "greenlight.log").read_text() if (STATE / "greenlight.log").exists() else ""
    try:
        done = run("promote", "v1", env={"USER": "{{ 7*7 }}", "LOGNAME": "{{ 7*7 }}", "SUDO_USER": "{{ 7*7 }}"})
    finally:
        listener.close()
    assert done.returncode == 1, done.stderr
    assert "already in use" in done.stderr.splitlines()[0], done.stderr
    history_text = (ROOT / f"{APP}-production" / "history.jsonl").read_text()
    listed = run("history", "production", env={"USER": "{{ 7*7 }}", "SUDO_USER": "{{ 7*7 }}"})
    assert '"actor": "___7_7___"' in history_text, history_text
    assert "by ___7_7___" in listed.stdout, listed.stdout
    for text in (history_text, listed.stdout, (STATE / "greenlight.log").read_text()[len(logged):]):
        assert '"actor": "49"' not in text and "by 49" not in text and "{{" not in text


# -- one environment's settings -------------------------------------------------------------

SETTINGS = {
    "canary-steps-a-string": ({"deploy_canary_steps": "5,25,50,100"}, "deploy_canary_steps '5,25,50,100'"),
    "canary-steps-unsorted": ({"deploy_canary_steps": [50, 25, 100]}, "deploy_canary_steps [50, 25, 100]"),
    "canary-steps-not-ending-at-100": ({"deploy_canary_steps": [5, 25, 50]}, "that ends at 100"),
    "canary-steps-with-0": ({"deploy_canary_steps": [0, 50, 100]}, "deploy_canary_steps [0, 50, 100]"),
    "canary-steps-over-100": ({"deploy_canary_steps": [5, 150]}, "deploy_canary_steps [5, 150]"),
    "watch-seconds-abc": ({"deploy_watch_seconds": "abc"}, "deploy_watch_seconds 'abc': seconds"),
    "watch-seconds-negative": ({"deploy_watch_seconds": -5}, "deploy_watch_seconds -5: seconds, 0"),
    "canary-hold-0": ({"deploy_canary_hold": 0}, "deploy_canary_hold 0: seconds, 0.1 or more"),
    "judge-significance-2": ({"deploy_judge_significance": 2}, "deploy_judge_significance 2: a probability"),
    "judge-min-requests-fraction": ({"deploy_judge_min_requests": 2.5}, "deploy_judge_min_requests 2.5"),
    "judge-error-ratio-below-1": ({"deploy_judge_error_ratio": 0.5}, "deploy_judge_error_ratio 0.5: a ratio"),
    "judge-floors-per-percentile": ({"deploy_judge_latency_percentiles": [50, 95, 99],
                                     "deploy_judge_latency_floors_ms": [5, 25]}, "one floor per percentile"),
    "backup-keep-0": ({"backup_keep": 0}, "backup_keep 0: a whole number of backups"),
    "port-over-65535": ({"proxy_http_port": 70000}, "proxy_http_port 70000: a TCP port"),
    "port-not-a-number": ({"proxy_https_port": "eighty"}, "proxy_https_port 'eighty': a TCP port"),
    "port-0": ({"mysql_port": 0}, "mysql_port 0: a TCP port"),
    "two-ports-the-same": ({"proxy_api_port": 36080}, "are both 36080"),
    "strategy-unknown": ({"deploy_strategy": "yolo"}, "deploy_strategy 'yolo': one of blue_green, canary, rolling"),
    "root-is-slash": ({"greenlight_root": "/"}, "greenlight_root '/'"),
    "root-relative": ({"greenlight_root": "var/lib/greenlight"}, "greenlight_root 'var/lib/greenlight'"),
    "root-with-dot-dot": ({"greenlight_root": "/tmp/../etc"}, "greenlight_root '/tmp/../etc'"),
    "app-climbs-out": ({"greenlight_app": "../x"}, "greenlight_app '../x': a lower-case name"),
    "app-upper-case": ({"greenlight_app": "Hostile"}, "greenlight_app 'Hostile': a lower-case name"),
    "bind-address-not-an-ip": ({"proxy_bind_address": "0.0.0.0; rm -rf /"}, "proxy_bind_address '0.0.0.0; rm"),
    "webhook-file-url": ({"greenlight_notify_webhook_url": "file:///etc/passwd"},
                         "greenlight_notify_webhook_url (scheme 'file')"),
    "alert-webhook-gopher": ({"monitoring_webhook_url": "gopher://example.com/"}, "monitoring_webhook_url (scheme"),
    "watchdog-url-with-space": ({"monitoring_watchdog_url": "https://hc.example.com/ping x"},
                                "monitoring_watchdog_url (scheme 'https')"),
    "email-with-crlf": ({"greenlight_notify_email_to": "ops@example.com\r\nBcc: all@example.com"},
                        "greenlight_notify_email_to 'ops@example.com\\r\\nBcc"),
    "alert-email-with-crlf": ({"monitoring_email_from": "a@example.com\nX-Evil: 1"},
                              "monitoring_email_from 'a@example.com\\nX-Evil"),
    "repo-ext-transport": ({"app_repo": "ext::sh -c touch% /tmp/greenlight-hostile-pwned"}, "app_repo 'ext::sh"),
    "repo-fd-transport": ({"app_repo": "fd::7"}, "app_repo 'fd::7'"),
    "repo-file-url": ({"app_repo": "file:///etc"}, "app_repo 'file:///etc'"),
}


@pytest.mark.parametrize("change,phrase", SETTINGS.values(), ids=SETTINGS.keys())
def test_a_bad_setting_is_refused_before_anything_changes(change: dict, phrase: str, unchanged) -> None:
    write_inventories(staging=change)
    refused(run("deploy", "staging", "v1", before=unchanged), phrase)
    assert not Path("/tmp/greenlight-hostile-pwned").exists()


# -- the two environments --------------------------------------------------------------------

PAIRS = {
    "same-port": ({"proxy_https_port": 46443}, "staging's proxy_https_port and production's proxy_https_port are both 46443"),
    "same-database": ({"mysql_port": 46307, "mysql_database": "warehouse_wms"}, "the same database"),
    "same-network": ({"greenlight_network": "shared-net"}, "the same Docker network"),
    "same-prefix": ({"greenlight_env": "production"}, "the same app prefix"),
}


@pytest.mark.parametrize("change,phrase", PAIRS.values(), ids=PAIRS.keys())
def test_two_environments_sharing_what_they_must_not_are_refused(change: dict, phrase: str, unchanged) -> None:
    production = {"greenlight_network": "shared-net"} if "greenlight_network" in change else {}
    if "mysql_database" in change:
        production = {"mysql_database": "warehouse_wms"}
    write_inventories(staging=change, production=production)
    refused(run("deploy", "staging", "v1", before=unchanged), phrase)


# -- the vault and the host --------------------------------------------------------------------

def test_a_missing_vault_password_file_is_refused(unchanged) -> None:
    line = refused(run("deploy", "staging", "v1", env={"ANSIBLE_VAULT_PASSWORD_FILE": str(FIXTURES / "no-such-file")},
                       before=unchanged), "does not exist")
    assert "group_vars/all/vault.yml" in line and "ANSIBLE_VAULT_PASSWORD_FILE" in line


def test_a_wrong_vault_password_is_refused(unchanged) -> None:
    wrong = FIXTURES / "wrong-password"
    wrong.write_text("not the password\n")
    line = refused(run("deploy", "staging", "v1", env={"ANSIBLE_VAULT_PASSWORD_FILE": str(wrong)}, before=unchanged),
                   "is not its vault password")
    assert "group_vars/all/vault.yml" in line


def own_vault() -> dict:
    """Both environments' vaults encrypted with a password of the user's own (a host reached
    over SSH refuses the demo's); the environment variables that point greenlight at it."""
    password = FIXTURES / "own-vault-password"
    password.write_text("an own password, not the demo's\n")
    password.chmod(0o600)
    for env in ("staging", "production"):
        vault = INVENTORIES / env / "group_vars" / "all" / "vault.yml"
        plain = subprocess.run([str(BIN / "ansible-vault"), "view", str(vault)], cwd=REPO, check=True,
                               capture_output=True, text=True).stdout
        vault.unlink()
        subprocess.run([str(BIN / "ansible-vault"), "encrypt", "--output", str(vault), "-"], input=plain, text=True,
                       cwd="/", check=True, capture_output=True,
                       env={**os.environ, "ANSIBLE_VAULT_PASSWORD_FILE": str(password)})
    return {"ANSIBLE_VAULT_PASSWORD_FILE": str(password)}


def test_an_unreachable_host_exits_3(unchanged) -> None:
    write_inventories(staging={"ansible_ssh_timeout": 3, "ansible_user": "nobody"},
                      hosts={"staging": {"ansible_host": "192.0.2.1"}})
    refused(run("deploy", "staging", "v1", env=own_vault(), before=unchanged),
            "cannot reach the host of staging", code=3)


def test_the_demo_vault_password_is_refused_for_a_host_over_ssh_even_copied(unchanged) -> None:
    write_inventories(hosts={"staging": {"ansible_host": "192.0.2.1"}})
    copy = FIXTURES / "copy-of-the-demo-password"
    shutil.copy2(REPO / ".greenlight" / "demo-vault-password", copy)
    refused(run("deploy", "staging", "v1", env={"ANSIBLE_VAULT_PASSWORD_FILE": str(copy)}, before=unchanged),
            "is reached over SSH but its secrets are opened with the demo's vault password")


# -- the TLS certificate ------------------------------------------------------------------------

def certificate(days: int, key_of_other: bool = False) -> tuple[bytes, bytes]:
    """A self-signed certificate valid until `days` from now (negative: expired) and a key (another's if asked)."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
            .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(days=30))
            .not_valid_after(now + datetime.timedelta(days=days)).sign(key, hashes.SHA256()))
    shown = ec.generate_private_key(ec.SECP256R1()) if key_of_other else key
    return (cert.public_bytes(serialization.Encoding.PEM),
            shown.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                serialization.NoEncryption()))


TLS = {
    "expired": (certificate(-1), "expired"),
    "key-of-another-certificate": (certificate(90, key_of_other=True), "does not belong to its certificate"),
    "key-in-a-separate-file": ((certificate(90)[0], b""), "holds no (unencrypted) private key"),
}


@pytest.mark.parametrize("pem,phrase", TLS.values(), ids=TLS.keys())
def test_a_bad_tls_certificate_is_refused_before_the_proxy_changes(pem: tuple[bytes, bytes], phrase: str,
                                                                    unchanged) -> None:
    path = FIXTURES / "site.pem"
    path.write_bytes(pem[0] + pem[1])
    write_inventories(staging={"proxy_tls_certificate": str(path)})
    line = refused(run("deploy", "staging", "v1", before=unchanged), phrase)
    assert f"proxy_tls_certificate {path}" in line


# -- files greenlight reads on the host ------------------------------------------------------------

def plant(relative: str, text: str) -> None:
    path = ROOT / f"{APP}-staging" / relative
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text)


def test_a_damaged_history_line_is_refused(unchanged) -> None:
    """Today a damaged line is skipped silently, and recovery takes what is live from the
    records left: if the damaged line was the newest deploy, recovery would move production's
    traffic back to an older release. Refused instead, naming the line: repairing or deleting
    it is one edit, so recovery is never blocked for good."""
    plant("history.jsonl", '{"kind": "deploy", "outcome": "success"}\n{"kind": "deploy", "outc\n')
    line = refused(run("deploy", "staging", "v1", before=unchanged), "has a damaged line 2")
    assert "history.jsonl" in line
    # Reading it is never refused: the damaged line is skipped, with a warning.
    listed = run("history", "staging")
    assert listed.returncode == 0, listed.stderr
    assert "warning: 1 line(s) of staging's history are not records and were skipped" in listed.stderr


def test_a_live_color_file_naming_an_unknown_color_is_refused(unchanged) -> None:
    """Today an unknown color is dropped silently: with the proxy stopped the environment
    looks as if nothing were live. Refused, saying to delete the file, which is safe: the
    running proxy and the history say what is live, and the next switch writes it again."""
    plant("proxy/live-color", "purple\n")
    refused(run("deploy", "staging", "v1", before=unchanged), "names the color 'purple', not one of blue, green")


def test_a_damaged_haproxy_server_state_is_refused(unchanged) -> None:
    """Today greenlight never reads the file; a restarted HAProxy loads it. Refused, saying to
    delete it, which is safe: a proxy started without it takes its weights from haproxy.cfg,
    written for the live color, and the next switch saves the state again."""
    plant("proxy/run/servers.state", "1\n# be_id be_name\n\x00garbage that is not a server line\n")
    refused(run("deploy", "staging", "v1", before=unchanged), "saved server state")


# -- greenlight check ----------------------------------------------------------------------

def test_check_lists_every_problem_of_a_broken_inventory_and_host_and_changes_nothing(unchanged) -> None:
    """Nine kinds of problem at once, each on its own line, and nothing on the host touched."""
    plant("history.jsonl", '{"kind": "deploy", "outcome": "success"}\nnot a record\n')
    taken = socket.socket()
    taken.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    taken.bind(("127.0.0.1", PORTS["production"]["proxy_https_port"]))
    taken.listen()
    try:
        write_inventories(
            staging={"deploy_strategy": "yolo", "deploy_canary_steps": [50, 10], "proxy_http_port": 70000,
                     "proxy_memory": "lots", "proxy_allow_from": ["not-a-network"],
                     "mysql_port": PORTS["production"]["mysql_port"], "app_repo": str(FIXTURES / "no-such-repo.git")},
            production={"preflight_min_free_mb": 10**9})
        done = run("check", before=unchanged)
    finally:
        taken.close()
    assert done.returncode == 2, done.stdout + done.stderr
    assert "Traceback" not in done.stderr
    kinds = {
        "strategy": "deploy_strategy 'yolo'",
        "canary steps": "deploy_canary_steps",
        "port range": "proxy_http_port 70000",
        "memory": "proxy_memory 'lots'",
        "allowlist": "proxy_allow_from",
        "shared database port": "both 46307",
        "unreadable repository": "no-such-repo.git cannot be read from the host",
        "port taken": f"port {PORTS['production']['proxy_https_port']} is already in use by another program on the host (proxy_https_port)",
        "disk": "a deploy and its backup need 1000000000 MiB",
        "damaged history": "has a damaged line 2",
    }
    missing = [kind for kind, phrase in kinds.items() if phrase not in done.stdout]
    assert not missing, f"check did not report {missing}:\n{done.stdout}"
    assert len([line for line in done.stdout.splitlines() if line.startswith("  - ")]) >= len(kinds)


def test_check_of_a_sound_inventory_finds_nothing(unchanged) -> None:
    done = run("check", "staging", before=unchanged)
    assert done.returncode == 0, done.stdout + done.stderr
    assert done.stdout.splitlines() == ["staging     ok"]
