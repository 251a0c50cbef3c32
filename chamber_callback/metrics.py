"""Prometheus metrics, all named ``chamber_…``, served at ``/metrics`` (``ops.py``).

Two kinds:
- the request-latency histogram, counted by each web process as it answers; under gunicorn the
  processes share it through prometheus-client's multiprocess mode (``PROMETHEUS_MULTIPROC_DIR``,
  set up by ``gunicorn.conf.py``);
- everything else is read at scrape time from where the truth is: the database (queue depth per
  unit and channel, the oldest wait, offers made and expired, escalations, breaches, calls by
  outcome) and Redis (RQ's queues and failed jobs; rq-exporter does not support RQ 3). So the
  figures are the same whichever process or host is scraped, and survive restarts.
"""
from __future__ import annotations

import os
import time
from collections.abc import Iterator

from flask import Flask, g, request
from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, Histogram, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily
from prometheus_client.multiprocess import MultiProcessCollector
from sqlalchemy import func, select

from .clock import utcnow
from .domain.lifecycle import Status
from .extensions import db
from .models import CallAttempt, CallbackRequest, Escalation, Offer, RegionalUnit
from .queues import ALL_QUEUES, REDIS_ERRORS, get_queue, get_redis

REQUEST_LATENCY = Histogram(
    "chamber_http_request_duration_seconds", "Time to answer an HTTP request, by route and status.",
    ["method", "route", "status"],
    buckets=(0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10),
)


class ChamberCollector:
    """The figures read from the database and Redis at each scrape (a few grouped counts)."""

    def collect(self) -> Iterator:
        yield from self._database()
        yield from self._rq()

    def _database(self) -> Iterator:
        now = utcnow()
        unit_codes = dict(db.session.execute(select(RegionalUnit.id, RegionalUnit.code)).all())
        waiting = db.session.execute(
            select(CallbackRequest.unit_id, CallbackRequest.channel, func.count(), func.min(CallbackRequest.queued_at))
            .where(CallbackRequest.status == Status.QUEUED.value)
            .group_by(CallbackRequest.unit_id, CallbackRequest.channel)).all()
        depth = GaugeMetricFamily("chamber_queue_depth", "Requests waiting for an agent, by unit and channel.",
                                  labels=["unit", "channel"])
        oldest = GaugeMetricFamily("chamber_oldest_wait_seconds", "How long the longest-waiting request has waited, "
                                   "by unit.", labels=["unit"])
        oldest_by_unit: dict[str, float] = {}
        for unit_id, channel, count, first in waiting:
            unit = unit_codes.get(unit_id, str(unit_id))
            depth.add_metric([unit, channel.split(":")[0]], count)
            if first is not None:
                oldest_by_unit[unit] = max(oldest_by_unit.get(unit, 0.0), (now - first).total_seconds())
        for unit, seconds in sorted(oldest_by_unit.items()):
            oldest.add_metric([unit], seconds)
        yield depth
        yield oldest

        offers = CounterMetricFamily("chamber_offers", "Offers made to agents, by how they ended "
                                     "(pending, accepted, declined, expired, withdrawn).", labels=["status"])
        for status, count in db.session.execute(select(Offer.status, func.count()).group_by(Offer.status)):
            offers.add_metric([status], count)
        yield offers

        escalations = CounterMetricFamily("chamber_escalations", "Escalation levels fired, by level.",
                                          labels=["level"])
        for level, count in db.session.execute(select(Escalation.level, func.count()).group_by(Escalation.level)):
            escalations.add_metric([level.split("+")[0]], count)
        yield escalations

        breaches = CounterMetricFamily("chamber_breaches", "Requests first called after their deadline.")
        breaches.add_metric([], db.session.scalar(select(func.count()).where(CallbackRequest.sla_met.is_(False))))
        yield breaches
        overdue = GaugeMetricFamily("chamber_breached_waiting", "Requests past their deadline and not yet called.")
        overdue.add_metric([], db.session.scalar(select(func.count()).where(
            CallbackRequest.sla_met.is_(None), CallbackRequest.closed_at.is_(None),
            CallbackRequest.campaign_id.is_(None), CallbackRequest.sla_deadline < now)))
        yield overdue

        calls = CounterMetricFamily("chamber_calls", "Calls made by agents, by outcome.", labels=["outcome"])
        for outcome, count in db.session.execute(select(CallAttempt.outcome, func.count())
                                                 .where(CallAttempt.outcome.is_not(None))
                                                 .group_by(CallAttempt.outcome)):
            calls.add_metric([outcome], count)
        yield calls
        db.session.commit()  # end the read transaction

    def _rq(self) -> Iterator:
        length = GaugeMetricFamily("chamber_jobs_queued", "Jobs waiting in each RQ queue.", labels=["queue"])
        failed = GaugeMetricFamily("chamber_jobs_failed", "Failed jobs kept in each RQ queue's registry.",
                                   labels=["queue"])
        up = GaugeMetricFamily("chamber_redis_up", "Whether Redis answered this scrape.")
        try:
            connection = get_redis()
            for name in ALL_QUEUES:
                queue = get_queue(name, connection)
                length.add_metric([name], queue.count)
                failed.add_metric([name], queue.failed_job_registry.count)
            up.add_metric([], 1)
        except REDIS_ERRORS:
            up.add_metric([], 0)
        yield up
        yield length
        yield failed


def registry() -> CollectorRegistry:
    """The registry of one scrape: every web process's histogram, and the shared figures."""
    scrape = CollectorRegistry()
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        MultiProcessCollector(scrape)
    else:
        scrape.register(REQUEST_LATENCY)
    scrape.register(ChamberCollector())
    return scrape


def exposition() -> tuple[bytes, str]:
    return generate_latest(registry()), CONTENT_TYPE_LATEST


def init_metrics(app: Flask) -> None:
    """Time every request (by route, not by URL, so that references and tokens never become labels)."""

    @app.before_request
    def _start_timer() -> None:
        g.request_started = time.perf_counter()

    @app.after_request
    def _observe(response):
        started = g.pop("request_started", None)
        if started is not None:
            route = request.url_rule.rule if request.url_rule is not None else "unmatched"
            REQUEST_LATENCY.labels(request.method, route, str(response.status_code)).observe(
                time.perf_counter() - started)
        return response
