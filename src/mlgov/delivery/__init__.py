"""Notifications: Teams (Workflows webhook), Standard Webhooks and Slack-compatible webhooks.

- `digest`: the message model (what changed, what is still open, waiver events);
- `teams`, `webhook`: renderers into the exact bytes posted (and stored in the outbox);
- `signing`: Standard Webhooks signatures;
- `http`: POST with pacing, retries honouring Retry-After, and a deadline;
- `send`: sending the outbox and `mlgov notify test`.

Importing this package is cheap (no httpx): the config validator uses `urls` and `signing`.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mlgov.config import Destination


def validate_destinations(destinations: Iterable[Destination]) -> list[str]:
    """Warnings about destinations that are valid but look wrong (unknown Teams host...).

    Errors (bad URL, retired Office 365 connector, missing signing secret) are raised when the
    config is loaded; this only gathers what deserves a warning. No URL is ever included.
    """
    warnings: list[str] = []
    for destination in destinations:
        warnings.extend(destination.warnings())
    return warnings
