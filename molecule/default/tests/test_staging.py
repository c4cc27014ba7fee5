"""Staging alone: its database takes its own credentials, and every part is limited."""

from __future__ import annotations

import pymysql
import pytest
from greenlight_fixtures import load_vault

pytestmark = pytest.mark.parametrize("env", ["staging"], indirect=True)

CPUS = 0.5
MEMORY = 512 * 1024 * 1024


def test_app_user_logs_in_to_the_staging_database(env_vars):
    vault = load_vault("staging")
    connection = pymysql.connect(
        host="127.0.0.1", port=env_vars["mysql_port"], user=f"{env_vars['greenlight_app']}_app",
        password=vault["vault_mysql_app_password"], connect_timeout=5,
    )
    connection.close()


def test_every_part_has_resource_limits(env_vars, inspect, live_color):
    for part in ("mysql", f"backend-{live_color}", f"frontend-{live_color}"):
        limits = inspect(f"{env_vars['greenlight_prefix']}-{part}")["HostConfig"]
        assert limits["NanoCpus"] == int(CPUS * 1e9), part
        assert limits["Memory"] == MEMORY, part
