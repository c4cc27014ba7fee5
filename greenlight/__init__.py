"""greenlight: staging, promotion and zero-downtime deploys for one VPS."""

import re
import sys
from pathlib import Path

# Where ansible.cfg is: inside the package when it was installed from a wheel (setup.py copies
# it into greenlight/project), else the checkout this package sits in (an editable install,
# `make venv`).
_BUNDLED = Path(__file__).resolve().parent / "project"
PROJECT_DIR = _BUNDLED if (_BUNDLED / "ansible.cfg").is_file() else Path(__file__).resolve().parent.parent
# ansible.cfg's collections_path: greenlight's Ansible collection, greenlight.deploy (its
# playbooks, roles, modules, module_utils and plugins), is COLLECTION below it. In a checkout
# COLLECTION is a link to the checkout itself (the collection's root); a wheel holds a copy.
COLLECTION_PATH = Path(".collections", "ansible_collections", "greenlight", "deploy")
COLLECTIONS_DIR = PROJECT_DIR / COLLECTION_PATH.parts[0]
COLLECTION = PROJECT_DIR / COLLECTION_PATH
# The command imports the collection's module_utils by their one name, as Ansible's own
# collection loader and the modules do: ansible_collections.greenlight.deploy.plugins.module_utils.*
# (ansible_collections is a namespace package; the ansible distribution holds the rest of it).
# First on the path: a folder met earlier (the working folder of `python -m greenlight`) must
# not supply a module_utils of that name.
if str(COLLECTIONS_DIR) not in sys.path:
    sys.path.insert(0, str(COLLECTIONS_DIR))

# The version is the collection's, declared once in its galaxy.yml (setup.py reads it for the wheel).
__version__ = re.search(r"^version: *([^ #\n]+)", (COLLECTION / "galaxy.yml").read_text(), re.M).group(1)
