"""HTTPS certificates from an ACME server: Debian's pebble on this machine, through its real HTTP-01
validation (it fetches each token from staging's proxy on the HTTP port, finding the test domains
at 127.0.0.1 through pebble-challtestsrv's DNS), with no always-valid switch.

One module: staging gets its certificate at a deploy, renews it (pebble's are short-lived:
20 days, under the 30 of proxy_acme_renew_days) under HTTPS load with no failed request and no
proxy restart, keeps it and notifies when pebble is down, and survives a kill midway through a
renewal. sslyze, a real scanner, judges the TLS settings; `greenlight status` shows what is served.
"""

from __future__ import annotations

import datetime
import json
import os
import signal
import socket
import ssl
import subprocess
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import yaml
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import NameOID

from greenlight.load import Load

from . import stack
from .stack import INVENTORIES, PORTS, ROOT, greenlight, wait_for_log
from .stack import run_greenlight as run

pytestmark = pytest.mark.usefixtures("both_on_v1", "command_inventories")

DOMAIN = "staging.greenlight.test"
PEBBLE = ROOT / "pebble"
DIRECTORY = "https://127.0.0.1:14000/dir"
HTTPS = PORTS["staging"]["proxy_https_port"]
HTTP = PORTS["staging"]["proxy_http_port"]
SSLYZE = stack.REPO / ".cache" / "sslyze" / "bin" / "sslyze"  # make sslyze
SETTINGS = INVENTORIES / "staging" / "group_vars" / "all" / "zz-acme.yml"
# A client outside this machine (tests/e2e/stack.py veth_namespace): this machine's own requests are not redirected.
NAMESPACE, HOST_SIDE, CLIENT_SIDE = "gl-e2e-tls", "gl-tls-h", "gl-tls-c"
HOST_ADDRESS, CLIENT_ADDRESS = "10.203.7.1", "10.203.7.2"


def own_ca(folder: Path) -> tuple[Path, Path, Path]:
    """A CA and a certificate for pebble's own HTTPS (the ACME API at 127.0.0.1): greenlight
    trusts it through proxy_acme_ca_file, as it would a private ACME server's."""
    key = ec.generate_private_key(ec.SECP256R1())
    now = datetime.datetime.now(datetime.timezone.utc)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "greenlight e2e ACME API CA")])
    ca = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
          .serial_number(x509.random_serial_number()).not_valid_before(now - datetime.timedelta(hours=1))
          .not_valid_after(now + datetime.timedelta(days=2))
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True).sign(key, hashes.SHA256()))
    server_key = ec.generate_private_key(ec.SECP256R1())
    server = (x509.CertificateBuilder().subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")]))
              .issuer_name(name).public_key(server_key.public_key()).serial_number(x509.random_serial_number())
              .not_valid_before(now - datetime.timedelta(hours=1)).not_valid_after(now + datetime.timedelta(days=2))
              .add_extension(x509.SubjectAlternativeName([x509.DNSName("localhost"),
                                                          x509.IPAddress(__import__("ipaddress").ip_address("127.0.0.1"))]),
                             critical=False).sign(key, hashes.SHA256()))
    paths = folder / "api-ca.pem", folder / "api.pem", folder / "api.key"
    paths[0].write_bytes(ca.public_bytes(serialization.Encoding.PEM))
    paths[1].write_bytes(server.public_bytes(serialization.Encoding.PEM))
    paths[2].write_bytes(server_key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                                                  serialization.NoEncryption()))
    return paths


class Pebble:
    """pebble and its challenge test server (as DNS: every name is 127.0.0.1), started and ended by the test."""

    def __init__(self) -> None:
        PEBBLE.mkdir(parents=True, exist_ok=True)
        self.api_ca, api_cert, api_key = own_ca(PEBBLE)
        self.config = PEBBLE / "pebble.json"
        self.config.write_text(json.dumps({"pebble": {
            "listenAddress": "127.0.0.1:14000", "managementListenAddress": "127.0.0.1:15000",
            "certificate": str(api_cert), "privateKey": str(api_key),
            # HTTP-01 validation connects to the domain on this port: staging's proxy.
            "httpPort": HTTP, "tlsPort": 15001, "ocspResponderURL": "", "externalAccountBindingRequired": False,
            # Short-lived: 20 days, so proxy_acme_renew_days' 30 makes every renewal due.
            "certificateValidityPeriod": 20 * 86400}}))
        self.dns: subprocess.Popen | None = None
        self.server: subprocess.Popen | None = None

    def start(self) -> None:
        log = (PEBBLE / "challtestsrv.log").open("a")
        self.dns = subprocess.Popen(["pebble-challtestsrv", "-defaultIPv4", "127.0.0.1", "-defaultIPv6", "",
                                     "-dns01", "127.0.0.1:18053", "-http01", "", "-https01", "", "-tlsalpn01", "",
                                     "-management", "127.0.0.1:18055"], stdout=log, stderr=log)
        self.start_server()

    def start_server(self) -> None:
        log = (PEBBLE / "pebble.log").open("a")
        # No random sleep before validating; every order validated again (no reuse of an earlier authorization).
        self.server = subprocess.Popen(["pebble", "-config", str(self.config), "-dnsserver", "127.0.0.1:18053"],
                                       stdout=log, stderr=log, env={**os.environ, "PEBBLE_VA_NOSLEEP": "1",
                                                                    "PEBBLE_AUTHZREUSE": "0"})
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", 14000), timeout=1).close()
                return
            except OSError:
                time.sleep(0.1)
        raise AssertionError("pebble did not start: " + (PEBBLE / "pebble.log").read_text()[-2000:])

    def point_dns(self, address: str) -> None:
        """Every name resolves to `address` ("": to none) from now on."""
        import urllib.request
        request = urllib.request.Request("http://127.0.0.1:18055/set-default-ipv4", method="POST",
                                         data=json.dumps({"ip": address}).encode())
        with urllib.request.urlopen(request, timeout=10) as answer:
            assert answer.status == 200

    def stop_server(self) -> None:
        if self.server is not None:
            self.server.send_signal(signal.SIGTERM)
            self.server.wait(timeout=20)
            self.server = None

    def root(self) -> Path:
        """pebble's root of the certificates it issues (made at each start), for the clients' trust."""
        context = ssl.create_default_context(cafile=str(self.api_ca))
        import urllib.request
        with urllib.request.urlopen("https://127.0.0.1:15000/roots/0", context=context, timeout=10) as answer:
            path = PEBBLE / "issuer-root.pem"
            path.write_bytes(answer.read())
        return path

    def validations(self) -> int:
        """The HTTP-01 validations pebble made (its log), to show none was skipped."""
        text = (PEBBLE / "pebble.log").read_text()
        return text.count("Attempting to validate w/ HTTP")

    def stop(self) -> None:
        self.stop_server()
        if self.dns is not None:
            self.dns.send_signal(signal.SIGTERM)
            self.dns.wait(timeout=20)


@pytest.fixture(scope="module")
def pebble() -> Iterator[Pebble]:
    server = Pebble()
    server.start()
    SETTINGS.write_text(yaml.safe_dump({
        "proxy_acme_domains": [DOMAIN], "proxy_acme_email": "ops@greenlight.test", "proxy_acme_directory": DIRECTORY,
        "proxy_acme_ca_file": str(server.api_ca), "proxy_hsts_seconds": 300,
        # No cron entry on this machine from the test.
        "proxy_acme_schedule": ""}))
    try:
        yield server
    finally:
        server.stop()
        SETTINGS.unlink(missing_ok=True)
        # staging as the rest of the suite has it (the last test leaves it so when it passes):
        # plain HTTP answered, a self-signed certificate.
        if (ROOT / "e2e-staging" / "acme" / "certificate.json").exists():
            done = run("deploy", "staging", "v1")
            assert done.returncode == 0, done.stdout + done.stderr


def context(root: Path) -> ssl.SSLContext:
    tls = ssl.create_default_context(cafile=str(root))
    return tls


def served(root: Path) -> tuple[x509.Certificate, dict[str, str]]:
    """The certificate staging's HTTPS port presents for DOMAIN, verified against pebble's root
    alone (so the proxy sends the intermediate: the chain is complete), and an answer's headers."""
    with socket.create_connection(("127.0.0.1", HTTPS), timeout=10) as plain:
        with context(root).wrap_socket(plain, server_hostname=DOMAIN) as tls:
            leaf = x509.load_der_x509_certificate(tls.getpeercert(binary_form=True))
            tls.sendall(f"GET /api/items HTTP/1.1\r\nHost: {DOMAIN}\r\nConnection: close\r\n\r\n".encode())
            head = b""
            while b"\r\n\r\n" not in head:
                head += tls.recv(4096)
    lines = head.split(b"\r\n\r\n")[0].decode().split("\r\n")
    headers = {line.split(":", 1)[0].lower(): line.split(":", 1)[1].strip() for line in lines[1:]}
    headers[":status"] = lines[0].split()[1]
    return leaf, headers


def proxy_started() -> str:
    return stack.docker("inspect", "-f", "{{.State.StartedAt}}", "e2e-staging-proxy").strip()


def test_a_deploy_gets_the_certificate_through_http01_and_serves_it_with_its_chain(pebble: Pebble) -> None:
    done = run("deploy", "staging", "v1")
    assert done.returncode == 0, done.stdout + done.stderr
    leaf, headers = served(pebble.root())
    assert leaf.extensions.get_extension_for_class(x509.SubjectAlternativeName).value.get_values_for_type(x509.DNSName) == [DOMAIN]
    assert headers[":status"] == "200"
    assert headers["strict-transport-security"] == "max-age=300"
    assert pebble.validations() >= 1
    keys = ROOT / "e2e-staging" / "acme"
    assert oct(keys.stat().st_mode & 0o777) == "0o700"
    assert {path.name: oct(path.stat().st_mode & 0o777) for path in keys.glob("*.key")} == {
        "account.key": "0o600", "certificate.key": "0o600"}
    status = run("status", "--json")
    assert status.returncode == 0, status.stdout + status.stderr
    shown = json.loads(status.stdout)["staging"]["certificate"]
    assert shown["names"] == [DOMAIN] and 18 <= shown["days_left"] <= 20 and not shown["self_signed"]


def test_plain_http_from_outside_goes_to_https_but_the_challenges_and_this_machine_do_not() -> None:
    script = ("import http.client,sys; c=http.client.HTTPConnection(sys.argv[1],int(sys.argv[2]),timeout=5);"
              "c.request('GET',sys.argv[3],headers={'Host':sys.argv[4]}); r=c.getresponse();"
              "print(r.status, r.getheader('Location') or '')")
    with stack.veth_namespace(NAMESPACE, HOST_SIDE, CLIENT_SIDE, HOST_ADDRESS, CLIENT_ADDRESS):
        def get(path: str, host: str = f"{DOMAIN}:{HTTP}") -> str:
            return subprocess.run(["ip", "netns", "exec", NAMESPACE, "python3", "-c", script, HOST_ADDRESS, str(HTTP),
                                   path, host], capture_output=True, text=True, check=True).stdout.strip()
        assert get("/api/items?page=2") == f"301 https://{DOMAIN}:{HTTPS}/api/items?page=2"
        # A name that is not the certificate's is sent to the certificate's first, not echoed.
        assert get("/x", host="evil.example/y?") == f"301 https://{DOMAIN}:{HTTPS}/x"
        # A challenge path with no token held: not redirected, the app's own answer.
        assert not get("/.well-known/acme-challenge/" + "A" * 43).startswith("301")
    status, _ = stack.get("staging", "/api/items")
    assert status == 200


def test_tls_settings_pass_a_real_scanner(pebble: Pebble) -> None:
    report = ROOT / "sslyze.json"
    done = subprocess.run([str(SSLYZE), "--quiet", f"--json_out={report}", "--mozilla_config=intermediate", "--sslv2", "--sslv3", "--tlsv1", "--tlsv1_1",
                           "--tlsv1_2", "--tlsv1_3", "--certinfo", f"--certinfo_ca_file={pebble.root()}",
                           f"{DOMAIN}:{HTTPS}{{127.0.0.1}}"], capture_output=True, text=True, timeout=300)
    # Exit 0: the settings comply with Mozilla's "intermediate" profile, as sslyze checks it.
    assert done.returncode == 0, done.stdout + done.stderr
    scans = json.loads(report.read_text())["server_scan_results"][0]["scan_result"]

    def accepted(name: str) -> list[str]:
        return [suite["cipher_suite"]["name"] for suite in scans[name]["result"]["accepted_cipher_suites"]]
    for old in ("ssl_2_0_cipher_suites", "ssl_3_0_cipher_suites", "tls_1_0_cipher_suites", "tls_1_1_cipher_suites"):
        assert accepted(old) == [], old
    tls12 = accepted("tls_1_2_cipher_suites")
    assert tls12 and all("ECDHE" in name and ("GCM" in name or "CHACHA20" in name) for name in tls12), tls12
    assert accepted("tls_1_3_cipher_suites")
    deployment = scans["certificate_info"]["result"]["certificate_deployments"][0]
    # The chain the proxy sends is complete: it validates against pebble's root alone, for DOMAIN.
    assert len(deployment["received_certificate_chain"]) >= 2
    custom = [(trust["trust_store"]["path"], trust["was_validation_successful"])
              for trust in deployment["path_validation_results"]]
    assert (str(pebble.root()), True) in custom, custom
    print(f"sslyze: TLS 1.2 {tls12}; TLS 1.3 {accepted('tls_1_3_cipher_suites')}; TLS 1.0/1.1, SSL 2/3: none")


def test_a_renewal_under_https_load_swaps_the_certificate_with_no_failed_request_and_no_restart(pebble: Pebble) -> None:
    root = pebble.root()
    before, _ = served(root)
    started, worker = proxy_started(), stack.proxy_worker("staging")
    # 100 requests/s, the benchmark's rate (the suite's others run 50: stack.LOAD_RATE): a renewal's
    # Ansible is light next to a deploy's.
    load = Load(f"https://127.0.0.1:{HTTPS}", rate=100.0, workers=16, read_path="/api/items",
                max_seconds=stack.LOAD_MAX_SECONDS, tls=context(root), server_name=DOMAIN, connection_requests=20)
    with load:
        time.sleep(2)
        done = run("certificate", "staging")
        time.sleep(2)
    report = load.report
    assert done.returncode == 0, done.stdout + done.stderr
    assert "renewed" in done.stdout
    after, _ = served(root)
    assert after.serial_number != before.serial_number
    # No restart, no reload: the same container and the same HAProxy worker serve the new certificate.
    assert (proxy_started(), stack.proxy_worker("staging")) == (started, worker)
    stack.assert_no_failed(report.summary(), env="staging")
    print(f"renewal under {report.summary()}")


def test_a_failed_renewal_keeps_the_certificate_and_notifies(pebble: Pebble) -> None:
    # The domain no longer points here (its DNS answers no address): the ACME server cannot
    # validate. The ACME server itself down fails the same way, after community.crypto's retries
    # (20, 10 s apart: 206.8 s measured; docs/operations.md#https-certificates), too long for this suite.
    root = pebble.root()
    before, _ = served(root)
    with stack.webhook_receiver() as (port, bodies):
        notify = INVENTORIES / "production" / "group_vars" / "all" / "zz-notify.yml"
        notify.write_text(f"greenlight_notify_webhook_url: http://127.0.0.1:{port}/hook\n")
        pebble.point_dns("")
        try:
            done = run("certificate", "staging", "--scheduled")
        finally:
            notify.unlink()
            pebble.point_dns("127.0.0.1")
    assert done.returncode != 0, done.stdout
    assert "serves the one it had" in done.stdout + done.stderr
    assert any("certificate" in json.loads(body)["text"] for body in bodies), bodies
    after, _ = served(root)
    assert after.serial_number == before.serial_number


def test_a_renewal_killed_midway_leaves_the_old_certificate_and_the_next_run_finishes(pebble: Pebble) -> None:
    root = pebble.root()
    before, _ = served(root)
    after_line = len(stack.log_lines())
    process = greenlight("certificate", "staging")
    wait_for_log(r"task: Have the ACME server validate the challenges", after_line, timeout=300, process=process)
    stack.kill_tree(process)
    assert served(root)[0].serial_number == before.serial_number
    done = run("certificate", "staging")
    assert done.returncode == 0, done.stdout + done.stderr
    renewed, _ = served(root)
    assert renewed.serial_number != before.serial_number
    # A proxy restarted now reads the files on the host, which every run since the first
    # issuance wrote with the redirect and HSTS: the renewed certificate, HSTS on.
    stack.docker("restart", "e2e-staging-proxy")
    deadline = time.monotonic() + 30
    while True:
        try:
            leaf, headers = served(root)
            break
        except OSError:
            assert time.monotonic() < deadline
            time.sleep(0.2)
    assert leaf.serial_number == renewed.serial_number and headers["strict-transport-security"] == "max-age=300"


def test_without_domains_the_environment_goes_back_to_a_self_signed_certificate(pebble: Pebble) -> None:
    SETTINGS.unlink()
    done = run("deploy", "staging", "v1")
    assert done.returncode == 0, done.stdout + done.stderr
    status = json.loads(run("status", "--json").stdout)["staging"]["certificate"]
    assert status["self_signed"], status
    assert not (ROOT / "e2e-staging" / "acme" / "certificate.json").exists()
    assert stack.get("staging", "/api/items")[0] == 200
