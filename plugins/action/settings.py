"""The controller's half of greenlight.deploy.settings: the names the inventory and `-e` set that no
role declares (a misspelt setting), found where the roles are; the settings the module judges
(settings.CHECKED), templated by Ansible; then the module's checks.

The declared names are every role's defaults and the options of its argument specs
(roles/*/defaults/main.yml, roles/*/meta/argument_specs.yml), read once per run. The names
checked are the host's variables without role defaults: the inventory's and the extra
variables (-e, and what the greenlight command passes), plus anything registered or set
earlier in the play, which is why roles/greenlight runs this as the first task of a play.
"""

from __future__ import annotations

import functools
import glob
import os

import yaml

from ansible.plugins.action import ActionBase

from ansible_collections.greenlight.deploy.plugins.module_utils.settings import CHECKED, reserved_settings, unknown_settings

# The collection's root (plugins/action/ is two folders below it).
PROJECT = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))


# libyaml's loader when PyYAML has it: the roles' files in 11 ms rather than 108 ms, on every
# playbook's first task.
LOADER = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@functools.cache
def declared_settings(roles: str = os.path.join(PROJECT, "roles")) -> frozenset[str]:
    names: set[str] = set()
    for path in glob.glob(os.path.join(roles, "*", "defaults", "main.yml")):
        with open(path, encoding="utf-8") as stream:
            names.update((yaml.load(stream, Loader=LOADER) or {}).keys())
    for path in glob.glob(os.path.join(roles, "*", "meta", "argument_specs.yml")):
        with open(path, encoding="utf-8") as stream:
            for entry in ((yaml.load(stream, Loader=LOADER) or {}).get("argument_specs") or {}).values():
                names.update((entry or {}).get("options") or {})
    return frozenset(names)


class ActionModule(ActionBase):
    def run(self, tmp=None, task_vars=None):
        result = super().run(tmp, task_vars)
        task_vars = task_vars or {}
        args = dict(self._task.args)
        # hostvars: the inventory's variables and the extra variables, without role defaults.
        given = task_vars["hostvars"][task_vars["inventory_hostname"]].keys()
        reserved = reserved_settings(given)
        if reserved:
            # Before anything else, and even for greenlight check (report_only): the frame must
            # not run steps, or take the lock, that an inventory or -e chose.
            return {**result, "failed": True, "msg": reserved[0], "problems": reserved, "greenlight_error": "usage"}
        args["problems"] = unknown_settings(given, declared_settings()) + list(args.get("problems") or [])
        if "settings" not in args:
            # The settings the module judges (settings.CHECKED), as Ansible templates them; an
            # unset one is not judged: its role default is right.
            args["settings"] = {name: self._templar.template(task_vars[name]) for name in CHECKED if name in task_vars}
        return {**result, **self._execute_module("greenlight.deploy.settings", module_args=args, task_vars=task_vars)}
