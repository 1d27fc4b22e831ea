"""The audit context: builds every credential and client, lazily, and is replaceable in tests.

Collectors ask the context for clients; they never construct one themselves. Tests give the
context a static credential and SDK overrides (a fake clock for retries) instead of patching
SDK modules. Heavy SDKs (azure-ai-ml, databricks-sdk) are imported only when a client of
theirs is first asked for.
"""

from __future__ import annotations

import math
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING, Any

from mlgov.config import AzureConfig, Config, DatabricksAuth
from mlgov.errors import CollectionError, ConfigError

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential

    from mlgov.targets import DatabricksTarget

DATABRICKS_SCOPE = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default"
TOKEN_REFRESH_MARGIN_SECONDS = 300
DEFAULT_RETRY_BACKOFF_FACTOR = 0.8
"""azure-core's default `retry_backoff_factor`."""


@dataclass(frozen=True, slots=True)
class CloudEndpoints:
    """Endpoints of one Azure cloud, as every client must see them."""

    name: str
    arm_endpoint: str
    authority_host: str
    arm_scope: str
    aml_cloud: str
    """The `cloud=` name given to every azure-ai-ml MLClient."""
    custom: bool = False

    @property
    def aml_cloud_metadata(self) -> dict[str, str] | None:
        """`cloud_metadata=` for MLClient when the cloud is not one azure-ai-ml knows."""
        if not self.custom:
            return None
        arm = self.arm_endpoint.rstrip("/") + "/"
        return {
            "azure_portal": arm,
            "resource_manager": arm,
            "active_directory": self.authority_host.rstrip("/") + "/",
            "aml_resource_id": arm,
            "storage_endpoint": "core.windows.net",
            "registry_discovery_endpoint": arm,
        }


NAMED_CLOUDS: Mapping[str, CloudEndpoints] = {
    "AzureCloud": CloudEndpoints(
        "AzureCloud",
        "https://management.azure.com",
        "https://login.microsoftonline.com",
        "https://management.azure.com/.default",
        "AzureCloud",
    ),
    "AzureChinaCloud": CloudEndpoints(
        "AzureChinaCloud",
        "https://management.chinacloudapi.cn",
        "https://login.chinacloudapi.cn",
        "https://management.chinacloudapi.cn/.default",
        "AzureChinaCloud",
    ),
    "AzureUSGovernment": CloudEndpoints(
        "AzureUSGovernment",
        "https://management.usgovcloudapi.net",
        "https://login.microsoftonline.us",
        "https://management.core.usgovcloudapi.net/.default",
        "AzureUSGovernment",
    ),
}


def cloud_endpoints(azure: AzureConfig | None) -> CloudEndpoints:
    """The endpoints of the configured cloud (AzureCloud when there is no `azure:` section)."""
    if azure is None or azure.cloud != "custom":
        return NAMED_CLOUDS[azure.cloud if azure else "AzureCloud"]
    custom = azure.custom_cloud
    if custom is None:  # pragma: no cover - the config validator refuses this
        raise ConfigError("azure.custom_cloud is required when azure.cloud is 'custom'")
    arm = custom.arm_endpoint.rstrip("/")
    return CloudEndpoints(
        name=custom.name,
        arm_endpoint=arm,
        authority_host=custom.authority_host.rstrip("/"),
        arm_scope=custom.token_scope or f"{arm}/.default",
        aml_cloud=custom.name,
        custom=True,
    )


DEFAULT_ACTIVITY_HORIZON_DAYS = 90


def default_activity_horizon(config: Config) -> int:
    """EXP-002's configured `stale_after_days` when it is set, else 90 days.

    The horizon must not exceed the staleness threshold: an experiment updated 60 days ago
    whose run lookup was skipped would otherwise look stale to a 30-day policy.
    """
    for policy_id, params in config.policies.parameters.items():
        if policy_id.upper() == "EXP-002":
            value = params.get("stale_after_days")
            if isinstance(value, int) and not isinstance(value, bool) and value > 0:
                return value
    return DEFAULT_ACTIVITY_HORIZON_DAYS


class CachingCredential:
    """Wraps a TokenCredential and reuses each scope's token until shortly before it expires.

    azure-ai-ml asks for a token for every job it lists and `AzureCliCredential` starts an
    `az` process per request; without this cache that dominates the audit's wall time.
    """

    def __init__(self, inner: TokenCredential, *, margin_seconds: int = TOKEN_REFRESH_MARGIN_SECONDS) -> None:
        self._inner = inner
        self._margin = margin_seconds
        self._lock = threading.Lock()
        self._tokens: dict[tuple[str, ...], AccessToken] = {}
        self.requests = 0
        """How many tokens were actually fetched from the wrapped credential."""

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """A cached token for these scopes, refreshed `margin_seconds` before expiry."""
        key = (*scopes, str(kwargs.get("tenant_id") or ""), str(kwargs.get("claims") or ""))
        with self._lock:
            cached = self._tokens.get(key)
            if cached is not None and cached.expires_on - self._margin > time.time():
                return cached
            token = self._inner.get_token(*scopes, **kwargs)
            self.requests += 1
            if not kwargs.get("claims"):
                self._tokens[key] = token
            return token

    def close(self) -> None:
        """Close the wrapped credential, if it can be closed."""
        close = getattr(self._inner, "close", None)
        if callable(close):
            close()


class DeadlineExceeded(CollectionError):
    """The collection's overall deadline (`collection.timeout_seconds`) passed.

    Raised before a request is sent (or while it waits for a slot), so that every collector
    thread stops at its next request once the deadline has passed; collectors catch it like
    any other collection error and record a failed scope.
    """

    CODE = "DeadlineExceeded"

    def __init__(self, seconds: float) -> None:
        super().__init__(
            f"not read: the collection deadline (collection.timeout_seconds = {seconds:g} s) passed "
            "before this scope was done",
            hint="Raise collection.timeout_seconds, or split the tenant over several runs with "
            "`--shard I/N` (see docs/scale-out.md).",
            code=self.CODE,
        )
        self.seconds = seconds


class Deadline:
    """The overall deadline of one collection, on a monotonic clock.

    Not running until `start()`; `remaining()` is None while not running (no deadline).
    """

    def __init__(self, seconds: float, clock: Any = None) -> None:
        self.seconds = float(seconds)
        self._clock = clock or time.monotonic
        self._ends: float | None = None
        self._lock = threading.Lock()

    def start(self) -> None:
        """Start the countdown (only the first call counts)."""
        with self._lock:
            if self._ends is None:
                self._ends = float(self._clock()) + self.seconds

    def remaining(self) -> float | None:
        """Seconds left (0 when passed), or None when not started."""
        ends = self._ends
        if ends is None:
            return None
        return max(0.0, ends - float(self._clock()))

    @property
    def passed(self) -> bool:
        """True once the deadline is behind us."""
        left = self.remaining()
        return left is not None and left <= 0

    def check(self) -> None:
        """Raise `DeadlineExceeded` when the deadline has passed."""
        if self.passed:
            raise DeadlineExceeded(self.seconds)

    def clip(self, seconds: float) -> float:
        """`seconds`, or less if the deadline comes sooner (at least 1 s, for SDK settings)."""
        left = self.remaining()
        return seconds if left is None else max(1.0, min(seconds, left))


class Limiter:
    """Bounds how many requests of one API family are in flight at once.

    Collectors hold a slot for each HTTP request (never for a whole family or scope). Entering
    raises `DeadlineExceeded` once the collection deadline has passed, also when the deadline
    passes while waiting for a slot.
    """

    def __init__(self, family: str, limit: int, deadline: Deadline | None = None) -> None:
        self.family = family
        self.limit = limit
        self._sem = threading.BoundedSemaphore(limit)
        self._lock = threading.Lock()
        self._deadline = deadline
        self.in_flight = 0
        self.peak = 0
        self.calls = 0

    def __enter__(self) -> Limiter:
        deadline = self._deadline
        if deadline is None:
            self._sem.acquire()
        else:
            deadline.check()
            left = deadline.remaining()
            if not self._sem.acquire(timeout=left):
                raise DeadlineExceeded(deadline.seconds)
        with self._lock:
            self.in_flight += 1
            self.calls += 1
            self.peak = max(self.peak, self.in_flight)
        return self

    def __exit__(self, *exc: object) -> None:
        with self._lock:
            self.in_flight -= 1
        self._sem.release()


class AuditContext:
    """Everything a collector needs: config, cloud, credentials, clients and limits."""

    def __init__(
        self,
        config: Config,
        *,
        azure_credential: TokenCredential | None = None,
        databricks_overrides: Mapping[str, Any] | None = None,
        azure_client_kwargs: Mapping[str, Any] | None = None,
        activity_horizon_days: int | None = None,
        timeout_seconds: float | None = None,
    ) -> None:
        self.config = config
        self.activity_horizon_days = (
            activity_horizon_days if activity_horizon_days is not None else default_activity_horizon(config)
        )
        """An MLflow experiment updated within this many days is active whatever its runs say, so
        collectors skip looking up its newest run. Never more than EXP-002's `stale_after_days`."""
        self.cloud = cloud_endpoints(config.azure)
        self._given_credential = azure_credential
        self._credential: CachingCredential | None = None
        self._databricks_overrides = dict(databricks_overrides or {})
        self.azure_client_kwargs: dict[str, Any] = dict(azure_client_kwargs or {})
        """Extra keyword arguments for every azure-mgmt / azure-ai-ml client (tests: retry settings)."""
        self._lock = threading.Lock()
        self._azure_clients: dict[tuple[str, ...], Any] = {}
        self._clients_lock = threading.RLock()
        self._build_locks: dict[tuple[str, ...], threading.Lock] = {}
        self.deadline = Deadline(
            timeout_seconds if timeout_seconds is not None else config.collection.timeout_seconds
        )
        """The collection's overall deadline (`collection.timeout_seconds`); `collect()` starts it."""
        self.collection_started_at: datetime | None = None
        """When `collect()` started (the snapshot's `taken_at`): time windows computed by the
        collectors count from here, so that they match the policies' view of "now"."""
        conc = config.collection.concurrency
        self.limiters = {
            "arm": Limiter("arm", conc.arm, self.deadline),
            "databricks": Limiter("databricks", conc.databricks, self.deadline),
            "mlflow_search": Limiter("mlflow_search", conc.mlflow_search, self.deadline),
        }

    def limit(self, family: str) -> Limiter:
        """The limiter of an API family (`arm`, `databricks`, `mlflow_search`)."""
        return self.limiters[family]

    # --- Azure ---------------------------------------------------------------------------

    def azure_credential(self) -> CachingCredential:
        """The credential for ARM and Entra-authenticated Databricks, built once and cached."""
        with self._lock:
            if self._credential is None:
                inner = self._given_credential or self._build_azure_credential()
                self._credential = CachingCredential(inner)
            return self._credential

    def _build_azure_credential(self) -> TokenCredential:
        from azure import identity

        azure = self.config.azure
        auth = azure.auth if azure else None
        method = auth.method if auth else "default"
        authority = self.cloud.authority_host
        client_id = auth.client_id if auth else None
        tenant_id = auth.tenant_id if auth else None
        if method == "cli":
            return identity.AzureCliCredential(tenant_id=tenant_id or "")
        if method == "managed_identity":
            return identity.ManagedIdentityCredential(client_id=client_id)
        if method == "workload_identity":
            kwargs: dict[str, Any] = {"authority": authority}
            if client_id:
                kwargs["client_id"] = client_id
            if tenant_id:
                kwargs["tenant_id"] = tenant_id
            return identity.WorkloadIdentityCredential(**kwargs)
        if method == "service_principal":
            return identity.EnvironmentCredential(authority=authority)
        return identity.DefaultAzureCredential(
            authority=authority, managed_identity_client_id=client_id
        )

    # --- Azure clients (one per subscription or workspace, cached) --------------------------

    def azure_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for every Azure client: timeouts from the config, then overrides.

        `retry_total`/`retry_backoff_factor`/`connection_verify`... given as
        `azure_client_kwargs` win (tests make retries instant with them).
        """
        coll = self.config.collection
        kwargs: dict[str, Any] = {
            "connection_timeout": min(30, coll.request_timeout_seconds),
            "read_timeout": coll.request_timeout_seconds,
            # azure-core's retry window per operation; never past the collection deadline.
            "timeout": self.deadline.clip(coll.retry_timeout_seconds),
        }
        kwargs.update(self.azure_client_kwargs)
        return kwargs

    def retry_jitter_seconds(self) -> float:
        """Upper bound of the random wait added before each Azure retry (see `LimitPolicy`).

        One unit of azure-core's exponential backoff (`retry_backoff_factor`, 0.8 s unless a
        client kwarg says otherwise): 0 when retries are made instant, as in tests.
        """
        factor = self.azure_client_kwargs.get("retry_backoff_factor", DEFAULT_RETRY_BACKOFF_FACTOR)
        return max(0.0, float(factor))

    def _cached_client(self, key: tuple[str, ...], build: Any) -> Any:
        """The client under `key`, built once. Building holds a lock of that key only: scopes
        that want a client already built never wait for another one being built (azure-ai-ml
        takes a second to import)."""
        with self._clients_lock:
            client = self._azure_clients.get(key)
            if client is not None:
                return client
            key_lock = self._build_locks.setdefault(key, threading.Lock())
        with key_lock:
            with self._clients_lock:
                client = self._azure_clients.get(key)
            if client is None:
                client = build()
                with self._clients_lock:
                    self._azure_clients[key] = client
            return client

    def _mgmt_kwargs(self) -> dict[str, Any]:
        from mlgov.collectors.azure_common import arm_policies

        kwargs = self.azure_kwargs()
        scope = self.cloud.arm_scope
        kwargs["credential_scopes"] = [scope]
        credential, limiter, pacer = self.azure_credential(), self.limit("arm"), self.arm_pacer()
        jitter = self.retry_jitter_seconds()
        kwargs["policies"] = arm_policies(credential, scope, limiter, pacer, jitter=jitter, **kwargs)
        return kwargs

    def arm_pacer(self) -> Any:
        """The one ARM request pacer of this run (`collection.rate_limits.arm_per_second`)."""
        from mlgov.collectors.azure_common import ArmPacer

        with self._clients_lock:
            pacer = self._azure_clients.get(("pacer",))
            if pacer is None:
                pacer = ArmPacer(self.config.collection.rate_limits.arm_per_second)
                self._azure_clients[("pacer",)] = pacer
            return pacer

    def arm_tenant_client(self) -> Any:
        """An ARM pipeline client for tenant-level GETs (`/subscriptions`), on this cloud."""

        def build() -> Any:
            from azure.mgmt.core import ARMPipelineClient

            kwargs = self._mgmt_kwargs()
            kwargs.pop("credential_scopes")
            return ARMPipelineClient(base_url=self.cloud.arm_endpoint, **kwargs)

        return self._cached_client(("tenant",), build)

    def arm_client(self, subscription_id: str) -> Any:
        """azure-mgmt-resource's ResourceManagementClient for a subscription, on this cloud.

        Its pipeline has no provider auto-registration policy (a read-only audit never POSTs).
        """

        def build() -> Any:
            from azure.mgmt.resource.resources import ResourceManagementClient

            cred, base = self.azure_credential(), self.cloud.arm_endpoint
            return ResourceManagementClient(cred, subscription_id, base_url=base, **self._mgmt_kwargs())

        return self._cached_client(("arm", subscription_id.lower()), build)

    def acr_client(self, subscription_id: str) -> Any:
        """ContainerRegistryManagementClient for a subscription, on this cloud."""

        def build() -> Any:
            from azure.mgmt.containerregistry import ContainerRegistryManagementClient

            cred, base = self.azure_credential(), self.cloud.arm_endpoint
            return ContainerRegistryManagementClient(cred, subscription_id, base_url=base, **self._mgmt_kwargs())

        return self._cached_client(("acr", subscription_id.lower()), build)

    def authz_client(self, subscription_id: str) -> Any:
        """AuthorizationManagementClient (4.0, old generator: base_url + credential_scopes)."""

        def build() -> Any:
            from azure.mgmt.authorization import AuthorizationManagementClient

            cred, base = self.azure_credential(), self.cloud.arm_endpoint
            return AuthorizationManagementClient(cred, subscription_id, base_url=base, **self._mgmt_kwargs())

        return self._cached_client(("authz", subscription_id.lower()), build)

    def ml_client(self, subscription_id: str, resource_group: str, workspace_name: str) -> Any:
        """An azure-ai-ml MLClient for one workspace, always with `cloud=` (and `cloud_metadata=`
        for a custom cloud): MLClient otherwise inherits whatever cloud the process last used."""
        key = ("ml", subscription_id.lower(), resource_group.lower(), workspace_name.lower())
        return self._cached_client(
            key, lambda: self._build_ml_client(subscription_id, resource_group, workspace_name)
        )

    def _build_ml_client(self, subscription_id: str, resource_group: str, workspace_name: str) -> Any:
        from azure.ai.ml import MLClient  # about 1 s to import: only when AML is audited

        from mlgov.collectors.azure_common import (
            LimitPolicy,
            ScopeMappingCredential,
            register_aml_cloud,
        )

        kwargs = self.azure_kwargs()
        kwargs.update(cloud=self.cloud.aml_cloud, enable_telemetry=False, show_progress=False)
        kwargs["per_retry_policies"] = [
            LimitPolicy(self.limit("arm"), self.arm_pacer(), jitter=self.retry_jitter_seconds())
        ]
        credential: Any = self.azure_credential()
        metadata = self.cloud.aml_cloud_metadata
        if metadata is not None:
            register_aml_cloud(self.cloud.aml_cloud, metadata)
            kwargs["cloud_metadata"] = metadata
        # MLClient derives its token scope from the ARM endpoint; the other clients use the
        # cloud's ARM scope (US Gov: management.core.usgovcloudapi.net; a custom cloud may set
        # its own). Map one onto the other so that the whole audit uses one token per cloud.
        derived = self.cloud.arm_endpoint.rstrip("/") + "/.default"
        if derived != self.cloud.arm_scope:
            credential = ScopeMappingCredential(credential, {derived: self.cloud.arm_scope})
        return MLClient(credential, subscription_id, resource_group, workspace_name, **kwargs)

    # --- Databricks ----------------------------------------------------------------------

    def databricks_client(self, target: DatabricksTarget) -> Any:
        """A databricks-sdk WorkspaceClient for the target, with the configured auth."""
        from databricks.sdk import WorkspaceClient
        from databricks.sdk.core import Config as DbxConfig

        coll = self.config.collection
        kwargs: dict[str, Any] = {
            "host": target.host,
            # The SDK retries 429/503 (Retry-After + up to 1 s of jitter) until this many
            # seconds have passed; never past the collection deadline.
            "retry_timeout_seconds": math.ceil(self.deadline.clip(coll.retry_timeout_seconds)),
            "http_timeout_seconds": coll.request_timeout_seconds,
        }
        kwargs.update(self._databricks_auth_kwargs(target.auth, target))
        kwargs.update(self._databricks_overrides)
        # Building the config sends a request (GET /.well-known/databricks-config): it takes a
        # Databricks slot like any other request, so the family's limit holds from the first call.
        with self.limit("databricks"):
            return WorkspaceClient(config=DbxConfig(**kwargs))

    def _databricks_auth_kwargs(self, auth: DatabricksAuth, target: DatabricksTarget) -> dict[str, Any]:
        def secret(value: Any) -> str | None:
            return value.get_secret_value() if value is not None else None

        if auth.type == "pat":
            return {"auth_type": "pat", "token": secret(auth.token)}
        if auth.type == "oauth-m2m":
            return {
                "auth_type": "oauth-m2m",
                "client_id": auth.client_id,
                "client_secret": secret(auth.client_secret),
            }
        if auth.type == "azure-cli":
            return {"auth_type": "azure-cli"}
        if auth.type == "azure-client-secret":
            out: dict[str, Any] = {
                "auth_type": "azure-client-secret",
                "azure_client_id": auth.azure_client_id,
                "azure_client_secret": secret(auth.azure_client_secret),
                "azure_tenant_id": auth.azure_tenant_id,
            }
            if target.arm_id:
                out["azure_workspace_resource_id"] = target.arm_id
            return out
        if auth.type == "entra":
            from mlgov.collectors.databricks_auth import entra_strategy

            return {"credentials_strategy": entra_strategy(self.azure_credential())}
        out = {"profile": auth.profile} if auth.profile else {}
        return out

    def close(self) -> None:
        """Release credentials (and the processes or sockets they hold)."""
        with self._clients_lock:
            clients, self._azure_clients = list(self._azure_clients.values()), {}
        for client in clients:
            close = getattr(client, "close", None)
            if callable(close):
                close()
        if self._credential is not None:
            self._credential.close()
