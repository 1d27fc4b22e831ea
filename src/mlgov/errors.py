"""The one exception hierarchy of mlgov.

Every user-facing error carries a `hint` that says what to do. Only the CLI and the service
turn these into exit codes or log events; library code raises them and never prints.
"""

from __future__ import annotations


class MlgovError(Exception):
    """Base class of every error mlgov raises on purpose."""

    exit_code = 2

    def __init__(self, message: str, *, hint: str | None = None) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint

    def __str__(self) -> str:
        return self.message


class UsageError(MlgovError):
    """A command line that cannot be carried out (bad flag combination, unknown id...)."""


class ConfigError(MlgovError):
    """The configuration file is missing, malformed or inconsistent."""


class PolicyFileError(MlgovError):
    """A policy file under policies/ does not parse or does not validate."""


class SnapshotError(MlgovError):
    """A snapshot file cannot be read (bad JSON, unknown schema version, wrong shape)."""


class WaiverError(MlgovError):
    """The waivers file is malformed or a waiver breaks a rule (missing expiry, unknown policy)."""


class StateStoreError(MlgovError):
    """The state store cannot be opened, migrated or locked."""


class DeliveryError(MlgovError):
    """A notification destination is misconfigured or refused a message for good."""


class CollectionError(MlgovError):
    """A scope (subscription, workspace, API family) could not be read.

    Collectors turn these into data (a failed scope in the snapshot) instead of letting
    them end the run.
    """

    exit_code = 3

    def __init__(
        self,
        message: str,
        *,
        hint: str | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        super().__init__(message, hint=hint)
        self.status = status
        self.code = code
