"""Citations of the documentation, checked: code comments, docstrings and messages cite a page
by its file (docs/security.md), and the README links to pages and their headings. A page that
is renamed or removed, or a heading a README link names, fails here instead of leaving a
reference to nothing (docs/decisions.md, "The docs site"). The site's own links are checked by
`make docs` (mkdocs build --strict)."""

import re
import unicodedata
from pathlib import Path

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


def slug(heading: str) -> str:
    """The anchor MkDocs gives a heading (Python-Markdown's toc slugify), without markup."""
    text = re.sub(r"`([^`]*)`", r"\1", heading)
    text = re.sub(r"\[([^\]]*)\]\([^)]*\)", r"\1", text)
    text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
    text = re.sub(r"[^\w\s-]", "", text).strip().lower()
    return re.sub(r"[-\s]+", "-", text)


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


def test_the_settings_page_is_the_roles_declarations_and_every_default_is_declared():
    """docs/settings.md is written from roles/*/meta/argument_specs.yml and defaults/main.yml
    (scripts/settings-reference.py): it fails when they differ, and when a role default has no
    declaration (type and description) in its role's argument specs."""
    import subprocess
    import sys

    import yaml

    done = subprocess.run([sys.executable, str(ROOT / "scripts/settings-reference.py"), "--check"], timeout=60)
    assert done.returncode == 0, "docs/settings.md differs from the roles: run scripts/settings-reference.py"
    undeclared = []
    for defaults in sorted(ROOT.glob("roles/*/defaults/main.yml")):
        specs = yaml.safe_load((defaults.parents[1] / "meta" / "argument_specs.yml").read_text())["argument_specs"]
        declared = {name: spec for entry in specs.values() for name, spec in ((entry or {}).get("options") or {}).items()}
        undeclared += [f"{defaults.parts[-3]}: {name}" for name in yaml.safe_load(defaults.read_text()) or {}
                       if name not in declared or not declared[name].get("description")]
    assert not undeclared, undeclared
