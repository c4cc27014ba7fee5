"""Notifications reach a real local webhook receiver and a real local SMTP server.

Everything listens on 127.0.0.1; nothing leaves the machine.
"""

from __future__ import annotations

import email
import email.policy
import http.server
import json
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from greenlight.notify import (
    Notice,
    NotifyConfig,
    NotifyError,
    notify,
    render_text,
    send_email,
    send_webhook,
    webhook_payload,
)

from .helpers import certificate_pem

LOOPBACK = "127.0.0.1"

FAILED_PROMOTE = Notice(
    kind="promote",
    outcome="failed",
    env="staging -> production",
    version="v2",
    summary="promote of v2 failed at stage 'verify staging': GET /health answered 503",
    details={"host": "vps1.example.com", "stage times": "build 12s, verify 3s"},
)


@pytest.fixture(autouse=True)
def no_proxy(monkeypatch: pytest.MonkeyPatch) -> None:
    # urllib honours *_proxy from the environment; a CI proxy would swallow 127.0.0.1.
    for name in ("http_proxy", "https_proxy", "all_proxy", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"):
        monkeypatch.delenv(name, raising=False)


def free_port() -> int:
    """A port nothing listens on (aiosmtpd's Controller cannot take port 0)."""
    with socket.socket() as sock:
        sock.bind((LOOPBACK, 0))
        return sock.getsockname()[1]


# --- the webhook receiver -------------------------------------------------------------

@dataclass
class Received:
    method: str
    path: str
    headers: dict[str, str]
    body: Any


@dataclass
class Receiver:
    port: int
    answer_status: int = 200
    requests: list[Received] = field(default_factory=list)

    def url(self, path: str = "/hooks/T000/B000/secret-token") -> str:
        return f"http://{LOOPBACK}:{self.port}{path}"


@pytest.fixture
def receiver() -> Iterator[Receiver]:
    state = Receiver(port=0)

    class Handler(http.server.BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def _record(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            raw = self.rfile.read(length) if length else b""
            state.requests.append(Received(
                method=self.command,
                path=self.path,
                headers={k.lower(): v for k, v in self.headers.items()},
                body=json.loads(raw) if raw else None,
            ))
            status = state.answer_status
            answer = b"ok" if status < 300 else b"invalid_payload"
            self.send_response(status)
            if 300 <= status < 400:
                self.send_header("Location", "/elsewhere")
            self.send_header("Content-Type", "text/plain")
            self.send_header("Content-Length", str(len(answer)))
            self.end_headers()
            self.wfile.write(answer)

        do_POST = _record  # noqa: N815 (http.server's naming)
        do_GET = _record  # noqa: N815

        def log_message(self, *args: object) -> None:
            pass

    httpd = http.server.ThreadingHTTPServer((LOOPBACK, 0), Handler)
    state.port = httpd.server_address[1]
    # A short poll interval: shutdown() waits for the next poll, 0.5 s by default.
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True)
    thread.start()
    yield state
    httpd.shutdown()
    httpd.server_close()


def test_webhook_posts_json_that_slack_and_discord_read(receiver: Receiver) -> None:
    send_webhook(receiver.url(), FAILED_PROMOTE, timeout=5)

    assert len(receiver.requests) == 1
    request = receiver.requests[0]
    assert request.method == "POST"
    assert request.path == "/hooks/T000/B000/secret-token"
    assert request.headers["content-type"] == "application/json"
    assert not request.headers["user-agent"].startswith("Python-urllib")
    body = request.body
    assert body["username"] == "greenlight"
    for key in ("text", "content"):
        assert "v2" in body[key]
        assert "failed" in body[key]
        assert "verify staging" in body[key]
        assert "host: vps1.example.com" in body[key]
    # Slack reads > as markup, Discord shows entities literally.
    assert "staging -&gt; production" in body["text"]
    assert "staging -> production" in body["content"]
    assert body["allowed_mentions"] == {"parse": []}


def test_notify_reports_a_failing_webhook_without_raising(receiver: Receiver) -> None:
    receiver.answer_status = 500
    config = NotifyConfig(webhook_url=receiver.url())

    errors = notify(config, FAILED_PROMOTE)

    assert len(errors) == 1
    assert "HTTP 500" in errors[0]
    assert "invalid_payload" in errors[0]
    assert "secret-token" not in errors[0]
    assert len(receiver.requests) == 1


def test_a_redirecting_webhook_is_an_error_not_a_silent_get(receiver: Receiver) -> None:
    receiver.answer_status = 302

    with pytest.raises(NotifyError, match="HTTP 302"):
        send_webhook(receiver.url(), FAILED_PROMOTE, timeout=5)

    assert [r.method for r in receiver.requests] == ["POST"]


def test_an_unreachable_webhook_is_a_notify_error() -> None:
    with pytest.raises(NotifyError, match="unreachable"):
        send_webhook(f"http://{LOOPBACK}:{free_port()}/hook", FAILED_PROMOTE, timeout=5)


def test_long_messages_fit_discord_limit() -> None:
    notice = Notice("deploy", "failed", "production", "v9", "x" * 5000)
    payload = webhook_payload(notice)
    assert len(payload["content"]) <= 2000
    assert payload["content"].startswith("[greenlight] deploy v9 to production: failed")


def test_render_text_puts_the_subject_first_and_keeps_detail_order() -> None:
    text = render_text(FAILED_PROMOTE)
    lines = text.splitlines()
    assert lines[0] == "[greenlight] promote v2 to staging -> production: failed"
    assert lines[1] == ""
    assert lines[2] == FAILED_PROMOTE.summary
    assert lines[-2:] == ["host: vps1.example.com", "stage times: build 12s, verify 3s"]


# --- the SMTP server ------------------------------------------------------------------

class Mailbox:
    def __init__(self) -> None:
        self.envelopes: list[Envelope] = []

    async def handle_DATA(self, server: Any, session: Session, envelope: Envelope) -> str:  # noqa: N802
        self.envelopes.append(envelope)
        return "250 Message accepted for delivery"

    def messages(self) -> list[EmailMessage]:
        return [email.message_from_bytes(e.content, policy=email.policy.default)  # type: ignore[misc]
                for e in self.envelopes]


@dataclass
class SmtpServer:
    port: int
    mailbox: Mailbox
    logins: list[tuple[str, str]]


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> tuple[str, str]:
    """A self-signed certificate for 127.0.0.1 and its key, trusted through SSL_CERT_FILE."""
    cert, key = certificate_pem(addresses=(LOOPBACK,))
    folder = tmp_path_factory.mktemp("smtp-tls")
    (folder / "cert.pem").write_text(cert)
    (folder / "key.pem").write_text(key)
    return str(folder / "cert.pem"), str(folder / "key.pem")


@pytest.fixture
def tls_smtp_server(tls_files: tuple[str, str], monkeypatch: pytest.MonkeyPatch) -> Iterator[SmtpServer]:
    """An SMTP server that offers STARTTLS and takes a login only over it."""
    import ssl

    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(*tls_files)
    monkeypatch.setenv("SSL_CERT_FILE", tls_files[0])
    controller, server = _start_smtp(tls_context=context, require_starttls=True, auth_require_tls=True)
    yield server
    controller.stop()


def _start_smtp(**controller_kwargs: Any) -> tuple[Controller, SmtpServer]:
    mailbox = Mailbox()
    logins: list[tuple[str, str]] = []

    def authenticator(server: Any, session: Session, envelope: Envelope,
                      mechanism: str, auth_data: Any) -> AuthResult:
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user, password = auth_data.login.decode(), auth_data.password.decode()
        logins.append((user, password))
        # handled=False: aiosmtpd then answers 535 itself instead of leaving the client waiting.
        return AuthResult(success=password == "right-password", handled=False)

    port = free_port()
    controller = Controller(
        mailbox, hostname=LOOPBACK, port=port, server_hostname="localhost",
        authenticator=authenticator, **{"auth_require_tls": False, **controller_kwargs})
    controller.start()
    return controller, SmtpServer(port=port, mailbox=mailbox, logins=logins)


@pytest.fixture
def smtp_server() -> Iterator[SmtpServer]:
    controller, server = _start_smtp()
    yield server
    controller.stop()


def mail_config(port: int, **overrides: Any) -> NotifyConfig:
    settings: dict[str, Any] = {
        "email_to": ("ops@example.com", "dev@example.com"),
        "email_from": "greenlight@vps1.example.com",
        "smtp_host": LOOPBACK,
        "smtp_port": port,
        "timeout": 5.0,
    }
    settings.update(overrides)
    return NotifyConfig(**settings)


def test_email_arrives_with_subject_from_to_and_body(smtp_server: SmtpServer) -> None:
    errors = notify(mail_config(smtp_server.port), FAILED_PROMOTE)

    assert errors == []
    [envelope] = smtp_server.mailbox.envelopes
    assert envelope.mail_from == "greenlight@vps1.example.com"
    assert envelope.rcpt_tos == ["ops@example.com", "dev@example.com"]
    [message] = smtp_server.mailbox.messages()
    assert message["Subject"] == "[greenlight] promote v2 to staging -> production: failed"
    assert message["From"] == "greenlight@vps1.example.com"
    assert message["To"] == "ops@example.com, dev@example.com"
    body = message.get_content()
    assert FAILED_PROMOTE.summary in body
    assert "stage times: build 12s, verify 3s" in body
    assert smtp_server.logins == []


def test_email_logs_in_over_starttls_when_a_username_is_set(tls_smtp_server: SmtpServer) -> None:
    config = mail_config(tls_smtp_server.port, smtp_starttls=True, smtp_username="greenlight",
                         smtp_password="right-password")

    send_email(config, FAILED_PROMOTE)

    assert tls_smtp_server.logins == [("greenlight", "right-password")]
    assert len(tls_smtp_server.mailbox.envelopes) == 1


def test_a_password_without_starttls_is_refused_before_anything_is_sent() -> None:
    with pytest.raises(ValueError, match="clear text; set greenlight_notify_smtp_starttls: true"):
        mail_config(free_port(), smtp_username="greenlight", smtp_password="right-password")
    with pytest.raises(ValueError, match="clear text"):
        NotifyConfig.from_vars({"greenlight_notify_email_to": "ops@example.com",
                                "greenlight_notify_smtp_username": "greenlight",
                                "greenlight_notify_smtp_password": "right-password"})


def test_a_refused_login_is_reported_without_the_password(tls_smtp_server: SmtpServer) -> None:
    config = mail_config(tls_smtp_server.port, smtp_starttls=True, smtp_username="greenlight",
                         smtp_password="wrong-password")

    errors = notify(config, FAILED_PROMOTE)

    assert len(errors) == 1
    assert "SMTPAuthenticationError" in errors[0]
    assert "wrong-password" not in errors[0]
    assert tls_smtp_server.mailbox.envelopes == []


def test_starttls_never_falls_back_to_clear_text(smtp_server: SmtpServer) -> None:
    # The local server offers no STARTTLS: the mail must not go out unencrypted.
    config = mail_config(smtp_server.port, smtp_starttls=True,
                         smtp_username="greenlight", smtp_password="right-password")

    with pytest.raises(NotifyError, match="STARTTLS"):
        send_email(config, FAILED_PROMOTE)

    assert smtp_server.logins == []
    assert smtp_server.mailbox.envelopes == []


def test_smtp_server_down_is_an_error_line_not_an_exception() -> None:
    errors = notify(mail_config(free_port()), FAILED_PROMOTE)

    assert len(errors) == 1
    assert errors[0].startswith(f"email via {LOOPBACK}:")
    assert "refused" in errors[0].lower()


def test_one_broken_channel_does_not_stop_the_other(receiver: Receiver) -> None:
    config = mail_config(free_port(), webhook_url=receiver.url())

    errors = notify(config, FAILED_PROMOTE)

    assert len(errors) == 1 and errors[0].startswith("email via")
    assert len(receiver.requests) == 1


def test_nothing_configured_sends_nothing() -> None:
    assert notify(NotifyConfig(), FAILED_PROMOTE) == []


# --- reading the config from inventory variables --------------------------------------

def test_from_vars_defaults() -> None:
    assert NotifyConfig.from_vars({}) == NotifyConfig()
    assert NotifyConfig.from_vars({"greenlight_notify_webhook_url": None}) == NotifyConfig()


def test_from_vars_reads_every_key() -> None:
    config = NotifyConfig.from_vars({
        "greenlight_notify_webhook_url": "https://hooks.slack.com/services/T0/B0/x",
        "greenlight_notify_email_to": " ops@example.com, ,dev@example.com ",
        "greenlight_notify_email_from": "deploys@example.com",
        "greenlight_notify_smtp_host": "mail.example.com",
        "greenlight_notify_smtp_port": "587",
        "greenlight_notify_smtp_starttls": "true",
        "greenlight_notify_smtp_username": "deploys",
        "greenlight_notify_smtp_password": "s3cret",
    })
    assert config == NotifyConfig(
        webhook_url="https://hooks.slack.com/services/T0/B0/x",
        email_to=("ops@example.com", "dev@example.com"),
        email_from="deploys@example.com",
        smtp_host="mail.example.com",
        smtp_port=587,
        smtp_starttls=True,
        smtp_username="deploys",
        smtp_password="s3cret",
    )
    assert "s3cret" not in repr(config)
    assert "hooks.slack.com" not in repr(config)


def test_from_vars_takes_a_list_of_addresses() -> None:
    config = NotifyConfig.from_vars({"greenlight_notify_email_to": ["a@example.com", "b@example.com"]})
    assert config.email_to == ("a@example.com", "b@example.com")


@pytest.mark.parametrize(("key", "value"), [
    ("greenlight_notify_smtp_port", "twenty-five"),
    ("greenlight_notify_smtp_port", [25]),
    ("greenlight_notify_smtp_port", True),
    ("greenlight_notify_smtp_port", 70000),
    ("greenlight_notify_smtp_starttls", "maybe"),
    ("greenlight_notify_email_to", 42),
    ("greenlight_notify_email_to", ["ops@example.com", 7]),
    ("greenlight_notify_email_to", "not an address"),
    ("greenlight_notify_email_from", ["greenlight@localhost"]),
    ("greenlight_notify_smtp_password", 1234),
    ("greenlight_notify_smtp_password", "{{ vault_greenlight_notify_smtp_password }}"),
])
def test_from_vars_names_the_key_with_a_wrong_value(key: str, value: Any) -> None:
    with pytest.raises(ValueError, match=key) as caught:
        NotifyConfig.from_vars({key: value})
    assert "\n" not in str(caught.value)


@pytest.mark.parametrize("url", [
    "ftp://hooks.example.com/x",
    "file:///etc/passwd",
    "hooks.slack.com/services/T0/B0/x",
    "https:///no-host",
])
def test_from_vars_refuses_non_http_webhooks(url: str) -> None:
    with pytest.raises(ValueError, match="greenlight_notify_webhook_url") as caught:
        NotifyConfig.from_vars({"greenlight_notify_webhook_url": url})
    assert "passwd" not in str(caught.value) and "services" not in str(caught.value)


@pytest.mark.parametrize("address", ["ops@example.com\r\nBcc: all@example.com", "ops@exa\x00mple.com", "ops@example.com\x7f"])
def test_from_vars_refuses_an_address_with_a_line_break_or_control_character(address: str) -> None:
    with pytest.raises(ValueError, match="greenlight_notify_email_to must be an email address"):
        NotifyConfig.from_vars({"greenlight_notify_email_to": [address]})
