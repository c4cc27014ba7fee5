"""Production: nothing of staging (deployed beside it by the
prepare step) can reach its database."""

from __future__ import annotations

import json

import pymysql
import pytest
from greenlight_fixtures import load_env_vars, load_vault

pytestmark = pytest.mark.parametrize("env", ["production"], indirect=True)

ACCESS_DENIED = 1045


@pytest.fixture(scope="module")
def staging(host):
    """Staging's extra vars and live color, beside the production under test."""
    staging_vars = load_env_vars("staging")
    saved = host.file(f"{staging_vars['greenlight_root']}/{staging_vars['greenlight_prefix']}/proxy/live-color")
    assert saved.exists, "staging was not deployed beside production (prepare step)"
    staging_vars["live_color"] = saved.content_string.strip()
    return staging_vars


def _connect(port, user, password):
    return pymysql.connect(host="127.0.0.1", port=port, user=user, password=password, connect_timeout=5)


def test_production_database_takes_its_own_app_user(env_vars):
    vault = load_vault("production")
    _connect(env_vars["mysql_port"], f"{env_vars['greenlight_app']}_app", vault["vault_mysql_app_password"]).close()


def test_staging_credentials_are_refused_by_production(env_vars, staging):
    vault = load_vault("staging")
    user = f"{staging['greenlight_app']}_app"
    # The same credentials work on staging's own database, so the refusal below is about them.
    _connect(staging["mysql_port"], user, vault["vault_mysql_app_password"]).close()
    with pytest.raises(pymysql.err.OperationalError) as refused:
        _connect(env_vars["mysql_port"], user, vault["vault_mysql_app_password"])
    assert refused.value.args[0] == ACCESS_DENIED


def test_environments_are_on_different_networks(env_vars, staging, inspect):
    production_net = inspect(f"{env_vars['greenlight_prefix']}-net")
    staging_net = inspect(f"{staging['greenlight_prefix']}-net")
    assert production_net["Id"] != staging_net["Id"]
    production_members = {c["Name"] for c in production_net["Containers"].values()}
    staging_members = {c["Name"] for c in staging_net["Containers"].values()}
    assert production_members and staging_members
    assert not production_members & staging_members
    assert all(name.startswith(f"{env_vars['greenlight_prefix']}-") for name in production_members)


PROBE = """
import json, socket, sys
name, port = sys.argv[1], int(sys.argv[2])
try:
    address = socket.getaddrinfo(name, port, proto=socket.IPPROTO_TCP)[0][4][0]
except socket.gaierror:
    print(json.dumps({"resolved": False, "connected": False}))
    sys.exit()
try:
    socket.create_connection((address, port), timeout=3).close()
    connected = True
except OSError:
    connected = False
print(json.dumps({"resolved": True, "connected": connected}))
"""


def _probe(host, container, target, port):
    return json.loads(host.check_output("docker exec %s python3 -c %s %s %s", container, PROBE, target, str(port)))


def test_staging_backend_cannot_reach_production_database(host, env_vars, staging, inspect):
    backend = f"{staging['greenlight_prefix']}-backend-{staging['live_color']}"
    # Control: the probe does resolve and reach staging's own database.
    assert _probe(host, backend, f"{staging['greenlight_prefix']}-mysql", 3306) == {"resolved": True, "connected": True}

    assert _probe(host, backend, f"{env_vars['greenlight_prefix']}-mysql", 3306) == {"resolved": False, "connected": False}

    # Not by its address either: the production network is not routed from staging's.
    production_mysql = inspect(f"{env_vars['greenlight_prefix']}-mysql")
    address = production_mysql["NetworkSettings"]["Networks"][f"{env_vars['greenlight_prefix']}-net"]["IPAddress"]
    assert _probe(host, backend, address, 3306)["connected"] is False
