"""Shared plumbing of the Azure collectors: client pipelines, paging, errors as data.

- `arm_policies()` is the HTTP pipeline every azure-mgmt client of mlgov runs: the SDK's own
  default policies, minus `ARMAutoResourceProviderRegistrationPolicy` (on a 409
  `MissingSubscriptionRegistration` it POSTs a provider registration: a write, which a read-only
  audit must never make), plus a policy that holds a slot of the `arm` limiter for each
  attempt (not while a retry sleeps).
- `arm_pages()` follows `nextLink` through a client's pipeline (auth, retries, Retry-After).
- `failed_scope()` turns an SDK error into a failed `ScopeStatus` with a hint.

azure-core is imported here at module level: this module is only imported when an Azure client
is about to be built.
"""

from __future__ import annotations

import json
import random
import re
import threading
import time
from collections.abc import Callable, Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any

from azure.core.credentials import AccessToken
from azure.core.exceptions import AzureError, HttpResponseError
from azure.core.pipeline import PipelineRequest, PipelineResponse
from azure.core.pipeline import policies as core_policies
from azure.core.rest import HttpRequest
from azure.mgmt.core.policies import ARMChallengeAuthenticationPolicy, ARMHttpLoggingPolicy

from mlgov import __version__
from mlgov.errors import CollectionError
from mlgov.inventory import ScopeStatus

if TYPE_CHECKING:
    from mlgov.context import Limiter

USER_AGENT = f"mlgov/{__version__}"
MAX_ERROR_CHARS = 400

AZURE_ERRORS: tuple[type[BaseException], ...] = (AzureError, CollectionError)
"""What a collector catches at a scope boundary (azure-core's base error covers HTTP errors,
authentication, connection failures, timeouts and azure-ai-ml's own exceptions)."""


class ArmPacer:
    """Spaces ARM requests to at most `rate` per second per subscription.

    ARM throttles per subscription and principal (a token bucket refilled at 25 reads a
    second); `collection.rate_limits.arm_per_second` keeps the audit under it instead of
    relying on 429s. Tenant-level calls share one bucket of their own.
    """

    def __init__(self, rate: float, clock: Any = None) -> None:
        self._interval = 1.0 / rate
        self._clock = clock or _MonotonicClock()
        self._next: dict[str, float] = {}
        self._lock = threading.Lock()

    def wait(self, url: str) -> None:
        """Sleep until this URL's subscription may send its next request."""
        key = _subscription_key(url)
        with self._lock:
            now = float(self._clock.time())
            start = max(now, self._next.get(key, 0.0))
            self._next[key] = start + self._interval
        if start > now:
            self._clock.sleep(start - now)


class _MonotonicClock:
    def time(self) -> float:
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


_SUBSCRIPTION_IN_PATH = re.compile(r"/subscriptions/([0-9a-fA-F-]{36})", re.IGNORECASE)


def _subscription_key(url: str) -> str:
    match = _SUBSCRIPTION_IN_PATH.search(url)
    return match.group(1).lower() if match else "tenant"


class LimitPolicy(core_policies.SansIOHTTPPolicy):  # type: ignore[type-arg]
    """Per attempt of a request: jitter before a retry, pacing, then a slot of an API-family
    limiter while the attempt is in flight.

    azure-core's `RetryPolicy` honours `Retry-After` (and `retry-after-ms`) and otherwise backs
    off exponentially, but without jitter: clients throttled together retry together. This
    policy runs after it, once per attempt, and sleeps a random `U(0, jitter)` seconds before
    every attempt but the first (never shortening a `Retry-After`). It is done here rather
    than in a `RetryPolicy` subclass because azure-ai-ml builds a dozen pipelines from one set
    of client kwargs, and a `RetryPolicy` instance (an `HTTPPolicy` chained through its `next`
    attribute) cannot be shared among them; `per_retry_policies` can.

    A sans-I/O policy on purpose: a sans-I/O policy is wrapped per pipeline, where an
    `HTTPPolicy` instance would be shared, and corrupted, across azure-ai-ml's clients.

    Entering the limiter raises `mlgov.context.DeadlineExceeded` once the collection deadline
    has passed, so a retry loop never outlives the audit.
    """

    _HELD = "mlgov_limiter_held"
    _ATTEMPTS = "mlgov_attempts"

    def __init__(self, limiter: Limiter, pacer: ArmPacer | None = None, *, jitter: float = 0.0) -> None:
        super().__init__()
        self._limiter = limiter
        self._pacer = pacer
        self._jitter = jitter

    def on_request(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        """Jitter a retry, wait for the subscription's pace, then take a slot."""
        attempts = int(request.context.get(self._ATTEMPTS) or 0)
        request.context[self._ATTEMPTS] = attempts + 1
        if attempts and self._jitter > 0:
            delay = random.uniform(0, self._jitter)  # noqa: S311 - jitter, not cryptography
            transport = getattr(request.context, "transport", None)
            if transport is not None:
                transport.sleep(delay)
            else:  # pragma: no cover - azure-core always sets the transport
                time.sleep(delay)
        if self._pacer is not None:
            self._pacer.wait(str(request.http_request.url))
        self._limiter.__enter__()
        request.context[self._HELD] = True

    def on_response(self, request: PipelineRequest, response: PipelineResponse) -> None:  # type: ignore[type-arg]
        """Give the slot back when the attempt has its answer."""
        self._release(request)

    def on_exception(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        """Give the slot back when the attempt failed without an answer."""
        self._release(request)

    def _release(self, request: PipelineRequest) -> None:  # type: ignore[type-arg]
        if request.context.get(self._HELD):
            request.context[self._HELD] = False
            self._limiter.__exit__(None, None, None)


def arm_policies(
    credential: Any,
    scope: str,
    limiter: Limiter,
    pacer: ArmPacer | None = None,
    *,
    jitter: float = 0.0,
    **kwargs: Any,
) -> list[Any]:
    """The pipeline of a generated azure-mgmt client, without provider auto-registration.

    Same order as the generated clients (request id, headers, user agent, proxy, decode,
    redirect, retry, auth, hooks, logging); `kwargs` are the client kwargs (retry settings...).
    `jitter` is the most `LimitPolicy` waits at random before a retried attempt.
    """
    return [
        core_policies.RequestIdPolicy(**kwargs),
        core_policies.HeadersPolicy(**kwargs),
        core_policies.UserAgentPolicy(base_user_agent=USER_AGENT, **kwargs),
        core_policies.ProxyPolicy(**kwargs),
        core_policies.ContentDecodePolicy(**kwargs),
        core_policies.RedirectPolicy(**kwargs),
        core_policies.RetryPolicy(**kwargs),
        ARMChallengeAuthenticationPolicy(credential, scope, **kwargs),
        LimitPolicy(limiter, pacer, jitter=jitter),
        core_policies.CustomHookPolicy(**kwargs),
        core_policies.NetworkTraceLoggingPolicy(**kwargs),
        core_policies.DistributedTracingPolicy(**kwargs),
        core_policies.SensitiveHeaderCleanupPolicy(**kwargs),
        ARMHttpLoggingPolicy(**kwargs),
    ]


class ScopeMappingCredential:
    """Asks the wrapped credential for `target` whenever a client asks for `source`.

    azure-ai-ml always derives its token scope from the cloud's ARM endpoint
    (`<resource_manager>/.default`); a custom cloud whose token scope differs (Azure Stack Hub
    uses the ARM audience from its metadata) gets the configured scope through this wrapper.
    """

    def __init__(self, inner: Any, mapping: Mapping[str, str]) -> None:
        self._inner = inner
        self._mapping = {k.rstrip("/"): v for k, v in mapping.items()}

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        """A token of the inner credential for the mapped scopes."""
        mapped = tuple(self._mapping.get(s.rstrip("/"), s) for s in scopes)
        return self._inner.get_token(*mapped, **kwargs)  # type: ignore[no-any-return]

    def close(self) -> None:
        """Nothing to release: the wrapped credential belongs to the context."""


NAMED_AML_CLOUDS = frozenset({"AzureCloud", "AzureChinaCloud", "AzureUSGovernment"})


def register_aml_cloud(name: str, metadata: Mapping[str, str]) -> None:
    """Make azure-ai-ml's cloud table hold these endpoints under `name`.

    MLClient's own `cloud_metadata=` registration refuses to redefine a name it already knows
    (it logs at debug level and keeps the old endpoints), so a long-running service whose
    config changed the custom cloud's endpoints would silently keep talking to the old ones.
    The table (`azure.ai.ml._azure_environments._environments`, azure-ai-ml 1.35) is updated
    here instead; the named public clouds are never redefined.
    """
    from mlgov.errors import ConfigError

    if name in NAMED_AML_CLOUDS:
        raise ConfigError(
            f"azure.custom_cloud.name {name!r} is the name of a public Azure cloud",
            hint="Give the custom cloud its own name, e.g. AzureStackHub.",
        )
    from azure.ai.ml import _azure_environments as environments

    table = environments._environments
    wanted = dict(metadata)
    if table.get(name) != wanted:
        table[name] = wanted


# ---------------------------------------------------------------------------------------------
# Generic ARM GETs


def arm_pages(send: Callable[[HttpRequest], Any], url: str) -> Iterator[list[dict[str, Any]]]:
    """Every page of an ARM list (`value[]`), following absolute `nextLink`s to the end.

    `send` is a client's `send_request`; errors become `CollectionError` with the HTTP status
    and the ARM error code.
    """
    next_url: str | None = url
    seen: set[str] = set()
    while next_url:
        if next_url in seen:  # a service that loops its nextLink would never end
            raise CollectionError(f"nextLink loops back to {next_url}", code="PagingLoop")
        seen.add(next_url)
        response = send(HttpRequest("GET", next_url))
        body = _json_or_raise(response)
        value = body.get("value")
        yield [v for v in value if isinstance(v, dict)] if isinstance(value, list) else []
        link = body.get("nextLink")
        next_url = link if isinstance(link, str) and link else None


def _json_or_raise(response: Any) -> dict[str, Any]:
    status = int(response.status_code)
    text = response.text()
    try:
        body = json.loads(text) if text else {}
    except ValueError:
        body = {}
    if status >= 400:
        code, message = _arm_error(body)
        # Status and code are fields of their own: the message is what ARM said, nothing more.
        raise CollectionError(message or response.reason or f"HTTP {status}", status=status, code=code)
    if not isinstance(body, dict):
        raise CollectionError(f"HTTP {status}: the response is not a JSON object", status=status)
    return body


def _arm_error(body: Any) -> tuple[str | None, str | None]:
    err = body.get("error") if isinstance(body, dict) else None
    if isinstance(err, dict):
        code = err.get("code")
        message = err.get("message")
        return (str(code) if code else None, str(message) if message else None)
    return None, None


# ---------------------------------------------------------------------------------------------
# Errors as data


def error_facts(exc: BaseException) -> tuple[int | None, str | None, str]:
    """(HTTP status, ARM error code, one-line message) of an SDK or collection error."""
    if isinstance(exc, CollectionError):
        return exc.status, exc.code, exc.message
    status: int | None = None
    code: str | None = None
    if isinstance(exc, HttpResponseError):
        status = exc.status_code
        code = exc.error.code if exc.error is not None and exc.error.code else None
        if code is None and exc.response is not None:
            try:
                code = _arm_error(json.loads(exc.response.text()))[0]
            except (ValueError, AttributeError, TypeError):
                code = None
    message = getattr(exc, "message", None) or str(exc) or type(exc).__name__
    first = str(message).strip().splitlines()[0] if str(message).strip() else type(exc).__name__
    if code and first.startswith(f"({code})"):
        first = first[len(code) + 2 :].strip() or first  # azure-core's "(Code) message" form
    if status is None:
        # azure-ai-ml wraps HTTP errors in its own exceptions; keep the status if it is there.
        inner = getattr(exc, "inner_exception", None)
        if isinstance(inner, HttpResponseError):
            status = inner.status_code
    return status, code, first[:MAX_ERROR_CHARS]


HINTS: Mapping[str, Mapping[int, str]] = {
    "subscription": {
        401: "The audit identity could not sign in to this subscription's tenant; check azure.auth.",
        403: "Grant Reader on the subscription to the audit identity.",
        404: "The subscription does not exist or is not visible to the audit identity; check azure.subscriptions.",
    },
    "tenant": {
        401: "The audit identity could not sign in; check azure.auth (or run `az login`).",
        403: "The audit identity may not list subscriptions; list them in azure.subscriptions.",
    },
    "aml_workspace": {
        401: "The audit identity could not sign in to this workspace's tenant; check azure.auth.",
        403: "Grant Reader on the workspace (or its resource group) to the audit identity.",
        404: "The workspace was not found: deleted or moved since discovery?",
    },
    "databricks_workspace": {
        403: "Grant Reader on the Databricks workspace resource to the audit identity.",
        404: "The workspace resource was not found: deleted or moved since discovery?",
    },
    "registry": {
        403: "Grant Reader on the container registry (or its resource group) to the audit identity.",
    },
}
GENERIC_HINTS: Mapping[int, str] = {
    429: "Azure throttled the audit beyond its retry budget; lower collection.concurrency.arm "
    "or raise collection.retry_timeout_seconds.",
}


def hint_for(scope_kind: str, status: int | None, family: str) -> str | None:
    """What to do about a failed scope, by kind and HTTP status."""
    if status is None:
        return "Check network access to Azure Resource Manager and the Azure credential."
    if family == "role_assignments" and status == 403:
        return (
            "Grant Reader (it includes Microsoft.Authorization/roleAssignments/read and "
            "roleDefinitions/read) on the workspace to the audit identity."
        )
    hint = HINTS.get(scope_kind, {}).get(status) or GENERIC_HINTS.get(status)
    if hint is None and status >= 500:
        hint = "Azure returned a server error; the next run will try again."
    return hint


def failed_scope(exc: BaseException, *, scope_id: str, scope_kind: str, family: str, calls: int = 0) -> ScopeStatus:
    """A failed `ScopeStatus` describing `exc` (status, code, message, hint)."""
    status, code, message = error_facts(exc)
    own_hint = exc.hint if isinstance(exc, CollectionError) else None
    return ScopeStatus(
        scope_id=scope_id,
        scope_kind=scope_kind,
        family=family,
        ok=False,
        error=message,
        status=status,
        code=code,
        hint=own_hint or hint_for(scope_kind, status, family),
        calls=calls,
    )


def is_status(exc: BaseException, *statuses: int) -> bool:
    """True when `exc` carries one of these HTTP statuses."""
    return error_facts(exc)[0] in statuses


# ---------------------------------------------------------------------------------------------
# ARM ids


def parse_arm_id(resource_id: str) -> dict[str, str]:
    """subscription, resource_group, namespace, type, name of an ARM resource id (lower-case keys)."""
    from azure.mgmt.core.tools import parse_resource_id

    parsed: dict[str, str] = {k: v for k, v in parse_resource_id(resource_id).items() if isinstance(v, str)}
    return parsed


def subscription_of(resource_id: str) -> str | None:
    """The subscription id in an ARM id, else None."""
    return parse_arm_id(resource_id).get("subscription")


def same_id(a: str | None, b: str | None) -> bool:
    """ARM ids compare case-insensitively."""
    return a is not None and b is not None and a.lower().rstrip("/") == b.lower().rstrip("/")


def first_of(values: Sequence[Any]) -> Any:
    """The first element, or None."""
    return values[0] if values else None
