"""What greenlight accepts as input (plugins/module_utils/settings.py): one line per problem, naming the setting."""

from __future__ import annotations

import pytest
from ansible_collections.greenlight.deploy.plugins.module_utils import settings

GOOD = {
    "greenlight_app": "warehouse", "greenlight_env": "production", "greenlight_root": "/var/lib/greenlight",
    "app_version": "v1", "app_repo": "/var/lib/greenlight/demo/warehouse.git", "deploy_strategy": "canary",
    "deploy_canary_steps": [5, 25, 50, 100], "deploy_canary_hold": 20, "deploy_watch_seconds": 0,
    "deploy_judge_min_requests": 50, "deploy_judge_error_margin": 0.005, "deploy_judge_significance": 0.05,
    "deploy_judge_latency_percentiles": [50, 95], "deploy_judge_latency_floors_ms": [5, 25],
    "backup_keep": 10, "proxy_http_port": 80, "proxy_https_port": "443", "proxy_api_port": 5000,
    "proxy_preview_port": 9080, "proxy_metrics_port": 8404, "mysql_port": 3307, "mysql_database": "warehouse_wms",
    "proxy_bind_address": "0.0.0.0", "proxy_tls_certificate": "", "greenlight_notify_webhook_url": "",
    "monitoring_webhook_url": "https://hooks.slack.com/services/T0/B0/x", "greenlight_notify_email_to": "a@example.com, b@example.com",
    "monitoring_email_to": ["ops@example.com"], "monitoring_email_from": "greenlight@localhost",
    "monitoring_smtp_host": "smtp.example.com", "monitoring_smtp_port": "587",
}


def test_the_example_inventories_settings_pass() -> None:
    assert settings.problems(GOOD) == []


def test_an_unset_setting_is_not_checked() -> None:
    assert settings.problems({"deploy_canary_steps": None, "backup_keep": None}) == []


@pytest.mark.parametrize("name,value,phrase", [
    ("deploy_canary_steps", "5,25,50,100", "a list of rising percentages"),
    ("deploy_canary_steps", [50, 25, 100], "rising"),
    ("deploy_canary_steps", [5, 25, 25, 100], "rising"),
    ("deploy_canary_steps", [5, 25, 50], "ends at 100"),
    ("deploy_canary_steps", [0, 100], "from 1 to 100"),
    ("deploy_canary_steps", [5, 101], "from 1 to 100"),
    ("deploy_canary_steps", [], "like [5, 25, 50, 100]"),
    ("deploy_canary_steps", [True, 100], "rising"),
    ("deploy_watch_seconds", "abc", "0 (no watch) or more"),
    ("deploy_watch_seconds", -1, "0 (no watch) or more"),
    ("deploy_canary_hold", 0, "0.1 or more"),
    ("deploy_judge_significance", 2, "a probability"),
    ("deploy_judge_min_requests", 2.5, "a whole number"),
    ("deploy_judge_error_margin", True, "a fraction"),
    ("deploy_judge_latency_percentiles", [50, 100], "below 100"),
    ("backup_keep", 0, "1 or more"),
    ("backup_keep", "ten", "a whole number"),
    ("proxy_http_port", 0, "from 1 to 65535"),
    ("proxy_http_port", 65536, "from 1 to 65535"),
    ("proxy_http_port", "80x", "a TCP port"),
    ("mysql_port", 3307.5, "a whole number"),
    ("deploy_strategy", "big_bang", "one of blue_green, canary, rolling"),
    ("greenlight_root", "/", "not /"),
    ("greenlight_root", "var/lib/greenlight", "an absolute folder"),
    ("greenlight_root", "/var/lib/../etc", "no '..'"),
    ("greenlight_root", "/var/lib/greenlight/", "trailing /"),
    ("greenlight_root", "/var/lib/green light", "an absolute folder"),
    ("greenlight_app", "../x", "a lower-case name"),
    ("greenlight_app", "Shop", "a lower-case name"),
    ("greenlight_env", "prod;rm", "a lower-case name"),
    ("proxy_bind_address", "localhost", "an IP address"),
    ("mysql_database", "wms; DROP TABLE x", "letters, digits and _"),
    ("proxy_tls_certificate", "site.pem", "the absolute path"),
    ("app_repo", "ext::sh -c id", "ext::, fd:: and file::"),
    ("app_repo", "fd::3", "refused"),
    ("app_repo", "file:///etc", "refused"),
    ("app_repo", "--upload-pack=touch /tmp/x", "refused"),
    ("app_repo", "relative/path", "a local absolute path"),
    ("app_version", "v1\n", "not a tag, branch or commit"),
    ("proxy_memory", "lots", "a memory size like 256m"),
    ("mysql_memory", "1m", "6m or more"),
    ("mysql_cpus", 0, "CPU cores, 0.01 or more"),
    ("greenlight_cpu_shares", 1, "Docker's CPU weight"),
    ("proxy_allow_from", "10.0.0.0/8", "a list of addresses or networks"),
    ("proxy_allow_from", ["10.0.0.0/8", "office"], "'office' is not an address or network"),
])
def test_a_bad_value_is_one_line_naming_the_setting(name: str, value: object, phrase: str) -> None:
    found = settings.problems({**GOOD, name: value})
    assert len(found) == 1, found
    assert found[0].startswith(name) and phrase in found[0], found
    assert "\n" not in found[0] and "\r" not in found[0]


@pytest.mark.parametrize("repo", ["/srv/git/shop.git", "https://github.com/acme/shop.git",
                                  "https://token@git.example.com:8443/acme/shop", "ssh://git@example.com/acme/shop.git",
                                  "ssh://example.com:2222/srv/shop.git", "git@github.com:acme/shop.git"])
def test_the_usual_repository_forms_pass(repo: str) -> None:
    assert settings.problems({"app_repo": repo}) == []


@pytest.mark.parametrize("name", ["greenlight_notify_webhook_url", "monitoring_webhook_url", "monitoring_watchdog_url"])
@pytest.mark.parametrize("url", ["file:///etc/passwd", "ftp://example.com/x", "https://example.com/a b",
                                 "https://example.com/\r\nHost: evil", "example.com/hook", "javascript:alert(1)"])
def test_a_url_that_is_not_http_is_refused_without_quoting_it(name: str, url: str) -> None:
    found = settings.problems({name: url})
    assert len(found) == 1 and found[0].startswith(name) and "http:// or https://" in found[0]
    assert url not in found[0]  # the rest of a webhook URL is its secret


@pytest.mark.parametrize("name", ["greenlight_notify_email_to", "monitoring_email_to", "monitoring_email_from",
                                  "greenlight_notify_email_from"])
@pytest.mark.parametrize("address", ["ops@example.com\r\nBcc: all@example.com", "ops@example.com\nX: y",
                                     "ops@exa\x00mple.com", "ops example.com", "ops"])
def test_an_address_with_a_line_break_or_control_character_is_refused(name: str, address: str) -> None:
    found = settings.problems({name: address if "from" in name else [address]})
    assert len(found) == 1 and found[0].startswith(name) and "\n" not in found[0] and "\r" not in found[0]


def test_two_ports_of_one_environment_must_differ() -> None:
    assert settings.problems({"proxy_http_port": 8080, "proxy_api_port": "8080"}) == [
        "proxy_api_port and proxy_http_port are both 8080: each needs a port of its own"]


def test_a_long_value_is_cut_short_in_the_message() -> None:
    found = settings.problems({"deploy_strategy": "x" * 500})
    assert len(found[0]) < 150


@pytest.mark.parametrize("version,phrase", [
    ("v1;rm -rf /", "not a tag"), ("$(id)", "not a tag"), ("`id`", "not a tag"), ("v1\n", "not a tag"),
    ("a..b", "not a valid git ref"), ("main@{1}", "not a tag"), ("v1-rеlease", "not a tag"), ("v１", "not a tag"),
    ("v" * 200, "200 characters long"), ("feature/", "not a valid git ref"), ("v1.lock", "not a valid git ref"),
    ("-v1", "not a tag"), ("", "not a tag"),
])
def test_a_version_that_is_not_a_plain_ref_is_refused(version: str, phrase: str) -> None:
    assert phrase in settings.version_problem(version)


@pytest.mark.parametrize("version", ["v1", "main", "release/2026.11", "3f2a9c1", "refs/tags/v1", "v1.2.3-rc_1"])
def test_plain_refs_pass(version: str) -> None:
    assert settings.version_problem(version) == ""


@pytest.mark.parametrize("value", ["{{ 7*7 }}", "{% if 1 %}x{% endif %}", "{# c #}", ["a", {"b": "{{ x }}"}]])
def test_a_template_marker_in_an_extra_var_is_refused(value: object) -> None:
    assert "holds a template marker" in settings.template_problem("x", value)


def test_an_actor_name_keeps_only_plain_characters() -> None:
    assert settings.actor_name("{{ 7*7 }}") == "___7_7___"
    assert settings.actor_name("anna.k@example.com") == "anna.k@example.com"
    assert settings.actor_name("") == "unknown"
    assert len(settings.actor_name("x" * 500)) == 64


def pair(**changes: object) -> dict:
    """One environment's settings as Ansible resolves them (greenlight/variables.py): the names
    derived by the roles' defaults follow the app and the environment unless set."""
    given = {"greenlight_app": "shop", "greenlight_env": "staging",
             "proxy_http_port": 8080, "proxy_https_port": 8443, "proxy_api_port": 5001, "proxy_preview_port": 9081,
             "proxy_metrics_port": 8405, "mysql_port": 3308, "ansible_host": "localhost", **changes}
    prefix = given.get("greenlight_prefix", f"{given['greenlight_app']}-{given['greenlight_env']}")
    return {"greenlight_prefix": prefix, "greenlight_network": f"{prefix}-net", "mysql_database": given["greenlight_app"],
            **given}


PRODUCTION = {"greenlight_env": "production", "proxy_http_port": 80, "proxy_https_port": 443, "proxy_api_port": 5000,
              "proxy_preview_port": 9080, "proxy_metrics_port": 8404, "mysql_port": 3307}


def test_two_environments_of_the_example_inventories_pass() -> None:
    assert settings.pair_problems(pair(), pair(**PRODUCTION)) == []


@pytest.mark.parametrize("staging,production,phrase", [
    ({}, {**PRODUCTION, "proxy_metrics_port": 8080}, "staging's proxy_http_port and production's proxy_metrics_port are both 8080"),
    ({"mysql_port": 3307}, {**PRODUCTION}, "the same database (mysql_database on mysql_port), 'shop on port 3307'"),
    ({"greenlight_network": "net"}, {**PRODUCTION, "greenlight_network": "net"}, "the same Docker network"),
    ({}, {**PRODUCTION, "greenlight_env": "staging"}, "the same app prefix"),
    ({"ansible_host": "127.0.0.1"}, {**PRODUCTION, "proxy_http_port": 8080}, "both 8080"),
])
def test_two_environments_on_one_host_must_not_share(staging: dict, production: dict, phrase: str) -> None:
    found = settings.pair_problems(pair(**staging), pair(**production))
    assert found and phrase in found[0], found


def test_two_environments_on_two_hosts_may_share_ports_and_names() -> None:
    assert settings.pair_problems(pair(ansible_host="10.0.0.2"), pair(**{**PRODUCTION, "greenlight_env": "staging",
                                                                          "proxy_http_port": 8080})) == []


def test_a_value_that_is_still_a_template_is_not_compared() -> None:
    staging = pair(greenlight_network="{{ lookup('env', 'NET') }}")
    assert settings.pair_problems(staging, pair(**{**PRODUCTION, "greenlight_network": "{{ lookup('env', 'NET') }}"})) == []


def test_history_live_color_and_server_state_readers() -> None:
    assert settings.history_problem("h", '{"kind": "deploy"}\n\n{"kind": "rollback"}\n') == ""
    assert "damaged line 2" in settings.history_problem("h", '{"kind": "deploy"}\n{"kind": \n')
    assert "damaged line 1" in settings.history_problem("h", '[1, 2]\n')
    assert settings.live_color_problem("f", "blue green\n", ["blue", "green"]) == ""
    assert "'purple'" in settings.live_color_problem("f", "blue purple\n", ["blue", "green"])
    state = ("1\n# be_id be_name srv_id srv_name srv_addr srv_op_state srv_admin_state srv_uweight srv_iweight x\n"
             "3 api 1 blue 172.18.0.5 2 0 100 100 9 6 3 7 6 0 0 0 - 8000 - 0 0 - - 0\n")
    assert settings.server_state_problem("s", state) == ""
    assert settings.server_state_problem("s", "") == ""
    assert "damaged" in settings.server_state_problem("s", "garbage\n")
    assert "damaged" in settings.server_state_problem("s", "1\nnot a server line\n")


def test_basic_auth_needs_a_password_of_12_characters_and_never_quotes_it() -> None:
    found = settings.problems({"proxy_basic_auth_user": "team", "proxy_basic_auth_password": "short-pw"})
    assert found == ["proxy_basic_auth_password: 12 characters or more, no control characters, from the vault (vault_...)"]
    assert settings.problems({"proxy_basic_auth_user": "team lead", "proxy_basic_auth_password": "long-enough-pw"}) == [
        "proxy_basic_auth_user 'team lead': a user name of letters, digits and . _ - (at most 64)"]
    assert settings.problems({"proxy_basic_auth_user": "team", "proxy_basic_auth_password": "long-enough-pw",
                              "proxy_allow_from": ["203.0.113.7/32", "2001:db8::/32"], "proxy_memory": "512m",
                              "mysql_memory": "1g", "proxy_cpus": "0.5", "greenlight_cpu_shares": 256}) == []


# The warehouse example's app, read from its inventory (no role default describes an app).
def app_defaults() -> dict:
    import yaml
    from pathlib import Path

    inventory = yaml.safe_load((Path(__file__).parents[2] / "inventories/production/group_vars/all/main.yml").read_text())
    return {key: inventory[key] for key in ("app_images", "app_parts", "app_migrate_image")}


NOTES = {"app_images": {"notes": {"context": "."}},
         "app_parts": [{"name": "web", "image": "notes", "port": 3000, "health": "/up"}]}


def test_the_samples_and_a_one_part_app_pass() -> None:
    assert settings.problems(app_defaults()) == []
    assert settings.problems(NOTES) == []


@pytest.mark.parametrize(("change", "phrase"), [
    ({"name": "mysql"}, "not one of greenlight's own"),
    ({"name": "Web"}, "name 'Web': a name of a-z"),
    ({"image": "other"}, "image 'other': one of app_images (notes)"),
    ({"port": 0}, "port 0: the port it listens on"),
    ({"port": "abc"}, "port 'abc'"),
    ({"health": "up"}, "health 'up': the path HAProxy checks"),
    ({"paths": ["/api/", "api"]}, "paths ['/api/', 'api']: a list of paths"),
    ({"paths": ["/api/"]}, "exactly one web part (with a port) has no paths"),
    ({"database": "yes"}, "database 'yes': true, false, or a mapping"),
    ({"cpus": 0}, "cpus 0: CPU cores"),
    ({"memory": "lots"}, "memory 'lots': a memory size"),
    ({"stop_timeout": -1}, "stop_timeout -1: seconds"),
    ({"pool": "preview_web"}, "pool 'preview_web'"),
    ({"pool": ["x"]}, "pool ['x']"),
    ({"command": "python3 -m x"}, "command 'python3 -m x': a list of arguments"),
    ({"env": {"lower-case": "x"}}, "env {'lower-case': 'x'}: a mapping"),
    ({"env": {"FLAG": True}}, "quoted \"true\" for a boolean"),
    ({"env_file": "relative.env"}, "env_file 'relative.env': an absolute path"),
    ({"database": True, "env_file": "/etc/app.env"}, "Docker takes one env file"),
])
def test_a_bad_part_is_one_line_naming_the_part_and_the_field(change: dict, phrase: str) -> None:
    app = {"app_images": NOTES["app_images"], "app_parts": [{**NOTES["app_parts"][0], **change}]}
    found = settings.problems(app)
    assert len(found) == 1 and phrase in found[0] and found[0].startswith("app_parts"), found


def test_two_parts_may_not_share_a_name_or_a_pool_and_one_takes_the_rest() -> None:
    part = NOTES["app_parts"][0]
    found = settings.problems({**NOTES, "app_parts": [part, dict(part)]})
    assert any("two parts are named web" in line for line in found)
    assert any("two parts use the pool web" in line for line in found)
    assert any("these do: web, web" in line for line in found)


WORKER = {"name": "worker", "image": "notes", "command": ["python3", "-m", "notes.worker"], "database": True,
          "env": {"POLL_SECONDS": 0.5, "QUEUE": "jobs"}, "stop_timeout": 20}


def test_a_part_without_a_port_is_a_worker_and_takes_nothing_of_the_proxy() -> None:
    assert settings.problems({**NOTES, "app_parts": [*NOTES["app_parts"], WORKER]}) == []
    found = settings.problems({**NOTES, "app_parts": [*NOTES["app_parts"], {**WORKER, "health": "/up", "paths": ["/x"]}]})
    assert found == ["app_parts[1] (worker) health: a worker (no port) is not behind the proxy; give it a port, or remove health",
                     "app_parts[1] (worker) paths: a worker (no port) is not behind the proxy; give it a port, or remove paths"]
    # Workers alone serve nobody: an app needs one web part that takes every request.
    assert settings.problems({**NOTES, "app_parts": [WORKER]}) == [
        "app_parts: exactly one web part (with a port) has no paths and takes every request the others' paths do not "
        "match; none does"]


@pytest.mark.parametrize("images", [{}, {"notes": {"context": "../elsewhere"}}, {"notes": {"dockerfile": "/etc/x"}},
                                    {"Notes": {"context": "."}}, ["notes"]])
def test_bad_images_are_refused(images: object) -> None:
    assert any(line.startswith("app_images") for line in settings.problems({"app_images": images}))


def test_the_migrations_run_in_one_of_the_apps_images() -> None:
    assert settings.problems({**NOTES, "app_migrate_image": "backend"}) == [
        "app_migrate_image 'backend': one of app_images (notes)"]


def test_unknown_settings_names_the_declared_one_a_misspelling_resembles() -> None:
    declared = {"deploy_canary_steps", "deploy_canary_hold", "proxy_http_port", "greenlight_app"}
    given = ["deploy_canary_stpes", "proxy_http_port", "my_own", "ansible_host", "__greenlight_x", "proxy_frobnicate"]
    assert settings.unknown_settings(given, declared) == [
        "unknown setting deploy_canary_stpes: did you mean deploy_canary_steps?",
        "unknown setting proxy_frobnicate: no role of greenlight declares it (roles/*/meta/argument_specs.yml); "
        "remove or rename it"]
    assert settings.unknown_settings(["deploy_canary_steps", "greenlight_app"], declared) == []


def test_an_inventory_without_its_app_is_refused_naming_each_missing_setting() -> None:
    assert settings.missing_settings({}) == [
        "app_images is not set: the images built from the app's repository, {NAME: {context: FOLDER}}; "
        "greenlight init writes it for your app (docs/your-app.md)",
        "app_parts is not set: the app's containers (name, image, port, health, ...); "
        "greenlight init writes it for your app (docs/your-app.md)"]
    app = {"app_images": {"web": {"context": "."}}, "app_parts": [{"name": "web", "image": "web", "port": 80, "health": "/"}]}
    assert settings.missing_settings(app) == []
    assert settings.missing_settings({**app, "backend_migrate_command": ["migrate"]}) == [
        "app_migrate_image is not set: which of app_images runs backend_migrate_command"]
    assert settings.problems({**app, "backend_migrate_command": "python3 -m migrate"}) == [
        "backend_migrate_command 'python3 -m migrate': a command as a list of arguments, like "
        "[python3, -m, yourapp.migrate] ([] for none)"]


def test_an_old_inventorys_part_limits_are_pointed_at_app_parts_and_odd_names_are_quoted() -> None:
    assert settings.unknown_settings(["backend_cpus", "frontend_memory"], {"proxy_cpus"}) == [
        "backend_cpus is no setting any more: give each part its cpus and memory in its app_parts entry (docs/your-app.md)",
        "frontend_memory is no setting any more: give each part its cpus and memory in its app_parts entry (docs/your-app.md)"]
    assert settings.unknown_settings(["proxy_\x1b[2Jx"], {"proxy_cpus"}) == [
        "unknown setting 'proxy_\\x1b[2Jx': no role of greenlight declares it (roles/*/meta/argument_specs.yml); "
        "remove or rename it"]
    seeded = {"backend_seed_test_data": True, "backend_seed_command": ["seed"]}
    assert settings.missing_settings({"app_images": {}, "app_parts": [], **seeded}) == [
        "app_migrate_image is not set: which of app_images runs backend_seed_command"]


def test_every_setting_a_rule_reads_is_handed_to_the_check() -> None:
    """The settings action hands the module the settings of settings.CHECKED only: a rule reading
    a declared setting missing there would never see a value, and never refuse one."""
    import ast
    import inspect

    from ansible_collections.greenlight.deploy.plugins.action.settings import declared_settings

    declared = declared_settings()
    source = ast.parse(inspect.getsource(settings))
    rules = [node for node in source.body if isinstance(node, ast.FunctionDef)
             and node.name in ("problems", "missing_settings", "_app_problems", "_latency_problems")]
    read = {node.value for rule in rules for node in ast.walk(rule)
            if isinstance(node, ast.Constant) and isinstance(node.value, str) and node.value in declared}
    tables = set(settings.NUMBERS) | set(settings.INTEGERS) | set(settings.PORTS) | set(settings.URLS)
    assert len(read) > 20 and tables <= declared
    assert sorted((read | tables) - set(settings.CHECKED)) == []


EXTERNAL = {"mysql_external_host": "", "mysql_external_container": "shop_db_1", "mysql_external_port": 3306,
            "mysql_external_admin_user": "root", "mysql_external_admin_password": "s3cret-from-the-vault",
            "mysql_external_account_host": ""}


def test_an_existing_server_passes_and_its_settings_are_checked_only_when_one_is_named() -> None:
    assert settings.problems(EXTERNAL) == []
    assert settings.problems({**EXTERNAL, "mysql_external_account_host": "172.18.0.0/255.255.0.0"}) == []
    assert settings.problems({**EXTERNAL, "mysql_external_container": "", "mysql_external_admin_password": ""}) == []


@pytest.mark.parametrize(("name", "value", "phrase"), [
    ("mysql_external_admin_password", "", "mysql_external_admin_password: the administrator's password, from the vault"),
    ("mysql_external_admin_password", "a\nb", "no control characters"),
    ("mysql_external_host", "db; rm -rf /", "mysql_external_host 'db; rm -rf /': the server's host name"),
    ("mysql_external_container", "-x", "mysql_external_container '-x': the name of the server's container"),
    ("mysql_external_port", 0, "mysql_external_port 0: a TCP port"),
    ("mysql_external_admin_user", "root'@'%", "mysql_external_admin_user \"root'@'%\": a database account"),
    ("mysql_external_account_host", "%' OR 1", "mysql_external_account_host \"%' OR 1\": the host part"),
])
def test_an_existing_servers_bad_setting_is_one_line_naming_it(name: str, value: object, phrase: str) -> None:
    found = settings.problems({**EXTERNAL, name: value})
    assert len(found) == 1 and phrase in found[0], found
    assert "a\nb" not in found[0] and "s3cret" not in found[0]


def test_two_environments_on_one_existing_server_are_refused_on_one_host_or_two() -> None:
    production = {"ansible_host": "203.0.113.7", "mysql_external_host": "db.example.net", "mysql_external_port": 3306}
    for staging in ({**production}, {**production, "ansible_host": "203.0.113.8"}):
        found = settings.pair_problems(staging, production)
        assert any("staging and production use the same database server, 'db.example.net port 3306'" in line
                   for line in found), found
    assert not any("same database server" in line for line in settings.pair_problems(
        {**production, "mysql_external_port": 3307}, production))
    assert not any("same database server" in line for line in settings.pair_problems(
        {"ansible_host": "203.0.113.7"}, production))
    container = {"mysql_external_container": "shop_db_1"}
    assert any("container shop_db_1 on 203.0.113.7" in line for line in settings.pair_problems(
        {"ansible_host": "203.0.113.7", **container}, {"ansible_host": "203.0.113.7", **container}))
    assert not any("same database server" in line for line in settings.pair_problems(
        {"ansible_host": "203.0.113.8", **container}, {"ansible_host": "203.0.113.7", **container}))
    # Staging on production's own server, named as a container.
    own = {"ansible_host": "203.0.113.7", "greenlight_prefix": "shop-production"}
    assert any("same database server, 'container shop-production-mysql on 203.0.113.7 port 3306'" in line
               for line in settings.pair_problems(
                   {"ansible_host": "203.0.113.7", "mysql_external_container": "shop-production-mysql"}, own))
    # A port still a template is not compared.
    assert not any("same database server" in line for line in settings.pair_problems(
        {**production, "mysql_external_port": "{{ x }}"}, production))


def test_production_on_stagings_own_server_is_refused_too() -> None:
    found = settings.pair_problems({"greenlight_prefix": "shop-staging"},
                                   {"mysql_external_container": "shop-staging-mysql"})
    assert any("'container shop-staging-mysql on localhost port 3306'" in line for line in found), found
    # Two environments each on their own server: nothing shared.
    assert not any("same database server" in line for line in settings.pair_problems(
        {"greenlight_prefix": "shop-staging"}, {"greenlight_prefix": "shop-production"}))
