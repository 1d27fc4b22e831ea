"""Destination validation at config load: refused URLs, warnings, signing secrets; no URL in messages."""

from __future__ import annotations

from pathlib import Path

import pytest

from lifecycle_support import config, webhook_secret
from mlgov.delivery import validate_destinations
from mlgov.delivery.urls import redact
from mlgov.errors import ConfigError

SIG = "sig=" + "Q" * 30


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"http://prod-1.westeurope.environment.api.powerplatform.com/x?{SIG}", "url must use https://"),
        (f"https://contoso.webhook.office.com/webhookb2/abc@def/IncomingWebhook/123/456?{SIG}",
         "retired Office 365 connector"),
        ("https://outlook.office.com/webhook/abc/IncomingWebhook/def", "retired Office 365 connector"),
        ("ftp://example.com/x", "url must be an https:// URL"),
        ("https:///nohost", "url must be an https:// URL"),
    ],
)
def test_bad_teams_urls_are_refused_without_showing_them(tmp_path: Path, url: str, expected: str) -> None:
    """Plain http, retired connector URLs and non-URLs fail config validation; the error never holds the URL."""
    with pytest.raises(ConfigError) as caught:
        config(tmp_path, destinations=[{"name": "t", "type": "teams", "url": url}])
    text = str(caught.value) + (caught.value.hint or "")
    assert expected in text
    assert SIG not in text and "IncomingWebhook" not in text and "/webhook/abc" not in text


def test_retired_connector_error_says_how_to_create_a_workflow(tmp_path: Path) -> None:
    """The refusal of a connector URL names the Workflows template to use instead."""
    with pytest.raises(ConfigError, match="Post to a channel when a webhook request is received"):
        config(tmp_path, destinations=[{"name": "t", "type": "teams", "url": "https://x.webhook.office.com/webhookb2/a"}])


def test_unknown_teams_host_only_warns(tmp_path: Path) -> None:
    """A Teams URL on an unexpected host is accepted with a warning naming the host, not the URL."""
    cfg = config(tmp_path, destinations=[
        {"name": "odd", "type": "teams", "url": f"https://relay.example.org/flows/1?{SIG}"},
        {"name": "good", "type": "teams",
         "url": f"https://abc.12.environment.api.powerplatform.com:443/powerautomate/automations/direct/x?{SIG}"},
        {"name": "legacy", "type": "teams", "url": f"https://prod-1.westeurope.logic.azure.com/workflows/x?{SIG}"},
    ])
    warnings = validate_destinations(cfg.notifications.destinations)
    assert len(warnings) == 2
    assert warnings[0].startswith("destination odd: host relay.example.org is not a known Power Automate")
    assert "legacy Power Automate" in warnings[1]
    assert not any(SIG in w or "/flows/" in w for w in warnings)


def test_url_never_appears_in_the_config_repr(tmp_path: Path) -> None:
    """The URL is a SecretStr: printing the config shows no part of it."""
    url = f"https://abc.environment.api.powerplatform.com/p?{SIG}"
    cfg = config(tmp_path, destinations=[{"name": "t", "type": "teams", "url": url}])
    assert SIG not in repr(cfg) and SIG not in str(cfg.notifications)


@pytest.mark.parametrize(
    ("secret", "expected"),
    [
        (None, "a webhook destination needs `secret`"),
        ("not-a-secret", "must start with whsec_"),
        ("whsec_***", "not valid base64"),
        ("whsec_YWJj", "24 to 64 random bytes"),
    ],
)
def test_webhook_destinations_need_a_valid_signing_secret(tmp_path: Path, secret: str | None, expected: str) -> None:
    """A webhook destination without a usable whsec_ secret is refused, without echoing the secret."""
    dest: dict[str, object] = {"name": "h", "type": "webhook", "url": "https://hooks.example.com/in"}
    if secret is not None:
        dest["secret"] = secret
    with pytest.raises(ConfigError, match=expected) as caught:
        config(tmp_path, destinations=[dest])
    if secret:
        assert secret not in str(caught.value)


def test_valid_destinations_load(tmp_path: Path) -> None:
    """https webhooks with a whsec_ secret, Slack URLs and loopback http relays are accepted."""
    cfg = config(tmp_path, destinations=[
        {"name": "h", "type": "webhook", "url": "https://hooks.example.com/in", "secret": webhook_secret()},
        {"name": "s", "type": "slack", "url": "https://hooks.slack.com/services/T0/B0/x"},
        {"name": "local", "type": "teams", "url": "http://127.0.0.1:8080/relay"},
    ])
    assert [d.name for d in cfg.notifications.destinations] == ["h", "s", "local"]


def test_duplicate_destination_names_are_refused(tmp_path: Path) -> None:
    """Destination names key the outbox and reminders, so they must be unique."""
    dest = {"name": "dup", "type": "slack", "url": "https://hooks.slack.com/services/x"}
    with pytest.raises(ConfigError, match="destination names must be unique: dup"):
        config(tmp_path, destinations=[dest, dest])


def test_redact_removes_url_and_signatures() -> None:
    """redact() strips a URL's path and query and masks any sig= value."""
    url = f"https://h.example.com/flows/abc?api-version=1&{SIG}"
    text = redact(f"ConnectError for {url}: boom; other {SIG}", url)
    assert "flows/abc" not in text and SIG not in text and "sig=<redacted>" in text
