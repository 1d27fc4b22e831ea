"""Replay: placeholder expansion, fake credentials and the replay-only vcrpy set-up."""

from __future__ import annotations

import base64
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests
import yaml
from vcr.errors import CannotOverwriteExistingCassetteException

from mlgov.replay import expand, fake_jwt, fake_pat, offset_time, replaying
from mlgov.tokens import classify, decode_jwt

NOW = datetime(2026, 3, 1, 12, 0, 0, tzinfo=UTC)


def test_offsets_move_now_in_every_unit() -> None:
    """Offsets are signed counts of seconds, minutes, hours or days; no sign means forward."""
    assert offset_time("-30d", NOW) == NOW - timedelta(days=30)
    assert offset_time("+2h", NOW) == NOW + timedelta(hours=2)
    assert offset_time("15m", NOW) == NOW + timedelta(minutes=15)
    assert offset_time(" -45s ", NOW) == NOW - timedelta(seconds=45)


@pytest.mark.parametrize("bad", ["", "30", "-3w", "+-1d", "1.5h", "d"])
def test_malformed_offsets_are_refused(bad: str) -> None:
    """An offset that is not [+-]N[smhd] raises ValueError naming it."""
    with pytest.raises(ValueError, match="bad time offset"):
        offset_time(bad, NOW)


def test_time_placeholders_expand_relative_to_now() -> None:
    """<<ms:>> gives epoch milliseconds, <<s:>> epoch seconds and <<iso:>> an ISO-8601 UTC time."""
    text = expand('{"a": <<ms:-1d>>, "b": <<s:+1h>>, "c": "<<iso:-30m>>"}', NOW)
    data = json.loads(text)
    assert data["a"] == int((NOW - timedelta(days=1)).timestamp() * 1000)
    assert data["b"] == int((NOW + timedelta(hours=1)).timestamp())
    assert data["c"] == "2026-03-01T11:30:00Z"


def test_pat_placeholder_is_stable_and_pat_shaped() -> None:
    """<<pat:SEED>> is the same PAT-shaped value for the same seed, another for another seed."""
    first = expand("<<pat:alpha>>", NOW)
    assert first == fake_pat("alpha") == expand("<<pat:alpha>>", NOW)
    assert first != fake_pat("beta")
    assert classify("X", first) is not None and classify("X", first).kind == "databricks_pat"  # type: ignore[union-attr]


def test_jwt_placeholder_carries_the_requested_claims() -> None:
    """<<jwt:...>> is a decodable unsigned JWT with the given expiry, audience, issuer, tenant and app."""
    token = expand("<<jwt:exp=-30d;aud=https://management.azure.com;tid=t-1;appid=a-1;iss=https://issuer/>>", NOW)
    facts = decode_jwt(token)
    assert facts is not None and facts.kind == "jwt"
    assert facts.expires_at == NOW - timedelta(days=30)
    assert facts.issued_at == NOW - timedelta(days=30, hours=1)
    assert (facts.audience, facts.tenant_id, facts.app_id, facts.issuer) == (
        "https://management.azure.com", "t-1", "a-1", "https://issuer/")


def test_jwt_placeholder_defaults_to_azure_databricks_and_one_hour() -> None:
    """Without arguments the JWT expires in an hour and is meant for Azure Databricks."""
    facts = decode_jwt(expand("<<jwt:>>", NOW))
    assert facts is not None
    assert facts.expires_at == NOW + timedelta(hours=1)
    assert facts.audience == "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d"


def test_fake_jwt_is_unsigned() -> None:
    """Fake JWTs say alg none and carry a note, so nobody mistakes one for a real token."""
    token = fake_jwt(exp=NOW)
    header, payload, signature = token.split(".")
    assert json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4))) == {"alg": "none", "typ": "JWT"}
    assert "fake token" in json.loads(base64.urlsafe_b64decode(payload + "=" * (-len(payload) % 4)))["note"]
    assert signature == "fake-signature"
    facts = decode_jwt(token)
    assert facts is not None and facts.expires_at == NOW


def test_text_without_placeholders_is_untouched() -> None:
    """Ordinary text, including Databricks secret references and <tags>, passes through as is."""
    text = "{{secrets/scope/key}} <b>bold</b> <<unknown:x>>"
    assert expand(text, NOW) == text


def _write_cassette(path: Path, body: str, *, query: str = "", status: int = 200) -> None:
    path.write_text(
        yaml.safe_dump(
            {
                "interactions": [
                    {
                        "request": {"method": "GET", "uri": f"https://replay.test/api/x{query}", "body": None,
                                    "headers": {}},
                        "response": {"status": {"code": status, "message": "OK"},
                                     "headers": {"Content-Type": ["application/json"]}, "body": {"string": body}},
                    }
                ],
                "version": 1,
            },
            width=1_000_000,
        ),
        encoding="utf-8",
    )


def test_replaying_serves_expanded_bodies_through_requests(tmp_path: Path) -> None:
    """A request made inside `replaying` gets the recorded body with its placeholders expanded."""
    cassette = tmp_path / "one.yaml"
    _write_cassette(cassette, '{"when": <<ms:-2d>>, "token": "<<pat:seed>>"}')
    with replaying(cassette, now=NOW) as cass:
        data = requests.get("https://replay.test/api/x", timeout=5).json()
    assert data == {"when": int((NOW - timedelta(days=2)).timestamp() * 1000), "token": fake_pat("seed")}
    assert cass.all_played


def test_each_interaction_plays_once_and_unknown_requests_fail(tmp_path: Path) -> None:
    """A recorded response is served once; a request the cassette lacks raises instead of going out."""
    cassette = tmp_path / "once.yaml"
    _write_cassette(cassette, "{}")
    with replaying(cassette, now=NOW):
        assert requests.get("https://replay.test/api/x", timeout=5).status_code == 200
        with pytest.raises(CannotOverwriteExistingCassetteException):
            requests.get("https://replay.test/api/x", timeout=5)
        with pytest.raises(CannotOverwriteExistingCassetteException):
            requests.get("https://replay.test/api/other", timeout=5)


def test_clock_derived_query_parameters_are_ignored_when_matching(tmp_path: Path) -> None:
    """start_time_from/start_time_to differ on every run, so matching ignores them; other keys count."""
    cassette = tmp_path / "runs.yaml"
    _write_cassette(cassette, "{}", query="?job_id=1&start_time_from=<<ms:-30d>>")
    with replaying(cassette, now=NOW):
        reply = requests.get("https://replay.test/api/x", params={"job_id": 1, "start_time_from": 5}, timeout=5)
        assert reply.status_code == 200
    with replaying(cassette, now=NOW), pytest.raises(CannotOverwriteExistingCassetteException):
        requests.get("https://replay.test/api/x", params={"job_id": 2}, timeout=5)


def test_several_files_replay_as_one_cassette(tmp_path: Path) -> None:
    """Extra files in the same directory join the first one's interactions."""
    first, second = tmp_path / "a.yaml", tmp_path / "b.yaml"
    _write_cassette(first, '{"from": "a"}')
    _write_cassette(second, '{"from": "b"}')
    with replaying(first, second, now=NOW) as cass:
        got = [requests.get("https://replay.test/api/x", timeout=5).json()["from"] for _ in range(2)]
    assert got == ["a", "b"] and cass.all_played


def test_a_missing_cassette_file_is_an_error(tmp_path: Path) -> None:
    """Naming a cassette that does not exist fails at once rather than replaying nothing."""
    present = tmp_path / "present.yaml"
    _write_cassette(present, "{}")
    with pytest.raises(FileNotFoundError, match="no such cassette"), replaying(tmp_path / "absent.yaml"):
        pass
    with pytest.raises(FileNotFoundError, match="absent"), replaying(present, tmp_path / "absent.yaml"):
        pass
