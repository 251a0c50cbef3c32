"""Operations endpoints: ``/livez`` (the process answers), ``/readyz`` and ``/healthz`` (the
database and Redis answer).

Publicly they say ok or not ok, nothing more; the details (backend, error class) are given only
with the operator token: ``Authorization: Bearer $OPS_TOKEN``.
"""
from __future__ import annotations

import hmac

from flask import Blueprint, current_app, jsonify, request
from sqlalchemy import text

from .extensions import db, limiter
from .queues import REDIS_ERRORS, get_redis

bp = Blueprint("ops", __name__)
limiter.exempt(bp)


def _operator() -> bool:
    token = current_app.config.get("OPS_TOKEN") or ""
    scheme, _, given = request.headers.get("Authorization", "").partition(" ")
    return bool(token) and scheme.lower() == "bearer" and hmac.compare_digest(given.strip().encode(), token.encode())


def checks() -> dict[str, dict]:
    result = {}
    try:
        db.session.execute(text("SELECT 1"))
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


@bp.get("/livez")
def livez():
    return jsonify(status="ok")


@bp.get("/readyz")
@bp.get("/healthz")
def healthz():
    """200 when the database and Redis answer, 503 otherwise."""
    found = checks()
    healthy = all(check["ok"] for check in found.values())
    body = {"status": "ok" if healthy else "unavailable"}
    if _operator():
        body["checks"] = found
    return jsonify(body), 200 if healthy else 503
