"""SARIF output validates against the official 2.1.0 schema and carries what GitHub needs."""

from __future__ import annotations

import json
from pathlib import Path

import jsonschema

from lifecycle_support import sample_report
from mlgov.findings import FindingStatus
from mlgov.report import renderer
from mlgov.report.sarif import artifact_uri

SCHEMA = Path(__file__).parents[1] / "data" / "sarif-schema-2.1.0.json"


def test_sarif_validates_against_the_official_schema(tmp_path: Path) -> None:
    """The SARIF log of a realistic report is valid SARIF 2.1.0 (OASIS schema, draft-04)."""
    report = sample_report(tmp_path)
    log = json.loads(renderer("sarif")(report))
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator = jsonschema.Draft4Validator(schema, format_checker=jsonschema.FormatChecker())
    errors = sorted(validator.iter_errors(log), key=lambda e: list(e.path))
    assert errors == [], [f"{list(e.path)}: {e.message}" for e in errors]


def test_rules_and_results_carry_what_github_needs(tmp_path: Path) -> None:
    """One rule per policy with help and security-severity; results with fingerprint, logical and physical location."""
    report = sample_report(tmp_path)
    run = json.loads(renderer("sarif")(report))["runs"][0]
    rules = run["tool"]["driver"]["rules"]
    assert [r["id"] for r in rules] == sorted({f.policy_id for f in report.findings})
    mlf = next(r for r in rules if r["id"] == "MLF-001")
    assert mlf["properties"]["security-severity"] == "8.0"
    assert mlf["help"]["text"].startswith("Fix ") and mlf["helpUri"].startswith("https://")
    assert "security-severity" not in next(r for r in rules if r["id"] == "AUD-001")["properties"]
    results = run["results"]
    assert len(results) == len(report.findings)
    for res, f in zip(results, report.findings, strict=True):
        assert res["ruleId"] == f.policy_id and rules[res["ruleIndex"]]["id"] == f.policy_id
        assert res["partialFingerprints"]["primaryLocationLineHash"] == f.fingerprint
        loc = res["locations"][0]
        assert loc["logicalLocations"][0]["fullyQualifiedName"] == f.resource_id
        assert loc["physicalLocation"]["region"]["startLine"] == 1
        assert not loc["physicalLocation"]["artifactLocation"]["uri"].startswith("/")
        if f.status is FindingStatus.WAIVED:
            assert res["suppressions"][0]["status"] == "accepted"
            assert "Kept for the audit trail" in res["suppressions"][0]["justification"]
        else:
            assert "suppressions" not in res


def test_artifact_uri_is_a_relative_encoded_path() -> None:
    """ARM and databricks:// ids become relative paths; spaces and odd characters are percent-encoded."""
    assert artifact_uri("/subscriptions/s/resourceGroups/rg/providers/X/ws/a b") == (
        "subscriptions/s/resourceGroups/rg/providers/X/ws/a%20b"
    )
    assert artifact_uri("databricks://adb-1.azuredatabricks.net/clusters/0101-x") == (
        "databricks/adb-1.azuredatabricks.net/clusters/0101-x"
    )
    assert artifact_uri("databricks://h/experiments/é#?") == "databricks/h/experiments/%C3%A9%23%3F"
