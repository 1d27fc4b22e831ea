"""Policy files: `policies/*.yaml`, loaded, validated and indexed by id.

Each file describes one policy: id, title, severity, resource kind, parameters with their
defaults, rationale, remediation and, where it applies, a cost model. The check itself is
Python code registered under the same id (`mlgov.checks`). Errors name the file, the policy
id and the field.
"""

from __future__ import annotations

import re
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from mlgov.errors import PolicyFileError
from mlgov.findings import Remediation, Severity
from mlgov.yamlfile import read_yaml

POLICY_ID = re.compile(r"^[A-Z]{3}-\d{3}$")
ParamType = Literal["integer", "number", "string", "boolean", "string_list"]
_PY_TYPES: dict[str, tuple[type, ...]] = {
    "integer": (int,),
    "number": (int, float),
    "string": (str,),
    "boolean": (bool,),
    "string_list": (list,),
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ParameterSpec(_Strict):
    """A tunable threshold of a policy, overridable in the config file."""

    type: ParamType
    default: Any
    description: str = Field(min_length=10)
    minimum: float | None = None
    maximum: float | None = None

    @model_validator(mode="after")
    def _default_fits(self) -> ParameterSpec:
        check_parameter_value(self, self.default)
        return self


class RemediationSpec(_Strict):
    """How to fix a finding of the policy."""

    summary: str = Field(min_length=10)
    steps: list[str] = Field(min_length=1)
    cli: str | None = None
    portal: str | None = None
    doc_url: Annotated[str, Field(pattern=r"^https://")]


class CostModelSpec(_Strict):
    """How a finding of the policy is priced; the formula is shown to users as is."""

    formula: str = Field(min_length=5)
    description: str = Field(min_length=10)


class PolicySpec(_Strict):
    """One policy file."""

    id: str
    title: str = Field(min_length=5, max_length=120)
    severity: Literal["error", "critical", "high", "medium", "low", "info"]
    resource_kind: str = Field(pattern=r"^[a-z_]+\.[a-z_]+$")
    planes: list[Literal["databricks", "aml", "registry", "rbac", "audit"]] = Field(min_length=1)
    parameters: dict[str, ParameterSpec] = Field(default_factory=dict)
    rationale: str = Field(min_length=40)
    remediation: RemediationSpec
    cost_model: CostModelSpec | None = None
    references: list[Annotated[str, Field(pattern=r"^https://")]] = Field(default_factory=list)
    tags: list[str] = Field(default_factory=list)

    @field_validator("id")
    @classmethod
    def _id_shape(cls, value: str) -> str:
        if not POLICY_ID.match(value):
            raise ValueError("must look like ABC-123 (three capitals, a dash, three digits)")
        return value


@dataclass(frozen=True, slots=True)
class Policy:
    """A loaded policy: its spec, the file it came from, and its remediation as a domain value."""

    spec: PolicySpec
    path: Path

    @property
    def id(self) -> str:
        """The stable policy id, e.g. `MLF-001`."""
        return self.spec.id

    @property
    def severity(self) -> Severity:
        """The default severity of the policy's findings."""
        return Severity(self.spec.severity)

    @property
    def remediation(self) -> Remediation:
        """The remediation as carried by findings."""
        r = self.spec.remediation
        return Remediation(
            summary=r.summary, steps=tuple(r.steps), cli=r.cli, portal=r.portal, doc_url=r.doc_url
        )

    def defaults(self) -> dict[str, Any]:
        """Parameter defaults from the policy file."""
        return {name: p.default for name, p in self.spec.parameters.items()}


class Catalogue(Mapping[str, Policy]):
    """Every policy, by id, in id order."""

    def __init__(self, policies: Mapping[str, Policy]) -> None:
        self._policies = dict(sorted(policies.items()))

    def __getitem__(self, key: str) -> Policy:
        return self._policies[key]

    def __iter__(self) -> Iterator[str]:
        return iter(self._policies)

    def __len__(self) -> int:
        return len(self._policies)


def check_parameter_value(spec: ParameterSpec, value: Any) -> None:
    """Raise ValueError when `value` does not fit the parameter's type and bounds."""
    allowed: tuple[type, ...] = _PY_TYPES[spec.type]
    if isinstance(value, bool) and spec.type != "boolean":
        raise ValueError(f"expected {spec.type}, got a boolean")
    if not isinstance(value, allowed):
        raise ValueError(f"expected {spec.type}, got {type(value).__name__} {value!r}")
    items: Any = value
    if spec.type == "string_list" and not all(isinstance(v, str) for v in items):
        raise ValueError("expected a list of strings")
    if spec.type in ("integer", "number"):
        number = float(items)
        if spec.minimum is not None and number < spec.minimum:
            raise ValueError(f"{value} is below the minimum {spec.minimum:g}")
        if spec.maximum is not None and number > spec.maximum:
            raise ValueError(f"{value} is above the maximum {spec.maximum:g}")


def default_policy_dir() -> Path:
    """The shipped policies: packaged as `mlgov/_policies`, or `policies/` in a source checkout."""
    packaged = resources.files("mlgov") / "_policies"
    if packaged.is_dir():
        return Path(str(packaged))
    return Path(__file__).resolve().parents[2] / "policies"


def load_policy_file(path: Path) -> Policy:
    """Parse and validate one policy file."""
    raw = read_yaml(
        path,
        PolicyFileError,
        what="policy",
        syntax_hint="Check indentation and quoting; policy files are plain YAML mappings.",
    )
    if not isinstance(raw, dict):
        raise PolicyFileError(f"{path}: a policy file must be a YAML mapping, got {type(raw).__name__}")
    policy_id = raw.get("id", "?")
    try:
        spec = PolicySpec.model_validate(raw)
    except ValidationError as exc:
        raise PolicyFileError(
            f"{path}: policy {policy_id}: " + "; ".join(_describe(e) for e in exc.errors()),
            hint="See an existing file under policies/ for the expected fields.",
        ) from exc
    if path.stem.upper() != spec.id:
        raise PolicyFileError(
            f"{path}: policy {spec.id}: file name must match the id ({spec.id}.yaml)",
        )
    return Policy(spec=spec, path=path)


def load_catalogue(directory: Path | None = None, *, require_checks: bool = True) -> Catalogue:
    """Load every `*.yaml` under the directory; with `require_checks`, each needs a registered check."""
    root = directory or default_policy_dir()
    if not root.is_dir():
        raise PolicyFileError(f"{root}: policy directory not found")
    policies: dict[str, Policy] = {}
    for path in sorted(root.glob("*.yaml")):
        policy = load_policy_file(path)
        if policy.id in policies:
            raise PolicyFileError(f"{path}: policy {policy.id} is also defined in {policies[policy.id].path}")
        policies[policy.id] = policy
    if not policies:
        raise PolicyFileError(f"{root}: no policy files (*.yaml) found")
    if require_checks:
        from mlgov.checks import registry

        checks = registry()
        missing = sorted(set(policies) - set(checks))
        if missing:
            raise PolicyFileError(
                f"{root}: no check is registered for {', '.join(missing)}",
                hint="A policy file needs a Python check registered with @check(<id>) in mlgov.checks.",
            )
        for policy in policies.values():
            check_planes(policy, set(checks[policy.id].scopes))
    return Catalogue(policies)


def check_planes(policy: Policy, read_planes: set[str]) -> None:
    """Raise PolicyFileError unless the file's `planes` are exactly the planes its check reads."""
    declared = set(policy.spec.planes)
    if declared != read_planes:
        raise PolicyFileError(
            f"{policy.path}: policy {policy.id}: planes: the file lists {sorted(declared)} but its "
            f"check reads {sorted(read_planes)}",
            hint="Make `planes:` list exactly the planes named in the check's @check(..., scopes=...).",
        )


def _describe(error: Mapping[str, Any]) -> str:
    loc = ".".join(str(p) for p in error.get("loc", ())) or "(top level)"
    msg = str(error.get("msg", "invalid"))
    if error.get("type") == "extra_forbidden":
        msg = "unknown field"
    elif error.get("type") == "missing":
        msg = "missing required field"
    return f"{loc}: {msg}"
