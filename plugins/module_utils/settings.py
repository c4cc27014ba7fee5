"""What greenlight accepts as input: one implementation of every check, pure functions.

`problems(settings)` checks one environment's settings (the inventory's variables as the
playbooks see them, and `-e` overrides); the greenlight.deploy.settings module runs it as the first
task of every playbook (roles/greenlight). `pair_problems(staging, production)` checks the
two environments against each other (only the greenlight command reads both inventories).
`version_problem`, `template_problem` and `actor_name` serve the greenlight command's own
input (a version or ref, `-e` values, the user's name).

Each problem is one line: the setting, its value (repr, cut short) and what is allowed, so
the user knows what to fix. The host-state readers at the end (history, live-color file,
HAProxy's server state) are pure too: they take the files' text.

No Ansible import: the greenlight command imports this file as well.
"""

from __future__ import annotations

import ipaddress
import json
import re

from ansible_collections.greenlight.deploy.plugins.module_utils import database_env
from ansible_collections.greenlight.deploy.plugins.module_utils.certificate import domain_problem

# How much of a bad value a message quotes.
SHOWN = 60

# A git ref or commit as greenlight takes it: ASCII letters, digits and . _ / - (git's own
# rules allow more, but a version also becomes a Docker tag, a label and part of file names).
VERSION = re.compile(r"[A-Za-z0-9][A-Za-z0-9._/-]{0,127}")
NAME = re.compile(r"[a-z][a-z0-9-]{0,30}")
ROOT = re.compile(r"(/[A-Za-z0-9._-]+)+")
DATABASE = re.compile(r"[A-Za-z0-9_]{1,64}")
# A database account greenlight creates or the containers log in as (MariaDB takes 80
# characters), and the accounts that are the server's own.
DB_USER = re.compile(r"[A-Za-z0-9_-]{1,80}")
SERVER_USERS = ("root", "mysql", "mariadb.sys", "mysql.sys", "mysql.session", "mysql.infoschema")
DB_USERS = ("mysql_app_user", "mysql_migrator_user", "backend_db_user", "backend_migrate_db_user",
            "monitoring_mysqld_exporter_user")
# Where a container finds the database password: an absolute path.
MOUNTS = ("greenlight_db_password_mount", "backend_password_mount")
MOUNT = re.compile(r"/[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
STRATEGIES = ("blue_green", "canary", "rolling")
# Characters kept in a user's name (the history's and the lock's "actor"); others become "_".
ACTOR_UNSAFE = re.compile(r"[^A-Za-z0-9._@-]")
# Jinja's markers: a value holding one would be evaluated where Ansible templates it. A value
# starting with "#jinja2:" may change the markers themselves (Ansible honours the header).
TEMPLATE_MARKERS = ("{{", "{%", "{#", "#jinja2:")


def is_template(text: str) -> bool:
    """Whether Ansible would evaluate something in this text, were it trusted."""
    return any(marker in text for marker in TEMPLATE_MARKERS)
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
EMAIL = re.compile(r"[A-Za-z0-9.!#$%&'*+/=?^_`|~-]+@[A-Za-z0-9](?:[A-Za-z0-9.-]{0,251}[A-Za-z0-9])?")
# The app repository forms git fetches without running a command of the URL's choosing.
REPO_FORMS = (
    re.compile(r"/[^\s:]*"),                                                     # a local absolute path
    re.compile(r"https://([^/@\s]+@)?[A-Za-z0-9.-]+(:\d{1,5})?(/\S*)?"),         # https://host/path
    re.compile(r"ssh://([^/@\s]+@)?[A-Za-z0-9.-]+(:\d{1,5})?/\S*"),              # ssh://[user@]host/path
    re.compile(r"[A-Za-z0-9._-]+@[A-Za-z0-9.-]+:[^\s:-][^\s:]*"),                 # user@host:path
)

PORTS = ("proxy_http_port", "proxy_https_port", "proxy_api_port", "proxy_preview_port", "proxy_metrics_port",
         "mysql_port", "monitoring_mysqld_exporter_port")
# The existing server an environment may use instead of greenlight's (roles/mysql/tasks/external.yml).
EXTERNAL = ("mysql_external_host", "mysql_external_port", "mysql_external_container", "mysql_external_admin_user",
            "mysql_external_admin_password", "mysql_external_account_host")
# A Docker container's name (the compose stack's database).
CONTAINER_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,127}")
# An account's host part: a name, an address, a pattern with % and _, or a subnet with its mask.
ACCOUNT_HOST = re.compile(r"[A-Za-z0-9.:%_/-]{1,255}")
# The ports an environment's own containers publish (greenlight check: each free, or already theirs).
PUBLISHED_PORTS = PORTS[:6]
# The host's monitoring stack (one per host): its ports are checked, not compared between environments.
MONITORING_PORTS = ("monitoring_prometheus_port", "monitoring_alertmanager_port", "monitoring_blackbox_port",
                    "monitoring_node_port", "monitoring_status_port")
# name: (smallest, largest, what it is), numbers (int or float); None is no bound.
NUMBERS: dict[str, tuple[float | None, float | None, str]] = {
    "deploy_canary_hold": (0.1, None, "seconds, 0.1 or more"),
    "deploy_canary_max_hold": (1, None, "seconds, 1 or more"),
    "deploy_watch_seconds": (0, None, "seconds, 0 (no watch) or more"),
    "deploy_judge_error_ratio": (1, None, "a ratio, 1 or more"),
    "deploy_judge_error_margin": (0, 1, "a fraction from 0 to 1"),
    "deploy_judge_significance": (0.0001, 0.5, "a probability from 0.0001 to 0.5"),
    "deploy_judge_latency_ratio": (1, None, "a ratio, 1 or more"),
    "deploy_judge_latency_ratio_across_time": (1, None, "a ratio, 1 or more"),
    "deploy_judge_client_error_ratio": (1, None, "a ratio, 1 or more"),
    "deploy_judge_client_error_margin": (0, 1, "a fraction from 0 to 1"),
    "deploy_judge_detect_rate": (0.0001, 0.9999, "a fraction from 0.0001 to 0.9999"),
    "deploy_judge_power": (0.5, 0.9999, "a probability from 0.5 to 0.9999"),
    "deploy_judge_baseline_seconds": (1, None, "seconds, 1 or more"),
    "deploy_one_off_timeout": (1, None, "seconds, 1 or more"),
    "healthcheck_timeout": (1, None, "seconds, 1 or more"),
    "proxy_cpus": (0.01, None, "CPU cores, 0.01 or more (empty: no limit)"),
    "mysql_cpus": (0.01, None, "CPU cores, 0.01 or more (empty: no limit)"),
}
# Whole numbers.
INTEGERS: dict[str, tuple[int | None, int | None, str]] = {
    "deploy_judge_min_requests": (1, None, "a whole number, 1 or more"),
    # Let's Encrypt's certificates last 90 days (and are to last fewer): renewing at 90 or more would renew at every run.
    "proxy_acme_renew_days": (1, 60, "days before a certificate's end, from 1 to 60"),
    "proxy_hsts_seconds": (0, 63072000, "seconds, 0 (no header) to 63072000 (two years)"),
    "deploy_judge_latency_min_requests": (1, None, "a whole number, 1 or more"),
    "deploy_judge_baseline_requests": (1, None, "a whole number, 1 or more"),
    "backup_keep": (1, None, "a whole number of backups, 1 or more"),
    "greenlight_lock_wait": (0, None, "whole seconds, 0 or more"),
    "greenlight_cpu_shares": (2, 262144, "Docker's CPU weight, a whole number from 2 to 262144 (its default 1024)"),
    "greenlight_pids_limit": (64, None, "a whole number of processes, 64 or more"),
}
# Docker's memory sizes: a number and a unit (b, k, m, g), 6 MiB or more; empty: no limit.
MEMORY = re.compile(r"(\d+)([bkmg])", re.I)
MEMORY_SETTINGS = ("proxy_memory", "mysql_memory")
USER_NAME = re.compile(r"[A-Za-z0-9._-]{1,64}")
URLS = ("greenlight_notify_webhook_url", "monitoring_webhook_url", "monitoring_watchdog_url")
ADDRESS_LISTS = ("greenlight_notify_email_to", "monitoring_email_to")
ADDRESSES = ("greenlight_notify_email_from", "monitoring_email_from")
HOSTS = ("greenlight_notify_smtp_host", "monitoring_smtp_host")
# A host name or an IP address.
HOST_NAME = re.compile(r"[A-Za-z0-9.:-]+")


def shown(value: object) -> str:
    """A value as a message quotes it: its repr, on one line, cut short."""
    text = repr(value)
    return text if len(text) <= SHOWN else text[:SHOWN - 5] + "...'"


# -- the greenlight command's own input ---------------------------------------------------

def version_problem(version: object, what: str = "version") -> str:
    """"" when `version` is a tag, branch or commit name greenlight takes, else what is wrong."""
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        if isinstance(version, str) and len(version) > 128 and VERSION.fullmatch(version[:128]):
            return f"{what} {shown(version)} is {len(version)} characters long; a tag, branch or commit name has at most 128"
        return (f"{what} {shown(version)} is not a tag, branch or commit name: use ASCII letters, digits "
                f"and . _ / - only, starting with a letter or digit")
    if ".." in version or "//" in version or version.endswith(("/", ".", ".lock")) or "/." in version:
        return (f"{what} {shown(version)} is not a valid git ref name (no '..', '//' or '/.', "
                f"no '/', '.' or '.lock' at the end)")
    return ""


def template_problem(name: str, value: object) -> str:
    """"" unless `value` (or a string inside it) holds a Jinja marker; then what is wrong."""
    for text in _strings(value):
        if is_template(text):
            return (f"-e {name}: {shown(text)} holds a template marker ({{{{ }}}}, {{% %}} or {{# #}}); "
                    f"greenlight passes values as plain text: give the value itself")
    return ""


def actor_name(raw: str) -> str:
    """A user's name as the history and the lock record it: [A-Za-z0-9._@-] kept, the rest `_`."""
    return ACTOR_UNSAFE.sub("_", raw)[:64] or "unknown"


# -- one environment ----------------------------------------------------------------------

# Settings with no neutral default: an inventory describes its app (docs/your-app.md).
REQUIRED = {
    "app_images": "the images built from the app's repository, {NAME: {context: FOLDER}}",
    "app_parts": "the app's containers (name, image, port, health, ...)",
}


def missing_settings(settings: dict) -> list[str]:
    """A problem for each setting that has no default and that `settings` lacks (or holds null);
    and for migrations with no image to run them in."""
    found = [f"{name} is not set: {what}; greenlight init writes it for your app (docs/your-app.md)"
             for name, what in REQUIRED.items() if settings.get(name) is None]
    if not settings.get("app_migrate_image"):
        if settings.get("backend_migrate_command"):
            found.append("app_migrate_image is not set: which of app_images runs backend_migrate_command")
        elif str(settings.get("backend_seed_test_data")).lower() in ("true", "yes", "on", "1") and settings.get("backend_seed_command"):
            found.append("app_migrate_image is not set: which of app_images runs backend_seed_command")
    return found


# Settings an older inventory may still give, and where their values go now.
MOVED = {name: "give each part its cpus and memory in its app_parts entry (docs/your-app.md)"
         for name in ("backend_cpus", "backend_memory", "frontend_cpus", "frontend_memory")}
SETTING_NAME = re.compile(r"[a-z][a-z0-9_]{0,80}")
# What a playbook tells its frame and its checks (roles/greenlight/tasks/frame.yml, main.yml):
# which steps run, whether they hold the deploy lock, when the play started, whether the play
# only reports problems (check) or only reads (status). Never a setting: given by an inventory
# or `-e`, they would choose the task file a play runs, take the lock in a read-only command,
# or turn a deploy's refusals into a report nobody reads.
RESERVED = ("greenlight_steps", "greenlight_lock_purpose", "greenlight_started", "greenlight_check_only",
            "greenlight_read_only")


def reserved_settings(given) -> list[str]:
    """A problem for each name of `given` (the inventory's and `-e`'s) that only a playbook sets."""
    return [f"{name} is set by greenlight's playbooks, never by an inventory or -e: remove it"
            for name in sorted(str(name) for name in given) if name in RESERVED]


def unknown_settings(given, declared) -> list[str]:
    """A problem for each name in `given` (the inventory's and `-e`'s variable names) that
    belongs to one of greenlight's families (the part before the first "_" of a declared
    name: deploy_, proxy_, ...) but is not declared: a misspelt setting would otherwise be
    ignored and its default used. Names of other families are the user's own."""
    import difflib

    declared = set(declared)
    families = {name.split("_", 1)[0] + "_" for name in declared if "_" in name}
    found = []
    for name in sorted(str(name) for name in given):
        if name in MOVED:
            found.append(f"{name} is no setting any more: {MOVED[name]}")
            continue
        if name in declared or name in RESERVED or not name.startswith(tuple(families)) or name.startswith("__"):
            continue
        close = difflib.get_close_matches(name, declared, n=1, cutoff=0.8)
        shown_name = name if SETTING_NAME.fullmatch(name) else shown(name)
        found.append(f"unknown setting {shown_name}: " + (f"did you mean {close[0]}?" if close else
                     "no role of greenlight declares it (roles/*/meta/argument_specs.yml); remove or rename it"))
    return found


# Every setting `problems` and `missing_settings` judge, beside the rules that judge them: the
# settings action (plugins/action/settings.py) hands the module these, as Ansible templates
# them. tests/unit/test_settings.py fails when a rule reads a name that is not here.
CHECKED = (*REQUIRED, "greenlight_app", "greenlight_env", "greenlight_root", "app_version", "app_repo",
           "app_migrate_image", "backend_migrate_command", "backend_seed_command", "backend_seed_test_data",
           "deploy_strategy", "deploy_canary_steps", "deploy_judge_latency_percentiles", "deploy_judge_latency_floors_ms",
           "mysql_database", *DB_USERS, *MOUNTS, "backend_db_host", "backend_db_name", "proxy_bind_address", "proxy_tls_certificate", "proxy_allow_from",
           "proxy_acme_domains", "proxy_acme_email", "proxy_acme_directory", "proxy_acme_ca_file", "proxy_acme_staging",
           "proxy_basic_auth_user", "proxy_basic_auth_password", *NUMBERS, *INTEGERS, *PORTS, *MONITORING_PORTS,
           "greenlight_notify_smtp_port", "monitoring_smtp_port", *URLS, *ADDRESS_LISTS, *ADDRESSES,
           *MEMORY_SETTINGS, *HOSTS, *EXTERNAL)


def _external_problems(settings: dict) -> list[str]:
    """An existing server's settings: checked when one is named (mysql_external_host or _container)."""
    host, container = settings.get("mysql_external_host") or "", settings.get("mysql_external_container") or ""
    if not host and not container:
        return []
    found = []
    if not (isinstance(host, str) and (host == "" or HOST_NAME.fullmatch(host))):
        found.append(f"mysql_external_host {shown(host)}: the server's host name or IP address, as the containers reach it")
    if not (isinstance(container, str) and (container == "" or CONTAINER_NAME.fullmatch(container))):
        found.append(f"mysql_external_container {shown(container)}: the name of the server's container on this host")
    if settings.get("mysql_external_port") is not None:
        found.extend(_number_problem("mysql_external_port", settings["mysql_external_port"], 1, 65535,
                                     "a TCP port, a whole number from 1 to 65535", whole=True))
    user = settings.get("mysql_external_admin_user")
    if user is not None and not (isinstance(user, str) and DB_USER.fullmatch(user)):
        found.append(f"mysql_external_admin_user {shown(user)}: a database account of letters, digits, _ and -")
    password = settings.get("mysql_external_admin_password")
    if password is not None and not (isinstance(password, str) and password and not CONTROL.search(password)):
        # The password itself is never quoted.
        found.append("mysql_external_admin_password: the administrator's password, from the vault "
                     "(vault_mysql_external_admin_password), not empty, no control characters")
    account = settings.get("mysql_external_account_host")
    if account is not None and not (isinstance(account, str) and (account == "" or ACCOUNT_HOST.fullmatch(account))):
        found.append(f"mysql_external_account_host {shown(account)}: the host part of the app's accounts "
                     f"('%', a name, an address or a subnet like 172.18.0.0/255.255.0.0; empty: greenlight's choice)")
    return found


def _acme_problems(settings: dict) -> list[str]:
    """The ACME settings (docs/operations.md#https-certificates): checked when domains are named."""
    domains = settings.get("proxy_acme_domains")
    if not domains:
        return []
    if not isinstance(domains, list):
        return [f"proxy_acme_domains {shown(domains)}: a list of the DNS names the certificate holds"]
    found = [f"proxy_acme_domains: {problem}" for problem in map(domain_problem, domains) if problem]
    if len(set(domains)) != len(domains) or len(domains) > 100:
        found.append("proxy_acme_domains: each name once, at most 100 (an ACME server's limit)")
    if settings.get("proxy_tls_certificate"):
        found.append("proxy_acme_domains and proxy_tls_certificate: one source of the certificate, the ACME server's "
                     "or yours (set the other empty)")
    email = settings.get("proxy_acme_email")
    if not (isinstance(email, str) and EMAIL.fullmatch(email)):
        found.append(f"proxy_acme_email {shown(email)}: the ACME account's contact address")
    directory = settings.get("proxy_acme_directory")
    if directory is not None and not (isinstance(directory, str) and re.fullmatch(r"https://[A-Za-z0-9.-]+(:\d{1,5})?(/[A-Za-z0-9._~/-]*)?", directory)):
        found.append(f"proxy_acme_directory {shown(directory)}: the ACME server's directory, an https:// URL")
    # Let's Encrypt validates HTTP-01 on port 80 only: an environment on another port never passes.
    staging = str(settings.get("proxy_acme_staging")).lower() in ("true", "yes", "on", "1", "y")  # Ansible's | bool
    port = settings.get("proxy_http_port")
    lets_encrypt = directory is None or "api.letsencrypt.org" in str(directory) or staging
    if lets_encrypt and port is not None and _number(port) != 80:
        found.append(f"proxy_acme_domains with proxy_http_port {shown(settings['proxy_http_port'])}: Let's Encrypt "
                     "validates on port 80 only; give this environment port 80 (its own VPS, or an address of its own "
                     "with proxy_bind_address), or a certificate of yours (proxy_tls_certificate)")
    ca_file = settings.get("proxy_acme_ca_file")
    if ca_file and not (isinstance(ca_file, str) and ROOT.fullmatch(ca_file)):
        found.append(f"proxy_acme_ca_file {shown(ca_file)}: the absolute path, on the host, of the CA certificates the "
                     "ACME server's HTTPS is checked with ('' for the system's)")
    return found


def problems(settings: dict) -> list[str]:
    """Every problem of one environment's settings, one line each; [] when they are fine.

    A setting missing from `settings` (or None) is not checked: its role default is right.
    """
    found: list[str] = []

    def given(name: str) -> bool:
        return settings.get(name) is not None

    for name in ("greenlight_app", "greenlight_env"):
        if given(name) and not (isinstance(settings[name], str) and NAME.fullmatch(settings[name])):
            found.append(f"{name} {shown(settings[name])}: a lower-case name of a-z, 0-9 and -, "
                         f"starting with a letter, at most 31 characters")
    if given("greenlight_root"):
        found.extend(_root_problem(settings["greenlight_root"]))
    if given("app_version"):
        problem = version_problem(settings["app_version"], "app_version")
        if problem:
            found.append(problem)
    if given("app_repo"):
        found.extend(_repo_problem(settings["app_repo"]))
    if given("deploy_strategy") and settings["deploy_strategy"] not in STRATEGIES:
        found.append(f"deploy_strategy {shown(settings['deploy_strategy'])}: one of {', '.join(STRATEGIES)}")
    if given("deploy_canary_steps"):
        found.extend(_steps_problem(settings["deploy_canary_steps"]))
    for name, (low, high, what) in NUMBERS.items():
        if given(name):
            found.extend(_number_problem(name, settings[name], low, high, what, whole=False))
    for name, (low, high, what) in INTEGERS.items():
        if given(name):
            found.extend(_number_problem(name, settings[name], low, high, what, whole=True))
    found.extend(_latency_problems(settings))
    found.extend(_app_problems(settings))
    for name in ("backend_migrate_command", "backend_seed_command"):
        value = settings.get(name)
        if value is not None and not (isinstance(value, list) and all(isinstance(word, str) and word for word in value)):
            found.append(f"{name} {shown(value)}: a command as a list of arguments, like [python3, -m, yourapp.migrate] "
                         f"([] for none)")
    ports: dict[int, str] = {}
    for name in PORTS + MONITORING_PORTS + ("greenlight_notify_smtp_port", "monitoring_smtp_port"):
        if given(name):
            problem = _number_problem(name, settings[name], 1, 65535, "a TCP port, a whole number from 1 to 65535",
                                      whole=True)
            found.extend(problem)
            if not problem and name in PORTS:
                port = int(settings[name])
                if port in ports:
                    found.append(f"{name} and {ports[port]} are both {port}: each needs a port of its own")
                ports[port] = name
    if given("proxy_bind_address"):
        try:
            ipaddress.ip_address(str(settings["proxy_bind_address"]))
        except ValueError:
            found.append(f"proxy_bind_address {shown(settings['proxy_bind_address'])}: an IP address of the host "
                         f"(0.0.0.0 for every address, 127.0.0.1 for loopback only)")
    for name in ("mysql_database", "backend_db_name"):
        if given(name) and not (isinstance(settings[name], str) and DATABASE.fullmatch(settings[name])):
            found.append(f"{name} {shown(settings[name])}: letters, digits and _ only, at most 64")
    for name in DB_USERS:
        if given(name) and not (isinstance(settings[name], str) and DB_USER.fullmatch(settings[name])
                                and settings[name] not in SERVER_USERS):
            found.append(f"{name} {shown(settings[name])}: a database account of letters, digits, _ and - "
                         f"(at most 80), not one of the server's own ({', '.join(SERVER_USERS)})")
    if given("mysql_app_user") and settings.get("mysql_app_user") == settings.get("mysql_migrator_user"):
        found.append("mysql_app_user and mysql_migrator_user: two accounts (the app's reads and writes rows; "
                     "the migrations' changes the schema)")
    for name in MOUNTS:
        if given(name) and not (isinstance(settings[name], str) and MOUNT.fullmatch(settings[name])):
            found.append(f"{name} {shown(settings[name])}: an absolute path in the container")
    if given("backend_db_host") and not (isinstance(settings["backend_db_host"], str)
                                         and HOST_NAME.fullmatch(settings["backend_db_host"])):
        found.append(f"backend_db_host {shown(settings['backend_db_host'])}: a host name or IP address")
    found.extend(_external_problems(settings))
    if given("proxy_tls_certificate") and settings["proxy_tls_certificate"] != "":
        path = settings["proxy_tls_certificate"]
        if not isinstance(path, str) or not path.startswith("/") or CONTROL.search(path):
            found.append(f"proxy_tls_certificate {shown(path)}: the absolute path, on the host, of one PEM file "
                         f"holding the certificate and its key (or '' for a self-signed one)")
    found.extend(_acme_problems(settings))
    for name in URLS:
        if given(name) and settings[name] != "":
            found.extend(_url_problem(name, settings[name]))
    for name in ADDRESS_LISTS:
        if given(name):
            found.extend(_addresses_problem(name, settings[name]))
    for name in ADDRESSES:
        if given(name):
            found.extend(_addresses_problem(name, [settings[name]]))
    for name in MEMORY_SETTINGS:
        if given(name) and settings[name] != "":
            found.extend(_memory_problem(name, settings[name]))
    if given("proxy_allow_from"):
        found.extend(_networks_problem(settings["proxy_allow_from"]))
    if given("proxy_basic_auth_user") and settings["proxy_basic_auth_user"] != "":
        user, password = settings["proxy_basic_auth_user"], settings.get("proxy_basic_auth_password")
        if not (isinstance(user, str) and USER_NAME.fullmatch(user)):
            found.append(f"proxy_basic_auth_user {shown(user)}: a user name of letters, digits and . _ - (at most 64)")
        if not isinstance(password, str) or len(password) < 12 or CONTROL.search(password):
            # The password itself is never quoted.
            found.append("proxy_basic_auth_password: 12 characters or more, no control characters, "
                         "from the vault (vault_...)")
    for name in HOSTS:
        if given(name) and not (isinstance(settings[name], str) and HOST_NAME.fullmatch(settings[name])):
            found.append(f"{name} {shown(settings[name])}: a host name or IP address")
    return found


# The parts greenlight runs itself: an app's part may not take their names (containers,
# labels and `greenlight logs` tell parts apart by name).
OWN_PARTS = ("proxy", "mysql", "migrate", "seed", "backup", "anonymize", "monitoring")
HTTP_PATH = re.compile(r"/[A-Za-z0-9._~/-]*")
RELATIVE = re.compile(r"[A-Za-z0-9._-]+(/[A-Za-z0-9._-]+)*")
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*")


def _env_problems(where: str, part: dict) -> list[str]:
    """A part's command, env and env_file."""
    found = []
    command = part.get("command")
    if command is not None and not (isinstance(command, list) and command and all(isinstance(a, str) for a in command)):
        found.append(f"{where} command {shown(command)}: a list of arguments, like [python3, -m, app.worker]")
    env = part.get("env")
    if env is not None and not (isinstance(env, dict) and all(
            isinstance(k, str) and ENV_NAME.fullmatch(k) and isinstance(v, (str, int, float)) and not isinstance(v, bool)
            for k, v in env.items())):
        found.append(f"{where} env {shown(env)}: a mapping of VARIABLE: value (names of A-Z, 0-9 and _; values "
                     f"strings or numbers, quoted \"true\" for a boolean)")
    env_file = part.get("env_file")
    if env_file is not None:
        if not (isinstance(env_file, str) and env_file.startswith("/")):
            found.append(f"{where} env_file {shown(env_file)}: an absolute path of a file on the host")
        elif part.get("database"):
            found.append(f"{where} env_file: a part with database: true gets greenlight's file of DB_* settings "
                         f"(Docker takes one env file); give its other settings with env")
    return found


def _app_problems(settings: dict) -> list[str]:
    """app_images, app_parts and app_migrate_image (roles/greenlight/defaults: the app)."""
    found: list[str] = []
    images = settings.get("app_images")
    if images is not None:
        if not isinstance(images, dict) or not images:
            return [f"app_images {shown(images)}: a mapping of image name to {{context: FOLDER, dockerfile: FILE}}"]
        for name, build in images.items():
            where = f"app_images.{name}"
            if not (isinstance(name, str) and NAME.fullmatch(name)):
                found.append(f"app_images {shown(name)}: an image name of a-z, 0-9 and -, starting with a letter")
            elif not isinstance(build, dict):
                found.append(f"{where} {shown(build)}: {{context: FOLDER, dockerfile: FILE}}")
            else:
                for key in ("context", "dockerfile"):
                    value = build.get(key)
                    if value is not None and not (isinstance(value, str) and (value == "." or RELATIVE.fullmatch(value))
                                                  and ".." not in value.split("/")):
                        found.append(f"{where}.{key} {shown(value)}: a path inside the app's repository "
                                     f"(relative, no '..')")
    parts = settings.get("app_parts")
    if parts is None:
        return found
    if not isinstance(parts, list) or not parts or not all(isinstance(part, dict) for part in parts):
        return found + [f"app_parts {shown(parts)}: a list of parts, each a mapping (name, image, port, health, ...)"]
    names, pools, defaults, routes_known = set(), set(), [], True
    for index, part in enumerate(parts):
        name = part.get("name")
        where = f"app_parts[{index}]" + (f" ({name})" if isinstance(name, str) else "")
        if not (isinstance(name, str) and NAME.fullmatch(name)) or name in OWN_PARTS:
            found.append(f"{where} name {shown(name)}: a name of a-z, 0-9 and -, starting with a letter, "
                         f"not one of greenlight's own ({', '.join(OWN_PARTS)})")
        elif name in names:
            found.append(f"{where}: two parts are named {name}; each needs a name of its own")
        names.add(name)
        if isinstance(images, dict) and part.get("image") not in images:
            found.append(f"{where} image {shown(part.get('image'))}: one of app_images ({', '.join(map(str, images))})")
        found.extend(database_env.problems(where, part.get("database")))
        if part.get("cpus") not in (None, ""):
            found.extend(f"{where} {line}" for line in _number_problem(
                "cpus", part.get("cpus"), 0.01, None, "CPU cores, 0.01 or more (empty: greenlight_part_cpus)", whole=False))
        if part.get("memory") not in (None, ""):
            found.extend(f"{where} {line}" for line in _memory_problem("memory", part.get("memory")))
        if part.get("stop_timeout") is not None:
            found.extend(f"{where} {line}" for line in _number_problem(
                "stop_timeout", part.get("stop_timeout"), 1, 3600, "seconds, 1 to 3600", whole=True))
        found.extend(_env_problems(where, part))
        if "port" not in part:
            # A worker: no port, so nothing of the proxy's applies to it.
            found.extend(f"{where} {key}: a worker (no port) is not behind the proxy; give it a port, or remove {key}"
                         for key in ("health", "paths", "pool") if key in part)
            continue
        found.extend(f"{where} {line}" for line in _number_problem(
            "port", part.get("port"), 1, 65535, "the port it listens on in its container, 1 to 65535 "
            "(no port: a worker)", whole=True))
        health = part.get("health")
        if not (isinstance(health, str) and HTTP_PATH.fullmatch(health)):
            found.append(f"{where} health {shown(health)}: the path HAProxy checks, like /health")
        paths = part.get("paths", [])
        if not isinstance(paths, list) or not all(isinstance(p, str) and HTTP_PATH.fullmatch(p) for p in paths):
            found.append(f"{where} paths {shown(paths)}: a list of paths, \"/x/\" for everything under /x/, "
                         f"\"/x\" for that path alone (none: every other request)")
            routes_known = False
        elif not paths:
            defaults.append(name)
        # A pool defaults to the part's name: a bad name has its own line already.
        pool = part.get("pool", name)
        if "pool" in part or (isinstance(name, str) and NAME.fullmatch(name)):
            if not (isinstance(pool, str) and NAME.fullmatch(pool.replace("_", "-"))) or pool.startswith("preview"):
                found.append(f"{where} pool {shown(pool)}: a name of a-z, 0-9, - and _ (not starting with preview)")
            elif pool in pools:
                found.append(f"{where}: two parts use the pool {pool}; each needs its own")
            else:
                pools.add(pool)
    if routes_known and len(defaults) != 1:
        found.append(f"app_parts: exactly one web part (with a port) has no paths and takes every request the others' paths do not "
                     f"match; {'none does' if not defaults else 'these do: ' + ', '.join(map(str, defaults))}")
    migrate = settings.get("app_migrate_image")
    if migrate not in (None, "") and isinstance(images, dict) and migrate not in images:
        found.append(f"app_migrate_image {shown(migrate)}: one of app_images ({', '.join(map(str, images))})")
    return found


def _memory_problem(name: str, value: object) -> list[str]:
    match = MEMORY.fullmatch(str(value).strip()) if isinstance(value, (str, int)) and not isinstance(value, bool) else None
    factor = {"b": 1, "k": 1024, "m": 1024 ** 2, "g": 1024 ** 3}
    if match and int(match.group(1)) * factor[match.group(2).lower()] >= 6 * 1024 ** 2:
        return []
    return [f"{name} {shown(value)}: a memory size like 256m or 1g, 6m or more (empty: no limit)"]


def _networks_problem(value: object) -> list[str]:
    what = "a list of addresses or networks, like [203.0.113.7/32, 198.51.100.0/24] (empty: everyone)"
    if not isinstance(value, (list, tuple)):
        return [f"proxy_allow_from {shown(value)}: {what}"]
    for item in value:
        try:
            ipaddress.ip_network(str(item), strict=False)
        except ValueError:
            return [f"proxy_allow_from {shown(value)}: {shown(item)} is not an address or network; {what}"]
    return []


def _strings(value: object) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, dict):
        return [s for k, v in value.items() for s in _strings(k) + _strings(v)]
    if isinstance(value, (list, tuple)):
        return [s for v in value for s in _strings(v)]
    return []


def _root_problem(root: object) -> list[str]:
    what = "an absolute folder of its own (like /var/lib/greenlight): not /, no '..', '.' or trailing /"
    if not isinstance(root, str) or not ROOT.fullmatch(root) or any(p in (".", "..") for p in root.split("/")):
        return [f"greenlight_root {shown(root)}: {what}"]
    return []


def _repo_problem(repo: object) -> list[str]:
    if isinstance(repo, str) and "::" not in repo and not CONTROL.search(repo) \
            and any(form.fullmatch(repo) for form in REPO_FORMS):
        return []
    return [f"app_repo {shown(repo)}: a local absolute path, https://host/path, ssh://[user@]host/path or "
            f"user@host:path (git's ext::, fd:: and file:: transports run commands or reach outside: refused)"]


def _number(value: object) -> float | None:
    """A number from an int, a float or a string of one (`-e` passes strings); None otherwise."""
    if isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        return float(value)
    if isinstance(value, str) and re.fullmatch(r"\s*-?\d+(\.\d+)?\s*", value):
        return float(value)
    return None


def _number_problem(name: str, value: object, low: float | None, high: float | None, what: str,
                    whole: bool) -> list[str]:
    number = _number(value)
    if number is None or (whole and number != int(number)) \
            or (low is not None and number < low) or (high is not None and number > high):
        return [f"{name} {shown(value)}: {what}"]
    return []


def _steps_problem(steps: object) -> list[str]:
    problem = [f"deploy_canary_steps {shown(steps)}: a list of rising percentages from 1 to 100 that ends "
               f"at 100, like [5, 25, 50, 100]"]
    if not isinstance(steps, (list, tuple)) or not steps:
        return problem
    numbers = [_number(s) for s in steps]
    if any(n is None or n != int(n) or not 1 <= n <= 100 for n in numbers):
        return problem
    if numbers != sorted(set(numbers)) or numbers[-1] != 100:
        return problem
    return []


def _latency_problems(settings: dict) -> list[str]:
    found = []
    percentiles = settings.get("deploy_judge_latency_percentiles")
    floors = settings.get("deploy_judge_latency_floors_ms")
    if percentiles is not None:
        if not isinstance(percentiles, (list, tuple)) or not percentiles or any(
                (n := _number(p)) is None or not 0 < n < 100 for p in percentiles):
            found.append(f"deploy_judge_latency_percentiles {shown(percentiles)}: a list of percentiles above 0 "
                         f"and below 100, like [50, 95]")
    if floors is not None:
        if not isinstance(floors, (list, tuple)) or any((n := _number(f)) is None or n < 0 for f in floors):
            found.append(f"deploy_judge_latency_floors_ms {shown(floors)}: a list of milliseconds (0 or more), "
                         f"one per percentile, like [5, 25]")
        elif isinstance(percentiles, (list, tuple)) and len(floors) != len(percentiles):
            found.append(f"deploy_judge_latency_floors_ms {shown(floors)}: one floor per percentile of "
                         f"deploy_judge_latency_percentiles ({len(percentiles)})")
    return found


def _url_problem(name: str, url: object) -> list[str]:
    # Only the scheme is quoted: the rest of a webhook URL is its secret.
    if isinstance(url, str) and not CONTROL.search(url) and not any(c.isspace() for c in url):
        match = re.fullmatch(r"(https?)://([^/?#@\s]+@)?[A-Za-z0-9.-]+(:\d{1,5})?([/?#]\S*)?", url)
        if match:
            return []
    scheme = url.split(":", 1)[0][:20] if isinstance(url, str) and ":" in url else ""
    got = f"scheme {scheme!r}" if scheme else "no http(s) URL"
    return [f"{name} ({got}): an http:// or https:// URL with a host, no spaces or control characters"]


def _addresses_problem(name: str, value: object) -> list[str]:
    if isinstance(value, str):
        value = value.split(",") if value.strip() else []
    if not isinstance(value, (list, tuple)):
        return [f"{name} {shown(value)}: e-mail addresses, a list or a comma-separated string"]
    for address in value:
        if not isinstance(address, str) or not EMAIL.fullmatch(address.strip()) or CONTROL.search(address):
            return [f"{name} {shown(address)}: an e-mail address like ops@example.com, with no spaces, line "
                    f"breaks or control characters"]
    return []


# -- the two environments ------------------------------------------------------------------

# What two environments on one host must not share: a message's words for each.
SHARED = {"prefix": "app prefix (greenlight_app-greenlight_env: container, volume and folder names)",
          "network": "Docker network (greenlight_network)",
          "database": "database (mysql_database on mysql_port)"}
LOCAL = ("localhost", "127.0.0.1", "::1")


def pair_problems(staging: dict, production: dict) -> list[str]:
    """What the two environments share that they must not, when they run on one host: a
    published port, the app prefix, the Docker network, the database (name and port).

    Each side is its settings as Ansible resolved them (greenlight/variables.py); a value
    still holding a template marker is not compared.
    """
    found = []
    # An existing server is shared whatever the hosts (a managed one) or on one host (a container).
    servers = [_external_server(variables) for variables in (staging, production)]
    own = [_own_server(variables) for variables in (staging, production)]
    shared = ({servers[0], own[0]} & {servers[1], own[1]}) - {None}
    if shared and (servers[0] or servers[1]):
        found.append(f"staging and production use the same database server, {shown(sorted(shared)[0])}: staging's "
                     f"restores and refreshes would replace databases and set accounts' passwords on production's "
                     f"server; give staging its own (greenlight's, by leaving its mysql_external_* unset)")
    if _host(staging) != _host(production):
        return found  # two hosts: the same ports and names do not meet
    # The names first: the same database is also the same port, and the name says more.
    for key, what in SHARED.items():
        mine, theirs = _identity(staging, key), _identity(production, key)
        if mine is not None and mine == theirs:
            found.append(f"staging and production have the same {what}, {shown(mine)}: on one host each "
                         f"environment needs its own (change one in its inventory)")
    taken = {}
    for name in PORTS:
        value = production.get(name)
        number = _number(value)
        if number is not None:
            taken.setdefault(int(number), name)
    for name in PORTS:
        number = _number(staging.get(name))
        if number is not None and int(number) in taken:
            found.append(f"staging's {name} and production's {taken[int(number)]} are both {int(number)}: "
                         f"on one host each environment needs ports of its own (change one in its inventory)")
    return found


def _host(variables: dict) -> str:
    host = str(variables.get("ansible_host") or "localhost")
    return "localhost" if host in LOCAL else host


def _external_server(variables: dict) -> str | None:
    """The existing server an environment uses (host or container, and port), None for greenlight's own."""
    host, container = variables.get("mysql_external_host") or "", variables.get("mysql_external_container") or ""
    port = _number(variables.get("mysql_external_port", 3306))
    if any(_untemplated(value) for value in (host, container)) or not (host or container) or port is None:
        return None
    where = host or f"container {container} on {_host(variables)}"
    return f"{where} port {int(port)}"


def _own_server(variables: dict) -> str | None:
    """greenlight's own server of an environment, named as _external_server would name it."""
    prefix = variables.get("greenlight_prefix")
    if _untemplated(prefix) or variables.get("mysql_external_host") or variables.get("mysql_external_container"):
        return None
    return f"container {prefix}-mysql on {_host(variables)} port 3306"


def _identity(variables: dict, key: str) -> object:
    if key == "database":
        name, port = variables.get("mysql_database"), _number(variables.get("mysql_port"))
        return None if _untemplated(name) or port is None else f"{name} on port {int(port)}"
    value = variables.get({"prefix": "greenlight_prefix", "network": "greenlight_network"}[key])
    return None if _untemplated(value) else value


def _untemplated(value: object) -> bool:
    return not isinstance(value, str) or is_template(value)


# -- files on the host that greenlight reads ------------------------------------------------

def history_problem(path: str, text: str) -> str:
    """"" when every line of the history is a record; else which line is not, and the fix."""
    for number, line in enumerate(text.splitlines(), 1):
        if not line.strip():
            continue
        try:
            record = json.loads(line)
        except ValueError:
            record = None
        if not isinstance(record, dict):
            return (f"the history {path} has a damaged line {number} ({shown(line)}): greenlight cannot tell "
                    f"what is live from it; repair or delete that line, then run again")
    return ""


def live_color_problem(path: str, text: str, colors: list[str]) -> str:
    """"" when the live-color file names only known colors (or is empty)."""
    unknown = [c for c in text.split() if c not in colors]
    if unknown:
        return (f"{path} names the color {shown(unknown[0])}, not one of {', '.join(colors)}: delete the file "
                f"(the running proxy and the history say what is live; the next switch writes it again)")
    return ""


def server_state_problem(path: str, text: str) -> str:
    """"" when HAProxy's saved server state reads as `show servers state` wrote it (or is empty)."""
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        return ""
    good = re.fullmatch(r"\d+", lines[0].strip()) and all(
        line.startswith("#") or len(line.split()) >= 10 and line.split()[0].isdigit() for line in lines[1:])
    if not good:
        return (f"HAProxy's saved server state {path} is damaged: delete the file (a restarted proxy then takes "
                f"its weights from haproxy.cfg, written for the live color; the next switch saves it again)")
    return ""
