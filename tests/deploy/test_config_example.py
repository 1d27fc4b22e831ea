"""Tests of deploy/config.example.yaml: it loads, its policy settings apply, and it shows every setting."""

from __future__ import annotations

import base64
import re
import secrets
from pathlib import Path
from typing import Any

import pytest
import yaml
from pydantic import BaseModel

from mlgov.audit import load_policy_catalogue, policy_settings, price_book
from mlgov.config import Config, load_config
from mlgov.engine import validate_settings
from mlgov.replay import fake_pat

EXAMPLE = Path(__file__).resolve().parents[2] / "deploy" / "config.example.yaml"


def example_env() -> dict[str, str]:
    """Values for every variable the example references (fake, built at run time)."""
    return {
        "MLGOV_DBX_CLIENT_SECRET": "dose" + secrets.token_hex(16),
        "MLGOV_DBX_PAT": fake_pat("config-example"),
        "MLGOV_TEAMS_WEBHOOK_URL": "https://default0000.0b.environment.api.powerplatform.com/powerautomate/x",
        "MLGOV_WEBHOOK_URL": "https://hooks.example.com/mlgov",
        "MLGOV_WEBHOOK_SECRET": "whsec_" + base64.b64encode(secrets.token_bytes(32)).decode(),
        "MLGOV_SLACK_WEBHOOK_URL": "https://hooks.slack.com/services/T000/B000/" + secrets.token_hex(8),
    }


@pytest.fixture
def config(monkeypatch: pytest.MonkeyPatch) -> Config:
    for name, value in example_env().items():
        monkeypatch.setenv(name, value)
    return load_config(EXAMPLE)


def test_example_loads_with_the_variables_it_names_set(config: Config) -> None:
    """With its environment variables set, the example validates, secrets stay hidden, and no destination warns."""
    assert config.azure is not None and len(config.databricks.workspaces) == 3
    assert [d.type for d in config.notifications.destinations] == ["teams", "webhook", "slack"]
    assert all(not d.warnings() for d in config.notifications.destinations)
    assert "whsec_" not in repr(config) and "dapi" not in repr(config)
    assert config.serve.timezone == "Europe/Berlin"


def test_example_names_exactly_the_variables_it_uses() -> None:
    """The header lists every ${env:...} the file uses outside comments, and the test env covers them."""
    text = EXAMPLE.read_text(encoding="utf-8")
    live = "\n".join(line for line in text.splitlines() if not line.lstrip().startswith("#"))
    used = set(re.findall(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}", live))
    header = text.split("\nversion:", 1)[0]
    assert used == set(example_env())
    assert all(name in header for name in used)


def test_example_policy_prices_settings_are_accepted(config: Config) -> None:
    """Its policy ids, parameters and severities exist in the catalogue, and its prices load."""
    validate_settings(load_policy_catalogue(config), policy_settings(config))
    book = price_book(config)
    assert book is not None


def _fields(model: type[BaseModel], prefix: str = "") -> list[tuple[str, str]]:
    out: list[tuple[str, str]] = []
    for name, info in model.model_fields.items():
        out.append((prefix + name, name))
        annotation: Any = info.annotation
        for candidate in (annotation, *getattr(annotation, "__args__", ())):
            if isinstance(candidate, type) and issubclass(candidate, BaseModel):
                out.extend(_fields(candidate, f"{prefix}{name}."))
    return out


def test_example_mentions_every_setting_of_every_section() -> None:
    """Every field of the config model appears in the example, as a key or in a comment."""
    text = EXAMPLE.read_text(encoding="utf-8")
    missing = [path for path, name in _fields(Config)
               if not re.search(rf"(^|[\s{{#-]){re.escape(name)}:", text, re.MULTILINE)]
    assert missing == []
    top = yaml.safe_load(re.sub(r"\$\{env:\w+\}", "x", text))
    assert set(top) == set(Config.model_fields)
