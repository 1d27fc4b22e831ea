"""Tests of the configuration file: interpolation, validation, and the errors users see."""

from __future__ import annotations

from pathlib import Path

import pytest

from mlgov.config import load_config, parse_config
from mlgov.errors import ConfigError

MINIMAL = """\
version: 1
databricks:
  workspaces:
    - host: adb-1111111111111111.11.azuredatabricks.net
      name: prod
      auth: {type: pat, token: "${env:TEST_DBX_TOKEN}"}
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "mlgov.yaml"
    path.write_text(text, encoding="utf-8")
    return path


def test_env_interpolation_fills_secret_and_hides_it(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """`${env:NAME}` takes the variable's value, and the secret never shows in the repr."""
    monkeypatch.setenv("TEST_DBX_TOKEN", "not-a-real-token-value")
    cfg = load_config(write(tmp_path, MINIMAL))
    ws = cfg.databricks.workspaces[0]
    assert ws.host == "https://adb-1111111111111111.11.azuredatabricks.net"
    assert ws.auth.token is not None and ws.auth.token.get_secret_value() == "not-a-real-token-value"
    assert "not-a-real-token-value" not in repr(cfg)


def test_missing_env_variable_names_file_field_and_variable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """An unset variable is an error naming the file, the field path and the variable."""
    monkeypatch.delenv("TEST_DBX_TOKEN", raising=False)
    path = write(tmp_path, MINIMAL)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    text = str(err.value)
    assert str(path) in text and "databricks.workspaces[0].auth.token" in text and "TEST_DBX_TOKEN" in text
    assert err.value.hint and "export" in err.value.hint.lower()


def test_unknown_field_is_named_with_its_path(tmp_path: Path) -> None:
    """A misspelt key is refused, and the message says where it is."""
    text = "version: 1\ndatabricks:\n  workspaces:\n    - host: adb-1.1.azuredatabricks.net\n      tokn: x\n"
    path = write(tmp_path, text)
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "databricks.workspaces[0].tokn: unknown field" in str(err.value)


def test_malformed_yaml_gives_line_and_column(tmp_path: Path) -> None:
    """Broken YAML is reported with its position, not a traceback."""
    path = write(tmp_path, "version: 1\ndatabricks: [\n")
    with pytest.raises(ConfigError) as err:
        load_config(path)
    assert "not valid YAML" in str(err.value) and "line" in str(err.value)


def test_missing_file_hints_at_demo(tmp_path: Path) -> None:
    """A config path that does not exist says so and suggests the demo."""
    with pytest.raises(ConfigError) as err:
        load_config(tmp_path / "nope.yaml")
    assert "no such config file" in str(err.value)
    assert err.value.hint and "--demo" in err.value.hint


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ({"databricks": {"workspaces": []}}, "version: missing required field"),
        ({"version": 2, "databricks": {"workspaces": [{"host": "adb-1.1.azuredatabricks.net"}]}}, "not supported"),
        ({"version": 1}, "nothing to audit"),
        ({"version": 1, "databricks": {"workspaces": [{"host": "adb-1.1.azuredatabricks.net",
                                                       "auth": {"type": "oauth-m2m", "client_id": "x"}}]}},
         "needs client_secret"),
        ({"version": 1, "azure": {"cloud": "custom"}}, "custom_cloud"),
        ({"version": 1, "azure": {"subscriptions": ["not-a-guid"]}}, "azure.subscriptions[0]"),
        ({"version": 1, "databricks": {"workspaces": [{"host": "https://bad host/"}]}}, "workspace URL"),
        ({"version": 1, "azure": {}, "collection": {"concurrency": {"arm": 0}}}, "collection.concurrency.arm"),
    ],
)
def test_validation_errors_are_specific(raw: dict[str, object], expected: str) -> None:
    """Each kind of invalid config yields a ConfigError that names what is wrong."""
    with pytest.raises(ConfigError) as err:
        parse_config(raw, source="c.yaml")
    assert expected in str(err.value)
    assert str(err.value).startswith("c.yaml")


def test_defaults_of_a_minimal_azure_config() -> None:
    """An empty azure section means DefaultAzureCredential on the public cloud, all subscriptions."""
    cfg = parse_config({"version": 1, "azure": {}})
    assert cfg.azure is not None
    assert cfg.azure.cloud == "AzureCloud" and cfg.azure.auth.method == "default"
    assert cfg.azure.subscriptions is None
    assert cfg.collection.runs_window_days == 30
