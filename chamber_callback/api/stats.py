"""``GET /api/v1/stats``: the dashboard's headline figures for the chamber's other tools."""
from __future__ import annotations

from flask import current_app, jsonify, request
from flask_babel import gettext as _
from sqlalchemy import select

from ..auth import token_required
from ..clock import utcnow
from ..domain.roles import READS_STATS_API
from ..extensions import db
from ..models import RegionalUnit, Topic
from ..services import stats
from ..web import problem
from . import bp


@bp.get("/stats")
@token_required(READS_STATS_API)
def chamber_stats():
    now = utcnow()
    tz = current_app.config["TIMEZONE"]
    units = db.session.scalars(select(RegionalUnit).order_by(RegionalUnit.id)).all()
    unit = topic = None
    if request.args.get("unit"):
        unit = next((u for u in units if u.code == request.args["unit"]), None)
        if unit is None:
            return problem(400, _("Unité inconnue"),
                           _("Codes possibles : %(codes)s.", codes=", ".join(u.code for u in units)))
    if request.args.get("topic"):
        topic = db.session.scalar(select(Topic).where(Topic.code == request.args["topic"]))
        if topic is None:
            return problem(400, _("Sujet inconnu"), _("Voir GET /api/v1/topics."))
    if request.args.get("urgent", "false") not in ("true", "false", "1", "0"):
        return problem(400, _("Paramètre invalide"), _("urgent vaut true ou false."))
    scope = stats.Scope(unit_id=unit.id if unit else None, topic_id=topic.id if topic else None,
                        urgent_only=request.args.get("urgent") in ("true", "1"))
    figures = stats.headline(scope, now, tz)
    codes = {u.id: u.code for u in units}
    by_unit = [{
        "unit": codes.get(row.key), "name": row.label, "waiting": row.waiting,
        "in_call": row.by_status.get("in_call", 0), "at_risk": row.at_risk, "breached": row.breached,
        "within_sla": {"today": figures.within_today_by_unit.get(row.key, stats.Share()).as_dict(),
                       "last_7_days": figures.within_7_days_by_unit.get(row.key, stats.Share()).as_dict()},
    } for row in figures.by_unit]
    return jsonify({
        "scope": {"unit": unit.code if unit else None, "topic": topic.code if topic else None,
                  "urgent_only": scope.urgent_only, "time_zone": tz},
        **figures.as_dict(),
        "by_unit": by_unit,
    })
