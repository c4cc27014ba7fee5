#!/usr/bin/env python3
"""Write docs/settings.md, the reference of every setting, from the roles' own declarations:
each role's meta/argument_specs.yml (type, description) and defaults/main.yml (default).

    python3 scripts/settings-reference.py          # rewrite docs/settings.md
    python3 scripts/settings-reference.py --check  # exit 1 when docs/settings.md differs

tests/unit/test_docs.py fails when the page and the declarations differ, so the reference
cannot drift from what the roles accept.
"""

from __future__ import annotations

import sys
from pathlib import Path

import yaml

PROJECT = Path(__file__).resolve().parents[1]
PAGE = PROJECT / "docs" / "settings.md"
sys.path.insert(0, str(PROJECT))
import greenlight  # noqa: E402, F401  (puts the collection on the path)
from ansible_collections.greenlight.deploy.plugins.module_utils.settings import RESERVED  # noqa: E402


def cell(text: str) -> str:
    return str(text).replace("|", "\\|").replace("\n", " ")


def default_text(value: object) -> str:
    if value is None:
        return "(none)"
    shown = yaml.safe_dump(value, default_flow_style=True, width=10_000).strip()
    shown = shown.removesuffix("\n...").removesuffix("...").strip()
    return f"`{cell(shown)}`" if len(shown) <= 80 else f"`{cell(shown[:77])}...`"


def reference() -> str:
    lines = ["# Settings", "",
             "Every setting greenlight's roles take, written from the roles' own declarations",
             "(`roles/*/meta/argument_specs.yml`: type and description; `roles/*/defaults/main.yml`:",
             "default) by `scripts/settings-reference.py`; `tests/unit/test_docs.py` fails when this page",
             "and the roles differ. An inventory sets any of them; a name of these families that no role",
             "declares is refused (docs/security.md). `(none)`: no default, the inventory gives it.", ""]
    for role_dir in sorted((PROJECT / "roles").iterdir()):
        specs = role_dir / "meta" / "argument_specs.yml"
        if not specs.is_file():
            continue
        defaults_file = role_dir / "defaults" / "main.yml"
        defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.is_file() else {}
        entries = (yaml.safe_load(specs.read_text()) or {}).get("argument_specs") or {}
        options: dict[str, dict] = {}
        for entry in entries.values():
            for name, spec in ((entry or {}).get("options") or {}).items():
                if name not in RESERVED:  # a playbook's own, never a setting
                    options.setdefault(name, spec or {})
        if not options:
            continue
        summary = next((str(entry.get("short_description", "")).strip() for entry in entries.values()
                        if entry and entry.get("short_description")), "")
        lines += [f"## {role_dir.name}", ""] + ([cell(summary), ""] if summary else [])
        lines += ["| setting | type | default | what |", "|---|---|---|---|"]
        for name in sorted(options):
            spec = options[name]
            kind = spec.get("type", "raw") + (f" of {spec['elements']}" if spec.get("elements") else "")
            lines.append(f"| `{name}` | {kind} | {default_text(defaults.get(name))} | {cell(spec.get('description', ''))} |")
        lines.append("")
    return "\n".join(lines)


def main(argv: list[str]) -> int:
    text = reference()
    if "--check" in argv:
        return 0 if PAGE.is_file() and PAGE.read_text() == text else 1
    PAGE.write_text(text)
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
