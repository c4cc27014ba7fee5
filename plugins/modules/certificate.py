#!/usr/bin/python
"""An environment's HTTPS certificate: due or not, the HTTP-01 challenges, installed and served."""

from __future__ import annotations

DOCUMENTATION = r"""
---
module: certificate
short_description: Plan, answer the challenges of, install and serve an environment's HTTPS certificate
description:
  - >-
      The steps around community.crypto.acme_certificate in roles/proxy/tasks/certificate.yml
      (plugins/module_utils/certificate.py, docs/operations.md#https-certificates), each safe to repeat and to kill.
  - >-
      C(plan): what O(certificate) holds, and whether a new one is due from the ACME server for O(domains) from
      O(directory) (none yet, the settings changed, or O(renew_days) or fewer days left), from the record O(record)
      of the last one issued.
      C(challenge): the running proxy (O(socket)) answers the HTTP-01 challenges of O(challenge_data) from its map
      O(map) in memory. C(clear): it answers none.
      C(install): the chain O(chain) and key O(key) become O(certificate) (owned by O(owner)) and the record, then
      the running proxy serves them. C(serve): the running proxy serves O(certificate) unless it does already.
options:
  action: {description: What to do., type: str, required: true, choices: [plan, challenge, clear, install, serve]}
  certificate: {description: "The proxy's certificate on the host (chain and key, or the key beside it as <file>.key).", type: path, default: ""}
  served_as: {description: "The certificate's path inside the proxy (its bind line's crt).", type: str, default: /usr/local/etc/haproxy/tls/site.pem}
  record: {description: "The record of the last certificate the ACME server issued.", type: path, default: ""}
  domains: {description: "The names the certificate must hold.", type: list, elements: str, default: []}
  directory: {description: "The ACME server's directory URL.", type: str, default: ""}
  renew_days: {description: "Days before its end a certificate is renewed.", type: int, default: 30}
  socket: {description: "The running proxy's admin socket.", type: path, default: ""}
  map: {description: "The challenges' map inside the proxy.", type: str, default: /usr/local/etc/haproxy/acme.map}
  challenge_data: {description: "community.crypto.acme_certificate's challenge_data.", type: dict, default: {}}
  chain: {description: "The issued certificate chain (PEM file).", type: path, default: ""}
  key: {description: "The certificate's private key (PEM file).", type: path, default: ""}
  owner: {description: "The user and group id that owns the installed certificate (the proxy's).", type: int, default: 0}
author: greenlight
"""

EXAMPLES = r"""
- name: Find whether the certificate is due
  greenlight.deploy.certificate:
    action: plan
    certificate: /var/lib/greenlight/shop-production/proxy/conf/tls/site.pem
    record: /var/lib/greenlight/shop-production/acme/certificate.json
    domains: [shop.example.com]
    directory: https://acme-v02.api.letsencrypt.org/directory
"""

RETURN = r"""
due: {description: "kind (missing, changed, expiring, or empty: not due) and reason (plan).", returned: plan, type: dict}
held: {description: "The certificate's names, end, days left, issuer, whether self-signed, fingerprint.", returned: plan and install, type: dict}
"""

import os

from ansible.module_utils.basic import AnsibleModule
from ansible_collections.greenlight.deploy.plugins.module_utils.certificate import (
    CertificateError, challenges, clear_challenges, combine, describe, due, install, read_record, serve,
    set_challenges, summary)
from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError


def read(path: str) -> str:
    with open(path, encoding="ascii") as handle:
        return handle.read()


def held_pem(path: str) -> str:
    """The proxy's certificate on the host with its key (in the file, or beside it as <file>.key)."""
    text = read(path)
    if "PRIVATE KEY" not in text and os.path.exists(f"{path}.key"):
        text = text.rstrip("\n") + "\n" + read(f"{path}.key")
    return combine(text, text)


def main() -> None:
    module = AnsibleModule(argument_spec={
        "action": {"type": "str", "required": True, "choices": ["plan", "challenge", "clear", "install", "serve"]},
        "certificate": {"type": "path", "default": ""},
        "served_as": {"type": "str", "default": "/usr/local/etc/haproxy/tls/site.pem"},
        "record": {"type": "path", "default": ""},
        "domains": {"type": "list", "elements": "str", "default": []},
        "directory": {"type": "str", "default": ""},
        "renew_days": {"type": "int", "default": 30},
        "socket": {"type": "path", "default": ""},
        "map": {"type": "str", "default": "/usr/local/etc/haproxy/acme.map"},
        "challenge_data": {"type": "dict", "default": {}},
        "chain": {"type": "path", "default": ""},
        "key": {"type": "path", "default": ""},
        "owner": {"type": "int", "default": 0},
    }, supports_check_mode=True)
    params = module.params
    action = params["action"]
    if module.check_mode and action != "plan":  # plan only reads: it runs in check mode too (status)
        module.exit_json(changed=True)
    try:
        if action == "plan":
            held = describe(read(params["certificate"])) if os.path.exists(params["certificate"]) else None
            plan = due(held, read_record(params["record"]), params["domains"], params["directory"], params["renew_days"])
            module.exit_json(changed=False, due=plan, held=summary(held))
        if action == "challenge":
            set_challenges(params["socket"], params["map"], challenges(params["challenge_data"]))
            module.exit_json(changed=True)
        if action == "clear":
            clear_challenges(params["socket"], params["map"])
            module.exit_json(changed=True)
        if action == "install":
            pem = combine(read(params["chain"]), read(params["key"]))
            held = install(pem, params["certificate"], params["owner"], params["record"],
                           {"domains": sorted(params["domains"]), "directory": params["directory"]})
            serve(params["socket"], params["served_as"], pem)
            module.exit_json(changed=True, held=summary(held))
        changed = serve(params["socket"], params["served_as"], held_pem(params["certificate"]))
        module.exit_json(changed=changed)
    except (CertificateError, HAProxyError, OSError, ValueError) as exc:
        module.fail_json(msg=f"certificate {action}: {exc}")


if __name__ == "__main__":
    main()
