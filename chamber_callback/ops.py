"""Operations endpoints.

- ``/livez``: the process answers.
- ``/healthz``: this web process can serve: the database and Redis answer (for a load balancer).
- ``/readyz``: the whole system works: the database, Redis, an RQ worker's heartbeat within two
  minutes and the periodic scheduler's (for monitoring: without workers nothing is offered).
- ``/metrics``: Prometheus (``metrics.py``).

Publicly the health pages say ok or not ok, nothing more; the details (backend, error class, the
heartbeats' ages) are given only with the operator token: ``Authorization: Bearer $OPERATOR_TOKEN``.
``/metrics`` needs the token, or, when none is configured, a request from an internal address.
"""
from __future__ import annotations

import hmac
import ipaddress
from datetime import timedelta

from flask import Blueprint, Response, abort, current_app, jsonify, request
from sqlalchemy import text

from .clock import utcnow
from .extensions import db, limiter
from .queues import REDIS_ERRORS, get_redis, last_scheduler_beat, last_worker_beat

bp = Blueprint("ops", __name__)
limiter.exempt(bp)

HEARTBEAT_WITHIN = timedelta(minutes=2)


def _operator() -> bool:
    token = current_app.config.get("OPERATOR_TOKEN") or ""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


INTERNAL_NETWORKS = [ipaddress.ip_network(network) for network in (
    "127.0.0.0/8", "10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16", "::1/128", "fc00::/7")]


def _internal_address() -> bool:
    """The machine itself or a private network (RFC 1918, IPv6 unique local addresses)."""
    try:
        address = ipaddress.ip_address(request.remote_addr or "")
    except ValueError:
        return False
    return any(address in network for network in INTERNAL_NETWORKS if network.version == address.version)


def checks() -> dict[str, dict]:
    result = {}
    try:
        db.session.execute(text("SELECT 1"))
        db.session.commit()
        result["database"] = {"ok": True, "backend": db.engine.url.get_backend_name()}
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        db.session.rollback()
        result["database"] = {"ok": False, "error": type(exc).__name__}
    try:
        get_redis().ping()
        result["redis"] = {"ok": True}
    except REDIS_ERRORS as exc:
        result["redis"] = {"ok": False, "error": type(exc).__name__}
    return result


def heartbeats() -> dict[str, dict]:
    now, result = utcnow(), {}
    for name, read in (("worker", last_worker_beat), ("scheduler", last_scheduler_beat)):
        try:
            beat = read(get_redis())
        except REDIS_ERRORS as exc:
            result[name] = {"ok": False, "error": type(exc).__name__}
            continue
        age = (now - beat).total_seconds() if beat else None
        result[name] = {"ok": age is not None and age <= HEARTBEAT_WITHIN.total_seconds(),
                        "seconds_since_heartbeat": None if age is None else round(age, 1)}
    return result


def _answer(found: dict[str, dict]):
    healthy = all(check["ok"] for check in found.values())
    body = {"status": "ok" if healthy else "unavailable"}
    if _operator():
        body["checks"] = found
    return jsonify(body), 200 if healthy else 503


@bp.get("/livez")
def livez():
    return jsonify(status="ok")


@bp.get("/healthz")
def healthz():
    """200 when the database and Redis answer, 503 otherwise."""
    return _answer(checks())


@bp.get("/readyz")
def readyz():
    """200 when the database and Redis answer and a worker and the scheduler beat lately."""
    return _answer({**checks(), **heartbeats()})


@bp.get("/metrics")
def metrics():
    configured = bool(current_app.config.get("OPERATOR_TOKEN"))
    if not (_operator() if configured else _internal_address()):
        abort(403)
    from .metrics import exposition

    body, content_type = exposition()
    return Response(body, content_type=content_type, headers={"Cache-Control": "no-store"})
