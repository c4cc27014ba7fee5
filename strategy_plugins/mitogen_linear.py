"""Ansible's linear strategy run through Mitogen (ansible.cfg `strategy`), found where pip
installed the `mitogen` distribution, which greenlight depends on.

Ansible starts a worker, a Python and a module's payload for every task; Mitogen keeps one
Python per host and forks it for each of greenlight's modules, so a task costs about a fifth
(docs/benchmarks.md, "The engine's own time"). Ansible's plugin path takes folders, and pip's
differs per install: this file is that folder's one entry."""

from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule  # noqa: F401
