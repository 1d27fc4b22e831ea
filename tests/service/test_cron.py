"""Tests of crontab reading: day-of-week numbers follow crontab(5), not APScheduler 3's Monday=0."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from apscheduler.triggers.cron import CronTrigger
from cronsim import CronSim

from mlgov.config import ServeConfig, parse_config
from mlgov.errors import ConfigError
from mlgov.service.cron import build_trigger, crontab_days, dow_to_names, parse_crontab

BERLIN = ZoneInfo("Europe/Berlin")
# Sunday 22 November 2026, midnight in Berlin: the fixed week the fire times are taken over.
WEEK_START = datetime(2026, 11, 22, 0, 0, tzinfo=BERLIN)


def fire_times(trigger: CronTrigger, start: datetime, days: int) -> list[datetime]:
    end = start + timedelta(days=days)
    times: list[datetime] = []
    previous = None
    now = start
    while True:
        nxt = trigger.get_next_fire_time(previous, now)
        if nxt is None or nxt >= end:
            return times
        times.append(nxt)
        previous = now = nxt


def weekdays(times: list[datetime]) -> list[str]:
    return [t.strftime("%a") for t in times]


def test_weekdays_expression_fires_monday_to_friday() -> None:
    """`0 6 * * 1-5` fires at 06:00 Monday to Friday, as crontab does (APScheduler alone would say Tue-Sat)."""
    times = fire_times(build_trigger("0 6 * * 1-5", BERLIN), WEEK_START, 7)
    assert weekdays(times) == ["Mon", "Tue", "Wed", "Thu", "Fri"]
    assert all((t.hour, t.minute) == (6, 0) and t.tzinfo == BERLIN for t in times)
    # The raw APScheduler reading of the same line is off by one day: the bug this module exists for.
    raw = CronTrigger.from_crontab("0 6 * * 1-5", timezone=BERLIN)
    assert weekdays(fire_times(raw, WEEK_START, 7)) == ["Tue", "Wed", "Thu", "Fri", "Sat"]


@pytest.mark.parametrize("expression", ["0 6 * * 0", "0 6 * * 7", "0 6 * * sun", "@weekly"])
def test_zero_and_seven_are_sunday(expression: str) -> None:
    """Day 0, day 7, `sun` and `@weekly` all fire on Sunday only."""
    times = fire_times(build_trigger(expression, BERLIN), WEEK_START, 7)
    assert weekdays(times) == ["Sun"]


@pytest.mark.parametrize(
    ("field", "days"),
    [
        ("*", {0, 1, 2, 3, 4, 5, 6}),
        ("1-5", {1, 2, 3, 4, 5}),
        ("0,6", {0, 6}),
        ("*/2", {0, 2, 4, 6}),
        ("1-5/2", {1, 3, 5}),
        ("5-7", {5, 6, 0}),
        ("0-6", {0, 1, 2, 3, 4, 5, 6}),
        ("mon-fri", {1, 2, 3, 4, 5}),
        ("SAT,sun", {6, 0}),
        ("3/2", {3, 5}),
        ("7", {0}),
    ],
)
def test_day_of_week_fields_expand_as_crontab(field: str, days: set[int]) -> None:
    """Ranges, lists, steps and names select the crontab days (0 = Sunday)."""
    assert crontab_days(field) == frozenset(days)


def test_numeric_days_become_day_names_for_apscheduler() -> None:
    """The trigger is given names, which APScheduler 3 cannot misread."""
    assert dow_to_names("1-5") == "mon,tue,wed,thu,fri"
    assert dow_to_names("0") == "sun"
    assert dow_to_names("0-6") == "*"
    assert parse_crontab("@daily").day_of_week == "*"


EXPRESSIONS = [
    "0 6 * * 1-5",
    "30 7 * * 0",
    "0 6 * * 7",
    "0 */6 * * 6,0",
    "15 8 * * */2",
    "0 9 * * 1-5/2",
    "0 6 * * mon-fri",
    "0 6 * * 5-7",
    "0 12 1 * *",
    "*/20 9-17 * * 1-5",
    "0 6 * jan,jun *",
    "45 23 * * 0-6",
]


@pytest.mark.parametrize("expression", EXPRESSIONS)
@pytest.mark.parametrize("start", [WEEK_START, datetime(2026, 10, 19, tzinfo=BERLIN)], ids=["november", "dst-end"])
def test_fire_times_match_an_independent_crontab_implementation(expression: str, start: datetime) -> None:
    """Over two weeks (one of them with the end of daylight saving) the trigger fires exactly when cronsim does."""
    ours = fire_times(build_trigger(expression, BERLIN), start, 14)
    reference: list[datetime] = []
    for moment in CronSim(expression, start - timedelta(seconds=1)):
        if moment >= start + timedelta(days=14):
            break
        reference.append(moment)
    assert ours == reference
    assert ours or expression == "0 6 * jan,jun *"


@pytest.mark.parametrize(
    ("expression", "message"),
    [
        ("0 6 * *", "has 4 fields"),
        ("0 6 1 * 1", "both day of month and day of week"),
        ("0 6 * * 8", "out of range"),
        ("0 6 * * 5-1", "runs backwards"),
        ("0 6 * * fri#2", "not a day-of-week item"),
        ("61 6 * * *", "61"),
    ],
)
def test_bad_expressions_are_refused_with_a_reason(expression: str, message: str) -> None:
    """Malformed or ambiguous lines raise ValueError saying what is wrong."""
    with pytest.raises(ValueError, match=message):
        build_trigger(expression, "UTC")


def test_config_refuses_a_bad_cron_or_zone_naming_the_field() -> None:
    """A bad `serve.cron` or `serve.timezone` is a ConfigError that names the section."""
    base = {"version": 1, "databricks": {"workspaces": [{"host": "adb-1.1.azuredatabricks.net"}]}}
    with pytest.raises(ConfigError, match=r"serve: .*both day of month and day of week"):
        parse_config({**base, "serve": {"cron": "0 6 1 * 1"}})
    with pytest.raises(ConfigError, match=r"serve\.timezone: .*not an IANA time zone"):
        parse_config({**base, "serve": {"timezone": "Mars/Olympus"}})
    assert ServeConfig(cron="0 6 * * 1-5", timezone="Europe/Berlin").timezone == "Europe/Berlin"
