"""Read a YAML file that a person wrote, with errors that name the file and the position."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import yaml

from mlgov.errors import MlgovError


def read_yaml(
    path: Path,
    error: type[MlgovError],
    *,
    what: str,
    missing_hint: str | None = None,
    syntax_hint: str | None = None,
) -> Any:
    """Parse `path`; raise `error` saying which `what` file is missing, unreadable or malformed."""
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError as exc:
        raise error(f"{path}: no such {what} file", hint=missing_hint) from exc
    except OSError as exc:
        raise error(f"{path}: cannot read {what} file ({exc.strerror})", hint=missing_hint) from exc
    try:
        return yaml.safe_load(text)
    except yaml.YAMLError as exc:
        mark = getattr(exc, "problem_mark", None)
        where = f" at line {mark.line + 1}, column {mark.column + 1}" if mark else ""
        problem = getattr(exc, "problem", None) or str(exc)
        raise error(f"{path}: not valid YAML{where}: {problem}", hint=syntax_hint) from exc
