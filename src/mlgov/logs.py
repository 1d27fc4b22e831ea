"""Logging: structlog events, JSON lines off a terminal, and redaction of every secret.

`configure_logging()` sets up one stderr handler on the root logger whose formatter is
structlog's `ProcessorFormatter`, so that mlgov's own events (`structlog.get_logger()`) and the
SDKs' stdlib `logging` records (azure, databricks, urllib3, apscheduler, httpx...) come out in
one format: JSON lines when the stream is not a terminal (or `format="json"`), readable
key-value lines on a terminal. The SDK loggers stay at WARNING unless the level is `debug`.

A redaction processor runs last before rendering, on the event dict (nested values,
exception text, messages of foreign records), and the rendered line is scrubbed once more as a
safety net. It masks JWTs, Databricks PATs, `Bearer ...` values, `sig=` query parameters,
`client_secret=`, `AccountKey=`, `whsec_` signing secrets and webhook URLs (Power Automate,
Logic Apps, Office 365 connectors, Slack, any URL with `sig=`), keeping the host so a line
still says where a request went.

`run_context(run_id)` binds a run id to every event of a run through contextvars.
"""

from __future__ import annotations

import logging
import re
import sys
import uuid
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from typing import IO, Any, Literal

import structlog

LogLevel = Literal["debug", "info", "warning", "error"]
LogFormat = Literal["auto", "json", "console"]

SDK_LOGGERS = (
    "azure",
    "databricks",
    "urllib3",
    "apscheduler",
    "httpx",
    "httpcore",
    "msal",
    "vcr",
    "py.warnings",
)
"""Third-party loggers held at WARNING (DEBUG when the level is debug)."""

REDACTED = "<redacted>"

_URL_CHARS = r"[^\s\"'<>\\]"
_VALUE_CHARS = r"[^\s\"'<>\\&;,]"
_WEBHOOK_HOSTS = (
    r"[A-Za-z0-9.-]*\.powerplatform\.com",
    r"[A-Za-z0-9.-]*\.logic\.azure\.com",
    r"[A-Za-z0-9.-]*\.webhook\.office\.com",
    r"outlook\.office(?:365)?\.com",
    r"hooks\.slack\.com",
)
# Order matters: whole URLs first (they may hold a sig= or a token), then the smaller shapes.
_PATTERNS: tuple[tuple[re.Pattern[str], str | Callable[[re.Match[str]], str]], ...] = (
    # Webhook URLs of the known hosts: keep scheme and host, drop path and query.
    (
        re.compile(rf"(?i)\b(https?://(?:{'|'.join(_WEBHOOK_HOSTS)})(?::\d+)?)[/?#](?!{REDACTED}){_URL_CHARS}*"),
        lambda m: f"{m.group(1)}/{REDACTED}",
    ),
    # Any URL carrying a SAS-style signature.
    (
        re.compile(rf"(?i)\b(https?://[A-Za-z0-9.\-]+(?::\d+)?)[/?]{_URL_CHARS}*?[?&]sig={_URL_CHARS}*"),
        lambda m: f"{m.group(1)}/{REDACTED}",
    ),
    (re.compile(r"\beyJ[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]+\.[A-Za-z0-9_\-]*"), f"{REDACTED}:jwt"),
    (re.compile(r"\bdapi[0-9a-fA-F]{32}(?:-\d+)?\b"), f"dapi{REDACTED}"),
    (re.compile(r"\bwhsec_[A-Za-z0-9+/=_\-]+"), f"whsec_{REDACTED}"),
    (
        re.compile(r"(?i)\b(authorization[\"']?\s*[:=]\s*[\"']?)[^\"'\r\n,}]+"),
        rf"\1{REDACTED}",
    ),
    (re.compile(r"(?i)\b(bearer)(\s+|%20)[A-Za-z0-9._~+/=\-]{16,}"), rf"\1\2{REDACTED}"),
    (re.compile(rf"(?i)([?&;]sig=){_VALUE_CHARS}+"), rf"\1{REDACTED}"),
    (re.compile(rf"(?i)\b(sig=){_VALUE_CHARS}{{8,}}"), rf"\1{REDACTED}"),
    (
        re.compile(
            r"(?i)\b((?:azure_)?client_secret|password|access_token|refresh_token|api_key)"
            rf"([\"']?\s*[=:]\s*[\"']?){_VALUE_CHARS}+"
        ),
        rf"\1\2{REDACTED}",
    ),
    (
        re.compile(r"(?i)\b(AccountKey|SharedAccessKey|SharedAccessSignature)=[^;\s\"'<>\\]+"),
        rf"\1={REDACTED}",
    ),
)

_SECRET_KEY = re.compile(
    r"(?i)^(?:.*[_\-.])?(?:token|secret|password|passwd|authorization|api_?key|client_secret|"
    r"account_?key|sas|signature|webhook_url|url_secret|cookie)$"
)
"""Event keys whose string values are secret whatever they look like."""


def redact_text(text: str) -> str:
    """`text` with every token, secret and webhook URL masked."""
    for pattern, replacement in _PATTERNS:
        text = pattern.sub(replacement, text)
    return text


def redact_value(value: Any, *, key: str | None = None, _depth: int = 0) -> Any:
    """A copy of `value` (str, mapping, sequence, exception...) with secrets masked."""
    if _depth > 20:
        return REDACTED
    if key is not None and _SECRET_KEY.match(key) and isinstance(value, str | bytes) and value:
        return REDACTED
    if isinstance(value, str):
        return redact_text(value)
    if isinstance(value, bool | int | float) or value is None:
        return value
    if isinstance(value, bytes):
        return redact_text(value.decode("utf-8", "replace"))
    if isinstance(value, BaseException):
        return redact_text(f"{type(value).__name__}: {value}")
    if isinstance(value, Mapping):
        return {k: redact_value(v, key=str(k), _depth=_depth + 1) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [redact_value(v, _depth=_depth + 1) for v in value]
    # Anything else is rendered by its str() or repr(): mask that text now.
    return redact_text(str(value))


def redact_processor(_logger: Any, _method: str, event_dict: Any) -> Any:
    """structlog processor: mask secrets in every value of the event dict (run it last)."""
    out: dict[str, Any] = {}
    for key, value in event_dict.items():
        if key.startswith("_") or key == "exc_info":
            out[key] = value
        else:
            out[key] = redact_value(value, key=key)
    return out


class _RedactingRenderer:
    """Wrap a renderer and scrub its output once more (values we could not see structurally)."""

    def __init__(self, inner: Callable[[Any, str, Any], Any]) -> None:
        self.inner = inner

    def __call__(self, logger: Any, method: str, event_dict: Any) -> str:
        rendered = self.inner(logger, method, event_dict)
        if isinstance(rendered, bytes):
            rendered = rendered.decode("utf-8", "replace")
        return redact_text(str(rendered))


_HANDLER_MARK = "_mlgov_handler"


def configure_logging(
    level: LogLevel = "info",
    fmt: LogFormat = "auto",
    *,
    stream: IO[str] | None = None,
) -> logging.Handler:
    """Route structlog and stdlib logging to one redacting handler on `stream` (stderr).

    Calling it again replaces the handler it installed before. Returns the handler.
    """
    out = stream if stream is not None else sys.stderr
    use_json = fmt == "json" or (fmt == "auto" and not _is_tty(out))
    std_level = getattr(logging, level.upper())
    sdk_level = logging.DEBUG if level == "debug" else logging.WARNING

    shared: list[Any] = [
        structlog.contextvars.merge_contextvars,
        structlog.stdlib.add_log_level,
        structlog.stdlib.add_logger_name,
        structlog.processors.TimeStamper(fmt="iso", utc=True),
    ]
    renderer: Callable[[Any, str, Any], Any]
    if use_json:
        renderer = structlog.processors.JSONRenderer(default=str)
    else:
        renderer = structlog.dev.ConsoleRenderer(colors=_is_tty(out))
    formatter = structlog.stdlib.ProcessorFormatter(
        foreign_pre_chain=shared,
        processors=[
            structlog.stdlib.ProcessorFormatter.remove_processors_meta,
            structlog.processors.StackInfoRenderer(),
            structlog.processors.format_exc_info,
            redact_processor,
            _RedactingRenderer(renderer),
        ],
    )
    handler = logging.StreamHandler(out)
    handler.setFormatter(formatter)
    setattr(handler, _HANDLER_MARK, True)

    root = logging.getLogger()
    for old in [h for h in root.handlers if getattr(h, _HANDLER_MARK, False)]:
        root.removeHandler(old)
        old.close()
    root.addHandler(handler)
    root.setLevel(sdk_level)
    logging.getLogger("mlgov").setLevel(std_level)
    for name in SDK_LOGGERS:
        logging.getLogger(name).setLevel(sdk_level)
    logging.captureWarnings(True)

    structlog.configure(
        processors=[
            structlog.stdlib.filter_by_level,
            *shared,
            structlog.stdlib.PositionalArgumentsFormatter(),
            structlog.stdlib.ProcessorFormatter.wrap_for_formatter,
        ],
        logger_factory=structlog.stdlib.LoggerFactory(),
        wrapper_class=structlog.stdlib.BoundLogger,
        cache_logger_on_first_use=False,
    )
    return handler


def get_logger(name: str = "mlgov") -> Any:
    """A structlog logger for an mlgov module (`get_logger(__name__)`)."""
    return structlog.stdlib.get_logger(name)


def new_run_id() -> str:
    """A short random id for one run."""
    return uuid.uuid4().hex[:12]


@contextmanager
def run_context(run_id: str | None = None, **extra: Any) -> Iterator[str]:
    """Bind `run_id` (a new one by default) and `extra` to every event logged inside the block."""
    rid = run_id or new_run_id()
    with structlog.contextvars.bound_contextvars(run_id=rid, **extra):
        yield rid


def _is_tty(stream: IO[str]) -> bool:
    isatty = getattr(stream, "isatty", None)
    try:
        return bool(isatty()) if isatty else False
    except ValueError:  # a closed stream
        return False


__all__ = [
    "REDACTED",
    "SDK_LOGGERS",
    "configure_logging",
    "get_logger",
    "new_run_id",
    "redact_processor",
    "redact_text",
    "redact_value",
    "run_context",
]
