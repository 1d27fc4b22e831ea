"""Tests of the snapshot: JSON round trip, versioning, and errors on bad files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from mlgov import snapshot as snap_io
from mlgov.errors import SnapshotError
from mlgov.inventory import (
    ClusterSize,
    DatabricksWorkspace,
    DbxCluster,
    DbxJob,
    DbxTask,
    ScopeStatus,
    SecretSighting,
    TokenFacts,
)
from mlgov.snapshot import Snapshot

T0 = datetime(2026, 11, 1, 6, 0, tzinfo=UTC)


def sample() -> Snapshot:
    host = "adb-1.1.azuredatabricks.net"
    ws = DatabricksWorkspace(
        resource_id=f"databricks://{host}",
        host=f"https://{host}",
        name="prod",
        clusters=(
            DbxCluster(
                resource_id=f"databricks://{host}/clusters/c1",
                cluster_id="c1",
                name="shared",
                source="UI",
                state="RUNNING",
                autotermination_minutes=0,
                size=ClusterSize(node_type_id="Standard_DS3_v2", num_workers=2, availability="ON_DEMAND_AZURE"),
            ),
        ),
        jobs=(
            DbxJob(
                resource_id=f"databricks://{host}/jobs/7",
                job_id=7,
                name="etl",
                creator=None,
                git_url=None,
                tasks=(DbxTask(task_key="a", kind="notebook", compute="existing_cluster", existing_cluster_id="c1"),),
                job_clusters=(),
                created_at=T0,
            ),
        ),
        secrets=(
            SecretSighting(
                resource_id=f"databricks://{host}/clusters/c1",
                resource_name="shared",
                resource_kind="databricks.cluster",
                location="spark_env_vars",
                key="MLFLOW_TRACKING_TOKEN",
                token=TokenFacts(kind="jwt", expires_at=T0, audience="aud"),
            ),
        ),
    )
    return Snapshot(
        taken_at=T0,
        databricks=(ws,),
        scopes=(ScopeStatus(scope_id=ws.resource_id, scope_kind="databricks_workspace", family="tokens",
                            ok=False, error="403", status=403),),
    )


def test_round_trip_is_lossless(tmp_path: Path) -> None:
    """A snapshot saved and loaded again equals the original."""
    original = sample()
    path = tmp_path / "snap.json"
    snap_io.save(original, path)
    loaded = snap_io.load(path)
    assert loaded == original
    assert loaded.databricks[0].secrets[0].token.expires_at == T0
    assert not loaded.is_complete(original.databricks[0].resource_id, ["tokens"])
    assert loaded.is_complete(original.databricks[0].resource_id, ["clusters"])


def test_saved_file_states_kind_and_version(tmp_path: Path) -> None:
    """The file carries its kind and schema version, and no private fields."""
    path = tmp_path / "snap.json"
    snap_io.save(sample(), path)
    data = json.loads(path.read_text())
    assert data["kind"] == "mlgov.snapshot" and data["schema_version"] == snap_io.SCHEMA_VERSION
    assert "_failed" not in data


@pytest.mark.parametrize(
    ("content", "expected"),
    [
        ("{not json", "not valid JSON"),
        ('{"kind": "other"}', "not an mlgov snapshot"),
        ('{"kind": "mlgov.snapshot", "schema_version": 99}', "schema version 99"),
        ('{"kind": "mlgov.snapshot", "schema_version": 1, "taken_at": "2026-01-01T00:00:00Z", "databricks": [{}]}',
         "malformed snapshot at $.databricks[0]"),
        ('{"kind": "mlgov.snapshot", "schema_version": 1, "taken_at": "yesterday"}', "bad timestamp"),
    ],
)
def test_bad_files_give_clear_errors(tmp_path: Path, content: str, expected: str) -> None:
    """Broken, foreign or future snapshot files are refused with a message naming the file."""
    path = tmp_path / "bad.json"
    path.write_text(content)
    with pytest.raises(SnapshotError) as err:
        snap_io.load(path)
    assert expected in str(err.value) and str(path) in str(err.value)


def test_save_is_atomic_on_failure(tmp_path: Path) -> None:
    """A failed save leaves the previous file untouched and no temporary file behind."""
    path = tmp_path / "snap.json"
    snap_io.save(sample(), path)
    before = path.read_text()

    class Boom:
        pass

    broken = Snapshot(taken_at=T0, subscriptions=(Boom(),))  # type: ignore[arg-type]
    with pytest.raises(TypeError):
        snap_io.save(broken, path)
    assert path.read_text() == before
    assert [p.name for p in tmp_path.iterdir()] == ["snap.json"]
