#!/usr/bin/python
"""Resolve a release to a commit of the app's repository in one step (plugins/module_utils/release.py)."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: release
short_description: Fetch the app's repository into the host's copy and resolve a version to its commit
description:
  - >-
      Refuses a version that is not a plain git ref, one that is both a branch and a tag, one
      the repository lacks, and (with O(expected_commit)) one that no longer names the commit
      an earlier stage deployed.
  - >-
      Fetches into a bare copy on the host; the repository's credentials, when its URL has
      some, reach git from a file of the secrets folder, never its argv or the copy's config.
options:
  repo: {description: "The app's repository as the host sees it, without credentials (a path, or an https/ssh URL).", type: str, required: true}
  auth: {description: "The git configuration that sends the URL's credentials (filter greenlight.deploy.git_auth_config); empty for none.", type: str, default: ""}
  version: {description: "Tag, branch or commit.", type: str, required: true}
  dest: {description: "The host's bare copy.", type: path, required: true}
  credentials_file: {description: "Where the repository's credentials are written for git (0600).", type: path, required: true}
  expected_commit: {description: "Commit the version must name (a promotion); empty for any.", type: str, default: ""}
author: greenlight
"""

EXAMPLES = r"""
- name: Resolve the release
  greenlight.deploy.release:
    repo: https://github.com/example/shop.git
    version: v2
    dest: /var/lib/greenlight/shop/repo.git
    credentials_file: /var/lib/greenlight/shop-production/secrets/git-auth.cfg
"""

RETURN = r"""
commit: {description: "The version's commit (40 hexadecimal characters).", returned: success, type: str}
tags: {description: "The tags at that commit.", returned: success, type: list}
"""

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.release import ReleaseError, resolve


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "repo": {"type": "str", "required": True},
            "auth": {"type": "str", "default": "", "no_log": True},
            "version": {"type": "str", "required": True},
            "dest": {"type": "path", "required": True},
            "credentials_file": {"type": "path", "required": True},
            "expected_commit": {"type": "str", "default": ""},
        },
        supports_check_mode=True,
    )
    p = module.params
    try:
        found = resolve(p["repo"], p["auth"], p["version"], p["dest"], p["credentials_file"], p["expected_commit"])
    except ReleaseError as exc:
        module.fail_json(msg=str(exc), greenlight_error="usage" if exc.usage else "failed")
    except (OSError, ValueError) as exc:
        module.fail_json(msg=f"cannot resolve {p['version']}: {exc}")
    module.exit_json(changed=False, **found)


if __name__ == "__main__":
    main()
