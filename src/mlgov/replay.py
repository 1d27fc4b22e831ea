"""Replay recorded HTTP traffic through the real SDK clients (vcrpy), for tests and `--demo`.

Cassettes are vcrpy YAML files whose bodies may hold placeholders, expanded when the cassette
is loaded, so that no committed file holds anything that looks like a live credential and so
that dates stay relative to today (a demo token is always expired "30 days ago"):

- `<<jwt:exp=-30d;aud=AUD;iss=ISS;tid=TID;appid=APP>>` a JWT with that expiry (unsigned);
- `<<pat:SEED>>` a Databricks-PAT-shaped value derived from SEED;
- `<<ms:-120d>>` epoch milliseconds, `<<s:-2h>>` epoch seconds, `<<iso:+10d>>` ISO-8601 UTC.

Offsets are `[+-]N[smhd]` relative to the moment the cassette is loaded. Replay never reaches
the network: `record_mode="none"`, and a request that is not in the cassette fails.
"""

from __future__ import annotations

import base64
import hashlib
import json
import re
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import yaml

_PLACEHOLDER = re.compile(r"<<(jwt|pat|ms|s|iso):([^<>]*)>>")
_OFFSET = re.compile(r"^([+-]?)(\d+)([smhd])$")
_UNITS = {"s": "seconds", "m": "minutes", "h": "hours", "d": "days"}
VOLATILE_QUERY_KEYS = frozenset({"start_time_from", "start_time_to"})
"""Query parameters computed from the clock (the job-runs window); ignored when matching."""
FILTERED_HEADERS = ("authorization", "x-databricks-azure-sp-management-token", "cookie", "set-cookie")


def offset_time(spec: str, now: datetime) -> datetime:
    """`now` moved by an offset like `-30d`, `+2h` or `15m`."""
    match = _OFFSET.match(spec.strip())
    if not match:
        raise ValueError(f"bad time offset {spec!r} (expected e.g. -30d, +2h)")
    sign = -1 if match.group(1) == "-" else 1
    return now + sign * timedelta(**{_UNITS[match.group(3)]: int(match.group(2))})


def fake_jwt(
    *,
    exp: datetime,
    aud: str = "2ff814a6-3304-4ab8-85cb-cd0e6f879c1d",
    iss: str = "https://sts.windows.net/00000000-0000-0000-0000-000000000000/",
    tid: str = "00000000-0000-0000-0000-000000000000",
    appid: str = "11111111-1111-1111-1111-111111111111",
    iat: datetime | None = None,
) -> str:
    """An unsigned, obviously fake JWT whose claims are the given ones."""

    def seg(obj: dict[str, Any]) -> str:
        raw = json.dumps(obj, separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()

    issued = iat or (exp - timedelta(hours=1))
    claims = {
        "aud": aud,
        "iss": iss,
        "tid": tid,
        "appid": appid,
        "iat": int(issued.timestamp()),
        "exp": int(exp.timestamp()),
        "note": "fake token built by mlgov for tests and the demo",
    }
    return f"{seg({'alg': 'none', 'typ': 'JWT'})}.{seg(claims)}.fake-signature"


def fake_pat(seed: str) -> str:
    """A value shaped like a Databricks PAT (`dapi` + 32 hex), derived from `seed`."""
    return "dapi" + hashlib.sha256(seed.encode()).hexdigest()[:32]


def expand(text: str, now: datetime | None = None) -> str:
    """Replace every placeholder in `text`."""
    moment = now or datetime.now(UTC)

    def sub(match: re.Match[str]) -> str:
        kind, arg = match.group(1), match.group(2)
        if kind == "pat":
            return fake_pat(arg)
        if kind == "jwt":
            fields = dict(part.split("=", 1) for part in arg.split(";") if part)
            exp = offset_time(fields.pop("exp", "+1h"), moment)
            unknown = set(fields) - {"aud", "iss", "tid", "appid"}
            if unknown:
                raise ValueError(f"unknown jwt placeholder field(s) {sorted(unknown)}")
            return fake_jwt(exp=exp, **fields)  # type: ignore[arg-type]
        when = offset_time(arg, moment)
        if kind == "ms":
            return str(int(when.timestamp() * 1000))
        if kind == "s":
            return str(int(when.timestamp()))
        return when.astimezone(UTC).isoformat().replace("+00:00", "Z")

    return _PLACEHOLDER.sub(sub, text)


class StaticTokenCredential:
    """An azure-core TokenCredential that hands out a fake token: for replay and the demo.

    It makes no MSAL, IMDS or CLI call. `scopes_requested` records every scope asked for, so
    tests can prove which cloud's scope the clients used.
    """

    def __init__(self, ttl_seconds: int = 3600) -> None:
        self.ttl_seconds = ttl_seconds
        self.scopes_requested: list[str] = []

    def get_token(self, *scopes: str, **kwargs: Any) -> Any:
        """A fake AccessToken valid for `ttl_seconds`."""
        from azure.core.credentials import AccessToken

        self.scopes_requested.extend(scopes)
        expires = datetime.now(UTC) + timedelta(seconds=self.ttl_seconds)
        return AccessToken(fake_jwt(exp=expires, aud=scopes[0] if scopes else "fake"), int(expires.timestamp()))

    def close(self) -> None:
        """Nothing to release."""


class TemplatePersister:
    """A vcrpy persister that expands placeholders when it loads a cassette; it never saves.

    A cassette name may join several files with `|` (`azure.yaml|databricks.yaml`): their
    interactions are replayed as one cassette.
    """

    now: datetime | None = None

    @classmethod
    def load_cassette(cls, cassette_path: str, serializer: Any) -> tuple[list[Any], list[Any]]:
        """Read the YAML cassette(s), expand placeholders in bodies and URIs, hand them to vcrpy."""
        from vcr.persisters.filesystem import CassetteNotFoundError
        from vcr.request import Request

        first, *rest = cassette_path.split("|")
        paths = [Path(first), *(Path(first).parent / name for name in rest)]
        interactions: list[Any] = []
        for path in paths:
            if not path.is_file():
                raise CassetteNotFoundError(f"cassette not found: {path}")
            data = yaml.safe_load(expand(path.read_text(encoding="utf-8"), cls.now)) or {}
            interactions.extend(data.get("interactions", []))
        requests, responses = [], []
        for item in interactions:
            req = item["request"]
            requests.append(
                Request(req["method"], req["uri"], _body_bytes(req.get("body")), req.get("headers") or {})
            )
            resp = dict(item["response"])
            body = resp.get("body") or {}
            text = body.get("string", "")
            resp["body"] = {"string": text.encode("utf-8") if isinstance(text, str) else text}
            resp.setdefault("headers", {})
            responses.append(resp)
        return requests, responses

    @staticmethod
    def save_cassette(cassette_path: str, cassette_dict: Any, serializer: Any) -> None:
        """Replay-only: never writes."""
        raise RuntimeError("mlgov replay cassettes are read-only")


def _body_bytes(body: Any) -> bytes | None:
    if body is None:
        return None
    if isinstance(body, dict):
        body = body.get("string")
    return body.encode("utf-8") if isinstance(body, str) else body


def _query_without_volatile(r1: Any, r2: Any) -> None:
    q1 = sorted((k, v) for k, v in parse_qsl(urlsplit(r1.uri).query, keep_blank_values=True)
                if k not in VOLATILE_QUERY_KEYS)
    q2 = sorted((k, v) for k, v in parse_qsl(urlsplit(r2.uri).query, keep_blank_values=True)
                if k not in VOLATILE_QUERY_KEYS)
    if q1 != q2:
        raise AssertionError(f"query {q1} != {q2}")


def replay_vcr(cassette_dir: Path | str) -> Any:
    """A vcrpy VCR that replays cassettes from `cassette_dir` and never records."""
    import vcr

    v = vcr.VCR(
        cassette_library_dir=str(cassette_dir),
        record_mode="none",
        match_on=["method", "scheme", "host", "port", "path", "query_stable"],
        filter_headers=list(FILTERED_HEADERS),
        decode_compressed_response=True,
    )
    v.register_matcher("query_stable", _query_without_volatile)
    v.register_persister(TemplatePersister)
    return v


_CONNECTION_LOCK = threading.RLock()
_SERIALIZED: list[Any] = []
"""(users, originals) of the connection set-up patch, shared by nested or concurrent replays."""


@contextmanager
def serialized_connection_setup() -> Iterator[None]:
    """Make vcrpy safe for collectors that read several scopes on threads.

    vcrpy builds each fake connection inside `force_reset()`, which puts the real urllib3
    connection classes back *for the whole process* for a moment (vcrpy issue #212): a thread
    opening a connection in that moment gets a real one and goes to the network. Here the
    creation of connections (urllib3's `_new_conn`) and vcrpy's connection set-up take one
    lock, so the window is never seen by another thread. Requests themselves still run in
    parallel.
    """
    from urllib3 import connectionpool
    from vcr.stubs import VCRConnection

    targets = [
        (connectionpool.HTTPConnectionPool, "_new_conn"),
        (connectionpool.HTTPSConnectionPool, "_new_conn"),
        (VCRConnection, "__init__"),
    ]
    with _CONNECTION_LOCK:
        if not _SERIALIZED:
            originals = [(cls, name, cls.__dict__[name]) for cls, name in targets if name in cls.__dict__]
            for cls, name, original in originals:
                setattr(cls, name, _locked(original))
            _SERIALIZED[:] = [0, originals]
        _SERIALIZED[0] += 1
    try:
        yield
    finally:
        with _CONNECTION_LOCK:
            _SERIALIZED[0] -= 1
            if _SERIALIZED[0] == 0:
                for cls, name, original in _SERIALIZED[1]:
                    setattr(cls, name, original)
                _SERIALIZED.clear()


def _locked(function: Any) -> Any:
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        with _CONNECTION_LOCK:
            return function(*args, **kwargs)

    wrapper.__wrapped__ = function  # type: ignore[attr-defined]
    return wrapper


@contextmanager
def replaying(cassette: Path | str, *more: Path | str, now: datetime | None = None) -> Iterator[Any]:
    """Replay cassette file(s) for the duration of the block; yields the vcrpy cassette.

    Extra files must sit in the same directory as the first one.
    """
    path = Path(cassette)
    for file in (path, *(path.parent / Path(m).name for m in more)):
        if not file.is_file():
            # vcrpy would replay an empty cassette and fail later, request by request, less clearly.
            raise FileNotFoundError(f"no such cassette: {file}")
    name = "|".join([path.name, *(Path(m).name for m in more)])
    TemplatePersister.now = now
    try:
        with serialized_connection_setup(), replay_vcr(path.parent).use_cassette(
            name, allow_playback_repeats=False
        ) as cass:
            yield cass
    finally:
        TemplatePersister.now = None
