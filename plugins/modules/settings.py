#!/usr/bin/python
"""Refuse an environment's settings, or a file greenlight reads on the host, before anything changes."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: settings
short_description: Check an environment's settings and the files greenlight reads on its host; change nothing
description:
  - >-
      The first task of every playbook (roles/greenlight). Checks O(settings) (plugins/module_utils/settings.py
      says what each may be), the TLS certificate of O(tls_certificate) with the host's C(openssl)
      (expired, no key in the file, a key that is not the certificate's), and the host's files
      greenlight reads: the history (O(history)), the live-color file (O(live_color_file)) and
      HAProxy's saved server state (O(state_file)).
  - >-
      Fails on the first problem with one line that says what to fix, and C(greenlight_error=usage)
      (the greenlight command exits 2); RV(problems) lists them all. Safe in check mode.
options:
  settings: {description: "The environment's settings, name to value; a null value is not checked.", type: dict, default: {}}
  tls_certificate: {description: "The proxy's certificate and key, one PEM file on the host ('': none).", type: str, default: ""}
  history: {description: "The environment's history (JSON lines).", type: path}
  live_color_file: {description: "The proxy's live-color file.", type: path}
  state_file: {description: "HAProxy's saved server state.", type: path}
  adopt_file: {description: "The environment's adoption state (greenlight adopt), returned as RV(adopt).", type: path}
  problems: {description: "Problems found before this check (the caller's); reported first.", type: list, elements: str, default: []}
  report_only: {description: "Return every problem in C(problems) instead of failing (greenlight check).", type: bool, default: false}
  colors: {description: "The color slots.", type: list, elements: str, default: []}
author: greenlight
"""

EXAMPLES = r"""
- name: Check the environment's settings
  greenlight.deploy.settings:
    settings: {greenlight_app: shop, deploy_canary_steps: [5, 25, 50, 100], proxy_http_port: 80}
    tls_certificate: /etc/ssl/private/shop.pem
    history: /var/lib/greenlight/shop-production/history.jsonl
"""

RETURN = r"""
problems: {description: "Every problem found, one line each.", returned: always, type: list}
adopt: {description: "The adoption state O(adopt_file) holds ({} when none; plugins/module_utils/adopt.py).", returned: always, type: dict}
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.adopt import AdoptError, read_state
from ansible_collections.greenlight.deploy.plugins.module_utils.settings import (history_problem, live_color_problem, missing_settings, problems,
                                           server_state_problem)

# Bytes of a host file read for its check: enough for years of history.
READ_LIMIT = 64 * 1024 * 1024


def tls_problem(module: AnsibleModule, path: str) -> str:
    """What is wrong with the PEM file HAProxy will load, as the host's openssl reads it; "" when nothing.

    The host's openssl, not a Python library: a remote host may lack the library, never openssl.
    """
    where = f"proxy_tls_certificate {path}"
    if not os.path.isfile(path):
        return f"{where}: no such file on the host"
    openssl = module.get_bin_path("openssl")
    if not openssl:
        return f"{where}: openssl is not installed on the host, and greenlight checks the certificate with it; install it"
    rc, certificate_key, _ = module.run_command([openssl, "x509", "-in", path, "-noout", "-pubkey"])
    if rc != 0:
        return f"{where} holds no PEM certificate: give one PEM file with the certificate, its chain and its key"
    rc, key, _ = module.run_command([openssl, "pkey", "-in", path, "-pubout", "-passin", "pass:"])
    if rc != 0:
        return (f"{where} holds no (unencrypted) private key: HAProxy wants the certificate and its key in one "
                f"PEM file (cat site.crt site.key > site.pem)")
    if key.strip() != certificate_key.strip():
        return f"{where}: its private key does not belong to its certificate; put the certificate's own key in the file"
    rc, _, _ = module.run_command([openssl, "x509", "-in", path, "-noout", "-checkend", "0"])
    if rc != 0:
        _, end, _ = module.run_command([openssl, "x509", "-in", path, "-noout", "-enddate"])
        return f"{where} expired ({end.strip().split('=', 1)[-1]}): renew it"
    return ""


def file_text(path: str | None) -> str | None:
    if not path or not os.path.isfile(path):
        return None
    with open(path, "rb") as stream:
        return stream.read(READ_LIMIT).decode("utf-8", errors="replace")


def main() -> None:
    module = AnsibleModule(
        argument_spec={
            "settings": {"type": "dict", "default": {}},
            "tls_certificate": {"type": "str", "default": ""},
            "history": {"type": "path"},
            "live_color_file": {"type": "path"},
            "state_file": {"type": "path"},
            "adopt_file": {"type": "path"},
            "colors": {"type": "list", "elements": "str", "default": []},
            "problems": {"type": "list", "elements": "str", "default": []},
            "report_only": {"type": "bool", "default": False},
        },
        supports_check_mode=True,
    )
    params = module.params
    found = list(params["problems"]) + missing_settings(params["settings"]) + problems(params["settings"])
    if not found and params["tls_certificate"]:
        found += [p for p in [tls_problem(module, params["tls_certificate"])] if p]
    readers = ((params["history"], history_problem), (params["live_color_file"],
               lambda path, text: live_color_problem(path, text, params["colors"])),
               (params["state_file"], server_state_problem))
    for path, reader in readers:
        text = file_text(path) if path else None
        problem = reader(path, text) if text is not None else ""
        if problem:
            found.append(problem)
    adopt = {}
    text = file_text(params["adopt_file"])
    if text is not None:
        try:
            adopt = read_state(params["adopt_file"], text, params["colors"])
        except AdoptError as exc:
            found.append(str(exc))
    if found and params["report_only"]:
        module.exit_json(changed=False, problems=found, adopt=adopt, invocation=shown_invocation(module))
    if found:
        more = f" (and {len(found) - 1} more problem{'s' if len(found) > 2 else ''})" if len(found) > 1 else ""
        module.fail_json(msg=found[0] + more, problems=found, greenlight_error="usage", invocation=shown_invocation(module))
    module.exit_json(changed=False, problems=[], adopt=adopt, invocation=shown_invocation(module))


def shown_invocation(module: AnsibleModule) -> dict:
    """The arguments as the result reports them: the settings' names, not their values (a
    webhook URL or the proxy's basic-auth password is among them)."""
    return {"module_args": {**module.params, "settings": sorted(module.params["settings"])}}


if __name__ == "__main__":
    main()
