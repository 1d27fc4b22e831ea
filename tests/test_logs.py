"""Tests of logging: formats, run ids, SDK log routing and levels, and redaction of every secret kind."""

from __future__ import annotations

import io
import json
import logging
import secrets
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

import pytest
import structlog

from mlgov.logs import configure_logging, get_logger, redact_text, run_context
from mlgov.replay import fake_jwt, fake_pat


class TtyStream(io.StringIO):
    """A StringIO that says it is a terminal."""

    def isatty(self) -> bool:
        return True


@pytest.fixture(autouse=True)
def _restore_logging() -> Iterator[None]:
    root = logging.getLogger()
    handlers, level = list(root.handlers), root.level
    levels = {name: logging.getLogger(name).level for name in ("mlgov", "azure", "databricks", "apscheduler")}
    yield
    for handler in list(root.handlers):
        if handler not in handlers:
            root.removeHandler(handler)
    root.setLevel(level)
    for name, lvl in levels.items():
        logging.getLogger(name).setLevel(lvl)
    logging.captureWarnings(False)
    structlog.reset_defaults()
    structlog.contextvars.clear_contextvars()


def json_lines(text: str) -> list[dict[str, object]]:
    return [json.loads(line) for line in text.splitlines() if line.strip()]


# --- formats, run id, levels ------------------------------------------------------------------


def test_json_lines_when_the_stream_is_not_a_terminal() -> None:
    """Off a terminal, every event is one JSON object with event, level, logger and timestamp."""
    out = io.StringIO()
    configure_logging("info", "auto", stream=out)
    get_logger("mlgov.test").info("collector.scope_failed", scope="adb-1", status=403)
    (line,) = json_lines(out.getvalue())
    assert line["event"] == "collector.scope_failed" and line["scope"] == "adb-1" and line["status"] == 403
    assert line["level"] == "info" and line["logger"] == "mlgov.test" and "timestamp" in line


def test_console_rendering_on_a_terminal() -> None:
    """On a terminal the same event is a readable key=value line, not JSON."""
    out = TtyStream()
    configure_logging("info", "auto", stream=out)
    get_logger("mlgov.test").info("collector.scope_failed", scope="adb-1")
    text = out.getvalue()
    assert "collector.scope_failed" in text and "scope" in text and "adb-1" in text
    with pytest.raises(json.JSONDecodeError):
        json.loads(text.splitlines()[0])


def test_format_json_forces_json_on_a_terminal() -> None:
    """`format: json` writes JSON even on a terminal."""
    out = TtyStream()
    configure_logging("info", "json", stream=out)
    get_logger("mlgov.test").info("hello")
    assert json_lines(out.getvalue())[0]["event"] == "hello"


def test_run_id_is_bound_inside_a_run_and_only_there() -> None:
    """Events inside `run_context` carry its run id; events after it do not."""
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    log = get_logger("mlgov.test")
    with run_context("abc123def456") as rid:
        log.info("inside")
        logging.getLogger("azure.core.pipeline").warning("sdk warning inside")
    log.info("outside")
    inside, sdk, outside = json_lines(out.getvalue())
    assert rid == "abc123def456"
    assert inside["run_id"] == "abc123def456" and sdk["run_id"] == "abc123def456"
    assert "run_id" not in outside


def test_sdk_loggers_are_held_at_warning_by_default() -> None:
    """SDK info and debug records are dropped at level info; warnings come through as JSON."""
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    for name in ("azure.core.pipeline.policies.http_logging_policy", "databricks.sdk", "urllib3.connectionpool",
                 "apscheduler.scheduler"):
        logging.getLogger(name).info("chatty %s", name)
        logging.getLogger(name).warning("careful %s", name)
    lines = json_lines(out.getvalue())
    assert [line["event"] for line in lines] == [
        "careful azure.core.pipeline.policies.http_logging_policy",
        "careful databricks.sdk",
        "careful urllib3.connectionpool",
        "careful apscheduler.scheduler",
    ]
    assert lines[0]["level"] == "warning" and lines[0]["logger"].startswith("azure.")


def test_debug_level_lets_sdk_debug_records_through() -> None:
    """With level debug, SDK debug records and mlgov debug events are written."""
    out = io.StringIO()
    configure_logging("debug", "json", stream=out)
    logging.getLogger("databricks.sdk").debug("GET /api/2.1/jobs/list")
    get_logger("mlgov.test").debug("detail")
    assert [line["event"] for line in json_lines(out.getvalue())] == ["GET /api/2.1/jobs/list", "detail"]


def test_warning_level_drops_mlgov_info() -> None:
    """With level warning, mlgov's info events are not written."""
    out = io.StringIO()
    configure_logging("warning", "json", stream=out)
    get_logger("mlgov.test").info("quiet")
    get_logger("mlgov.test").warning("loud")
    assert [line["event"] for line in json_lines(out.getvalue())] == ["loud"]


def test_configuring_twice_keeps_one_handler() -> None:
    """A second configure_logging replaces the first handler instead of doubling every line."""
    first, second = io.StringIO(), io.StringIO()
    configure_logging("info", "json", stream=first)
    configure_logging("info", "json", stream=second)
    get_logger("mlgov.test").info("once")
    assert first.getvalue() == "" and len(json_lines(second.getvalue())) == 1


# --- redaction --------------------------------------------------------------------------------

def _secret_kinds() -> dict[str, tuple[str, list[str], str | None]]:
    """kind -> (text to plant, substrings that must not appear, substring that must remain)."""
    jwt = fake_jwt(exp=datetime.now(UTC) + timedelta(hours=1))
    pat = fake_pat(secrets.token_hex(4))
    sig = secrets.token_urlsafe(32)
    client_secret = secrets.token_urlsafe(24)
    account_key = secrets.token_urlsafe(48)
    whsec = "whsec_" + secrets.token_urlsafe(24)
    opaque = secrets.token_hex(20)
    flow_path = "/workflows/" + secrets.token_hex(16) + "/triggers/manual/paths/invoke"
    return {
        "jwt": (f"token={jwt}", [jwt, jwt.split(".")[1]], None),
        "pat": (f"using {pat} for the workspace", [pat, pat[4:]], "dapi"),
        "bearer": (f"Authorization header Bearer {opaque}", [opaque], "Bearer"),
        "sig_param": (f"GET /x?api-version=1&sp=%2Ftriggers&sig={sig}", [sig], "sig="),
        "client_secret": (f"grant_type=client_credentials&client_secret={client_secret}&scope=x",
                          [client_secret], "client_secret="),
        "account_key": (f"DefaultEndpointsProtocol=https;AccountName=st1;AccountKey={account_key};"
                        "EndpointSuffix=core.windows.net", [account_key], "AccountName=st1"),
        "whsec": (f"signing with {whsec}", [whsec, whsec[6:]], "whsec_"),
        "powerplatform_url": (
            f"posting to https://default{opaque[:12]}.0b.environment.api.powerplatform.com:443/powerautomate"
            f"/automations/direct{flow_path}?api-version=1&sp=%2Ftriggers%2Fmanual%2Frun&sv=1.0&sig={sig}",
            [sig, flow_path, opaque[:12] + ".0b.environment.api.powerplatform.com:443/powerautomate"],
            "environment.api.powerplatform.com",
        ),
        "logic_apps_url": (
            f"posting to https://prod-07.westeurope.logic.azure.com:443{flow_path}?api-version=2016-06-01"
            f"&sig={sig}",
            [sig, flow_path],
            "prod-07.westeurope.logic.azure.com",
        ),
        "office_connector_url": (
            f"posting to https://contoso.webhook.office.com/webhookb2/{opaque}@{opaque[:8]}/IncomingWebhook/"
            f"{opaque[8:]}/x",
            [opaque],
            "contoso.webhook.office.com",
        ),
        "sas_url": (
            f"blob https://st1.blob.core.windows.net/state/mlgov.db?sv=2024-05-04&sr=b&sig={sig} uploaded",
            [sig],
            "st1.blob.core.windows.net",
        ),
    }


SECRET_KINDS = sorted(_secret_kinds())


def _plant(where: str, text: str, out: io.StringIO) -> None:
    log = get_logger("mlgov.test")
    if where == "event_field":
        log.warning("delivery.failed", detail=text)
    elif where == "nested_dict":
        log.warning("delivery.failed", request={"headers": {"X-Info": [text]}, "meta": {"deep": {"value": text}}})
    elif where == "message":
        log.warning(text)
    elif where == "exception_message":
        try:
            raise RuntimeError(f"request failed: {text}")
        except RuntimeError:
            log.exception("run.failed")
    elif where == "exception_value":
        log.error("run.failed", error=ValueError(text))
    elif where == "sdk_record":
        logging.getLogger("azure.core.pipeline.policies").warning("Request failed: %s", text)
    elif where == "sdk_exception":
        try:
            raise ConnectionError(text)
        except ConnectionError:
            logging.getLogger("databricks.sdk").exception("retrying")
    else:  # pragma: no cover - a typo in the parametrisation
        raise AssertionError(where)


WHERE = ["event_field", "nested_dict", "message", "exception_message", "exception_value", "sdk_record",
         "sdk_exception"]


@pytest.mark.parametrize("fmt", ["json", "console"])
@pytest.mark.parametrize("where", WHERE)
@pytest.mark.parametrize("kind", SECRET_KINDS)
def test_secrets_never_reach_the_output(kind: str, where: str, fmt: str) -> None:
    """Each kind of secret planted anywhere in an event or SDK record is masked in JSON and console output."""
    text, forbidden, kept = _secret_kinds()[kind]
    out = io.StringIO()
    configure_logging("info", fmt, stream=out)  # type: ignore[arg-type]
    _plant(where, text, out)
    written = out.getvalue()
    assert written, "nothing was logged"
    for secret in forbidden:
        assert secret not in written
    assert "<redacted>" in written
    if kept:
        assert kept in written


def test_secret_named_keys_are_masked_whatever_their_value() -> None:
    """A value under a key such as `client_secret` or `Authorization` is masked even if it looks harmless."""
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    plain = secrets.token_hex(6)
    get_logger("mlgov.test").info("auth", client_secret=plain, headers={"Authorization": f"Token {plain}"},
                                  token_count=3)
    (line,) = json_lines(out.getvalue())
    assert plain not in out.getvalue()
    assert line["client_secret"] == "<redacted>" and line["headers"] == {"Authorization": "<redacted>"}
    assert line["token_count"] == 3


@pytest.mark.parametrize(
    "text",
    [
        "collector.scope_failed scope=adb-1 status=403",
        "basic authentication is not used",
        "no Bearer token in the response",
        "https://adb-1111111111111111.11.azuredatabricks.net/api/2.1/jobs/list?limit=25",
    ],
)
def test_ordinary_text_is_left_alone(text: str) -> None:
    """Text without secrets, including workspace URLs and prose about tokens, passes unchanged."""
    assert redact_text(text) == text


def test_redaction_is_idempotent() -> None:
    """Masking already masked text changes nothing (the rendered line is scrubbed twice)."""
    for text, _, _ in _secret_kinds().values():
        once = redact_text(text)
        assert redact_text(once) == once


def test_log_lines_stay_valid_json_after_redaction() -> None:
    """Masking inside the rendered JSON line never breaks its quoting."""
    out = io.StringIO()
    configure_logging("info", "json", stream=out)
    for text, _, _ in _secret_kinds().values():
        get_logger("mlgov.test").info("x", value=text, quoted=f'"{text}"', items=[text, {"k": text}])
    lines = json_lines(out.getvalue())
    assert len(lines) == len(SECRET_KINDS)

