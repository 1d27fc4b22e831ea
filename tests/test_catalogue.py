"""Tests of mlgov.catalogue: the shipped policy files, and the errors malformed files give.

The shipped-file tests are generic: they cover every file under policies/, whoever wrote it.
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

import pytest
import yaml

from mlgov.catalogue import default_policy_dir, load_catalogue, load_policy_file
from mlgov.checks import registry
from mlgov.errors import PolicyFileError

SHIPPED = sorted(default_policy_dir().glob("*.yaml"))

# DESIGN.md's policy catalogue for the Databricks and audit policies: severity and defaults.
DESIGN_TABLE: dict[str, tuple[str, dict[str, object]]] = {
    "MLF-001": ("high", {}),
    "MLF-002": ("medium", {}),
    "EXP-002": ("low", {"stale_after_days": 90}),
    "GIT-001": ("medium", {}),
    "GIT-003": ("low", {}),
    "CMP-001": ("medium", {"window_days": 30}),
    "CST-001": ("medium", {"max_minutes": 120}),
    "CST-004": ("low", {}),
    "IAM-002": ("medium", {"max_days": 90}),
    "AUD-001": ("error", {}),
}
DOC_HOSTS = ("https://learn.microsoft.com/", "https://docs.databricks.com/")


def test_policies_are_shipped() -> None:
    """The policy directory exists and holds at least the catalogue of DESIGN.md's Databricks part."""
    assert {p.stem for p in SHIPPED} >= set(DESIGN_TABLE)


@pytest.mark.parametrize("path", SHIPPED, ids=[p.stem for p in SHIPPED])
def test_every_shipped_policy_file_loads_and_validates(path: Path) -> None:
    """Each file parses, validates, is named after its id, and has a real remediation."""
    policy = load_policy_file(path)
    assert policy.id == path.stem
    r = policy.remediation
    assert r.doc_url and r.doc_url.startswith("https://")
    assert r.steps and all(len(step) > 20 for step in r.steps)
    assert policy.spec.rationale.strip()
    for name, param in policy.spec.parameters.items():
        assert re.fullmatch(r"[a-z][a-z0-9_]*", name), name
        assert param.description.strip()


def test_every_policy_has_a_check_and_every_check_a_policy() -> None:
    """Policy files and registered checks match one to one, and each file's planes are its check's planes."""
    catalogue = load_catalogue()
    checks = registry()
    assert set(catalogue) == set(checks)
    for pid, policy in catalogue.items():
        assert set(policy.spec.planes) == set(checks[pid].scopes), pid


@pytest.mark.parametrize("pid", sorted(DESIGN_TABLE))
def test_severity_and_defaults_match_the_design_table(pid: str) -> None:
    """Severities and parameter defaults are those of the design's policy catalogue."""
    policy = load_policy_file(default_policy_dir() / f"{pid}.yaml")
    severity, defaults = DESIGN_TABLE[pid]
    assert policy.spec.severity == severity
    for name, value in defaults.items():
        assert policy.defaults()[name] == value


@pytest.mark.parametrize("pid", sorted(DESIGN_TABLE))
def test_remediation_links_to_official_documentation(pid: str) -> None:
    """Doc links point at Microsoft Learn or the Databricks documentation."""
    policy = load_policy_file(default_policy_dir() / f"{pid}.yaml")
    assert policy.remediation.doc_url is not None
    assert policy.remediation.doc_url.startswith(DOC_HOSTS)


def test_policy_files_hold_no_real_looking_secret() -> None:
    """Examples in remediation text use placeholders, never token-shaped values."""
    for path in SHIPPED:
        text = path.read_text(encoding="utf-8")
        assert not re.search(r"dapi[0-9a-f]{32}", text), path.name
        assert not re.search(r"sig=[A-Za-z0-9%]{20,}", text), path.name
        assert not re.search(r"Bearer\s+[A-Za-z0-9._-]{20,}", text), path.name


# ---------------------------------------------------------------------------------------------
# Malformed files


def _valid(pid: str = "CST-001") -> dict[str, object]:
    """A shipped policy file as a dict, to break one field at a time."""
    data = yaml.safe_load((default_policy_dir() / f"{pid}.yaml").read_text(encoding="utf-8"))
    assert isinstance(data, dict)
    return data


def _write(tmp_path: Path, data: dict[str, object] | str, name: str = "CST-001.yaml") -> Path:
    path = tmp_path / name
    path.write_text(data if isinstance(data, str) else yaml.safe_dump(data, sort_keys=False), encoding="utf-8")
    return path


def _error(path: Path) -> PolicyFileError:
    with pytest.raises(PolicyFileError) as info:
        load_policy_file(path)
    err = info.value
    text = str(err)
    assert str(path) in text
    assert "\n" not in text and "Traceback" not in text
    return err


def test_bad_yaml_names_file_and_line(tmp_path: Path) -> None:
    """Broken YAML says where, with a hint, and no parser traceback."""
    err = _error(_write(tmp_path, "id: CST-001\ntitle: [unclosed\n"))
    assert "not valid YAML at line" in str(err)
    assert err.hint


def test_non_mapping_file_is_refused(tmp_path: Path) -> None:
    """A YAML list is not a policy."""
    assert "must be a YAML mapping" in str(_error(_write(tmp_path, "- a\n- b\n")))


def test_unknown_field_names_policy_and_field(tmp_path: Path) -> None:
    """A typo'd field is refused by name."""
    data = _valid()
    data["severty"] = "low"
    text = str(_error(_write(tmp_path, data)))
    assert "policy CST-001" in text and "severty: unknown field" in text


def test_missing_remediation_names_the_field(tmp_path: Path) -> None:
    """Remediation is mandatory."""
    data = _valid()
    del data["remediation"]
    text = str(_error(_write(tmp_path, data)))
    assert "policy CST-001" in text and "remediation: missing required field" in text


def test_nested_field_errors_give_the_path(tmp_path: Path) -> None:
    """A bad doc link is reported as remediation.doc_url."""
    data = _valid()
    data["remediation"]["doc_url"] = "http://example.com"  # type: ignore[index]
    assert "remediation.doc_url" in str(_error(_write(tmp_path, data)))


def test_bad_id_is_refused(tmp_path: Path) -> None:
    """Ids look like ABC-123."""
    data = _valid()
    data["id"] = "cst-1"
    text = str(_error(_write(tmp_path, data, "cst-1.yaml")))
    assert "policy cst-1" in text and "id:" in text and "ABC-123" in text


def test_id_and_file_name_must_match(tmp_path: Path) -> None:
    """A file named after another id is refused, naming both."""
    text = str(_error(_write(tmp_path, _valid(), "CST-009.yaml")))
    assert "policy CST-001" in text and "CST-001.yaml" in text


def test_default_outside_bounds_is_refused(tmp_path: Path) -> None:
    """A default below the parameter's minimum names the parameter."""
    data = _valid()
    data["parameters"]["max_minutes"]["default"] = 5  # type: ignore[index]
    text = str(_error(_write(tmp_path, data)))
    assert "policy CST-001" in text and "parameters.max_minutes" in text and "below the minimum" in text


def test_default_of_wrong_type_is_refused(tmp_path: Path) -> None:
    """A string default for an integer parameter is refused."""
    data = _valid()
    data["parameters"]["max_minutes"]["default"] = "two hours"  # type: ignore[index]
    assert "expected integer" in str(_error(_write(tmp_path, data)))


def test_unknown_severity_is_refused(tmp_path: Path) -> None:
    """Severities come from a fixed list."""
    data = _valid()
    data["severity"] = "urgent"
    text = str(_error(_write(tmp_path, data)))
    assert "policy CST-001" in text and "severity" in text


def test_planes_must_match_the_check(tmp_path: Path) -> None:
    """A file whose planes differ from its check's scopes is refused at catalogue load, naming the file."""
    data = _valid()
    data["planes"] = ["databricks", "aml"]
    path = _write(tmp_path, data)
    with pytest.raises(PolicyFileError) as info:
        load_catalogue(tmp_path)
    text = str(info.value)
    assert str(path) in text and "policy CST-001" in text and "planes" in text
    assert info.value.hint


def test_policy_without_check_is_refused(tmp_path: Path) -> None:
    """A policy file needs a registered check."""
    data = _valid()
    data["id"] = "ZZZ-999"
    _write(tmp_path, data, "ZZZ-999.yaml")
    with pytest.raises(PolicyFileError, match="no check is registered for ZZZ-999"):
        load_catalogue(tmp_path)


def test_empty_or_missing_directory_is_refused(tmp_path: Path) -> None:
    """No directory, or no *.yaml in it, is an error rather than an empty catalogue."""
    with pytest.raises(PolicyFileError, match="policy directory not found"):
        load_catalogue(tmp_path / "nope")
    with pytest.raises(PolicyFileError, match="no policy files"):
        load_catalogue(tmp_path)


def test_a_copy_of_shipped_policies_loads_from_another_directory(tmp_path: Path) -> None:
    """The catalogue can be read from any directory holding valid files (policies.directory in the config)."""
    for pid in ("CST-001", "AUD-001"):
        shutil.copy(default_policy_dir() / f"{pid}.yaml", tmp_path)
    assert list(load_catalogue(tmp_path)) == ["AUD-001", "CST-001"]
