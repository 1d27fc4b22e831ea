"""Recognise literal credentials in configuration values, without keeping them.

Collectors call `classify(key, value)` on every environment variable, Spark conf entry and
parameter they read. It returns the facts about a credential (kind, expiry, audience...) or
None; the value itself is dropped. A `{{secrets/<scope>/<key>}}` reference is the compliant
form and is never a sighting.
"""

from __future__ import annotations

import base64
import binascii
import json
import re
from datetime import UTC, datetime
from urllib.parse import urlsplit, urlunsplit

from mlgov.inventory import TokenFacts

_SECRET_REF = re.compile(r"^\s*\{\{\s*secrets/[^/{}\s]+/[^/{}\s]+\s*\}\}\s*$")
_JWT = re.compile(r"^(eyJ[A-Za-z0-9_-]+)\.(eyJ[A-Za-z0-9_-]*)\.([A-Za-z0-9_-]*)$")
_DATABRICKS_PAT = re.compile(r"^dapi[0-9a-f]{32}(?:-\d+)?$")
_GITHUB_PAT = re.compile(r"^(?:gh[pousr]_[A-Za-z0-9]{36,}|github_pat_[A-Za-z0-9_]{40,})$")
_BEARER = re.compile(r"^bearer\s+(\S+)$", re.IGNORECASE)
# user:password@ or a long token used as the user name (https://<PAT>@github.com/...).
_URL_CREDENTIAL = re.compile(
    r"^(?:jdbc:)?[a-z][a-z0-9+.-]*://(?:[^/@\s:]+:[^/@\s]+|[A-Za-z0-9_\-]{20,})@", re.IGNORECASE
)
# A secret inside a longer value: `password=` in a JDBC/ODBC connection string, `AccountKey=` or
# `SharedAccessKey=` in an Azure connection string, `sig=` in a SAS URL. An empty value, a
# `${VAR}` / `{{secrets/...}}` reference or a `<placeholder>` after the `=` is not a secret.
_EMBEDDED_SECRET = re.compile(
    r"(?:^|[;?&])\s*(?:password|pwd|accountkey|sharedaccesskey|sig)\s*=(?!\s*(?:[;&]|$|\$\{|\{\{|<|\*))",
    re.IGNORECASE,
)
_URL_SCHEME = re.compile(r"^(?:jdbc:)?[a-z][a-z0-9+.-]*://", re.IGNORECASE)
_SECRET_NAME = re.compile(
    r"(?:^|[_.\-])(?:token|secret|password|passwd|pwd|api[_\-]?key|apikey|access[_\-]?key|"
    r"client[_\-]?secret|sas|connection[_\-]?string|credential|credentials)(?:$|[_.\-])",
    re.IGNORECASE,
)
_NOT_A_SECRET_VALUE = re.compile(
    r"^(?:true|false|none|null|yes|no|\d{1,6}|\$\{[^}]+\}|\{\{[^}]+\}\}|<[^>]*>|\*+|x+|changeme)$",
    re.IGNORECASE,
)
_AZUREML_URI = re.compile(
    r"^azureml://(?P<host>[^/]+)/mlflow/v\d+\.\d+/subscriptions/(?P<sub>[^/]+)/resourceGroups/(?P<rg>[^/]+)"
    r"/providers/Microsoft\.MachineLearningServices/workspaces/(?P<ws>[^/?#]+)",
    re.IGNORECASE,
)


def is_secret_reference(value: str) -> bool:
    """True for `{{secrets/scope/key}}`, the Databricks way to reference a secret."""
    return bool(_SECRET_REF.match(value))


def classify(key: str, value: object) -> TokenFacts | None:
    """Facts about the credential in `value`, or None if it holds none.

    `key` is the variable or parameter name; a literal under a name like `*_TOKEN` or
    `*_SECRET` counts even when its shape is unknown.
    """
    if not isinstance(value, str):
        return None
    text = value.strip()
    if not text or is_secret_reference(text):
        return None
    bearer = _BEARER.match(text)
    if bearer:
        value_part = bearer.group(1)
        if is_secret_reference(value_part) or _NOT_A_SECRET_VALUE.match(value_part):
            return None  # `Bearer {{secrets/s/k}}` or `Bearer ${TOKEN}`: a reference, not a credential
        inner = classify(key, value_part)
        if inner is not None:
            return inner
        return TokenFacts(kind="bearer", length=len(value_part))
    jwt = decode_jwt(text)
    if jwt is not None:
        return jwt
    if _DATABRICKS_PAT.match(text):
        return TokenFacts(kind="databricks_pat", length=len(text))
    if _GITHUB_PAT.match(text):
        return TokenFacts(kind="github_pat", length=len(text))
    if _URL_CREDENTIAL.match(text) and not text.lower().startswith(("azureml://", "databricks://")):
        return TokenFacts(kind="credential_in_url", length=len(text))
    if _EMBEDDED_SECRET.search(text):
        kind = "credential_in_url" if _URL_SCHEME.match(text) else "named_secret"
        return TokenFacts(kind=kind, length=len(text))
    if _SECRET_NAME.search(key) and not _NOT_A_SECRET_VALUE.match(text) and not _looks_like_plain_value(text):
        return TokenFacts(kind="named_secret", length=len(text))
    return None


def decode_jwt(text: str) -> TokenFacts | None:
    """Read the claims of a JWT without verifying it; None if `text` is not a well-formed JWT.

    A value shaped like a JWT whose header or payload does not decode to a JSON object is
    not a JWT: callers treat it like any other literal.
    """
    match = _JWT.match(text)
    if not match:
        return None
    header = _b64json(match.group(1))
    payload = _b64json(match.group(2))
    if not isinstance(header, dict) or not isinstance(payload, dict) or "alg" not in header:
        return None
    aud = payload.get("aud")
    if isinstance(aud, list):
        aud = ",".join(str(a) for a in aud)
    return TokenFacts(
        kind="jwt",
        expires_at=_epoch(payload.get("exp")),
        issued_at=_epoch(payload.get("iat")),
        audience=str(aud) if aud is not None else None,
        issuer=_str_or_none(payload.get("iss")),
        tenant_id=_str_or_none(payload.get("tid")),
        app_id=_str_or_none(payload.get("appid") or payload.get("azp")),
        length=len(text),
    )


def parse_azureml_uri(uri: str) -> tuple[str, str] | None:
    """(workspace ARM id, region host) of an `azureml://` MLflow tracking URI, else None."""
    match = _AZUREML_URI.match(uri.strip())
    if not match:
        return None
    ws_id = (
        f"/subscriptions/{match['sub']}/resourceGroups/{match['rg']}"
        f"/providers/Microsoft.MachineLearningServices/workspaces/{match['ws']}"
    )
    return ws_id, match["host"]


def strip_credentials(uri: str) -> str:
    """The URI without user-info or query string, safe to print."""
    try:
        parts = urlsplit(uri)
    except ValueError:
        return "<unparsable uri>"
    host = parts.hostname or ""
    if parts.port:
        host = f"{host}:{parts.port}"
    return urlunsplit((parts.scheme, host, parts.path, "", ""))


def _looks_like_plain_value(text: str) -> bool:
    # Paths, URLs without credentials and key-vault style references are configuration, not secrets.
    return text.startswith(("/", "dbfs:", "abfss://", "https://", "http://", "file:")) or " " in text


def _b64json(segment: str) -> object:
    padded = segment + "=" * (-len(segment) % 4)
    try:
        return json.loads(base64.urlsafe_b64decode(padded))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None


def _epoch(value: object) -> datetime | None:
    if isinstance(value, int | float) and not isinstance(value, bool) and 0 < value < 1e11:
        return datetime.fromtimestamp(value, tz=UTC)
    return None


def _str_or_none(value: object) -> str | None:
    return str(value) if isinstance(value, str | int) else None
