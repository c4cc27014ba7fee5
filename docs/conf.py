"""The documentation site's Sphinx configuration (docs/decisions.md#the-docs-site-sphinx-and-antsibull-docs).

`make docs` builds it: the guides are these Markdown pages (read by MyST), the reference is
the collection rendered by antsibull-docs (modules, filters, and each role's argument specs,
which are greenlight's settings) into collections/ beside them. Warnings are errors (-W -n),
so a broken link, a missing heading anchor or a page outside the table of contents fails
make test."""

import sys
from pathlib import Path

project = "greenlight"
author = "greenlight maintainers"
copyright = "greenlight maintainers"  # noqa: A001 (Sphinx's name)
extensions = ["myst_parser", "sphinx_antsibull_ext", "ansible_labels"]
source_suffix = {".rst": "restructuredtext", ".md": "markdown"}
root_doc = "index"
exclude_patterns = ["conf.py"]
sys.path.insert(0, str(Path(__file__).resolve().parent))  # anchors.py, ansible_labels.py

html_theme = "sphinx_ansible_theme"
html_title = "greenlight"
html_short_title = "greenlight"
html_show_sphinx = False
html_copy_source = False
html_use_index = False
html_use_modindex = False
# No links to Ansible's own site in the top bar, no advertising slot: this is greenlight's site.
html_theme_options = {"display_version": False, "prev_next_buttons_location": "both", "topbar_links": {},
                      "show_rtd_ethical_ads": False, "show_extranav": False}
pygments_style = "ansible"
highlight_language = "YAML+Jinja"
default_role = "any"
nitpicky = True

# Headings get the anchors a Markdown reader expects (`page.md#the-heading`), made by
# docs/anchors.py, which tests/unit/test_docs.py uses too, so a cited heading is checked the
# same way the site makes it.
myst_heading_anchors = 6
myst_heading_slug_func = "anchors.slug"
