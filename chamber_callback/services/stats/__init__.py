"""Figures for the manager dashboard, the reports, the CSV exports and ``GET /api/v1/stats``.

- ``definitions``: which requests each figure is about (waiting, at risk, breached, met, missed);
- ``sql``: local time buckets and percentiles, on PostgreSQL and SQLite;
- ``dashboard``: the tiles, tables, lists and charts of ``/pilotage``;
- ``reports``: ``/rapports`` and its CSV.

Every figure is a grouped SQL query over an indexed time window or over the active requests;
nothing here loads request rows into Python to count them.
"""
from .dashboard import (
    AgentRow,
    Calibration,
    Headline,
    Series,
    abandonment,
    active_breakdown,
    agents_board,
    attention_lists,
    calibration,
    calibration_by_unit,
    calls_between,
    headline,
    hourly_activity,
    requests_by_channel,
    time_to_first_attempt,
    ttfa_histogram,
    within_sla_by_agent,
    within_sla_by_day,
    within_sla_by_unit,
)
from .definitions import Percentiles, Scope, Share
from .reports import OUTCOMES, ReportRow, report
from .sql import day_bounds, local_bucket, local_midnight

__all__ = [
    "OUTCOMES", "AgentRow", "Calibration", "Headline", "Percentiles", "ReportRow", "Scope", "Series", "Share",
    "abandonment", "active_breakdown", "agents_board", "attention_lists", "calibration", "calibration_by_unit",
    "calls_between", "day_bounds", "headline", "hourly_activity", "local_bucket", "local_midnight", "report",
    "requests_by_channel",
    "time_to_first_attempt", "ttfa_histogram", "within_sla_by_agent", "within_sla_by_day", "within_sla_by_unit",
]
