"""ARM discovery through the real azure-mgmt clients against recorded HTTP (cassettes/azure)."""

from __future__ import annotations

import pytest

from azure_support import (
    CASSETTES,
    RG,
    SUB_A,
    SUB_B,
    SUB_C,
    SUB_D,
    NoSleepTransport,
    aml_id,
    dbx_id,
    make_config,
    make_context,
    played,
)
from mlgov.audit import Discovery
from mlgov.collectors.arm import discover, resource_group_of, selected
from mlgov.config import AzureFilters
from mlgov.replay import replaying
from mlgov.targets import AmlTarget, DatabricksTarget


def run_discovery(cassette: str, azure: dict | None = None, **kwargs: object) -> tuple[Discovery, object]:
    ctx = make_context(make_config(azure), **kwargs)
    with replaying(CASSETTES / cassette) as cass:
        result = discover(ctx)
    return result, cass


def test_all_visible_subscriptions_are_discovered_across_pages() -> None:
    """Subscriptions and AML workspaces listed over two pages each are all found; a disabled subscription is skipped."""
    result, cass = run_discovery("discovery.yaml")
    assert [s.subscription_id for s in result.subscriptions] == [SUB_A, SUB_B, SUB_D]
    assert [s.name for s in result.subscriptions] == ["ml-prod", "finance-locked", "sandbox"]
    aml = [t.name for t in result.targets if isinstance(t, AmlTarget)]
    assert aml == ["mlw-alpha", "mlw-beta", "mlw-gamma", "mlw-sandbox"]
    assert cass.all_played
    assert all(r.method == "GET" for r in played(cass))
    # the second pages were requested through their absolute nextLinks
    assert sum("%24skipToken=page2" in r.uri or "$skipToken=page2" in r.uri for r in played(cass)) == 3


def test_a_forbidden_subscription_becomes_a_failed_scope_and_the_others_are_audited() -> None:
    """A 403 on one subscription gives AUD-001 data with a hint, and other subscriptions still yield targets."""
    result, _ = run_discovery("discovery.yaml")
    failed = [s for s in result.scopes if not s.ok]
    assert len(failed) == 1
    status = failed[0]
    assert (status.scope_id, status.scope_kind, status.family, status.status, status.code) == (
        f"/subscriptions/{SUB_B}",
        "subscription",
        "*",
        403,
        "AuthorizationFailed",
    )
    assert status.hint == "Grant Reader on the subscription to the audit identity."
    assert "does not have authorization" in (status.error or "")
    assert result.complete_subscriptions == (SUB_A, SUB_D)
    assert {t.subscription_id for t in result.targets} == {SUB_A, SUB_D}


def test_a_databricks_workspace_becomes_an_entra_target() -> None:
    """A Databricks workspace listed by ARM becomes a DatabricksTarget on its workspaceUrl with Entra auth."""
    result, _ = run_discovery("discovery.yaml")
    dbx = [t for t in result.targets if isinstance(t, DatabricksTarget)]
    assert [t.name for t in dbx] == ["dbw-analytics", "dbw-sandbox"]  # dbw-new has no URL yet
    first = dbx[0]
    assert first.host == "https://adb-5555555555555555.19.azuredatabricks.net"
    assert first.auth.type == "entra"
    assert first.arm_id == dbx_id(SUB_A, "rg-dbx", "dbw-analytics")
    assert (first.location, first.pricing_tier, first.subscription_id) == ("westeurope", "premium", SUB_A)
    assert first.resource_id == "databricks://adb-5555555555555555.19.azuredatabricks.net"
    assert dbx[1].pricing_tier == "standard"


def test_hubs_and_projects_are_known_but_not_audited() -> None:
    """AI Foundry hubs and projects are recorded as existing workspaces (for MLF-003) but are not targets."""
    result, _ = run_discovery("discovery.yaml")
    known = {w.name for w in result.known_aml_workspaces}
    assert {"hub-foundry", "proj-chat", "mlw-alpha", "mlw-sandbox"} <= known
    targets = {t.name for t in result.targets}
    assert "hub-foundry" not in targets and "proj-chat" not in targets


def test_filters_narrow_targets_but_every_workspace_stays_known() -> None:
    """Resource-group, tag and name filters pick targets; filtered-out workspaces still count as existing."""
    azure = {
        "subscriptions": [SUB_A],
        "filters": {"resource_groups": ["RG-ML"], "tags": {"env": "prod"}, "names": ["mlw-*", "dbw-*"]},
    }
    result, cass = run_discovery("discovery.yaml", azure)
    assert [t.name for t in result.targets] == ["mlw-alpha"]  # dbw-analytics is in rg-dbx
    assert isinstance(result.targets[0], AmlTarget)
    assert result.targets[0].resource_group == RG
    assert {w.name for w in result.known_aml_workspaces} == {
        "mlw-alpha",
        "mlw-beta",
        "mlw-gamma",
        "hub-foundry",
        "proj-chat",
    }
    assert result.complete_subscriptions == (SUB_A,)
    # no subscription listing when subscriptions are configured
    assert not any(r.path == "/subscriptions" for r in played(cass))


def test_unregistered_databricks_provider_is_no_workspace_and_nothing_is_posted() -> None:
    """A 409 MissingSubscriptionRegistration means no Databricks workspace; no provider registration is POSTed."""
    result, cass = run_discovery("discovery.yaml", {"subscriptions": [SUB_D]})
    assert [s for s in result.scopes if not s.ok] == []
    assert [t.name for t in result.targets] == ["mlw-sandbox"]
    assert [r.method for r in played(cass)] == ["GET", "GET"]


def test_throttling_is_retried_after_the_delay_the_service_asks_for() -> None:
    """A 429 with Retry-After is retried after that delay and the listing then succeeds."""
    transport = NoSleepTransport()
    result, cass = run_discovery("discovery_throttled.yaml", {"subscriptions": [SUB_A]}, transport=transport)
    assert [t.name for t in result.targets] == ["mlw-alpha"]
    assert all(s.ok for s in result.scopes)
    assert cass.all_played  # the 429 and the 200 were both served
    assert transport.sleeps == [7.0]


def test_a_family_refused_alone_fails_alone() -> None:
    """When only the Databricks listing is refused, AML discovery stands and the subscription counts as complete."""
    result, cass = run_discovery("discovery_partial.yaml", {"subscriptions": [SUB_C]})
    assert [t.name for t in result.targets] == ["mlw-c"]
    (status,) = result.scopes
    assert (status.scope_id, status.family, status.ok, status.status) == (
        f"/subscriptions/{SUB_C}",
        "databricks_workspaces",
        False,
        403,
    )
    assert result.complete_subscriptions == (SUB_C,)
    assert cass.all_played


def test_discovery_flags_skip_a_workspace_kind() -> None:
    """`discover_databricks: false` lists AML workspaces only; `discover_aml: false` Databricks ones only."""
    aml_only, cass = run_discovery("discovery.yaml", {"subscriptions": [SUB_D], "discover_databricks": False})
    assert [t.name for t in aml_only.targets] == ["mlw-sandbox"] and len(played(cass)) == 1
    dbx_only, cass = run_discovery("discovery.yaml", {"subscriptions": [SUB_A], "discover_aml": False})
    assert all(isinstance(t, DatabricksTarget) for t in dbx_only.targets) and len(dbx_only.targets) == 2
    assert dbx_only.known_aml_workspaces == () and dbx_only.complete_subscriptions == ()


def test_a_tenant_that_refuses_the_subscription_list_is_a_failed_scope() -> None:
    """When subscriptions cannot be listed, discovery reports the tenant scope as failed and finds nothing."""
    result, _ = run_discovery("tenant_denied.yaml")
    assert result.targets == ()
    (status,) = result.scopes
    assert (status.scope_id, status.scope_kind, status.family, status.ok, status.status) == (
        "/",
        "tenant",
        "subscriptions",
        False,
        401,
    )
    assert "az login" in (status.hint or "")


def test_discover_without_azure_section_finds_nothing() -> None:
    """With no `azure:` section discovery makes no call and returns an empty result."""
    from mlgov.config import parse_config
    from mlgov.context import AuditContext

    config = parse_config(
        {"version": 1, "databricks": {"workspaces": [{"host": "https://adb-1.1.azuredatabricks.net"}]}}
    )
    assert discover(AuditContext(config)) == Discovery()


@pytest.mark.parametrize(
    ("filters", "expected"),
    [
        ({}, True),
        ({"resource_groups": ["rg-ml"]}, True),
        ({"resource_groups": ["other"]}, False),
        ({"tags": {"ENV": "prod"}}, True),
        ({"tags": {"env": "dev"}}, False),
        ({"tags": {"team": "*"}}, True),
        ({"tags": {"owner": "*"}}, False),
        ({"names": ["MLW-A*"]}, True),
        ({"names": ["dbw-*"]}, False),
    ],
)
def test_selected_applies_each_filter(filters: dict, expected: bool) -> None:
    """Resource groups and tag keys match case-insensitively, `*` matches any tag value, names are globs."""
    ws = {"id": aml_id(SUB_A, "RG-ML", "mlw-alpha"), "name": "mlw-alpha", "tags": {"env": "prod", "Team": "x"}}
    assert selected(ws, AzureFilters(**filters)) is expected


def test_resource_group_of_reads_arm_ids() -> None:
    """The resource group is read from an ARM id whatever the segment's case; None when absent."""
    assert resource_group_of(aml_id(SUB_A, "rg-x", "w")) == "rg-x"
    assert resource_group_of("/subscriptions/s/resourcegroups/Rg/providers/a/b/c") == "Rg"
    assert resource_group_of(f"/subscriptions/{SUB_A}") is None
