"""Tell people how a promote, deploy or rollback ended: a chat webhook and/or an email.

Notifications are best effort. `notify()` never raises and returns one line per channel
that failed, so a broken mail server or a revoked webhook never changes a deploy's exit
code, while the caller can still print the failures.
"""

from __future__ import annotations

import email.utils
import http.client
import json
import smtplib
import ssl
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any
from urllib.parse import urlsplit

from .scrub import scrub

VAR_PREFIX = "greenlight_notify_"

# Discord rejects anything longer with HTTP 400, so the whole message would be lost.
DISCORD_CONTENT_LIMIT = 2000
# Slack accepts far more, but advises against messages over 4000 characters.
SLACK_TEXT_LIMIT = 4000

# Discord sits behind Cloudflare, which answers urllib's default "Python-urllib/3.x"
# agent with 403 (error code 1010) before the request reaches Discord.
USER_AGENT = "greenlight-notify/1"

_TRUE_WORDS = {"true", "yes", "on", "1"}
_FALSE_WORDS = {"false", "no", "off", "0"}


class NotifyError(Exception):
    """One channel could not deliver a notice; the message is one line, free of secrets."""


@dataclass(frozen=True)
class Notice:
    kind: str          # "promote", "deploy" or "rollback"
    outcome: str       # "success" or "failed"
    env: str           # "staging", "production", or "staging -> production" for a promote
    version: str       # release name, e.g. "v2"
    summary: str       # one line
    details: dict[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class NotifyConfig:
    # repr=False: a webhook URL carries its token in the path, and a config that ends up
    # in a log line or a traceback must not publish it or the SMTP password.
    webhook_url: str = field(default="", repr=False)
    email_to: tuple[str, ...] = ()
    email_from: str = "greenlight@localhost"
    smtp_host: str = "localhost"
    smtp_port: int = 25
    smtp_starttls: bool = False
    smtp_username: str = ""
    smtp_password: str = field(default="", repr=False)

    def __post_init__(self) -> None:
        if self.smtp_username and not self.smtp_starttls:
            raise ValueError(f"{VAR_PREFIX}smtp_username is set without {VAR_PREFIX}smtp_starttls: the SMTP password "
                             f"would cross the network in clear text; set {VAR_PREFIX}smtp_starttls: true")
    timeout: float = 10.0

    @classmethod
    def from_vars(cls, variables: Mapping[str, Any]) -> NotifyConfig:
        """Build the config from inventory variables; ValueError names the offending key.

        A key that is missing or null (an empty YAML value) keeps its default. Port and
        starttls also accept strings, because `-e key=value` on the command line always
        passes strings.
        """
        defaults = cls()
        webhook_url = _str_var(variables, "webhook_url", defaults.webhook_url).strip()
        if webhook_url:
            _check_webhook_url(webhook_url)
        email_from = _str_var(variables, "email_from", defaults.email_from).strip()
        _check_address(f"{VAR_PREFIX}email_from", email_from)
        email_to = _address_list_var(variables, "email_to")
        smtp_host = _str_var(variables, "smtp_host", defaults.smtp_host).strip()
        if not smtp_host:
            raise ValueError(f"{VAR_PREFIX}smtp_host must not be empty")
        return cls(
            webhook_url=webhook_url,
            email_to=email_to,
            email_from=email_from,
            smtp_host=smtp_host,
            smtp_port=_port_var(variables, "smtp_port", defaults.smtp_port),
            smtp_starttls=_bool_var(variables, "smtp_starttls", defaults.smtp_starttls),
            smtp_username=_str_var(variables, "smtp_username", defaults.smtp_username),
            smtp_password=_str_var(variables, "smtp_password", defaults.smtp_password),
        )


def render_text(notice: Notice) -> str:
    """The plain-text message: the subject line, a blank line, then the body."""
    return f"{_subject(notice)}\n\n{_body(notice)}"


def webhook_payload(notice: Notice) -> dict[str, Any]:
    """A JSON body both Slack and Discord accept; each ignores the other's keys."""
    text = render_text(notice)
    return {
        # Slack treats &, < and > as markup (links, mentions), so they are escaped there;
        # Discord shows entities literally, so its copy stays raw.
        "text": _slack_escape(_truncate(text, SLACK_TEXT_LIMIT)),
        "content": _truncate(text, DISCORD_CONTENT_LIMIT),
        "username": "greenlight",
        # The summary can quote a failing health check's answer; an "@everyone" in it
        # must not page a whole Discord server.
        "allowed_mentions": {"parse": []},
    }


def send_webhook(url: str, notice: Notice, timeout: float) -> None:
    """POST the notice as JSON to `url`; NotifyError unless the answer is 2xx."""
    # Error lines name only the host: the rest of a webhook URL is its secret.
    where = f"webhook at {urlsplit(url).hostname or '?'}"
    request = urllib.request.Request(
        url,
        data=json.dumps(webhook_payload(notice)).encode(),
        headers={"Content-Type": "application/json", "User-Agent": USER_AGENT},
        method="POST",
    )
    try:
        with _NO_REDIRECTS.open(request, timeout=timeout) as response:
            response.read()
            status = response.status
    except urllib.error.HTTPError as exc:
        raise NotifyError(f"{where} answered HTTP {exc.code}: {_answer_excerpt(exc)}") from None
    except urllib.error.URLError as exc:
        raise NotifyError(f"{where} unreachable: {_one_line(str(exc.reason))}") from None
    except (OSError, http.client.HTTPException, ValueError) as exc:
        raise NotifyError(f"{where} failed: {_describe(exc)}") from None
    if not 200 <= status < 300:
        raise NotifyError(f"{where} answered HTTP {status}")


def send_email(config: NotifyConfig, notice: Notice) -> None:
    """Send the notice by SMTP to every address in `config.email_to`; NotifyError on failure."""
    where = f"email via {config.smtp_host}:{config.smtp_port}"
    if not config.email_to:
        raise NotifyError(f"{where}: no recipients configured")
    try:
        message = _email_message(config, notice)
        with smtplib.SMTP(config.smtp_host, config.smtp_port, timeout=config.timeout) as smtp:
            if config.smtp_starttls:
                # A server without STARTTLS makes this raise: never fall back to sending
                # the password and the message in clear.
                smtp.starttls(context=ssl.create_default_context())
            if config.smtp_username:
                smtp.login(config.smtp_username, config.smtp_password)
            refused = smtp.send_message(
                message, from_addr=config.email_from, to_addrs=list(config.email_to))
    except smtplib.SMTPRecipientsRefused as exc:
        raise NotifyError(f"{where}: every recipient refused: {', '.join(exc.recipients)}") from None
    except (smtplib.SMTPException, OSError, ValueError) as exc:
        raise NotifyError(f"{where} failed: {_describe(exc)}") from None
    if refused:
        # The others got it; still report, or a mistyped address would go unnoticed.
        raise NotifyError(f"{where}: recipients refused: {', '.join(refused)}")


def notify(config: NotifyConfig, notice: Notice) -> list[str]:
    """Send to every configured channel; return one error line per channel that failed."""
    errors: list[str] = []
    if config.webhook_url:
        errors.extend(_attempt(lambda: send_webhook(config.webhook_url, notice, config.timeout)))
    if config.email_to:
        errors.extend(_attempt(lambda: send_email(config, notice)))
    return errors


def _attempt(send: Callable[[], None]) -> list[str]:
    try:
        send()
    except NotifyError as exc:
        return [str(exc)]
    # Broad on purpose: a bug in notifying must not turn a finished deploy into a failure.
    except Exception as exc:  # noqa: BLE001
        return [f"notification failed: {_describe(exc)}"]
    return []


# Subject and body are scrubbed (greenlight/scrub.py): a summary may quote an app's output.
def _subject(notice: Notice) -> str:
    return scrub(_one_line(f"[greenlight] {notice.kind} {notice.version} to {notice.env}: {notice.outcome}"))


def _body(notice: Notice) -> str:
    lines = [_one_line(notice.summary)]
    if notice.details:
        lines.append("")
        lines.extend(f"{key}: {value}" for key, value in notice.details.items())
    return scrub("\n".join(lines) + "\n")


def _email_message(config: NotifyConfig, notice: Notice) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = _subject(notice)
    message["From"] = config.email_from
    message["To"] = ", ".join(config.email_to)
    message["Date"] = email.utils.formatdate(localtime=True)
    # An explicit domain: without one make_msgid() asks DNS for this host's FQDN, which
    # can stall for seconds on a VPS with a half-configured resolver.
    domain = config.email_from.rpartition("@")[2] or "localhost"
    message["Message-ID"] = email.utils.make_msgid(domain=domain)
    message.set_content(_body(notice))
    return message


class _RefuseRedirects(urllib.request.HTTPRedirectHandler):
    # urllib would follow a 301/302/303 by turning the POST into a bodiless GET and then
    # report success; a webhook that moves is an error the operator should see.
    def redirect_request(self, *args: Any, **kwargs: Any) -> None:
        return None


_NO_REDIRECTS = urllib.request.build_opener(_RefuseRedirects)


def _answer_excerpt(error: urllib.error.HTTPError) -> str:
    # Slack and Discord say why in the body ("invalid_payload", "Unknown Webhook").
    try:
        body = error.read(300).decode("utf-8", "replace")
    except (OSError, http.client.HTTPException):
        body = ""
    return _one_line(body) or _one_line(str(error.reason))


def _describe(exc: BaseException) -> str:
    text = _one_line(str(exc))
    return f"{type(exc).__name__}: {text}" if text else type(exc).__name__


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _truncate(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _slack_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;")


def _check_webhook_url(url: str) -> None:
    key = f"{VAR_PREFIX}webhook_url"
    parts = urlsplit(url)
    # Only the scheme is named: the rest of the URL is the secret.
    if parts.scheme not in ("http", "https"):
        got = f" (got scheme {parts.scheme!r})" if parts.scheme else ""
        raise ValueError(f"{key} must start with http:// or https://{got}")
    if not parts.hostname:
        raise ValueError(f"{key} has no host")


def _check_address(key: str, address: str) -> None:
    # A line break (or any control character) in an address would add mail headers.
    if "@" not in address or any(ch.isspace() or ord(ch) < 32 or ord(ch) == 127 for ch in address):
        raise ValueError(f"{key} must be an email address like ops@example.com, got {address!r}")


def _raw(variables: Mapping[str, Any], name: str) -> Any:
    return variables.get(VAR_PREFIX + name)


def _str_var(variables: Mapping[str, Any], name: str, default: str) -> str:
    value = _raw(variables, name)
    if value is None:
        return default
    if not isinstance(value, str):
        raise ValueError(f"{VAR_PREFIX}{name} must be a string, got {type(value).__name__}")
    # Vars read straight from the inventory are not templated: a "{{ vault_... }}"
    # reference would otherwise be sent as the password itself.
    if "{{" in value:
        raise ValueError(f"{VAR_PREFIX}{name} is an untemplated Jinja expression; "
                         "pass the variables after Ansible has templated them")
    return value


def _address_list_var(variables: Mapping[str, Any], name: str) -> tuple[str, ...]:
    key = VAR_PREFIX + name
    value = _raw(variables, name)
    if value is None:
        return ()
    if isinstance(value, str):
        items: list[Any] = value.split(",")
    elif isinstance(value, (list, tuple)):
        items = list(value)
    else:
        raise ValueError(f"{key} must be a list or a comma-separated string, "
                         f"got {type(value).__name__}")
    addresses: list[str] = []
    for item in items:
        if not isinstance(item, str):
            raise ValueError(f"{key} entries must be strings, got {type(item).__name__}")
        if item.strip():
            _check_address(key, item.strip())
            addresses.append(item.strip())
    return tuple(addresses)


def _port_var(variables: Mapping[str, Any], name: str, default: int) -> int:
    key = VAR_PREFIX + name
    value = _raw(variables, name)
    if value is None:
        return default
    # bool is an int to Python, but `smtp_port: true` is a mistake, not port 1.
    if isinstance(value, str) and value.strip().isdigit():
        port = int(value)
    elif isinstance(value, int) and not isinstance(value, bool):
        port = value
    else:
        raise ValueError(f"{key} must be a port number, got {value!r}")
    if not 1 <= port <= 65535:
        raise ValueError(f"{key} must be between 1 and 65535, got {port}")
    return port


def _bool_var(variables: Mapping[str, Any], name: str, default: bool) -> bool:
    key = VAR_PREFIX + name
    value = _raw(variables, name)
    if value is None:
        return default
    if isinstance(value, bool):
        return value
    if isinstance(value, str) and value.strip().lower() in _TRUE_WORDS | _FALSE_WORDS:
        return value.strip().lower() in _TRUE_WORDS
    raise ValueError(f"{key} must be true or false, got {value!r}")
