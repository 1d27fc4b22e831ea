"""Checks on notification URLs: what is refused, what only earns a warning, and redaction.

A Teams Workflows URL carries a `sig=` signature that lets anyone post to the channel, so the
whole URL is a secret: these helpers never put it (or any part of its path or query) in a
message. Errors and warnings name the destination and, at most, the host.
"""

from __future__ import annotations

import ipaddress
import re
from urllib.parse import urlsplit

WORKFLOWS_HINT = (
    "Office 365 connectors (incoming webhooks) were retired by Microsoft. In the Teams channel, "
    "open Workflows, create a flow from the template \"Post to a channel when a webhook request "
    "is received\", and put the URL it gives into the destination (keep it secret, e.g. "
    "`url: ${env:TEAMS_WEBHOOK_URL}`)."
)

# Hosts that Power Automate Workflows webhook triggers are known to use. Unknown hosts are
# allowed with a warning: Microsoft has changed these hosts before (logic.azure.com ->
# environment.api.powerplatform.com in 2025).
_TEAMS_HOSTS = (
    re.compile(r"(?i)^[a-z0-9.-]+\.environment\.api\.powerplatform\.com$"),
    re.compile(r"(?i)^([a-z0-9.-]+\.)?api\.powerplatform\.com$"),
    re.compile(r"(?i)^([a-z0-9.-]+\.)?api\.powerautomate\.com$"),
    re.compile(r"(?i)^([a-z0-9.-]+\.)?flow\.microsoft\.com$"),
)
_LEGACY_LOGIC_HOST = re.compile(r"(?i)^[a-z0-9.-]+\.logic\.azure\.com$")
_SIG = re.compile(r"(?i)(sig=)[^&\s\"'<>]+")


def is_loopback(host: str) -> bool:
    """True for localhost and loopback addresses (a local relay or a test server)."""
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def retired_connector(url: str) -> bool:
    """True for the retired Office 365 connector URLs (`*.webhook.office.com`, `outlook.office.com/webhook`)."""
    parts = urlsplit(url.strip())
    host = (parts.hostname or "").lower()
    if host == "webhook.office.com" or host.endswith(".webhook.office.com"):
        return True
    return host in ("outlook.office.com", "outlook.office365.com") and parts.path.lower().startswith("/webhook")


def check_url(url: str) -> str:
    """Validate a destination URL; return it stripped, or raise ValueError with a safe message.

    Rules: `https://` (plain `http://` only to a loopback address); a host is required; the
    retired Office 365 connector URLs are refused with the way to create a Workflows URL.
    """
    value = url.strip()
    try:
        parts = urlsplit(value)
        host = parts.hostname or ""
        _ = parts.port  # raises ValueError on a malformed port
    except ValueError:
        raise ValueError("url is not a valid URL") from None
    if parts.scheme.lower() not in ("https", "http") or not host:
        raise ValueError("url must be an https:// URL")
    if retired_connector(value):
        raise ValueError(
            "url is a retired Office 365 connector URL (webhook.office.com / outlook.office.com/webhook), "
            "which no longer delivers. " + WORKFLOWS_HINT
        )
    if parts.scheme.lower() == "http" and not is_loopback(host):
        raise ValueError(f"url must use https:// (plain http:// is only allowed to a loopback address), host {host}")
    return value


def url_warning(url: str, kind: str) -> str | None:
    """A warning worth showing for a URL that is accepted but looks wrong for its kind, or None."""
    if kind != "teams":
        return None
    host = (urlsplit(url.strip()).hostname or "").lower()
    if is_loopback(host) or any(p.match(host) for p in _TEAMS_HOSTS):
        return None
    if _LEGACY_LOGIC_HOST.match(host):
        return (
            f"host {host} is a legacy Power Automate (logic.azure.com) trigger host; Microsoft moved "
            "Teams webhook triggers to *.environment.api.powerplatform.com in 2025. If posts fail, "
            "copy the flow's current URL from its trigger."
        )
    return (
        f"host {host} is not a known Power Automate Workflows host "
        "(*.environment.api.powerplatform.com); posting anyway."
    )


def redact(text: str, url: str | None = None) -> str:
    """`text` with `url` (and its path and query) removed and every `sig=` value masked."""
    if url:
        parts = urlsplit(url)
        for piece in (url, url.strip(), parts.path + ("?" + parts.query if parts.query else ""), parts.query):
            if piece and len(piece) > 3:
                text = text.replace(piece, "<redacted>")
    return _SIG.sub(r"\1<redacted>", text)


def host_of(url: str) -> str:
    """The host of a URL (safe to show), or `?`."""
    try:
        return urlsplit(url.strip()).hostname or "?"
    except ValueError:
        return "?"
