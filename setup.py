"""The wheel carries greenlight's Ansible content, so an installed command needs no checkout
(greenlight/__init__.py: PROJECT_DIR). An editable install uses the checkout itself."""

import shutil
from pathlib import Path

from setuptools import setup
from setuptools.command.build_py import build_py

HERE = Path(__file__).resolve().parent
CONTENT = ("playbooks", "roles", "library", "action_plugins", "filter_plugins", "strategy_plugins", "module_utils", "requirements.yml")


class BuildWithAnsibleContent(build_py):
    def run(self) -> None:
        super().run()
        if self.editable_mode:
            return
        target = Path(self.build_lib) / "greenlight" / "project"
        target.mkdir(parents=True, exist_ok=True)
        for name in CONTENT:
            source = HERE / name
            if source.is_dir():
                shutil.copytree(source, target / name, dirs_exist_ok=True,
                                ignore=shutil.ignore_patterns("__pycache__", "*.pyc"))
            else:
                shutil.copy2(source, target / name)
        # The checkout's demo vault password does not travel: an installed command takes the
        # user's (ANSIBLE_VAULT_PASSWORD_FILE, docs/getting-started.md).
        config = (HERE / "ansible.cfg").read_text().splitlines(keepends=True)
        (target / "ansible.cfg").write_text("".join(line for line in config if not line.startswith("vault_password_file")))


setup(cmdclass={"build_py": BuildWithAnsibleContent})
