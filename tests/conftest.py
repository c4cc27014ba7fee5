"""The project's module_utils are imported as Ansible ships them to a host: ansible.module_utils.<name>."""

from __future__ import annotations

from pathlib import Path

import ansible.module_utils

MODULE_UTILS = Path(__file__).resolve().parents[1] / "module_utils"
if str(MODULE_UTILS) not in ansible.module_utils.__path__:
    ansible.module_utils.__path__.append(str(MODULE_UTILS))
