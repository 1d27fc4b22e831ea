"""CSV, Markdown and HTML reports: complete, escaped, and self-contained."""

from __future__ import annotations

import csv
import io
import re
from html.parser import HTMLParser
from pathlib import Path

from lifecycle_support import sample_report
from mlgov.report import renderer
from mlgov.report.csv_report import COLUMNS, safe_cell
from mlgov.report.markdown import md


def test_csv_has_every_finding_and_the_resolved_ones(tmp_path: Path) -> None:
    """One row per finding plus one per resolved finding, with status, fix, cost and waiver columns."""
    report = sample_report(tmp_path)
    rows = list(csv.DictReader(io.StringIO(renderer("csv")(report))))
    assert list(rows[0]) == list(COLUMNS)
    assert len(rows) == len(report.findings) + len(report.resolved)
    by_status = {r["status"] for r in rows}
    assert {"open", "new", "waived", "error", "resolved"} <= by_status
    waived = next(r for r in rows if r["status"] == "waived")
    assert (waived["waiver_owner"], waived["waiver_expires"]) == ("data@contoso.com", "2026-11-27")
    priced = next(r for r in rows if r["resource_name"] == "shared analytics")
    assert (priced["estimated_monthly_cost"], priced["currency"]) == ("412.34", "USD")
    assert all(r["fix"] for r in rows)


def test_csv_defuses_formulas() -> None:
    """Cells starting like a spreadsheet formula are prefixed so they stay text."""
    assert safe_cell("=cmd|' /C calc'!A0") == "'=cmd|' /C calc'!A0"
    assert safe_cell("@SUM(A1)") == "'@SUM(A1)"
    assert safe_cell("plain") == "plain"
    assert safe_cell(None) == ""


def test_markdown_escapes_and_summarises(tmp_path: Path) -> None:
    """The Markdown report has the summary, workspaces, waivers and findings, with table cells escaped."""
    text = renderer("markdown")(sample_report(tmp_path))
    assert text.startswith("# mlgov audit: contoso &lt;prod&gt;\n")
    for heading in ("## By workspace", "## Waivers expired or expiring", "## Findings", "## Details",
                    "## Resolved by this run"):
        assert heading in text
    assert "Estimated monthly cost of open findings: **500.84 USD**" in text
    assert "exp\\|1" in text  # a pipe in a name does not break the table
    assert "<b>" not in re.sub(r"`[^`]*`", "", text)  # HTML only inside code spans, where it is literal
    table_rows = [line for line in text.splitlines() if line.startswith("| medium | ") and line.count("|") > 3]
    assert all(line.count(" | ") == 6 for line in table_rows)
    assert len(table_rows) == 3
    assert md("a|b*c<d> (x)") == "a\\|b\\*c&lt;d&gt; (x)"


class _Collector(HTMLParser):
    def __init__(self) -> None:
        super().__init__()
        self.tags: list[str] = []
        self.attrs: list[tuple[str, str | None]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        self.tags.append(tag)
        self.attrs.extend(attrs)


def test_html_is_self_contained_and_escaped(tmp_path: Path) -> None:
    """The HTML page has no script, no external asset, escapes tenant values and states cost and prices."""
    report = sample_report(tmp_path)
    page = renderer("html")(report)
    parsed = _Collector()
    parsed.feed(page)
    assert "script" not in parsed.tags and "link" not in parsed.tags and "img" not in parsed.tags
    srcs = [v for k, v in parsed.attrs if k in ("src", "href") and v]
    assert all(v.startswith("https://") for v in srcs)  # only documentation links
    assert "etl &lt;b&gt;nightly&lt;/b&gt;" in page and "<b>nightly</b>" not in page
    assert "contoso &lt;prod&gt;" in page
    assert re.search(r"500\.84&nbsp;USD", page)
    assert "price book prices.yaml (USD, region eastus)" in page
    for section in ("By workspace", "Scopes that could not be audited", "Waivers expired or expiring",
                    "Findings (6)", "Resolved by this run (1)"):
        assert section in page
    assert page.count('class="finding"') == len(report.findings)
    assert "spark.mlflow.token" in page  # evidence is shown
    assert "Fix:</b> Fix shared analytics for CST-001" in page
