"""Crontab expressions read the way crontab(5) reads them, turned into APScheduler 3 triggers.

APScheduler 3 numbers days of the week from Monday=0 (`CronTrigger.from_crontab("0 6 * * 1-5")`
fires Tuesday to Saturday), which its maintainer cannot change within 3.x. Here a numeric
day-of-week field follows crontab: 0 and 7 are Sunday, 1-5 Monday to Friday, and ranges, lists
and steps are expanded to a set of days and handed to APScheduler as day names, which it
reads unambiguously.

Crontab also ORs day-of-month and day-of-week when both are restricted (`0 6 1 * 1` runs on
the 1st and on every Monday); APScheduler ANDs them. Such an expression is refused rather than
run on different days than its author expects.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

if TYPE_CHECKING:
    from apscheduler.triggers.cron import CronTrigger

MACROS = {
    "@yearly": "0 0 1 1 *",
    "@annually": "0 0 1 1 *",
    "@monthly": "0 0 1 * *",
    "@weekly": "0 0 * * 0",
    "@daily": "0 0 * * *",
    "@midnight": "0 0 * * *",
    "@hourly": "0 * * * *",
}
DAY_NAMES = ("sun", "mon", "tue", "wed", "thu", "fri", "sat")
"""Crontab numbering: index 0 is Sunday (7 is Sunday too)."""
_APS_ORDER = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
_DOW_ITEM = re.compile(r"^(?P<base>\*|[0-9a-z]+(?:-[0-9a-z]+)?)(?:/(?P<step>\d+))?$")


@dataclass(frozen=True, slots=True)
class CronFields:
    """The five fields of a crontab line, with day-of-week spelled as APScheduler day names."""

    minute: str
    hour: str
    day: str
    month: str
    day_of_week: str


def _day_number(token: str, expression: str) -> int:
    if token.isdigit():
        value = int(token)
        if not 0 <= value <= 7:
            raise ValueError(f"day of week {value} is out of range 0-7 in {expression!r}")
        return value
    if token in DAY_NAMES:
        return DAY_NAMES.index(token)
    raise ValueError(f"{token!r} is not a day of week (0-7 or sun..sat) in {expression!r}")


def crontab_days(field: str) -> frozenset[int]:
    """The days (0 = Sunday .. 6 = Saturday) a crontab day-of-week field selects."""
    days: set[int] = set()
    for item in field.lower().split(","):
        match = _DOW_ITEM.match(item.strip())
        if not match:
            raise ValueError(f"{item!r} is not a day-of-week item in {field!r}")
        base, step_text = match.group("base"), match.group("step")
        step = int(step_text) if step_text else 1
        if step < 1:
            raise ValueError(f"step 0 in day of week {field!r}")
        if base == "*":
            first, last = 0, 6
        elif "-" in base:
            lo, hi = base.split("-", 1)
            first, last = _day_number(lo, field), _day_number(hi, field)
            if first > last:
                raise ValueError(f"day-of-week range {base!r} runs backwards in {field!r}")
        else:
            first = _day_number(base, field)
            # `5/2` (a start with a step) runs to the end of the week, as in cronie.
            last = max(first, 6) if step_text else first
        days.update(d % 7 for d in range(first, last + 1, step))
    return frozenset(days)


def dow_to_names(field: str) -> str:
    """A crontab day-of-week field as an APScheduler one: `*` or a list of day names."""
    if field == "*":
        return "*"
    days = crontab_days(field)
    if len(days) == 7:
        return "*"
    return ",".join(name for name in _APS_ORDER if DAY_NAMES.index(name) in days)


def parse_crontab(expression: str) -> CronFields:
    """Split and normalise a 5-field crontab line (or an `@daily`-style macro).

    Raises ValueError with a message meant for people.
    """
    text = " ".join(expression.split())
    text = MACROS.get(text.lower(), text)
    parts = text.split(" ")
    if len(parts) != 5:
        raise ValueError(
            f"{expression!r} has {len(parts)} fields; a crontab line has 5: minute hour day month day-of-week"
        )
    minute, hour, day, month, dow = parts
    if not day.startswith("*") and not dow.startswith("*"):
        raise ValueError(
            f"{expression!r} restricts both day of month and day of week; crontab runs on either, "
            "mlgov's scheduler only on both: use one of the two fields (or two schedules)"
        )
    return CronFields(minute=minute, hour=hour, day=day, month=month.lower(), day_of_week=dow_to_names(dow))


def zone(name: str) -> ZoneInfo:
    """The IANA time zone `name`; ValueError when unknown."""
    try:
        return ZoneInfo(name)
    except (ZoneInfoNotFoundError, ValueError) as exc:
        raise ValueError(f"{name!r} is not an IANA time zone (e.g. UTC, Europe/Berlin)") from exc


def build_trigger(expression: str, timezone: str | ZoneInfo = "UTC") -> CronTrigger:
    """An APScheduler 3 `CronTrigger` that fires when crontab(5) would, in `timezone`."""
    from apscheduler.triggers.cron import CronTrigger

    fields = parse_crontab(expression)
    tz = timezone if isinstance(timezone, ZoneInfo) else zone(timezone)
    try:
        return CronTrigger(
            minute=fields.minute,
            hour=fields.hour,
            day=fields.day,
            month=fields.month,
            day_of_week=fields.day_of_week,
            timezone=tz,
        )
    except ValueError as exc:
        raise ValueError(f"{expression!r}: {exc}") from exc


__all__ = ["CronFields", "build_trigger", "crontab_days", "dow_to_names", "parse_crontab", "zone"]
