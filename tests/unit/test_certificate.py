"""plugins/module_utils/certificate.py: what a certificate holds, when a new one is due, the ACME
server's challenges as data, and the PEM the proxy is given."""

from __future__ import annotations

import datetime

import pytest
from ansible_collections.greenlight.deploy.plugins.module_utils import certificate
from ansible_collections.greenlight.deploy.plugins.module_utils.certificate import CertificateError
from ansible_collections.greenlight.deploy.plugins.module_utils.settings import problems

from .helpers import certificate_pem

NOW = datetime.datetime(2026, 12, 7, 12, 0, tzinfo=datetime.timezone.utc)
TOKEN = "evaGxfADs6pSRb2LAv9IZf17Dt3juxGJ-PCt92wr-oA"
THUMB = "9jg46WB3rR_AHD-EBXdN7cBkH1WOu0tA3M9fm21mqTI"
DIRECTORY = "https://acme.example/dir"


def pem_pair(names: list[str], days: int) -> tuple[str, str]:
    """A certificate issued by "Test CA" (not self-signed), ending `days` and an hour from NOW, and its key."""
    return certificate_pem(tuple(names), days=days + 1 / 24, issuer="Test CA", now=NOW)


def record(names: list[str]) -> dict:
    return {"domains": names, "directory": DIRECTORY}


def test_describe_reads_the_names_end_and_issuer() -> None:
    cert, _ = pem_pair(["b.example.com", "a.example.com"], 40)
    held = certificate.describe(cert, NOW)
    assert held.names == ["a.example.com", "b.example.com"]
    assert held.days_left == 40 and held.not_after.startswith("2027-01-16") and not held.self_signed
    assert len(held.fingerprint) == 40 and held.fingerprint == held.fingerprint.upper()


@pytest.mark.parametrize("days, names, saved, directory, kind", [
    (60, ["a.example.com"], ["a.example.com"], DIRECTORY, ""),
    (30, ["a.example.com"], ["a.example.com"], DIRECTORY, "expiring"),
    (31, ["a.example.com"], ["a.example.com"], DIRECTORY, ""),
    (60, ["a.example.com"], ["a.example.com"], "https://other.example/dir", "changed"),   # staging -> production directory
    (60, ["a.example.com"], ["a.example.com", "b.example.com"], DIRECTORY, "changed"),    # a domain added
    (60, ["localhost"], ["a.example.com"], DIRECTORY, "changed"),                          # the self-signed one came back
])
def test_a_certificate_is_due_when_it_ends_soon_or_the_settings_changed(days, names, saved, directory, kind) -> None:
    held = certificate.describe(pem_pair(names, days)[0], NOW)
    recorded = {**record(saved), "fingerprint": held.fingerprint}
    assert certificate.due(held, recorded, ["a.example.com"], directory, 30)["kind"] == kind


def test_no_certificate_or_no_record_is_missing() -> None:
    held = certificate.describe(pem_pair(["a.example.com"], 60)[0], NOW)
    assert certificate.due(None, record(["a.example.com"]), ["a.example.com"], DIRECTORY, 30)["kind"] == "missing"
    assert certificate.due(held, {}, ["a.example.com"], DIRECTORY, 30)["kind"] == "missing"


def test_a_certificate_other_than_the_one_recorded_is_ordered_again() -> None:
    # Another certificate put in its place (the user's own PEM for a while), or a run cut short
    # after writing the new certificate and before its record: valid names, not the one issued.
    issued = certificate.describe(pem_pair(["a.example.com"], 60)[0], NOW)
    other = certificate.describe(pem_pair(["a.example.com"], 60)[0], NOW)
    recorded = {**record(["a.example.com"]), "fingerprint": issued.fingerprint}
    assert certificate.due(issued, recorded, ["a.example.com"], DIRECTORY, 30)["kind"] == ""
    assert certificate.due(other, recorded, ["a.example.com"], DIRECTORY, 30)["kind"] == "changed"


def test_a_damaged_record_is_no_record(tmp_path) -> None:
    (tmp_path / "r.json").write_text("{not json")
    (tmp_path / "l.json").write_text("[1]")
    assert certificate.read_record(str(tmp_path / "r.json")) == {}
    assert certificate.read_record(str(tmp_path / "l.json")) == {}
    assert certificate.read_record(str(tmp_path / "absent.json")) == {}


def challenge(resource: str, value: object) -> dict:
    return {"a.example.com": {"http-01": {"resource": resource, "resource_value": value}}}


def test_the_challenges_are_read_as_token_and_key_authorization() -> None:
    path = f".well-known/acme-challenge/{TOKEN}"
    assert certificate.challenges(challenge(path, f"{TOKEN}.{THUMB}")) == {TOKEN: f"{TOKEN}.{THUMB}"}
    assert certificate.challenges(challenge(path, f"{TOKEN}.{THUMB}".encode())) == {TOKEN: f"{TOKEN}.{THUMB}"}


@pytest.mark.parametrize("resource, value", [
    (f".well-known/acme-challenge/{TOKEN}", f"{TOKEN}.{THUMB}; set ssl cert x"),          # a second command
    (f".well-known/acme-challenge/{TOKEN}", f"{TOKEN}.{THUMB}\nclear map x"),              # a second line
    (f".well-known/acme-challenge/{TOKEN} x", f"{TOKEN}.{THUMB}"),
    (f".well-known/acme-challenge/{TOKEN};", f"{TOKEN};.{THUMB}"),
    (f".well-known/acme-challenge/{TOKEN}", f"{'B' * 43}.{THUMB}"),                        # another token's answer
    (f"../../{TOKEN}", f"{TOKEN}.{THUMB}"),
    (".well-known/acme-challenge/short", "short." + THUMB),                                # under 128 bits
    (f".well-known/acme-challenge/{TOKEN}", None),
])
def test_a_hostile_or_malformed_challenge_never_reaches_the_proxy(resource, value) -> None:
    with pytest.raises(CertificateError):
        certificate.challenges(challenge(resource, value))


def test_a_challenge_of_another_kind_is_refused() -> None:
    with pytest.raises(CertificateError, match="no HTTP-01"):
        certificate.challenges({"a.example.com": {"dns-01": {}}})
    with pytest.raises(CertificateError):
        certificate.challenges(["not", "a", "mapping"])


def test_combine_puts_the_chain_then_its_own_key_with_no_blank_line() -> None:
    cert, key = pem_pair(["a.example.com"], 60)
    intermediate, _ = pem_pair(["Intermediate"], 600)
    combined = certificate.combine(cert + "\n\n" + intermediate, key)
    assert "\n\n" not in combined and combined.index(cert.strip()) < combined.index(intermediate.strip()) < combined.index("PRIVATE KEY")
    other_key = pem_pair(["x.example.com"], 60)[1]
    with pytest.raises(CertificateError, match="not the certificate's"):
        certificate.combine(cert, other_key)
    with pytest.raises(CertificateError, match="exactly one private key"):
        certificate.combine(cert, key + key)


def test_install_writes_the_certificate_then_its_record(tmp_path) -> None:
    cert, key = pem_pair(["a.example.com"], 60)
    pem = certificate.combine(cert, key)
    held = certificate.install(pem, str(tmp_path / "site.pem"), 0, str(tmp_path / "record.json"), record(["a.example.com"]))
    assert (tmp_path / "site.pem").read_text() == pem and oct((tmp_path / "site.pem").stat().st_mode & 0o777) == "0o600"
    saved = certificate.read_record(str(tmp_path / "record.json"))
    assert saved["fingerprint"] == held.fingerprint and saved["domains"] == ["a.example.com"]


SHOW_SSL_CERT = """Filename: /usr/local/etc/haproxy/tls/site.pem
Status: Used
Serial: 246A2620AFF637A817BE333925E7825312CEE969
notBefore: Dec  7 21:00:12 2026 GMT
notAfter: Dec 27 21:00:12 2026 GMT
Subject Alternative Name: DNS:shop.example.com, DNS:www.shop.example.com
Algorithm: EC256
SHA1 FingerPrint: E1EE49B003067B6495DAE4EDBF06B771CC1B846F
Subject: /CN=shop.example.com
Issuer: /CN=Pebble Intermediate CA 645fc5
"""


def test_what_the_proxy_serves_is_read_from_show_ssl_cert() -> None:
    shown = certificate.parse_ssl_cert(SHOW_SSL_CERT, NOW)
    assert shown == {"names": ["shop.example.com", "www.shop.example.com"], "issuer": "/CN=Pebble Intermediate CA 645fc5",
                     "not_after": "2026-12-27T21:00:12Z", "days_left": 20, "self_signed": False}
    assert certificate.parse_ssl_cert("Can't display the certificate: Not found or the certificate is a bundle!\n") == {}


@pytest.mark.parametrize("settings, problem", [
    ({"proxy_acme_domains": ["shop.example.com"], "proxy_acme_email": "ops@example.com"}, ""),
    ({"proxy_acme_domains": ["*.example.com"], "proxy_acme_email": "ops@example.com"}, "no wildcard"),
    ({"proxy_acme_domains": ["Shop.example.com"], "proxy_acme_email": "ops@example.com"}, "lower-case"),
    ({"proxy_acme_domains": ["203.0.113.7"], "proxy_acme_email": "ops@example.com"}, "no address"),
    ({"proxy_acme_domains": ["a.example.com", "a.example.com"], "proxy_acme_email": "ops@example.com"}, "each name once"),
    ({"proxy_acme_domains": ["shop.example.com"]}, "proxy_acme_email"),
    ({"proxy_acme_domains": ["shop.example.com"], "proxy_acme_email": "ops@example.com",
      "proxy_tls_certificate": "/etc/ssl/site.pem"}, "one source of the certificate"),
    ({"proxy_acme_domains": ["shop.example.com"], "proxy_acme_email": "ops@example.com",
      "proxy_acme_directory": "http://acme.example/dir"}, "an https:// URL"),
    ({"proxy_acme_domains": ["shop.example.com"], "proxy_acme_email": "ops@example.com",
      "proxy_acme_ca_file": "ca.pem"}, "proxy_acme_ca_file"),
    ({"proxy_acme_renew_days": 90}, "from 1 to 60"),
    # Let's Encrypt validates on port 80 only: staging's 8080 on production's host never passes.
    ({"proxy_acme_domains": ["staging.example.com"], "proxy_acme_email": "ops@example.com", "proxy_http_port": 8080},
     "validates on port 80 only"),
    ({"proxy_acme_domains": ["staging.example.com"], "proxy_acme_email": "ops@example.com", "proxy_http_port": 8080,
      "proxy_acme_directory": "https://acme.internal.example/dir"}, ""),
    # As -e or a quoted YAML value gives them.
    ({"proxy_acme_domains": ["shop.example.com"], "proxy_acme_email": "ops@example.com", "proxy_http_port": "80"}, ""),
    ({"proxy_acme_domains": ["staging.example.com"], "proxy_acme_email": "ops@example.com", "proxy_http_port": 8080,
      "proxy_acme_directory": "https://acme.internal.example/dir", "proxy_acme_staging": "false"}, ""),
    ({"proxy_acme_domains": ["staging.example.com"], "proxy_acme_email": "ops@example.com", "proxy_http_port": 8080,
      "proxy_acme_directory": "https://acme.internal.example/dir", "proxy_acme_staging": "yes"}, "port 80 only"),
    ({"proxy_hsts_seconds": -1}, "two years"),
])
def test_the_acme_settings_are_checked(settings, problem) -> None:
    found = problems(settings)
    if problem:
        assert any(problem in line for line in found), found
    else:
        assert found == []
