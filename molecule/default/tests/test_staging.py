"""Staging alone: its database takes its own credentials."""

from __future__ import annotations

import pymysql
import pytest
from greenlight_fixtures import load_vault

pytestmark = pytest.mark.parametrize("env", ["staging"], indirect=True)


def test_app_user_logs_in_to_the_staging_database(env_vars):
    vault = load_vault("staging")
    connection = pymysql.connect(
        host="127.0.0.1", port=env_vars["mysql_port"], user=f"{env_vars['greenlight_app']}_app",
        password=vault["vault_mysql_app_password"], connect_timeout=5,
    )
    connection.close()
