"""Small builders shared by the unit tests of module_utils: a proxy, containers, observed weights,
and a playbook that runs greenlight's own modules."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

from greenlight import COLLECTIONS_DIR

from ansible_collections.greenlight.deploy.plugins.module_utils.docker_api import Container
from ansible_collections.greenlight.deploy.plugins.module_utils.traffic import Observed, Pool, Proxy

PROJECT = Path(__file__).resolve().parents[2]
PREFIX = "shop-production"
COLORS = ("blue", "green")
V1, V2, V3 = "a" * 40, "b" * 40, "c" * 40


def proxy(tmp: str = "/nonexistent") -> Proxy:
    return Proxy(socket=f"{tmp}/admin.sock", colors=COLORS,
                 pools=(Pool("api", "preview_api", "backend", f"{PREFIX}-backend"),
                        Pool("web", "preview_web", "frontend", f"{PREFIX}-frontend")),
                 sticky_map="/usr/local/etc/haproxy/sticky.map", map_file=f"{tmp}/sticky.map",
                 state_file=f"{tmp}/servers.state",
                 live_color_file=f"{tmp}/live-color", config_file=f"{tmp}/haproxy.cfg")


def container(part: str, color: str, commit: str, version: str, state: str = "running") -> Container:
    return Container(f"{PREFIX}-{part}-{color}", state, f"shop-{part}:{commit[:12]}", f"sha256:{part}{commit[:4]}",
                     {"greenlight.commit": commit, "greenlight.version": version, "greenlight.part": part})


def color(name: str, commit: str, version: str, state: str = "running") -> dict[str, Container]:
    """Both parts of one color running one release."""
    return {c.name: c for c in (container("backend", name, commit, version, state),
                                container("frontend", name, commit, version, state))}


def observed(weights: dict[str, int], preview: str = "", sticky: bool = False,
             status: dict[str, str] | None = None, maintenance: bool = False) -> Observed:
    """What a running proxy reports: the same weights in every users' pool, the preview on one color."""
    status = status or {}
    servers = {}
    for pool, preview_pool in (("api", "preview_api"), ("web", "preview_web")):
        servers[pool] = {c: {"weight": weights.get(c, 0), "status": status.get(c, "UP")} for c in COLORS}
        servers[preview_pool] = {c: {"weight": 100 if c == preview else 0, "status": "UP"} for c in COLORS}
    return Observed(servers, sticky, maintenance)


def run_tasks(folder: Path, tasks: list[dict], *args: str) -> subprocess.CompletedProcess:
    """A real ansible-playbook on localhost running `tasks` with greenlight's collection (its
    modules by their full names, greenlight.deploy.*), and no ansible.cfg; `args` go to
    ansible-playbook (--check, say)."""
    playbook = folder / "tasks.yml"
    playbook.write_text(json.dumps([{"hosts": "localhost", "gather_facts": False, "tasks": tasks}]))
    return subprocess.run([str(Path(sys.executable).parent / "ansible-playbook"), "-i", "localhost,", "-c", "local",
                           "-e", f"ansible_python_interpreter={sys.executable}", *args, str(playbook)],
                          capture_output=True, text=True, timeout=120,
                          env={**os.environ, "ANSIBLE_COLLECTIONS_PATH": str(COLLECTIONS_DIR),
                               "ANSIBLE_CONFIG": str(folder / "none.cfg"), "ANSIBLE_NOCOLOR": "1"})


def certificate_pem(names: tuple[str, ...] = (), addresses: tuple[str, ...] = (), days: float = 1, issuer: str = "",
                    now=None, key=None) -> tuple[str, str]:
    """A certificate (PEM) for DNS names and IP addresses and its ECDSA key: self-signed and a CA
    unless `issuer` names another (then signed by its own key all the same: its chain is not checked)."""
    import datetime
    import ipaddress

    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = key or ec.generate_private_key(ec.SECP256R1())
    now = now or datetime.datetime.now(datetime.timezone.utc)
    subject = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, (names or addresses)[0])])
    alternative = [x509.DNSName(name) for name in names] + [x509.IPAddress(ipaddress.ip_address(a)) for a in addresses]
    cert = (x509.CertificateBuilder().subject_name(subject)
            .issuer_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, issuer)]) if issuer else subject)
            .public_key(key.public_key()).serial_number(x509.random_serial_number())
            .not_valid_before(now - datetime.timedelta(days=1)).not_valid_after(now + datetime.timedelta(days=days))
            .add_extension(x509.SubjectAlternativeName(alternative), critical=False)
            .add_extension(x509.BasicConstraints(ca=not issuer, path_length=None), critical=True)
            .sign(key, hashes.SHA256()))
    return (cert.public_bytes(serialization.Encoding.PEM).decode(),
            key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8,
                              serialization.NoEncryption()).decode())
