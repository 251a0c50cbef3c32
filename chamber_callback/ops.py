"""Operations endpoints: /healthz."""
from __future__ import annotations

from flask import Blueprint, jsonify
from sqlalchemy import text

from .extensions import db, limiter
from .queues import REDIS_ERRORS, get_redis

bp = Blueprint("ops", __name__)
limiter.exempt(bp)


@bp.get("/healthz")
def healthz():
    """Database and Redis reachability: 200 when both answer, 503 otherwise."""
    checks = {}
    try:
        db.session.execute(text("SELECT 1"))
        checks["database"] = {"ok": True, "backend": db.engine.url.get_backend_name()}
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        db.session.rollback()
        checks["database"] = {"ok": False, "error": type(exc).__name__}
    try:
        get_redis().ping()
        checks["redis"] = {"ok": True}
    except REDIS_ERRORS as exc:
        checks["redis"] = {"ok": False, "error": type(exc).__name__}
    healthy = all(check["ok"] for check in checks.values())
    return jsonify(status="ok" if healthy else "unavailable", checks=checks), 200 if healthy else 503
