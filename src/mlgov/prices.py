"""The price book: reference prices used to estimate the monthly cost of findings.

The shipped data file (`mlgov/data/prices.yaml`) states its sources; users override it with
their own file, region and currency (`prices:` in the config). Checks ask the book, never
hard-code a price.
"""

from __future__ import annotations

from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from mlgov.errors import ConfigError
from mlgov.yamlfile import read_yaml

HOURS_PER_MONTH = 730
DAYS_PER_MONTH = 30


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class _DatabricksPrices(_Strict):
    default_tier: str = "premium"
    dbu_rates: dict[str, dict[str, float]]
    node_dbu_per_hour: dict[str, float]


class _RegistryPrices(_Strict):
    included_gib: dict[str, float]
    overage_per_gib_day: dict[str, float]


class PriceFile(_Strict):
    """The schema of a price data file."""

    version: int = Field(ge=1, le=1)
    currency: str = Field(min_length=3, max_length=3)
    default_region: str
    sources: dict[str, str]
    databricks: _DatabricksPrices
    virtual_machines: dict[str, dict[str, float]]
    container_registry: _RegistryPrices


@dataclass(frozen=True)
class PriceBook:
    """Prices for one region and currency, with lookups that say when a price is unknown."""

    data: PriceFile
    region: str
    path: str

    @property
    def currency(self) -> str:
        """ISO currency code of every price in the book."""
        return self.data.currency

    def source(self, family: str) -> str:
        """Where the prices of a family come from (a URL or the user's file)."""
        return f"{self.data.sources.get(family, 'unknown source')} via {self.path}"

    def dbu_rate(self, tier: str | None, workload: str) -> float | None:
        """Price of one DBU for `workload` (`all_purpose` or `jobs`) on a workspace tier."""
        rates = self.data.databricks.dbu_rates.get((tier or self.data.databricks.default_tier).lower())
        if rates is None:
            rates = self.data.databricks.dbu_rates.get(self.data.databricks.default_tier, {})
        return rates.get(workload)

    def default_tier(self) -> str:
        """The Databricks tier assumed when a workspace's tier is unknown."""
        return self.data.databricks.default_tier

    def node_dbu(self, node_type: str | None) -> float | None:
        """DBUs one node of that VM size consumes per hour."""
        if not node_type:
            return None
        return self.data.databricks.node_dbu_per_hour.get(node_type)

    def vm_hourly(self, size: str | None, region: str | None = None) -> float | None:
        """Hourly price of a VM size in a region (falls back to the book's region)."""
        if not size:
            return None
        for reg in (region, self.region, self.data.default_region):
            if reg and reg.lower() in self.data.virtual_machines:
                table = self.data.virtual_machines[reg.lower()]
                for name, price in table.items():
                    if name.lower() == size.lower():
                        return price
        return None

    def acr_included_gib(self, sku: str | None) -> float | None:
        """Storage (GiB) a registry SKU includes."""
        if not sku:
            return None
        for name, gib in self.data.container_registry.included_gib.items():
            if name.lower() == sku.lower():
                return gib
        return None

    def acr_overage_per_gib_day(self, region: str | None = None) -> float:
        """Price of one GiB-day of registry storage beyond what the SKU includes."""
        table = self.data.container_registry.overage_per_gib_day
        return table.get((region or "").lower(), table.get("default", 0.0))


def default_price_file() -> Path:
    """The shipped price file."""
    return Path(str(resources.files("mlgov") / "data" / "prices.yaml"))


def load_prices(
    path: Path | None = None,
    *,
    region: str | None = None,
    currency: str | None = None,
    databricks_tier: str | None = None,
) -> PriceBook:
    """Load a price file (the shipped one by default) for a region.

    `currency` is a guard, not a converter: it must match the file's currency, so that a
    report never shows USD figures labelled as EUR.
    """
    source = path or default_price_file()
    raw: Any = read_yaml(
        source,
        ConfigError,
        what="price",
        missing_hint="Fix `prices.file` in the config, or remove it to use the shipped prices.",
    )
    try:
        data = PriceFile.model_validate(raw)
    except ValidationError as exc:
        first = exc.errors()[0]
        loc = ".".join(str(p) for p in first["loc"])
        raise ConfigError(
            f"{source}: price file field {loc}: {first['msg']}",
            hint="Start from the shipped file (mlgov/data/prices.yaml) and change only the numbers.",
        ) from exc
    if currency and currency.upper() != data.currency.upper():
        raise ConfigError(
            f"prices.currency is {currency} but {source} is in {data.currency}",
            hint="mlgov does not convert currencies: give a price file in the currency you want.",
        )
    if databricks_tier:
        if databricks_tier.lower() not in data.databricks.dbu_rates:
            raise ConfigError(
                f"prices.databricks_tier {databricks_tier!r} has no DBU rates in {source}",
                hint=f"Known tiers: {', '.join(data.databricks.dbu_rates)}.",
            )
        tier = databricks_tier.lower()
        data = data.model_copy(update={"databricks": data.databricks.model_copy(update={"default_tier": tier})})
    chosen = (region or data.default_region).lower()
    return PriceBook(data=data, region=chosen, path=str(source.name if path is None else source))
