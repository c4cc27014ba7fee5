"""An environment's settings as Ansible resolves them, for what the command decides itself
before or beside a playbook: the pair check of the two environments, which Docker engine an
environment is on, the ports `greenlight check` tests, the notifications and the lock alert.

Ansible is the only templater (docs/decisions.md): its inventory, its variable precedence
(the roles' defaults, then the inventory, then the extra variables) and its templating give
each value, as a play of the collection's roles would see it. The extra variables are data,
marked unsafe as the playbooks get them (runner.write_extravars), so nothing in them is
templated. Only the names below are templated: a default that needs the host (a fact, a
registered result) is not among them.

It runs in a process of its own, as `python -m greenlight.variables INVENTORY` (the extra
variables as JSON on stdin; the settings as JSON on stdout, which the command reads from the
pipe): a decrypted vault value never reaches a file, and Ansible's global state stays out of
the command. A value Ansible cannot template is left out, and the command takes its default.
"""

from __future__ import annotations

import json
import sys

from .notify import VAR_PREFIX

# The roles whose defaults give the names below a value when the inventory does not.
ROLES = ("greenlight", "proxy", "mysql", "monitoring")
# The line before the settings on stdout (runner.Runner.settings reads what follows it).
MARKER = "--- greenlight settings ---"
# Every name the command reads from an environment's settings, besides the ports (settings.PORTS
# and MONITORING_PORTS: imported once Ansible's collection loader is in place) and the
# notifications' (notify.VAR_PREFIX: each one set).
NAMES = ("greenlight_app", "greenlight_env", "greenlight_prefix", "greenlight_network", "greenlight_docker_socket",
         "greenlight_lock_alert_minutes", "mysql_database", "mysql_external_host", "mysql_external_container",
         "mysql_external_port",
         "ansible_host", "ansible_port", "ansible_user", "ansible_connection")


def resolve(inventory: str, extra_vars: dict) -> dict:
    """The NAMES Ansible gives a value for the inventory's one host, templated by Ansible."""
    from ansible import constants, context  # noqa: PLC0415  (in this process only)
    from ansible.cli import CLI  # noqa: PLC0415
    from ansible.inventory.manager import InventoryManager  # noqa: PLC0415
    from ansible.module_utils.common.collections import ImmutableDict  # noqa: PLC0415
    from ansible.parsing.dataloader import DataLoader  # noqa: PLC0415
    from ansible.playbook.play import Play  # noqa: PLC0415
    from ansible.plugins.loader import init_plugin_loader  # noqa: PLC0415
    from ansible.template import Templar  # noqa: PLC0415
    from ansible.utils.unsafe_proxy import wrap_var  # noqa: PLC0415
    from ansible.vars.manager import VariableManager  # noqa: PLC0415

    init_plugin_loader()
    # Through Ansible's collection loader, now in place (before it, ansible_collections would be
    # imported as a plain package and the roles not found).
    from ansible_collections.greenlight.deploy.plugins.module_utils.settings import (  # noqa: PLC0415
        MONITORING_PORTS, PORTS)

    password_files = [constants.DEFAULT_VAULT_PASSWORD_FILE] if constants.DEFAULT_VAULT_PASSWORD_FILE else []
    # As ansible-playbook takes them: the configured vault identities, then the password files.
    vault_ids = list(constants.DEFAULT_VAULT_IDENTITY_LIST or [])
    context.CLIARGS = ImmutableDict(extra_vars=[], vault_ids=vault_ids, vault_password_files=password_files,
                                    ask_vault_pass=False)
    loader = DataLoader()
    loader.set_vault_secrets(CLI.setup_vault_secrets(loader, vault_ids=vault_ids, vault_password_files=password_files,
                                                     ask_vault_pass=False, auto_prompt=False))
    inventory_manager = InventoryManager(loader=loader, sources=[inventory])
    hosts = inventory_manager.get_hosts()
    if not hosts:
        return {}
    manager = VariableManager(loader=loader, inventory=inventory_manager)
    manager._extra_vars = wrap_var(dict(extra_vars))  # noqa: SLF001 - as the playbooks get them: data
    play = Play.load({"hosts": "all", "gather_facts": False,
                      "roles": [{"role": f"greenlight.deploy.{role}"} for role in ROLES]},
                     variable_manager=manager, loader=loader)
    variables = manager.get_vars(play=play, host=hosts[0], include_hostvars=False)
    # Ansible reaches the host by its inventory name when ansible_host is not set.
    variables.setdefault("ansible_host", hosts[0].name)
    templar = Templar(loader=loader, variables=variables)
    found = {}
    for name in (*PORTS, *MONITORING_PORTS, *NAMES, *(name for name in variables if name.startswith(VAR_PREFIX))):
        if name in variables:
            try:
                found[name] = templar.template(variables[name])
            except Exception:  # noqa: BLE001, S112 - a value that needs the host: the command's default
                continue
    return found


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print("usage: python -m greenlight.variables INVENTORY (extra variables as JSON on stdin)", file=sys.stderr)
        return 2
    try:
        found = resolve(argv[0], json.loads(sys.stdin.read() or "{}"))
    except Exception as error:  # noqa: BLE001 - the command turns it into one line (runner.inventory_error)
        print(f"[ERROR]: {error}", file=sys.stderr)
        return 1
    # After a line of its own: whatever else reaches stdout (ANSIBLE_DEBUG's lines) comes before it.
    sys.stdout.write(MARKER + "\n" + json.dumps(found, default=str) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
