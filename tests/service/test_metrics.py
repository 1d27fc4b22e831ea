"""Tests of the service's counters and their Prometheus text exposition."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from prometheus_client.parser import text_string_to_metric_families

from mlgov.service.metrics import RunSummary, ServiceMetrics, _family

T0 = datetime(2026, 11, 23, 6, 0, tzinfo=UTC)


def parse(text: str) -> tuple[dict[str, str], dict[tuple[str, tuple[tuple[str, str], ...]], float]]:
    types: dict[str, str] = {}
    samples: dict[tuple[str, tuple[tuple[str, str], ...]], float] = {}
    for family in text_string_to_metric_families(text):
        types[family.name] = family.type
        for s in family.samples:
            samples[(s.name, tuple(sorted(s.labels.items())))] = s.value
    return types, samples


def test_exposition_before_any_run_parses_with_every_family() -> None:
    """A fresh service exposes every metric, zeroed, with its HELP and TYPE, in valid Prometheus text."""
    types, samples = parse(ServiceMetrics().render())
    assert types == {
        "mlgov_last_run_status": "gauge",
        "mlgov_last_run_timestamp_seconds": "gauge",
        "mlgov_last_run_duration_seconds": "gauge",
        "mlgov_last_success_timestamp_seconds": "gauge",
        "mlgov_run_in_progress": "gauge",
        "mlgov_findings": "gauge",
        "mlgov_api_calls": "counter",
        "mlgov_delivery_failures": "counter",
        "mlgov_runs": "counter",
    }
    assert samples[("mlgov_last_run_timestamp_seconds", ())] == 0
    assert all(v == 0 for v in samples.values())
    assert {labels for name, labels in samples if name == "mlgov_runs_total"} == {
        (("status", s),) for s in ("success", "partial", "error", "skipped", "missed")
    }


def test_counters_accumulate_and_gauges_follow_the_last_run() -> None:
    """Counters add up over runs; status, findings and timestamps describe the last one."""
    m = ServiceMetrics()
    ok = RunSummary("success", 12.5, {"critical": 1, "low": 3}, {"arm": 10, "databricks": 5}, 0)
    m.run_finished("r1", T0, T0 + timedelta(seconds=13), ok)
    failed = RunSummary("error", 0.25, error="RuntimeError")
    m.run_finished("r2", T0 + timedelta(days=1), T0 + timedelta(days=1, seconds=1), failed)
    m.run_skipped()
    partial = RunSummary("partial", 30.0, {"high": 4}, {"databricks": 2}, delivery_failures=2)
    m.run_finished("r3", T0 + timedelta(days=2), T0 + timedelta(days=2, seconds=31), partial)

    _, samples = parse(m.render())
    assert samples[("mlgov_last_run_status", (("status", "partial"),))] == 1
    assert samples[("mlgov_last_run_status", (("status", "error"),))] == 0
    assert samples[("mlgov_last_run_duration_seconds", ())] == 30.0
    assert samples[("mlgov_last_run_timestamp_seconds", ())] == (T0 + timedelta(days=2, seconds=31)).timestamp()
    assert samples[("mlgov_last_success_timestamp_seconds", ())] == (T0 + timedelta(seconds=13)).timestamp()
    assert samples[("mlgov_findings", (("severity", "high"),))] == 4
    assert samples[("mlgov_findings", (("severity", "critical"),))] == 0
    assert samples[("mlgov_api_calls_total", (("family", "arm"),))] == 10
    assert samples[("mlgov_api_calls_total", (("family", "databricks"),))] == 7
    assert samples[("mlgov_delivery_failures_total", ())] == 2
    runs = {dict(labels)["status"]: v for (name, labels), v in samples.items() if name == "mlgov_runs_total"}
    assert runs == {"success": 1, "partial": 1, "error": 1, "skipped": 1, "missed": 0}


def test_a_crashed_run_keeps_the_findings_of_the_last_report() -> None:
    """A run that raised has no report, so the findings gauge still shows the previous run's."""
    m = ServiceMetrics()
    m.run_finished("r1", T0, T0, RunSummary("success", 1.0, {"medium": 2}))
    m.run_finished("r2", T0, T0, RunSummary("error", 1.0, error="TimeoutError"))
    _, samples = parse(m.render())
    assert samples[("mlgov_findings", (("severity", "medium"),))] == 2
    assert m.status()["last_run"]["error"] == "TimeoutError"


def test_label_values_are_escaped() -> None:
    """Quotes, backslashes and newlines in label values are escaped so the text still parses."""
    lines: list[str] = []
    _family(lines, "mlgov_test", "gauge", "escaping", [({"family": 'a"b\\c\nd'}, 1)])
    _, samples = parse("\n".join(lines) + "\n")
    assert samples == {("mlgov_test", (("family", 'a"b\\c\nd'),)): 1}


def test_run_in_progress_is_reported_until_the_run_ends() -> None:
    """While a run goes on, the gauge is 1 and the status names the run."""
    m = ServiceMetrics()
    m.run_started("r9", T0)
    _, samples = parse(m.render())
    assert samples[("mlgov_run_in_progress", ())] == 1
    assert m.status()["running"]["run_id"] == "r9"
    m.run_finished("r9", T0, T0, RunSummary("success", 1.0))
    assert m.status()["running"] is None
