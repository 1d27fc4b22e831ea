"""AuditContext: token caching, cached Azure clients, and every client honouring the configured cloud."""

from __future__ import annotations

import os
import time
from typing import Any

import pytest
from azure.core.credentials import AccessToken

from azure_support import CASSETTES, RG, SUB_A, NoSleepTransport, make_config, played
from mlgov.audit import AuditOptions, collect
from mlgov.collectors.arm import discover
from mlgov.collectors.azure_common import ArmPacer
from mlgov.config import parse_config
from mlgov.context import NAMED_CLOUDS, AuditContext, CachingCredential
from mlgov.errors import ConfigError
from mlgov.replay import StaticTokenCredential, replaying

CUSTOM_ARM = "https://management.region1.stack.contoso.example"
CUSTOM_SCOPE = f"{CUSTOM_ARM}/.default"


class CountingCredential:
    """A TokenCredential that counts the tokens it hands out, each valid for `ttl` seconds."""

    def __init__(self, ttl: int = 3600) -> None:
        self.ttl = ttl
        self.calls: list[tuple[str, ...]] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> AccessToken:
        self.calls.append(scopes)
        return AccessToken(f"token-{len(self.calls)}", int(time.time()) + self.ttl)


@pytest.fixture(autouse=True)
def _aml_cloud_env(monkeypatch: pytest.MonkeyPatch) -> None:
    """MLClient writes AZUREML_CURRENT_CLOUD into the process environment; put it back after each test."""
    monkeypatch.setenv("AZUREML_CURRENT_CLOUD", "AzureCloud")


def custom_cloud(arm: str = CUSTOM_ARM, token_scope: str | None = None) -> dict[str, Any]:
    custom: dict[str, Any] = {
        "name": "ContosoStack",
        "arm_endpoint": arm,
        "authority_host": "https://login.stack.contoso.example",
    }
    if token_scope:
        custom["token_scope"] = token_scope
    return {"cloud": "custom", "custom_cloud": custom}


def audit(azure: dict[str, Any], cassette: str) -> tuple[Any, Any, StaticTokenCredential, AuditContext]:
    credential = StaticTokenCredential()
    ctx = AuditContext(
        make_config(azure),
        azure_credential=credential,
        azure_client_kwargs={"retry_backoff_factor": 0, "transport": NoSleepTransport()},
    )
    with replaying(CASSETTES / cassette) as cass:
        snapshot = collect(ctx, AuditOptions())
    return snapshot, cass, credential, ctx


def test_caching_credential_fetches_one_token_per_scope() -> None:
    """Many requests for two scopes cost two tokens from the wrapped credential."""
    inner = CountingCredential()
    cached = CachingCredential(inner)
    for _ in range(50):
        cached.get_token("https://management.azure.com/.default")
        cached.get_token("2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default")
    assert cached.requests == 2
    assert sorted(inner.calls) == [
        ("2ff814a6-3304-4ab8-85cb-cd0e6f879c1d/.default",),
        ("https://management.azure.com/.default",),
    ]


def test_caching_credential_refreshes_tokens_about_to_expire() -> None:
    """A token within the refresh margin of its expiry is fetched again."""
    inner = CountingCredential(ttl=60)
    cached = CachingCredential(inner, margin_seconds=300)
    first = cached.get_token("s/.default")
    second = cached.get_token("s/.default")
    assert first.token != second.token and cached.requests == 2


def test_custom_cloud_audit_never_reaches_public_azure() -> None:
    """A whole audit on a custom cloud sends every request to its ARM endpoint, asks only for its scope, and
    fetches a single token."""
    snapshot, cass, credential, ctx = audit(custom_cloud(), "cloud_custom.yaml")
    hosts = {r.host for r in played(cass)}
    assert hosts == {"management.region1.stack.contoso.example"}
    assert cass.all_played  # subscriptions, discovery, MLClient, ACR and authorization clients all went there
    assert set(credential.scopes_requested) == {CUSTOM_SCOPE}
    assert ctx.azure_credential().requests == 1
    assert snapshot.failed_scopes == ()
    (ws,) = snapshot.aml
    assert ws.name == "mlw-cloud" and [j.name for j in ws.jobs] == ["job-1", "job-2"]
    assert snapshot.registries[0].sku == "Premium" and snapshot.role_assignments[0].role_name == "Owner"


def test_custom_cloud_token_scope_is_used_by_every_client() -> None:
    """A custom cloud's own token scope is asked for by azure-mgmt and azure-ai-ml clients alike."""
    scope = "https://management.adfs.stack.contoso.example/abcdef/.default"
    snapshot, _, credential, _ = audit(custom_cloud(token_scope=scope), "cloud_custom.yaml")
    assert set(credential.scopes_requested) == {scope}
    assert snapshot.failed_scopes == ()


def test_custom_cloud_endpoints_can_change_in_one_process() -> None:
    """A custom cloud whose name azure-ai-ml already knows, with new endpoints, is reached at the new ones."""
    first, cass1, _, _ = audit(custom_cloud(), "cloud_custom.yaml")
    moved = custom_cloud(arm="https://management.region2.stack.contoso.example")
    second, cass2, _, _ = audit(moved, "cloud_custom_moved.yaml")
    assert {r.host for r in played(cass2)} == {"management.region2.stack.contoso.example"}
    assert cass1.all_played and cass2.all_played
    assert first.failed_scopes == () and second.failed_scopes == ()


@pytest.mark.parametrize(
    ("cloud", "cassette", "host"),
    [
        ("AzureChinaCloud", "cloud_china.yaml", "management.chinacloudapi.cn"),
        ("AzureUSGovernment", "cloud_usgov.yaml", "management.usgovcloudapi.net"),
    ],
)
def test_sovereign_clouds_are_honoured_by_every_client(cloud: str, cassette: str, host: str) -> None:
    """On a named sovereign cloud every request goes to its ARM host with its ARM scope."""
    snapshot, cass, credential, _ = audit({"cloud": cloud}, cassette)
    assert {r.host for r in played(cass)} == {host}
    assert cass.all_played
    assert set(credential.scopes_requested) == {NAMED_CLOUDS[cloud].arm_scope}
    assert snapshot.failed_scopes == ()


def test_azure_clients_are_cached_per_subscription() -> None:
    """Each client kind is built once per subscription (and MLClient once per workspace)."""
    ctx = AuditContext(make_config(), azure_credential=StaticTokenCredential())
    other = "99999999-8888-7777-6666-555555555555"
    assert ctx.arm_client(SUB_A) is ctx.arm_client(SUB_A.upper())
    assert ctx.arm_client(SUB_A) is not ctx.arm_client(other)
    assert ctx.acr_client(SUB_A) is ctx.acr_client(SUB_A)
    assert ctx.authz_client(SUB_A) is ctx.authz_client(SUB_A)
    assert ctx.ml_client(SUB_A, RG, "ws") is ctx.ml_client(SUB_A, RG.upper(), "WS")
    assert ctx.ml_client(SUB_A, RG, "ws") is not ctx.ml_client(SUB_A, RG, "other")
    ctx.close()


def test_ml_client_is_always_told_its_cloud(monkeypatch: pytest.MonkeyPatch) -> None:
    """Building an MLClient pins azure-ai-ml's current cloud to the configured one, whatever was set before."""
    monkeypatch.setenv("AZUREML_CURRENT_CLOUD", "AzureChinaCloud")
    ctx = AuditContext(make_config(), azure_credential=StaticTokenCredential())
    ctx.ml_client(SUB_A, RG, "ws")
    assert os.environ["AZUREML_CURRENT_CLOUD"] == "AzureCloud"


def test_azure_kwargs_take_config_timeouts_and_test_overrides() -> None:
    """Timeouts come from the collection settings; explicit client kwargs win."""
    config = parse_config(
        {"version": 1, "azure": {}, "collection": {"request_timeout_seconds": 20, "retry_timeout_seconds": 90}}
    )
    ctx = AuditContext(config, azure_client_kwargs={"retry_total": 1, "read_timeout": 5})
    assert ctx.azure_kwargs() == {"connection_timeout": 20, "read_timeout": 5, "timeout": 90, "retry_total": 1}


def test_a_custom_cloud_may_not_take_a_public_cloud_name() -> None:
    """Naming a custom cloud like a public one is a configuration error, not a silent redefinition."""
    azure = {
        "cloud": "custom",
        "custom_cloud": {"name": "AzureCloud", "arm_endpoint": CUSTOM_ARM, "authority_host": "https://login.example"},
    }
    ctx = AuditContext(make_config(azure), azure_credential=StaticTokenCredential())
    with pytest.raises(ConfigError, match="public Azure cloud"):
        ctx.ml_client(SUB_A, RG, "ws")


class FakeClock:
    """A clock that only moves when slept on."""

    def __init__(self) -> None:
        self.now = 1000.0
        self.sleeps: list[float] = []

    def time(self) -> float:
        return self.now

    def sleep(self, seconds: float) -> None:
        self.sleeps.append(round(seconds, 6))
        self.now += seconds


def test_arm_pacer_spaces_requests_per_subscription() -> None:
    """Requests to one subscription are spaced by 1/rate; other subscriptions and the tenant have their own pace."""
    clock = FakeClock()
    pacer = ArmPacer(4.0, clock)
    base = "https://management.azure.com/subscriptions"
    pacer.wait(f"{base}/{SUB_A}/providers/x?api-version=1")
    pacer.wait(f"{base}/{SUB_A.upper()}/resourceGroups/rg/providers/y")
    pacer.wait(f"{base}/99999999-8888-7777-6666-555555555555/providers/x")
    pacer.wait(f"{base}?api-version=2022-12-01")
    assert clock.sleeps == [0.25]
    pacer.wait(f"{base}/{SUB_A}/providers/x")
    assert clock.sleeps == [0.25, 0.25]


def test_every_azure_client_goes_through_the_run_pacer_and_limiter() -> None:
    """The ARM limiter counts each request of discovery, whichever client made it."""
    ctx = AuditContext(
        make_config({"subscriptions": [SUB_A]}),
        azure_credential=StaticTokenCredential(),
        azure_client_kwargs={"transport": NoSleepTransport()},
    )
    with replaying(CASSETTES / "discovery.yaml") as cass:
        discover(ctx)
    assert ctx.limit("arm").calls == len(played(cass)) == 4
    assert ctx.arm_pacer() is ctx.arm_pacer()
