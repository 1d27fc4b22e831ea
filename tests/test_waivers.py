"""Waivers file: validation errors that name file, entry and field; matching and expiry."""

from __future__ import annotations

from datetime import date
from pathlib import Path

import pytest

from lifecycle_support import DBX, finding
from mlgov.errors import WaiverError
from mlgov.findings import FindingStatus
from mlgov.waivers import WaiverSet, apply_waivers, load_waivers, parse_waivers

KNOWN = ["CST-001", "CST-002", "MLF-001", "AUD-001"]
TODAY = date(2026, 11, 23)


def entry(**overrides: object) -> dict[str, object]:
    base: dict[str, object] = {
        "policy": "CST-001",
        "resource": f"{DBX}/clusters/*",
        "reason": "Shared demo cluster",
        "owner": "alice@example.com",
        "expires": date(2026, 12, 31),
    }
    base.update(overrides)
    return {k: v for k, v in base.items() if v is not None}


def parse(*entries: dict[str, object], max_days: int = 180) -> WaiverSet:
    return parse_waivers(
        {"version": 1, "waivers": list(entries)}, source="w.yaml", catalogue=KNOWN, max_days=max_days, today=TODAY
    )


def test_valid_file_loads(tmp_path: Path) -> None:
    """A well-formed file loads into waivers with their fields."""
    path = tmp_path / "w.yaml"
    path.write_text(
        "version: 1\nwaivers:\n  - policy: cst-*\n    resource: '*'\n    reason: Pilot project\n"
        "    owner: bob\n    expires: 2027-01-15\n    created: 2026-11-20\n",
        encoding="utf-8",
    )
    waivers = load_waivers(path, catalogue=KNOWN, today=TODAY)
    assert len(waivers) == 1
    (w,) = waivers
    assert (w.policy, w.expires, w.created) == ("CST-*", date(2027, 1, 15), date(2026, 11, 20))


@pytest.mark.parametrize(
    ("entries", "expected"),
    [
        ([entry(expires=None)], r"w.yaml: waivers\[0\]\.expires: missing required field \(every waiver needs"),
        ([entry(), entry(policy="XYZ-999")], r"waivers\[1\]\.policy: unknown policy id 'XYZ-999'"),
        ([entry(policy="ZZ*")], r"waivers\[0\]\.policy: pattern 'ZZ\*' matches no known policy id"),
        ([entry(policy="AUD-001")], r"waivers\[0\]\.policy: AUD-001 \(unaudited scope\) cannot be waived"),
        ([entry(expires=date(2027, 12, 1))], r"waivers\[0\]\.expires: 2027-12-01 is more than 180 days after today"),
        ([entry(created=date(2026, 11, 1), expires=date(2026, 10, 1))], r"waivers\[0\]\.expires: .* is before created"),
        ([entry(created=date(2026, 12, 1))], r"waivers\[0\]\.created: 2026-12-01 is in the future"),
        ([entry(reviewer="x")], r"waivers\[0\]\.reviewer: unknown field"),
        ([entry(expires="next week")], r"waivers\[0\]\.expires: .*YYYY-MM-DD"),
        ([entry(owner="  ")], r"waivers\[0\]\.owner: must not be blank"),
    ],
)
def test_bad_entries_name_the_entry_and_field(entries: list[dict[str, object]], expected: str) -> None:
    """Each broken waiver is refused with the file, its index and the field at fault."""
    with pytest.raises(WaiverError, match=expected) as caught:
        parse(*entries)
    assert caught.value.hint is None or caught.value.hint


def test_created_date_bounds_the_length() -> None:
    """With `created`, the limit is counted from it, not from today."""
    with pytest.raises(WaiverError, match="more than 30 days after created"):
        parse(entry(created=date(2026, 11, 20), expires=date(2026, 12, 21)), max_days=30)
    assert len(parse(entry(created=date(2026, 11, 20), expires=date(2026, 12, 20)), max_days=30)) == 1


def test_malformed_yaml_and_version(tmp_path: Path) -> None:
    """Invalid YAML says where; a wrong version or shape says what is expected."""
    bad = tmp_path / "bad.yaml"
    bad.write_text("version: 1\nwaivers:\n  - policy: [\n", encoding="utf-8")
    with pytest.raises(WaiverError, match=r"bad.yaml: not valid YAML at line"):
        load_waivers(bad)
    with pytest.raises(WaiverError, match="version 2 is not supported"):
        parse_waivers({"version": 2, "waivers": []})
    with pytest.raises(WaiverError, match="must be a YAML mapping"):
        parse_waivers(["x"])
    with pytest.raises(WaiverError, match="no such waivers file"):
        load_waivers(tmp_path / "missing.yaml")


def test_expired_waiver_is_allowed_in_the_file_but_hides_nothing() -> None:
    """An expired waiver loads, does not waive, and is reported as matching its finding."""
    waivers = parse(entry(created=date(2026, 10, 1), expires=date(2026, 11, 22)))
    f = finding("CST-001", "x")
    applied = apply_waivers([f], waivers, TODAY)
    assert applied.findings[0].status is FindingStatus.FAIL
    assert list(applied.expired_matches) == [f.fingerprint]


def test_matching_is_case_insensitive_glob_and_first_wins() -> None:
    """Resource patterns match ARM/Databricks ids case-insensitively; the first matching waiver applies."""
    waivers = parse(
        entry(resource=f"{DBX.upper()}/CLUSTERS/CLUSTER-*", owner="first"),
        entry(resource="*", owner="second"),
    )
    hit, other_policy = finding("CST-001", "cluster-a"), finding("MLF-001", "cluster-a")
    applied = apply_waivers([hit, other_policy], waivers, TODAY)
    assert applied.findings[0].status is FindingStatus.WAIVED
    assert applied.findings[0].waiver is not None and applied.findings[0].waiver["owner"] == "first"
    assert applied.findings[1].status is FindingStatus.FAIL


def test_audit_errors_are_never_waived() -> None:
    """AUD-001 findings (status error) stay visible even under a `*` policy waiver."""
    waivers = parse(entry(policy="*", resource="*"))
    aud = finding("AUD-001", "x", status=FindingStatus.ERROR)
    applied = apply_waivers([aud], waivers, TODAY)
    assert applied.findings[0].status is FindingStatus.ERROR
