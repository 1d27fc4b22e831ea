"""Structural checks of deploy/azure/*.bicep (no Bicep compiler is installable here).

A small scanner strips comments and strings, checks brackets balance, collects declarations
(params, vars, resources, modules, outputs), checks that every `${...}` interpolation names
something declared, that every param is used, that module paths exist with the right target
scope, and that the Container Apps Job has what a scheduled read-only audit needs.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest

AZURE = Path(__file__).resolve().parents[2] / "deploy" / "azure"
MAIN = AZURE / "containerapps-job.bicep"
READER_ROLE = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
ACR_PULL_ROLE = "7f951dda-4ed3-4680-a7ca-43fe172d538d"
FUNCTIONS = {"resourceGroup", "subscription", "uniqueString", "guid", "json", "empty", "concat",
             "subscriptionResourceId", "tenant", "environment", "string", "toLower", "union"}


@dataclass
class Bicep:
    """What the scanner found in one file."""

    code: str  # comments removed, string contents blanked
    strings: list[str] = field(default_factory=list)
    interpolations: list[str] = field(default_factory=list)
    target_scope: str = "resourceGroup"
    params: dict[str, str] = field(default_factory=dict)
    variables: set[str] = field(default_factory=set)
    resources: dict[str, str] = field(default_factory=dict)
    modules: dict[str, str] = field(default_factory=dict)
    outputs: set[str] = field(default_factory=set)


def scan(path: Path) -> Bicep:
    text = path.read_text(encoding="utf-8")
    code: list[str] = []
    strings: list[str] = []
    interpolations: list[str] = []
    i = 0
    while i < len(text):
        ch = text[i]
        if text.startswith("//", i):
            i = text.find("\n", i) if "\n" in text[i:] else len(text)
        elif text.startswith("/*", i):
            i = text.index("*/", i) + 2
        elif text.startswith("'''", i):
            end = text.index("'''", i + 3)
            strings.append(text[i + 3:end])
            code.append("''")
            i = end + 3
        elif ch == "'":
            j, buf = i + 1, []
            while text[j] != "'":
                if text[j] == "\\":
                    buf.append(text[j:j + 2])
                    j += 2
                    continue
                if text.startswith("${", j):
                    depth, k = 1, j + 2
                    while depth:
                        depth += {"{": 1, "}": -1}.get(text[k], 0)
                        k += 1
                    interpolations.append(text[j + 2:k - 1])
                    buf.append(text[j:k])
                    j = k
                    continue
                assert text[j] != "\n", f"{path}: unterminated string at offset {i}"
                buf.append(text[j])
                j += 1
            strings.append("".join(buf))
            code.append("''")
            i = j + 1
        else:
            code.append(ch)
            i += 1
    b = Bicep(code="".join(code), strings=strings, interpolations=interpolations)
    scope = re.search(r"targetScope\s*=\s*'", text)
    if scope:
        b.target_scope = re.search(r"targetScope\s*=\s*'(\w+)'", text).group(1)  # type: ignore[union-attr]
    for m in re.finditer(r"^param\s+(\w+)\s+(\w+)", text, re.MULTILINE):
        b.params[m.group(1)] = m.group(2)
    b.variables = set(re.findall(r"^var\s+(\w+)\s*=", text, re.MULTILINE))
    for m in re.finditer(r"^resource\s+(\w+)\s+'([^']+)'", text, re.MULTILINE):
        b.resources[m.group(1)] = m.group(2)
    for m in re.finditer(r"^module\s+(\w+)\s+'([^']+)'", text, re.MULTILINE):
        b.modules[m.group(1)] = m.group(2)
    b.outputs = set(re.findall(r"^output\s+(\w+)\s", text, re.MULTILINE))
    return b


FILES = sorted(AZURE.rglob("*.bicep"))


def lint(path: Path) -> list[str]:
    """Problems found in one file: unbalanced brackets, unresolved interpolations, unused params."""
    b = scan(path)
    problems: list[str] = []
    stack: list[str] = []
    pairs = {")": "(", "]": "[", "}": "{"}
    for ch in b.code:
        if ch in "([{":
            stack.append(ch)
        elif ch in pairs and (not stack or stack.pop() != pairs[ch]):
            problems.append(f"unbalanced {ch}")
    if stack:
        problems.append(f"unclosed {stack}")
    loop_vars = set(re.findall(r"\[for\s+(\w+)\s+in\b", b.code))
    declared = set(b.params) | b.variables | set(b.resources) | set(b.modules) | loop_vars | FUNCTIONS
    for expr in b.interpolations:
        root = re.match(r"\s*(\w+)", expr)
        if not root or root.group(1) not in declared:
            problems.append(f"${{{expr}}} names nothing declared")
    for name in b.params:
        uses = re.findall(rf"\b{name}\b", b.code) + [s for s in b.interpolations if re.search(rf"\b{name}\b", s)]
        if len(uses) < 2:
            problems.append(f"param {name} is never used")
    for rtype in b.resources.values():
        if not re.match(r"^[A-Za-z]+\.[A-Za-z]+/[A-Za-z/]+@\d{4}-\d{2}-\d{2}(-preview)?$", rtype):
            problems.append(f"resource type {rtype} has no api version")
    return problems


@pytest.mark.parametrize("path", FILES, ids=[p.name for p in FILES])
def test_brackets_balance_and_names_resolve(path: Path) -> None:
    """Brackets balance, every interpolation names a declaration, and every param is used."""
    assert lint(path) == []


def test_the_scanner_catches_broken_bicep(tmp_path: Path) -> None:
    """An unknown interpolation, an unused param and a missing brace are all reported."""
    broken = tmp_path / "broken.bicep"
    broken.write_text(
        "param used string\nparam unused string\n"
        "resource x 'Microsoft.Foo/bars@2024-01-01' = {\n  name: '${used}-${nope}'\n",
        encoding="utf-8",
    )
    problems = lint(broken)
    assert "${nope} names nothing declared" in problems and "param unused is never used" in problems
    assert any(p.startswith("unclosed") for p in problems)


def test_job_is_a_scheduled_single_run_with_a_user_assigned_identity() -> None:
    """Microsoft.App/jobs with a Schedule trigger, parallelism 1, a timeout, no retries, run by the identity."""
    b = scan(MAIN)
    text = MAIN.read_text(encoding="utf-8")
    assert b.resources["identity"].startswith("Microsoft.ManagedIdentity/userAssignedIdentities@")
    assert b.resources["job"].startswith("Microsoft.App/jobs@")
    assert "triggerType: 'Schedule'" in text
    assert re.search(r"scheduleTriggerConfig:\s*\{\s*cronExpression:\s*cronExpression\b", text)
    assert re.search(r"parallelism:\s*1\b", text)
    assert re.search(r"replicaTimeout:\s*replicaTimeoutSeconds", text)
    assert re.search(r"replicaRetryLimit:\s*0\b", text)
    assert re.search(r"type:\s*'UserAssigned'", text) and "'${identity.id}': {}" in text
    assert re.search(r"name:\s*'AZURE_CLIENT_ID'\s*value:\s*identity\.properties\.clientId", text)


def test_webhook_urls_and_the_config_are_job_secrets() -> None:
    """Secure params feed job secrets, and the container reads them by secretRef, never as plain values."""
    text = MAIN.read_text(encoding="utf-8")
    for param in ("configYaml", "teamsWebhookUrl", "webhookSecret"):
        assert re.search(rf"@secure\(\)\s*param\s+{param}\s+string", text), param
    assert re.search(r"name:\s*'MLGOV_TEAMS_WEBHOOK_URL'\s*secretRef:\s*'teams-webhook-url'", text)
    assert re.search(r"storageType:\s*'Secret'", text) and "path: 'config.yaml'" in text
    assert re.search(r"storageType:\s*'AzureFile'", text) and "mountPath: '/var/lib/mlgov'" in text


def test_identity_gets_reader_on_each_subscription_and_acrpull_when_pulling_from_acr() -> None:
    """A subscription-scope module assigns Reader per audited subscription; AcrPull goes on the registry if used."""
    main = scan(MAIN)
    text = MAIN.read_text(encoding="utf-8")
    assert main.modules == {
        "subscriptionReader": "modules/subscription-reader.bicep",
        "acrPull": "modules/acr-pull.bicep",
    }
    per_subscription = r"\[for sub in auditedSubscriptionIds:\s*\{\n\s+name:[^\n]+\n\s+scope:\s*subscription\(sub\)"
    assert re.search(per_subscription, text)
    assert re.search(r"module acrPull '[^']+' = if \(usesAcr\)", text)
    assert re.search(r"identity:\s*identity\.id", text)  # the registry is pulled with the identity

    reader = scan(AZURE / main.modules["subscriptionReader"])
    assert reader.target_scope == "subscription"
    assert reader.resources["readerAssignment"].startswith("Microsoft.Authorization/roleAssignments@")
    assert READER_ROLE in " ".join(reader.strings)

    acr = scan(AZURE / main.modules["acrPull"])
    assert acr.target_scope == "resourceGroup"
    assert ACR_PULL_ROLE in " ".join(acr.strings)
    assert acr.resources["registry"].startswith("Microsoft.ContainerRegistry/registries@")
    for module in (reader, acr):
        assert "principalId" in module.params
