"""The configuration file: versioned YAML with `${env:NAME}` interpolation, validated on load.

Errors name the file, the field and what to do. Values that are secrets (tokens, client
secrets, webhook URLs) are held as `SecretStr`, so they never show in a repr or a log line.
"""

from __future__ import annotations

import os
import re
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    ConfigDict,
    Field,
    SecretStr,
    ValidationError,
    field_validator,
    model_validator,
)

from mlgov.errors import ConfigError

CONFIG_VERSION = 1
_ENV_REF = re.compile(r"\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}")
_GUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class _Section(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


# --- Azure --------------------------------------------------------------------------------


class CustomCloud(_Section):
    """A cloud that is not one of Azure's named ones (Azure Stack Hub, an emulator...)."""

    name: str = "CustomCloud"
    arm_endpoint: Annotated[str, Field(pattern=r"^https://")]
    authority_host: Annotated[str, Field(pattern=r"^https://")]
    token_scope: str | None = None
    """Defaults to `<arm_endpoint>/.default`."""


class AzureAuth(_Section):
    """Which azure-identity credential to use."""

    method: Literal["default", "cli", "managed_identity", "workload_identity", "service_principal"] = (
        "default"
    )
    client_id: str | None = None
    """User-assigned managed identity client id, or the app id for workload identity."""
    tenant_id: str | None = None


class AzureFilters(_Section):
    """Narrow discovery. Every list is an allow-list; empty means everything."""

    resource_groups: list[str] = Field(default_factory=list)
    tags: dict[str, str] = Field(default_factory=dict)
    names: list[str] = Field(default_factory=list)
    """Glob patterns on workspace names."""


class AzureConfig(_Section):
    """Discovery of AML and Databricks workspaces through Azure Resource Manager."""

    cloud: Literal["AzureCloud", "AzureChinaCloud", "AzureUSGovernment", "custom"] = "AzureCloud"
    custom_cloud: CustomCloud | None = None
    auth: AzureAuth = Field(default_factory=AzureAuth)
    subscriptions: list[Annotated[str, Field(pattern=_GUID)]] | None = None
    """Subscriptions to audit; omitted means every subscription the credential can see."""
    filters: AzureFilters = Field(default_factory=AzureFilters)
    discover_aml: bool = True
    discover_databricks: bool = True

    @model_validator(mode="after")
    def _custom_cloud_given(self) -> AzureConfig:
        if self.cloud == "custom" and self.custom_cloud is None:
            raise ValueError("cloud is 'custom' but custom_cloud (arm_endpoint, authority_host) is missing")
        return self


# --- Databricks -----------------------------------------------------------------------------


class DatabricksAuth(_Section):
    """How to authenticate to a workspace named by host: any databricks-sdk method.

    `type`: `pat` (token), `oauth-m2m` (client_id, client_secret), `azure-cli`,
    `azure-client-secret` (azure_client_id, azure_client_secret, azure_tenant_id),
    `entra` (the same azure-identity credential as the Azure side), or `default`
    (databricks-sdk's own chain: environment variables, ~/.databrickscfg...).
    """

    type: Literal["pat", "oauth-m2m", "azure-cli", "azure-client-secret", "entra", "default"] = "default"
    token: SecretStr | None = None
    client_id: str | None = None
    client_secret: SecretStr | None = None
    azure_client_id: str | None = None
    azure_client_secret: SecretStr | None = None
    azure_tenant_id: str | None = None
    profile: str | None = None

    @model_validator(mode="after")
    def _fields_for_type(self) -> DatabricksAuth:
        need = {
            "pat": ["token"],
            "oauth-m2m": ["client_id", "client_secret"],
            "azure-client-secret": ["azure_client_id", "azure_client_secret", "azure_tenant_id"],
        }.get(self.type, [])
        missing = [name for name in need if getattr(self, name) is None]
        if missing:
            raise ValueError(f"auth type {self.type!r} needs {', '.join(missing)}")
        return self


class DatabricksWorkspaceConfig(_Section):
    """A Databricks workspace named by its host."""

    host: str
    name: str | None = None
    auth: DatabricksAuth = Field(default_factory=DatabricksAuth)
    resource_id: str | None = None
    """Its ARM id, if known: lets IAM-001 read its role assignments."""

    @field_validator("host")
    @classmethod
    def _host(cls, value: str) -> str:
        value = value.strip().rstrip("/")
        if not value:
            raise ValueError("host is empty")
        if "://" not in value:
            value = "https://" + value
        if not re.match(r"^https?://[A-Za-z0-9.\-]+(:\d+)?$", value):
            raise ValueError(f"{value!r} is not a workspace URL like https://adb-123.4.azuredatabricks.net")
        return value

    @property
    def display_name(self) -> str:
        """The configured name, else the host without scheme."""
        return self.name or self.host.split("://", 1)[1]


class DatabricksConfig(_Section):
    """Databricks workspaces to audit in addition to those found through ARM."""

    workspaces: list[DatabricksWorkspaceConfig] = Field(default_factory=list)


# --- Collection -----------------------------------------------------------------------------


class Concurrency(_Section):
    """How many requests may be in flight at once, per API family and across scopes."""

    scopes: int = Field(default=8, ge=1, le=64)
    arm: int = Field(default=8, ge=1, le=64)
    databricks: int = Field(default=8, ge=1, le=64)
    mlflow_search: int = Field(default=2, ge=1, le=16)


class RateLimits(_Section):
    """Client-side request rates (per second, per workspace or per subscription)."""

    arm_per_second: float = Field(default=20.0, gt=0)
    databricks_per_second: float = Field(default=25.0, gt=0)
    mlflow_search_per_second: float = Field(default=5.0, gt=0)


class CollectionConfig(_Section):
    """Bounds of collection."""

    runs_window_days: int = Field(default=30, ge=1, le=60)
    """Job runs are read over this window (for CMP-001's cost)."""
    timeout_seconds: int = Field(default=1800, ge=30)
    """Overall deadline of the collection; scopes not done by then become AUD-001."""
    request_timeout_seconds: int = Field(default=60, ge=5, le=600)
    retry_timeout_seconds: int = Field(default=300, ge=5)
    concurrency: Concurrency = Field(default_factory=Concurrency)
    rate_limits: RateLimits = Field(default_factory=RateLimits)


# --- Policies, prices -----------------------------------------------------------------------


class PoliciesConfig(_Section):
    """Per-policy settings."""

    disabled: list[str] = Field(default_factory=list)
    parameters: dict[str, dict[str, Any]] = Field(default_factory=dict)
    severity: dict[str, str] = Field(default_factory=dict)
    directory: str | None = None
    """Another directory of policy files (the shipped ones by default)."""


class PricesConfig(_Section):
    """Which prices to use for cost estimates."""

    file: str | None = None
    region: str | None = None
    currency: str | None = None
    databricks_tier: Literal["premium", "standard"] | None = None


class StateConfig(_Section):
    """Where the state store lives and how long a run waits for another one to finish.

    Keep the file on a local disk or a block volume (Kubernetes PVC backed by a disk): SQLite
    locking is unreliable on network file systems (SMB/Azure Files, NFS). `journal_mode: wal`
    lets `mlgov findings` read while an audit writes, but only on a local disk.
    """

    path: str = "mlgov-state.db"
    lock_timeout_seconds: float = Field(default=60.0, ge=0, le=3600)
    """How long an audit waits for another audit holding the store before giving up."""
    journal_mode: Literal["delete", "wal"] = "delete"


class WaiversConfig(_Section):
    """The waivers file and the longest a waiver may last."""

    file: str | None = None
    max_days: int = Field(default=180, ge=1, le=3650)
    warn_days: int = Field(default=7, ge=0, le=90)
    """Waivers expiring within this many days are listed (and notified once)."""


EventName = Literal["new", "reopened", "resolved", "waiver_expired", "waiver_expiring"]
ALL_EVENTS: tuple[EventName, ...] = ("new", "reopened", "resolved", "waiver_expired", "waiver_expiring")


class Destination(_Section):
    """Where notifications go (Teams Workflows, Standard Webhooks, Slack-compatible).

    `url` is a secret (a Workflows URL carries a `sig=` signature): it is never logged and
    never shown in an error. Filters: `min_severity`, `policies` (ids or globs like `CST-*`),
    `targets` (globs on the workspace/scope id or the resource id, case-insensitive) and
    `events`. An empty list means no filter.
    """

    name: str = Field(pattern=r"^[A-Za-z0-9_.\-]+$")
    type: Literal["teams", "webhook", "slack"]
    url: SecretStr
    secret: SecretStr | None = None
    """`whsec_...` signing secret (Standard Webhooks) for `webhook` destinations."""
    min_severity: Literal["critical", "high", "medium", "low", "info"] = "low"
    policies: list[str] = Field(default_factory=list)
    targets: list[str] = Field(default_factory=list)
    events: list[EventName] = Field(default_factory=lambda: list(ALL_EVENTS))
    reminder_days: int = Field(default=7, ge=0, le=90)
    """Send a digest of what is still open every N days; 0 turns reminders off."""
    body: Literal["standard", "slack"] = "standard"
    """For `webhook` destinations: the documented mlgov JSON body, or a Slack-compatible one."""

    @field_validator("url")
    @classmethod
    def _url(cls, value: SecretStr) -> SecretStr:
        from mlgov.delivery.urls import check_url

        return SecretStr(check_url(value.get_secret_value()))

    @model_validator(mode="after")
    def _secret(self) -> Destination:
        if self.type == "webhook":
            if self.secret is None:
                raise ValueError(
                    f"destination {self.name}: a webhook destination needs `secret` (whsec_<base64>, "
                    "e.g. `secret: ${env:MLGOV_WEBHOOK_SECRET}`) to sign its messages"
                )
            from mlgov.delivery.signing import check_secret

            check_secret(self.secret.get_secret_value(), self.name)
        return self

    def warnings(self) -> list[str]:
        """Things worth telling the user about this destination that are not errors."""
        from mlgov.delivery.urls import url_warning

        found = url_warning(self.url.get_secret_value(), self.type)
        return [f"destination {self.name}: {found}"] if found else []


class NotificationsConfig(_Section):
    """Destinations and delivery settings."""

    destinations: list[Destination] = Field(default_factory=list)
    report_url: str | None = None
    """A link to the full report, put on Teams cards when they are cut short."""
    deadline_seconds: int = Field(default=120, ge=5)
    """Time allowed for sending all deliveries of a run; what is not sent stays in the outbox."""
    max_attempts: int = Field(default=5, ge=1, le=20)
    """Attempts per delivery within one run (408, 429, 5xx and transport errors are retried)."""
    attempt_timeout_seconds: float = Field(default=15.0, gt=0, le=120)
    backoff_seconds: float = Field(default=1.0, ge=0, le=60)
    """Base of the exponential backoff (full jitter) between attempts."""
    min_interval_seconds: float = Field(default=1.0, ge=0, le=60)
    """At most one POST per this many seconds to the same URL (Teams throttles above 4/s)."""
    max_pending_days: int = Field(default=7, ge=1, le=90)
    """Deliveries still unsent after this many days are dropped (marked `dead`) instead of sent late."""

    @field_validator("report_url")
    @classmethod
    def _report_url(cls, value: str | None) -> str | None:
        if value is not None and not re.match(r"^https?://[^\s]+$", value.strip()):
            raise ValueError("report_url must be an http(s) URL")
        return value.strip() if value else value

    @model_validator(mode="after")
    def _unique_names(self) -> NotificationsConfig:
        names = [d.name for d in self.destinations]
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ValueError(f"destination names must be unique: {', '.join(dupes)}")
        return self


class ServeConfig(_Section):
    """The scheduled service (`mlgov serve`)."""

    cron: str = "0 6 * * 1-5"
    """A 5-field crontab line read as crontab(5) does (0 and 7 = Sunday), or `@daily`, `@hourly`..."""
    timezone: str = "UTC"
    """The IANA zone the cron is read in (e.g. Europe/Berlin): runs follow its daylight saving."""
    run_at_start: bool = False
    misfire_grace_seconds: int = Field(default=3600, ge=1)
    """A run that could not start on time still starts if it is at most this late."""
    shutdown_grace_seconds: int = Field(default=25, ge=0, le=3600)
    """On SIGTERM, how long a run in progress may go on before the service exits anyway
    (keep it below the pod's terminationGracePeriodSeconds)."""
    host: str = "0.0.0.0"  # noqa: S104 - the service is meant to be probed from its pod network
    port: int = Field(default=9464, ge=0, le=65535)
    """Port of /healthz, /readyz and /metrics; 0 picks a free port."""
    heartbeat_file: str | None = None
    """A file touched on every scheduler tick and at the end of every run (for exec probes)."""
    heartbeat_interval_seconds: int = Field(default=30, ge=1, le=3600)
    notify: bool = True

    @field_validator("timezone")
    @classmethod
    def _timezone(cls, value: str) -> str:
        from mlgov.service.cron import zone

        zone(value)
        return value

    @model_validator(mode="after")
    def _cron(self) -> ServeConfig:
        from mlgov.service.cron import build_trigger

        try:
            build_trigger(self.cron, self.timezone)
        except ValueError as exc:
            raise ValueError(f"cron: {exc}") from exc
        return self


class LoggingConfig(_Section):
    """Log format and level.

    `format: auto` writes JSON lines when stderr is not a terminal (containers, CI) and
    readable lines on a terminal. `level` is mlgov's own; the SDKs' loggers stay at warning
    unless it is `debug`.
    """

    level: Literal["debug", "info", "warning", "error"] = "info"
    format: Literal["auto", "json", "console"] = "auto"


# --- Root -----------------------------------------------------------------------------------


class Config(_Section):
    """The whole configuration file."""

    version: int
    azure: AzureConfig | None = None
    databricks: DatabricksConfig = Field(default_factory=DatabricksConfig)
    collection: CollectionConfig = Field(default_factory=CollectionConfig)
    policies: PoliciesConfig = Field(default_factory=PoliciesConfig)
    prices: PricesConfig = Field(default_factory=PricesConfig)
    state: StateConfig = Field(default_factory=StateConfig)
    waivers: WaiversConfig = Field(default_factory=WaiversConfig)
    notifications: NotificationsConfig = Field(default_factory=NotificationsConfig)
    serve: ServeConfig = Field(default_factory=ServeConfig)
    logging: LoggingConfig = Field(default_factory=LoggingConfig)

    @field_validator("version")
    @classmethod
    def _version(cls, value: int) -> int:
        if value != CONFIG_VERSION:
            raise ValueError(f"version {value} is not supported (this mlgov reads version {CONFIG_VERSION})")
        return value

    @model_validator(mode="after")
    def _has_targets(self) -> Config:
        if self.azure is None and not self.databricks.workspaces:
            raise ValueError(
                "nothing to audit: give an `azure:` section (discovery) or `databricks.workspaces`"
            )
        return self


def interpolate(value: Any, *, path: str = "", source: str = "config") -> Any:
    """Replace `${env:NAME}` in every string of a parsed YAML tree; a missing variable is an error."""
    if isinstance(value, dict):
        return {k: interpolate(v, path=f"{path}.{k}" if path else str(k), source=source) for k, v in value.items()}
    if isinstance(value, list):
        return [interpolate(v, path=f"{path}[{i}]", source=source) for i, v in enumerate(value)]
    if isinstance(value, str):

        def sub(match: re.Match[str]) -> str:
            name = match.group(1)
            if name not in os.environ:
                raise ConfigError(
                    f"{source}: {path}: environment variable {name} is not set",
                    hint=f"Export {name} before running mlgov, or put the value in the file.",
                )
            return os.environ[name]

        return _ENV_REF.sub(sub, value)
    return value


def parse_config(raw: Any, *, source: str = "config") -> Config:
    """Validate an already parsed YAML tree (after interpolation)."""
    if not isinstance(raw, dict):
        raise ConfigError(
            f"{source}: the config must be a YAML mapping, got {type(raw).__name__}",
            hint="Start from deploy/config.example.yaml.",
        )
    if "version" not in raw:
        raise ConfigError(
            f"{source}: version: missing required field",
            hint=f"Add `version: {CONFIG_VERSION}` at the top of the file.",
        )
    data = interpolate(raw, source=source)
    try:
        return Config.model_validate(data)
    except ValidationError as exc:
        lines = [_describe(err) for err in exc.errors()]
        raise ConfigError(
            f"{source}: " + "; ".join(lines),
            hint="Fix the field(s) named above; `mlgov validate --config FILE` checks a file without auditing.",
        ) from exc


def load_config(path: Path | str) -> Config:
    """Read, interpolate and validate a config file."""
    p = Path(path)
    from mlgov.yamlfile import read_yaml

    raw = read_yaml(
        p,
        ConfigError,
        what="config",
        missing_hint="Pass --config FILE, or try `mlgov audit --demo` to see mlgov on a sample tenant.",
    )
    return parse_config(raw, source=str(p))


def _describe(error: Any) -> str:
    loc = "".join(f"[{p}]" if isinstance(p, int) else f".{p}" for p in error.get("loc", ())).lstrip(".")
    msg = str(error.get("msg", "invalid")).removeprefix("Value error, ")
    if error.get("type") == "extra_forbidden":
        msg = "unknown field (check its spelling and indentation)"
    elif error.get("type") == "missing":
        msg = "missing required field"
    return f"{loc or '(top level)'}: {msg}"
