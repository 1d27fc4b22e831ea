"""Authenticate to Databricks with an azure-identity credential (Entra token).

databricks-sdk has no managed-identity or workload-identity strategy of its own; this one
asks any azure-core TokenCredential for a token of the Azure Databricks resource.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from mlgov.context import DATABRICKS_SCOPE


def entra_strategy(credential: Any) -> Any:
    """A databricks-sdk CredentialsStrategy backed by `credential` (scope: Azure Databricks)."""
    from databricks.sdk.credentials_provider import CredentialsStrategy

    class EntraTokenStrategy(CredentialsStrategy):
        def auth_type(self) -> str:
            return "azure-identity"

        def __call__(self, cfg: Any) -> Callable[[], dict[str, str]]:
            def headers() -> dict[str, str]:
                token = credential.get_token(DATABRICKS_SCOPE).token
                return {"Authorization": f"Bearer {token}"}

            return headers

    return EntraTokenStrategy()
