#!/usr/bin/env python3
"""Write the collection as antsibull-docs should render it: a copy of greenlight.deploy's
documented parts (galaxy.yml, meta/, plugins/, each role's meta/) whose role argument specs
carry each option's default from the role's defaults/main.yml.

    python3 scripts/docs-collection.py DEST   # DEST/ansible_collections/greenlight/deploy

Why a copy: Ansible takes a role variable's default only from defaults/main.yml; a `default`
in meta/argument_specs.yml is documentation that Ansible never applies, so writing it there
as well would declare each default twice. The copy puts the one declaration where
antsibull-docs shows it (docs/decisions.md#the-docs-site-sphinx-and-antsibull-docs).
"""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
COPIED = ["galaxy.yml", "meta", "plugins"]


def documented(role: Path) -> dict:
    """The role's argument specs, each option given its default from defaults/main.yml."""
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text()) or {}
    defaults_file = role / "defaults" / "main.yml"
    defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.is_file() else {}
    seen: set[int] = set()  # an option shared between entry points by a YAML anchor: once
    for entry in (specs.get("argument_specs") or {}).values():
        for name, option in ((entry or {}).get("options") or {}).items():
            if id(option) in seen:
                continue
            seen.add(id(option))
            # A required option's default in defaults/main.yml is a placeholder (an empty
            # password the settings check refuses): the reference says "required" only.
            if name in defaults and defaults[name] is not None and "default" not in option and not option.get("required"):
                value = defaults[name]
                # A default Ansible templates ('{{ mysql_database }}') is shown as written; a
                # typed option with such a default is documented as the text it is (V():
                # a value, with its ')' and '\' escaped, so it shows whole).
                if isinstance(value, str) and "{{" in value and option.get("type") not in (None, "str", "path", "raw"):
                    described = option.get("description", "")
                    shown = value.replace("\\", "\\\\").replace(")", "\\)")
                    option["description"] = [*(described if isinstance(described, list) else [described]),
                                             f"Default: V({shown})."]
                else:
                    option["default"] = value
    return specs


def main(argv: list[str]) -> int:
    if len(argv) != 1:
        print(__doc__, file=sys.stderr)
        return 2
    dest = Path(argv[0]) / "ansible_collections" / "greenlight" / "deploy"
    if dest.exists():
        shutil.rmtree(dest)
    dest.mkdir(parents=True)
    ignore = shutil.ignore_patterns("__pycache__", "*.pyc")
    for name in COPIED:
        source = PROJECT / name
        (shutil.copytree(source, dest / name, ignore=ignore) if source.is_dir() else shutil.copy2(source, dest / name))
    for role in sorted((PROJECT / "roles").iterdir()):
        if (role / "meta" / "argument_specs.yml").is_file():
            (dest / "roles" / role.name / "meta").mkdir(parents=True)
            shutil.copy2(role / "meta" / "main.yml", dest / "roles" / role.name / "meta" / "main.yml") \
                if (role / "meta" / "main.yml").is_file() else None
            (dest / "roles" / role.name / "meta" / "argument_specs.yml").write_text(
                yaml.safe_dump(documented(role), sort_keys=False, width=100))
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
