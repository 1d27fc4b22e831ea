"""The committed Azure cassettes are what tests/azure_cassettes.py writes, and hold no secret."""

from __future__ import annotations

import re

import yaml

import azure_cassettes


def test_committed_azure_cassettes_are_up_to_date() -> None:
    """Regenerating the cassettes from the official examples changes nothing (else: run tests/azure_cassettes.py)."""
    stale = [
        path
        for path, cassette in azure_cassettes.outputs().items()
        if not path.is_file() or path.read_text(encoding="utf-8") != cassette.render()
    ]
    assert stale == [], "run `.venv/bin/python tests/azure_cassettes.py` and commit the result"


def test_azure_cassettes_hold_no_secret() -> None:
    """No request header, bearer token, PAT, JWT or SAS signature is written out: only placeholders."""
    for path in azure_cassettes.outputs():
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"dapi[0-9a-f]{32}", text), path
        assert not re.search(r"eyJ[A-Za-z0-9_-]{10,}", text), path
        assert not re.search(r"sig=[^&\s]{20,}", text), path
        assert "Bearer " not in text, path
        interactions = yaml.safe_load(text)["interactions"]
        assert all(i["request"]["headers"] == {} for i in interactions), path
