"""An environment's HTTPS certificate (docs/operations.md#https-certificates).

What a certificate holds (its names, its end, its issuer), whether the environment needs a new
one from its ACME server, the HTTP-01 challenges its proxy answers while the ACME server
validates, and putting a certificate into the running proxy with no restart: HAProxy's runtime
API takes it (`set ssl cert` then `commit ssl cert`), for every connection made afterwards; the
connections open keep theirs.

Everything here that comes from the ACME server (the challenges' tokens and key
authorizations, the certificate) is data: checked against its grammar before it reaches the
proxy's command line, where a `;` or a line break would start another command.
"""

from __future__ import annotations

import datetime
import json
import re
from dataclasses import asdict, dataclass

from ansible_collections.greenlight.deploy.plugins.module_utils.files import write_atomically
from ansible_collections.greenlight.deploy.plugins.module_utils.haproxy_runtime import HAProxyError, parse_map, send

# RFC 8555 8.1 and 8.3: a token is base64url (at least 128 bits: 22 characters); a key
# authorization is the token, a dot, and the account key's SHA-256 thumbprint in base64url (43).
TOKEN = re.compile(r"[A-Za-z0-9_-]{22,128}")
KEY_AUTHORIZATION = re.compile(r"([A-Za-z0-9_-]{22,128})\.[A-Za-z0-9_-]{43}")
CHALLENGE_PATH = ".well-known/acme-challenge/"
# A name an HTTP-01 challenge can prove: no wildcard, no address (Let's Encrypt's rules).
DOMAIN = re.compile(r"(?=.{1,253}\Z)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z](?:[a-z0-9-]{0,61}[a-z0-9])?")
PEM_BLOCK = re.compile(r"-----BEGIN ([A-Z ]+)-----\n[A-Za-z0-9+/=\n]+?-----END \1-----")


class CertificateError(Exception):
    """A certificate, a key or a challenge that cannot be used, or a proxy that refused one."""


@dataclass
class Held:
    """What a certificate says of itself."""
    names: list[str]
    not_after: str          # ISO 8601, UTC
    days_left: int
    issuer: str
    self_signed: bool
    fingerprint: str        # SHA-1 of the leaf, as HAProxy shows it (upper-case hex)


def _x509():
    # Imported where a certificate is read: the settings module imports this file (domain_problem)
    # on every host, which need not have cryptography.
    from cryptography import x509
    return x509


def describe(pem: str | bytes, now: datetime.datetime | None = None) -> Held:
    """The first certificate of a PEM text (the leaf of a chain)."""
    x509 = _x509()
    from cryptography.hazmat.primitives import hashes
    data = pem.encode() if isinstance(pem, str) else pem
    try:
        leaf = x509.load_pem_x509_certificates(data)[0]
    except ValueError as exc:
        raise CertificateError(f"not a PEM certificate: {exc}") from exc
    try:
        names = leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName)
    except x509.ExtensionNotFound:
        names = [attribute.value for attribute in leaf.subject.get_attributes_for_oid(x509.NameOID.COMMON_NAME)]
    end = leaf.not_valid_after_utc
    return Held(names=sorted(str(name) for name in names), not_after=end.strftime("%Y-%m-%dT%H:%M:%SZ"),
                days_left=days_left(end, now), issuer=leaf.issuer.rfc4514_string()[:200],
                self_signed=leaf.issuer == leaf.subject, fingerprint=leaf.fingerprint(hashes.SHA1()).hex().upper())


def domain_problem(name: object) -> str:
    if not isinstance(name, str) or not DOMAIN.fullmatch(name):
        return (f"{json.dumps(name)[:80]} is not a domain an HTTP-01 challenge can prove "
                "(lower-case DNS name; no wildcard, no address)")
    return ""


def due(held: Held | None, record: dict, domains: list[str], directory: str, renew_days: int) -> dict:
    """Whether the environment needs a certificate from its ACME server, and why:
    kind "missing" (none from it yet), "changed" (the domains or the directory changed),
    "expiring" (renew_days or fewer left), or "" (not due)."""
    wanted = sorted(domains)
    if held is None or not record:
        return {"kind": "missing", "reason": "no certificate from the ACME server yet"}
    if held.fingerprint != record.get("fingerprint"):
        return {"kind": "changed", "reason": "the certificate on the host is not the one the ACME server issued last "
                                             "(another was put there, or a run was cut short)"}
    if sorted(record.get("domains", [])) != wanted or record.get("directory") != directory or held.names != wanted:
        return {"kind": "changed", "reason": f"the certificate is for {', '.join(held.names)} from "
                                            f"{record.get('directory', '?')}; the settings say {', '.join(wanted)} from {directory}"}
    if held.days_left <= renew_days:
        return {"kind": "expiring", "reason": f"it expires in {held.days_left} days ({held.not_after}); "
                                              f"renewal starts {renew_days} days before"}
    return {"kind": "", "reason": f"valid for {held.days_left} more days ({held.not_after})"}


def read_record(path: str) -> dict:
    """The record of the last certificate the ACME server issued ({} when there is none, or it is damaged:
    a damaged record only makes the next run ask for a new certificate)."""
    try:
        with open(path, encoding="utf-8") as handle:
            record = json.load(handle)
    except (OSError, ValueError):
        return {}
    return record if isinstance(record, dict) else {}


def challenges(challenge_data: object) -> dict[str, str]:
    """{token: key authorization} of the HTTP-01 challenges in acme_certificate's challenge_data
    ({domain: {"http-01": {"resource": ".well-known/acme-challenge/<token>", "resource_value": ...}}})."""
    if not isinstance(challenge_data, dict):
        raise CertificateError("the ACME server's challenges are not a mapping")
    entries = {}
    for domain, kinds in challenge_data.items():
        challenge = kinds.get("http-01") if isinstance(kinds, dict) else None
        if not isinstance(challenge, dict):
            raise CertificateError(f"the ACME server sent no HTTP-01 challenge for {json.dumps(domain)[:80]}")
        resource, value = challenge.get("resource"), challenge.get("resource_value")
        token = resource[len(CHALLENGE_PATH):] if isinstance(resource, str) and resource.startswith(CHALLENGE_PATH) else ""
        if isinstance(value, bytes):
            value = value.decode("ascii", "replace")
        matched = KEY_AUTHORIZATION.fullmatch(value) if isinstance(value, str) else None
        if not TOKEN.fullmatch(token) or matched is None or matched.group(1) != token:
            raise CertificateError(f"the ACME server's challenge for {json.dumps(domain)[:80]} is not an HTTP-01 token "
                                   "and key authorization (RFC 8555 8.3); not given to the proxy")
        entries[token] = value
    return entries


def set_challenges(socket: str, map_path: str, entries: dict[str, str]) -> None:
    """The proxy answers each token's path with its key authorization (the map in memory only:
    the map file stays empty, so a restarted proxy answers none)."""
    for token, value in entries.items():
        if not TOKEN.fullmatch(token) or not KEY_AUTHORIZATION.fullmatch(value):
            raise CertificateError("a challenge that is not a token and key authorization")
    answer = send(socket, [f"clear map {map_path}", *(f"add map {map_path} {token} {value}" for token, value in entries.items())])
    if answer.strip():
        raise HAProxyError(f"the proxy refused the challenges: {answer.strip()[:200]}")
    held = parse_map(send(socket, [f"show map {map_path}"]))
    if held != entries:
        raise HAProxyError("the proxy does not hold the challenges it was given")


def clear_challenges(socket: str, map_path: str) -> None:
    answer = send(socket, [f"clear map {map_path}"])
    if answer.strip():
        raise HAProxyError(f"the proxy refused to clear the challenges: {answer.strip()[:200]}")


def blocks(pem: str, kind: str) -> list[str]:
    return [match.group(0) for match in PEM_BLOCK.finditer(pem.replace("\r\n", "\n")) if kind in match.group(1)]


def combine(chain: str, key: str) -> str:
    """One PEM of the certificate chain and its key, as HAProxy reads it: checked (the leaf and
    the key match), with no blank line (the runtime API's payload ends at one)."""
    from cryptography.hazmat.primitives import serialization
    certificates, keys = blocks(chain, "CERTIFICATE"), blocks(key, "PRIVATE KEY")
    if not certificates or len(keys) != 1:
        raise CertificateError("a certificate chain and exactly one private key are needed")
    leaf = _x509().load_pem_x509_certificate(certificates[0].encode())
    try:
        private = serialization.load_pem_private_key(keys[0].encode(), password=None)
    except (ValueError, TypeError) as exc:
        raise CertificateError(f"the private key cannot be read: {exc}") from exc
    public = serialization.PublicFormat.SubjectPublicKeyInfo
    if (leaf.public_key().public_bytes(serialization.Encoding.DER, public)
            != private.public_key().public_bytes(serialization.Encoding.DER, public)):
        raise CertificateError("the private key is not the certificate's")
    return "\n".join([*certificates, keys[0]]) + "\n"


def served_summary(socket: str, path: str = "/usr/local/etc/haproxy/tls/site.pem",
                   now: datetime.datetime | None = None) -> dict:
    """The certificate the running proxy serves: its names, end, days left and issuer ({} when
    the proxy does not answer)."""
    try:
        return parse_ssl_cert(send(socket, [f"show ssl cert {path}"]), now)
    except HAProxyError:
        return {}


def ssl_cert_fields(answer: str) -> dict[str, str]:
    """`show ssl cert <file>`'s "Name: value" lines."""
    return dict(line.split(": ", 1) for line in answer.splitlines() if ": " in line)


def parse_ssl_cert(answer: str, now: datetime.datetime | None = None) -> dict:
    """`show ssl cert <file>` as {names, issuer, not_after, days_left, self_signed} ({} for an error answer)."""
    fields = ssl_cert_fields(answer)
    try:
        end = datetime.datetime.strptime(fields.get("notAfter", ""), "%b %d %H:%M:%S %Y %Z").replace(tzinfo=datetime.timezone.utc)
    except ValueError:
        return {}
    names = [name.strip().removeprefix("DNS:") for name in fields.get("Subject Alternative Name", "").split(",")
             if name.strip().startswith("DNS:")]
    return {"names": names or [fields.get("Subject", "").removeprefix("/CN=")], "issuer": fields.get("Issuer", ""),
            "not_after": end.strftime("%Y-%m-%dT%H:%M:%SZ"), "days_left": days_left(end, now),
            "self_signed": fields.get("Issuer") == fields.get("Subject")}


def days_left(end: datetime.datetime, now: datetime.datetime | None = None) -> int:
    return int((end - (now or datetime.datetime.now(datetime.timezone.utc))).total_seconds() // 86400)


def serve(socket: str, path: str, pem: str) -> bool:
    """Have the running proxy serve `pem` (chain and key, from combine()) for the certificate it
    loaded from `path`, unless it does already; True when it changed."""
    answer = send(socket, [f"show ssl cert {path}"])
    serving = ssl_cert_fields(answer).get("SHA1 FingerPrint", "").strip()
    if not re.fullmatch(r"[0-9A-F]{40}", serving):
        raise HAProxyError(f"unexpected answer to 'show ssl cert': {answer.strip()[:200]!r}")
    if serving == describe(pem).fingerprint:
        return False
    if "\n\n" in pem or not pem.startswith("-----BEGIN ") or any(c in path for c in "; \n"):
        raise CertificateError("refusing a certificate with a blank line, or a path with a separator")
    answer = send(socket, [f"set ssl cert {path} <<\n{pem}"])
    if "Transaction created" not in answer and "Transaction updated" not in answer:
        send(socket, [f"abort ssl cert {path}"])
        raise HAProxyError(f"the proxy refused the certificate: {answer.strip()[:200]}")
    answer = send(socket, [f"commit ssl cert {path}"])
    if "Success!" not in answer:
        send(socket, [f"abort ssl cert {path}"])
        raise HAProxyError(f"the proxy did not take the certificate: {answer.strip()[:200]}")
    return True


def install(pem: str, certificate_path: str, owner: int, record_path: str, record: dict) -> Held:
    """Write the certificate where a (re)started proxy reads it, then the record of it; each
    replaced in one step, so a kill leaves the old pair or the new certificate with the old
    record (the next run sees the record does not match and asks again)."""
    held = describe(pem)
    write_atomically(certificate_path, pem, mode=0o600, owner=owner)
    write_atomically(record_path, json.dumps({**record, "fingerprint": held.fingerprint, "not_after": held.not_after},
                                             sort_keys=True) + "\n", mode=0o600)
    return held


def summary(held: Held | None) -> dict:
    return asdict(held) if held else {}
