"""greenlight: staging, promotion and zero-downtime deploys for one VPS."""

from pathlib import Path

__version__ = "0.1.0"

# Where the playbooks, roles, modules and ansible.cfg are: inside the package when it was
# installed from a wheel (setup.py copies them into greenlight/project), else the checkout
# this package sits in (an editable install, `make venv`).
_BUNDLED = Path(__file__).resolve().parent / "project"
PROJECT_DIR = _BUNDLED if (_BUNDLED / "ansible.cfg").is_file() else Path(__file__).resolve().parent.parent
