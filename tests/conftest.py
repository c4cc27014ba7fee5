"""The project's module_utils are imported by their one name, as the modules, the plugins and the
command import them: ansible_collections.greenlight.deploy.plugins.module_utils.<name>
(greenlight/__init__.py puts the checkout's collection on the path)."""

from __future__ import annotations

import greenlight  # noqa: F401
