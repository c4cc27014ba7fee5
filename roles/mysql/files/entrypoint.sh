#!/bin/bash
# Start MariaDB, creating the system tables on first start.
#
# root has no password and logs in only through the unix socket (unix_socket auth). The
# socket directory is bind-mounted from the host, so Ansible on the host administers the
# server as root over that socket while no administrator account is reachable over TCP.
set -euo pipefail

chown mysql:mysql /run/mysqld /var/lib/mysql
if [ ! -d /var/lib/mysql/mysql ]; then
  mariadb-install-db --user=mysql --datadir=/var/lib/mysql \
    --auth-root-authentication-method=socket --skip-test-db >/dev/null
fi
exec mariadbd --user=mysql --datadir=/var/lib/mysql --socket=/run/mysqld/mysqld.sock \
  --bind-address=0.0.0.0 --port=3306 --skip-name-resolve \
  --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci "$@"
