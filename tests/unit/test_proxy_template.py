"""roles/proxy/templates/haproxy.cfg.j2: what every user's request gets, whatever the settings."""

from __future__ import annotations

from .helpers import PROJECT

TEMPLATE = PROJECT / "roles" / "proxy" / "templates" / "haproxy.cfg.j2"


def unconditional_lines(frontend: str) -> list[str]:
    """The lines of a frontend that no {% if %} holds."""
    lines, depth, inside = [], 0, False
    for line in TEMPLATE.read_text().splitlines():
        if line.startswith("frontend "):
            inside = line == f"frontend {frontend}"
            continue
        if inside and line and not line.startswith((" ", "{%")):
            break
        if not inside:
            continue
        depth += line.count("{% if ") - line.count("{% endif %}")
        if depth == 0 and not line.lstrip().startswith(("{%", "#")):
            lines.append(line.strip())
    return lines


def test_the_forwarded_headers_are_set_by_the_proxy_whatever_the_client_sent() -> None:
    # The app may trust them: the scheme and the client's address are the proxy's word, never the client's.
    public = unconditional_lines("fe_public")
    for line in ("http-request set-header X-Forwarded-Proto https if { ssl_fc }",
                 "http-request set-header X-Forwarded-Proto http unless { ssl_fc }",
                 "http-request del-header X-Forwarded-For", "option forwardfor"):
        assert line in public, line


def test_the_acme_challenges_are_answered_before_any_redirect_deny_or_password() -> None:
    text = TEMPLATE.read_text()
    challenge = text.index("http-request return status 200 content-type text/plain lf-string")
    for later in ("http-request redirect", "http-request deny", "http-request auth"):
        assert challenge < text.index(later), later
