"""Hygiene of committed files: no real-looking secret, token or tenant id anywhere in the repo.

Cassettes, demo data, fixtures, docs and code may only hold placeholders (`<<jwt:...>>`,
`<<pat:...>>`), values built at run time, or obviously fake identifiers.
"""

from __future__ import annotations

import re
import subprocess
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]

SECRET_PATTERNS = {
    "Databricks PAT": re.compile(r"dapi[0-9a-f]{32}"),
    "JWT": re.compile(r"eyJ[A-Za-z0-9_-]{10,}\.eyJ[A-Za-z0-9_-]{10,}\.[A-Za-z0-9_-]*"),
    "SAS / webhook signature": re.compile(r"sig=[A-Za-z0-9%_-]{20,}"),
    "Authorization header": re.compile(r"(?i)authorization['\"]?:\s*['\"]?(bearer|basic) [A-Za-z0-9._-]{20,}"),
    "storage account key": re.compile(r"AccountKey=[A-Za-z0-9+/=]{20,}"),
    "client secret": re.compile(r"client_secret=[^&\"'\s{]{8,}"),
    "Standard Webhooks secret": re.compile(r"whsec_[A-Za-z0-9+/=]{24,}"),
    "GitHub token": re.compile(r"\bgh[pousr]_[A-Za-z0-9]{36,}"),
    "Slack token": re.compile(r"\bxox[abp]-[A-Za-z0-9-]{20,}"),
}
GUID = re.compile(r"\b[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}\b")
# Public, well-known identifiers (not tenants, not secrets).
WELL_KNOWN_GUIDS = {
    "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d",  # Azure Databricks first-party application
    "8e3af657-a8ff-443c-a75c-2fe8c4bcb635",  # built-in role: Owner
    "b24988ac-6180-42a0-ab88-20f7382dd24c",  # built-in role: Contributor
    "acdd72a7-3385-48ef-bd42-f606fba81ae7",  # built-in role: Reader
    "f6c7c914-8db3-469d-8ca1-694a8f32e121",  # built-in role: AzureML Data Scientist
    "7f951dda-4ed3-4680-a7ca-43fe172d538d",  # built-in role: AcrPull
    "18d7d88d-d35e-4fb5-a5c3-7773c20a72d9",  # built-in role: User Access Administrator
    "f58310d9-a9f6-439a-9e8d-f62e7b41a168",  # built-in role: Role Based Access Control Administrator
    "00000003-0000-0000-c000-000000000000",  # Microsoft Graph first-party application
}
# Words that mark a test value as fake on its face.
FAKE_MARKERS = ("fake", "not-a-real", "example", "placeholder")
SKIP_SUFFIXES = {".png", ".jpg", ".gif", ".ico", ".whl", ".gz", ".zip", ".db"}
# Files copied verbatim from a public source (their ids are the spec's own examples).
VERBATIM = {"tests/data/sarif-schema-2.1.0.json"}


def tracked_files() -> list[Path]:
    out = subprocess.run(["git", "ls-files"], cwd=ROOT, capture_output=True, text=True, check=True)
    return [ROOT / line for line in out.stdout.splitlines() if line and Path(line).suffix not in SKIP_SUFFIXES]


def fake_looking(guid: str) -> bool:
    """A GUID made of repeated characters (00000000-..., aaaaaaaa-..., 0f1e2d3c-aaaa-bbbb-cccc-...)."""
    groups = guid.lower().split("-")
    repeated = sum(1 for g in groups if len(set(g)) == 1)
    return len(set(groups[0])) == 1 or repeated >= 2


def test_no_committed_file_holds_a_secret() -> None:
    """No tracked file contains a token, PAT, key, signature or secret of a real-looking shape."""
    hits = []
    for path in tracked_files():
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for name, pattern in SECRET_PATTERNS.items():
            for match in pattern.finditer(text):
                if any(marker in match.group(0).lower() for marker in FAKE_MARKERS):
                    continue
                hits.append(f"{path.relative_to(ROOT)}: {name}: {match.group(0)[:24]}...")
    assert hits == []


def test_no_real_looking_tenant_or_subscription_ids() -> None:
    """Every GUID in committed files is either a well-known public id or an obviously fake one."""
    hits = []
    for path in tracked_files():
        rel = str(path.relative_to(ROOT))
        if rel in VERBATIM:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (UnicodeDecodeError, FileNotFoundError):
            continue
        for guid in set(GUID.findall(text)):
            if guid.lower() not in WELL_KNOWN_GUIDS and not fake_looking(guid):
                hits.append(f"{rel}: {guid}")
    assert sorted(hits) == []


def test_the_patterns_catch_what_they_should() -> None:
    """The detectors fire on a built-at-runtime PAT and JWT, so a clean result means something."""
    from datetime import UTC, datetime

    from mlgov.replay import fake_jwt, fake_pat

    assert SECRET_PATTERNS["Databricks PAT"].search(fake_pat("x"))
    assert SECRET_PATTERNS["JWT"].search(fake_jwt(exp=datetime(2030, 1, 1, tzinfo=UTC)))
    assert not fake_looking("-".join(["4a5b6c7d", "9e8f", "4a1b", "8c2d", "3e4f5a6b7c8d"]))
    assert fake_looking("aaaaaaaa-0000-0000-0000-000000000001")
