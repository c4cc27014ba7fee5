"""Ansible's linear strategy run through Mitogen (ansible.cfg `strategy`), found where pip
installed the `mitogen` distribution, which greenlight depends on.

Ansible starts a worker, a Python and a module's payload for every task; Mitogen keeps one
Python per host and forks it for each task (playbooks/group_vars/all.yml): a module task costs
0.15-0.4 s rather than 0.45-0.8 s (docs/benchmarks.md). Ansible's plugin path takes folders,
and pip's differs per install: this file is that folder's one entry."""

from ansible_mitogen.plugins.strategy.mitogen_linear import StrategyModule  # noqa: F401
