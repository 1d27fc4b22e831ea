"""Tests of target selection and sharding."""

from __future__ import annotations

import pytest

from mlgov.config import DatabricksAuth
from mlgov.errors import UsageError
from mlgov.targets import AmlTarget, DatabricksTarget, in_shard, parse_shard, select_targets


def targets() -> list[DatabricksTarget | AmlTarget]:
    out: list[DatabricksTarget | AmlTarget] = [
        DatabricksTarget(host=f"https://adb-{i}.1.azuredatabricks.net", name=f"dbx-{i}", auth=DatabricksAuth())
        for i in range(40)
    ]
    out += [
        AmlTarget(resource_id=f"/subscriptions/s{i % 3}/resourceGroups/rg/providers/"
                  f"Microsoft.MachineLearningServices/workspaces/mlw-{i}",
                  name=f"mlw-{i}", subscription_id=f"s{i % 3}", resource_group="rg")
        for i in range(60)
    ]
    return out


def test_every_target_lands_in_exactly_one_shard() -> None:
    """Sharding splits targets into disjoint sets that together cover them all."""
    all_targets = targets()
    for count in (1, 2, 3, 7):
        seen: list[str] = []
        for index in range(1, count + 1):
            seen += [t.key for t in all_targets if in_shard(t.key, index, count)]
        assert sorted(seen) == sorted(t.key for t in all_targets)


def test_sharding_is_stable_and_case_insensitive() -> None:
    """The same key always goes to the same shard, whatever its case."""
    key = "/subscriptions/S1/resourceGroups/RG/providers/Microsoft.MachineLearningServices/workspaces/X"
    shards = [i for i in range(1, 5) if in_shard(key, i, 4)]
    assert shards == [i for i in range(1, 5) if in_shard(key.lower(), i, 4)]
    assert len(shards) == 1


@pytest.mark.parametrize("text", ["0/3", "4/3", "a/b", "3", "1/0"])
def test_bad_shard_specs_are_usage_errors(text: str) -> None:
    """`--shard` accepts only I/N with 1 <= I <= N."""
    with pytest.raises(UsageError):
        parse_shard(text)


def test_select_by_glob_on_name_host_or_subscription() -> None:
    """`--target` patterns match names, hosts and subscriptions; no match is a usage error."""
    all_targets = targets()
    assert {t.name for t in select_targets(all_targets, ["dbx-1?"])} == {f"dbx-{i}" for i in range(10, 20)}
    assert len(select_targets(all_targets, ["adb-3.1.azuredatabricks.net"])) == 1
    assert len(select_targets(all_targets, ["s1"])) == 20
    with pytest.raises(UsageError) as err:
        select_targets(all_targets, ["nothing-*"])
    assert "matches no target" in str(err.value)
