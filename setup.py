"""The wheel carries greenlight's Ansible collection, so an installed command needs no checkout
(greenlight/__init__.py: PROJECT_DIR, COLLECTION). An editable install uses the checkout itself."""

import re
import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
# The collection greenlight.deploy (galaxy.yml), as the wheel holds it below greenlight/project.
COLLECTION = Path(".collections", "ansible_collections", "greenlight", "deploy")
COLLECTION_CONTENT = ("galaxy.yml", "meta", "playbooks", "plugins", "roles", "requirements.yml", "README.md")
# Beside it: the configuration the command runs Ansible with, and Mitogen's strategy pointer.
PROJECT_CONTENT = ("strategy_plugins",)
# The one declaration of the version (galaxy.yml), read without a YAML library: the build needs none.
VERSION = re.search(r"^version: *([^ #\n]+)", (HERE / "galaxy.yml").read_text(), re.M).group(1)


def copy(source: Path, target: Path) -> None:
    if source.is_dir():
        shutil.copytree(source, target, dirs_exist_ok=True, ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
    else:
        target.parent.mkdir(parents=True, exist_ok=True)
        shutil.copy2(source, target)


class BuildWithAnsibleContent(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "greenlight" / "project"
        target.mkdir(parents=True, exist_ok=True)
        for name in COLLECTION_CONTENT:
            copy(HERE / name, target / COLLECTION / name)
        for name in PROJECT_CONTENT:
            copy(HERE / name, target / name)
        # The checkout's demo vault password does not travel: an installed command takes the
        # user's (ANSIBLE_VAULT_PASSWORD_FILE, docs/getting-started.md).
        config = (HERE / "ansible.cfg").read_text().splitlines(keepends=True)
        (target / "ansible.cfg").write_text("".join(line for line in config if not line.startswith("vault_password_file")))


setup(version=VERSION, cmdclass={"build_py": BuildWithAnsibleContent})
