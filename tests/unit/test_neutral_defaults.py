"""No default of greenlight names anything of the sample apps: an app is described by its
inventory only (docs/your-app.md). The warehouse example's inventories carry its values.

One exception, written down: the warehouse's write round trip (verify_write, off by default)
still lives in roles/verify/tasks/main.yml, and greenlight/load.py's writes use the sample's
API; both are listed as remaining work in docs/decisions.md."""

from __future__ import annotations

import re
from pathlib import Path

PROJECT = Path(__file__).resolve().parents[2]
# Names only the samples use: their app, their routes, their pages' markers, their commands.
SAMPLE = re.compile(r"warehouse|\bnotes\.(schema|worker)|/api/items|/api/version|/api/notes|frontend-version|app-version|healthz|\bsku\b",
                    re.I)
EXEMPT = {"roles/verify/tasks/main.yml", "roles/verify/meta/argument_specs.yml", "roles/verify/defaults/main.yml"}


def product_files() -> list[Path]:
    found = [*PROJECT.glob("roles/*/defaults/*.yml"), *PROJECT.glob("roles/*/vars/*.yml"),
             *PROJECT.glob("roles/*/meta/*.yml"), *PROJECT.glob("roles/*/tasks/*.yml"),
             *PROJECT.glob("roles/*/templates/*"), *PROJECT.glob("playbooks/*.yml"), *PROJECT.glob("plugins/*/*.py")]
    return [path for path in found if str(path.relative_to(PROJECT)) not in EXEMPT]


def test_no_role_module_or_playbook_names_the_samples() -> None:
    files = product_files()
    assert len(files) > 80
    found = [f"{path.relative_to(PROJECT)}:{number}: {line.strip()}"
             for path in files for number, line in enumerate(path.read_text().splitlines(), 1) if SAMPLE.search(line)]
    assert not found, "\n".join(found)


def test_the_verify_role_names_the_sample_only_in_its_write_round_trip() -> None:
    defaults = (PROJECT / "roles/verify/defaults/main.yml").read_text()
    assert re.search(r"^verify_write: false$", defaults, re.M)
    assert not SAMPLE.search(defaults.split("# The warehouse example's write round trip")[0])
