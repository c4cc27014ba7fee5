"""Citations of the documentation, checked: code comments, docstrings and messages cite a page
by its file (docs/security.md), and the README links to pages and their headings. A page that
is renamed or removed, or a heading a README link names, fails here instead of leaving a
reference to nothing (docs/decisions.md#the-docs-site-sphinx-and-antsibull-docs). The site's own
links are checked by `make docs` (Sphinx, warnings as errors)."""

import importlib.util
import re
from pathlib import Path

import yaml

ROOT = Path(__file__).resolve().parents[2]
DOCS = ROOT / "docs"
# Not the project's text: virtualenvs, build output, caches, the demo's secrets.
SKIPPED_DIRS = {".git", ".venv", "venv", "build", "dist", ".cache", ".greenlight", "__pycache__",
                ".pytest_cache", "node_modules"}
MAX_BYTES = 1_000_000

# A page cited from anywhere in the repository: docs/<name>.md, optionally with #anchor, not
# part of a longer path (another project's docs/features/canary.md does not count).
PAGE = re.compile(r"(?<![\w/.-])docs/([a-z0-9-]+\.md)(?:#([\w-]+))?")
# A README heading cited the old way: "README: Security", "README, Refreshing staging",
# README's "The history" / README's Monitoring. Built in two parts so this file does not cite
# one itself.
README_HEADING = re.compile("(?<![\\w/.-])READ" + "ME(?:[:,][ \\t]*\\n?[ \\t#]*|'s[ \\t]+\"?)[A-Z\"\\[]")


def project_files() -> list[Path]:
    """Every text file of the project, as a fresh clone has them (and nothing a run made)."""
    found = []
    for path in sorted(ROOT.rglob("*")):
        relative = path.relative_to(ROOT)
        if any(part in SKIPPED_DIRS or part.endswith(".egg-info") for part in relative.parts[:-1]):
            continue
        if not path.is_file() or path.is_symlink() or path.stat().st_size > MAX_BYTES:
            continue
        try:
            path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, OSError):
            continue
        found.append(path)
    return found


def load(path: Path):
    spec = importlib.util.spec_from_file_location(path.stem.replace("-", "_"), path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


# The anchor the site gives a heading: the site's own rule (docs/conf.py uses it).
slug = load(DOCS / "anchors.py").slug


def anchors(page: Path) -> set[str]:
    """The anchors of a page's headings (outside fenced code)."""
    found, fenced = set(), False
    for line in page.read_text(encoding="utf-8").splitlines():
        if line.lstrip().startswith("```"):
            fenced = not fenced
        elif not fenced and (match := re.match(r"#{1,6}\s+(.*?)\s*#*\s*$", line)):
            found.add(slug(match.group(1)))
    return found


def test_the_project_has_text_files_and_pages_to_check():
    files = {path.relative_to(ROOT).as_posix() for path in project_files()}
    assert {"README.md", "Makefile", "greenlight/cli.py", "roles/deploy/tasks/main.yml"} <= files
    assert not any(name.startswith((".venv/", ".cache/", "build/")) for name in files)
    assert (DOCS / "index.md").is_file()


def test_every_cited_docs_page_exists_and_has_the_cited_heading():
    pages = {page.name: anchors(page) for page in DOCS.glob("*.md")}
    broken = []
    for path in project_files():
        text = path.read_text(encoding="utf-8")
        for match in PAGE.finditer(text):
            page, anchor = match.groups()
            line = text.count("\n", 0, match.start()) + 1
            where = f"{path.relative_to(ROOT)}:{line}: {match.group(0)}"
            if page not in pages:
                broken.append(f"{where} (no such page in docs/)")
            elif anchor and anchor not in pages[page]:
                broken.append(f"{where} (docs/{page} has no heading #{anchor})")
    assert not broken, "citations of missing docs pages or headings:\n" + "\n".join(broken)


def test_nothing_cites_a_readme_heading():
    own = Path(__file__).resolve()
    cited = []
    for path in project_files():
        if path.resolve() == own:
            continue
        text = path.read_text(encoding="utf-8")
        for match in README_HEADING.finditer(text):
            line = text.count("\n", 0, match.start()) + 1
            cited.append(f"{path.relative_to(ROOT)}:{line}: {text[match.start():match.end() + 30].splitlines()[0]}")
    assert not cited, ("cite a page under docs/ by its file (docs/security.md), not a README heading "
                       "(a rename breaks it silently):\n" + "\n".join(cited))


def test_the_readme_links_every_docs_page():
    readme = (ROOT / "README.md").read_text(encoding="utf-8")
    linked = set(re.findall(r"\]\(docs/([a-z0-9-]+\.md)(?:#[\w-]+)?\)", readme))
    assert linked >= {page.name for page in DOCS.glob("*.md")}


def test_the_checks_catch_what_they_are_for():
    assert PAGE.search("hardened like every container (docs/security.md)").group(1) == "security.md"
    assert PAGE.search("see docs/operations.md#backups-and-restore").groups() == ("operations.md", "backups-and-restore")
    assert not PAGE.search("Argo Rollouts' docs/features/canary.md")
    assert not PAGE.search("site/docs/x.md")
    for old in ["(READ" "ME: Security)", "(READ" "ME, Refreshing staging)", "READ" "ME's \"The history\"",
                "READ" "ME's Monitoring", "(READ" "ME:\n# Rollback)", "README: [Input it refuses](#x)".replace("README", "READ" "ME")]:
        assert README_HEADING.search(old), old
    for fine in ["the READ" "ME's commands", "tests/READ" "ME.md: each file", '(APP_REPO / "READ' 'ME")',
                 "bench/READ" "ME.md, Monitoring"]:
        assert not README_HEADING.search(fine), fine
    assert slug("The sample app (`examples/warehouse`)") == "the-sample-app-exampleswarehouse"
    assert slug("The engine's own time") == "the-engines-own-time"
    assert slug("Verify, status, rollback") == "verify-status-rollback"


def declared_options(role: Path) -> dict:
    specs = yaml.safe_load((role / "meta" / "argument_specs.yml").read_text())["argument_specs"]
    return {name: spec for entry in specs.values() for name, spec in ((entry or {}).get("options") or {}).items()}


def test_every_role_default_is_declared_with_a_description():
    """The reference (each role's page, rendered by antsibull-docs) shows a setting only when
    its role's argument specs declare it: a default with no declaration fails here."""
    undeclared = []
    for defaults in sorted(ROOT.glob("roles/*/defaults/main.yml")):
        declared = declared_options(defaults.parents[1])
        undeclared += [f"{defaults.parts[-3]}: {name}" for name in yaml.safe_load(defaults.read_text()) or {}
                       if name not in declared or not declared[name].get("description")]
    assert not undeclared, undeclared


def test_the_reference_shows_each_default_from_defaults_main_yml(tmp_path: Path):
    """scripts/docs-collection.py writes the copy antsibull-docs renders (make docs): each
    option's default from the role's defaults/main.yml (the one place Ansible takes it
    from), shared options once; a templated default on a typed option as a value in its
    description that antsibull-docs' own parser reads whole; a required option no default."""
    from antsibull_docs_parser import parser

    load(ROOT / "scripts" / "docs-collection.py").main([str(tmp_path)])
    copy = tmp_path / "ansible_collections" / "greenlight" / "deploy"
    missing, shown = [], 0
    for role in sorted(path for path in (ROOT / "roles").iterdir() if (path / "meta" / "argument_specs.yml").is_file()):
        defaults_file = role / "defaults" / "main.yml"
        defaults = (yaml.safe_load(defaults_file.read_text()) or {}) if defaults_file.is_file() else {}
        written = yaml.safe_load((copy / "roles" / role.name / "meta" / "argument_specs.yml").read_text())
        for entry in written["argument_specs"].values():
            for name, option in ((entry or {}).get("options") or {}).items():
                if defaults.get(name) is None or option.get("required"):
                    assert "default" not in option, f"{role.name}: {name} documents a default it does not have"
                    continue
                described = option.get("description")
                texts = described if isinstance(described, list) else [described]
                values = [part.value for text in texts if str(text).startswith("Default: ")
                          for paragraph in parser.parse(text, parser.Context()) for part in paragraph
                          if isinstance(part, parser.dom.OptionValuePart)]
                if "default" in option:
                    ok = option["default"] == defaults[name] and type(option["default"]) is type(defaults[name])
                else:
                    ok = values == [defaults[name]]
                shown += ok
                if not ok:
                    missing.append(f"{role.name}: {name}")
    assert not missing, missing
    assert shown > 200
    deploy = yaml.safe_load((copy / "roles/deploy/meta/argument_specs.yml").read_text())["argument_specs"]["main"]["options"]
    assert deploy["deploy_canary_steps"]["default"] == [5, 25, 50, 100]
    monitoring = yaml.safe_load((copy / "roles/monitoring/meta/argument_specs.yml").read_text())["argument_specs"]
    port = next(entry["options"]["monitoring_smtp_port"] for entry in monitoring.values()
                if "monitoring_smtp_port" in (entry.get("options") or {}))
    assert port["description"][-1] == "Default: V({{ greenlight_notify_smtp_port | default(25\\) }})."


def test_make_docs_renders_that_copy():
    """The reference is antsibull-docs' rendering of the copy above, not of the checkout."""
    recipe = (ROOT / "Makefile").read_text().split("\ndocs: ", 1)[1].split("\n\n", 1)[0]
    assert "scripts/docs-collection.py .cache/docs" in recipe
    assert "ANSIBLE_COLLECTIONS_PATH=$(CURDIR)/.cache/docs $(BIN)/antsibull-docs collection --use-current" in recipe


def test_the_settings_page_links_every_roles_reference():
    roles = {path.parts[-3] for path in ROOT.glob("roles/*/meta/argument_specs.yml")}
    linked = set(re.findall(r"\(collections/greenlight/deploy/(\w+)_role\.rst\)", (DOCS / "settings.md").read_text()))
    assert roles and linked == roles, f"docs/settings.md: add {sorted(roles - linked)}, drop {sorted(linked - roles)}"
