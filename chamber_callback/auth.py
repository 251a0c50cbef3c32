"""Staff authentication: Flask-Login sessions for the console, Bearer tokens for the API."""
from __future__ import annotations

import secrets
from collections.abc import Callable, Collection
from functools import wraps

from flask import abort, current_app, flash, g, request, session
from flask_babel import gettext as _
from flask_babel import lazy_gettext as _l
from flask_login import LoginManager, current_user, login_user, logout_user
from sqlalchemy import select

from .clock import utcnow
from .domain.reference import token_digest
from .extensions import db
from .models import ApiToken, StaffUser

TOKEN_PREFIX = "ccb_"

login_manager = LoginManager()
login_manager.login_view = "staff.login"
login_manager.login_message = _l("Connectez-vous pour accéder à cette page.")
login_manager.login_message_category = "error"
login_manager.session_protection = "strong"


# The session's own clock: when the password was checked, when the person was last seen.
SIGNED_IN_AT, SEEN_AT = "cc_signed_in_at", "cc_seen_at"
SEEN_RESOLUTION_S = 60  # "last seen" is rewritten at most once a minute
# Pages a browser tab fetches by itself: they do not count as the person being there.
POLLED = frozenset({"staff.console_panel", "manager.dashboard_panel"})


@login_manager.user_loader
def load_user(user_id: str) -> StaffUser | None:
    # "<id>:<session version>": a logout, a password change, a reset or a deactivation bumps the
    # version, which ends every session of the account, on every device.
    try:
        raw_id, version = user_id.split(":")
        user = db.session.get(StaffUser, int(raw_id))
    except (ValueError, TypeError):
        return None
    if user is None or str(user.session_version) != version or not user.is_active:
        return None
    if session_expired():
        for key in ("_user_id", "_fresh", "_id", SIGNED_IN_AT, SEEN_AT):  # what login_user wrote
            session.pop(key, None)
        flash(_("Votre session a expiré : reconnectez-vous."), "error")
        return None
    return user


def open_session(user: StaffUser) -> None:
    """Sign the person in on this browser (after the password, and the code when one is needed)."""
    login_user(user)
    now = utcnow().timestamp()
    session[SIGNED_IN_AT] = session[SEEN_AT] = now


def session_expired() -> bool:
    """Idle for ``STAFF_SESSION_IDLE_HOURS``, or open for ``STAFF_SESSION_MAX_HOURS``: over."""
    config, now = current_app.config, utcnow().timestamp()
    signed_in, seen = session.get(SIGNED_IN_AT), session.get(SEEN_AT)
    if not isinstance(signed_in, int | float) or not isinstance(seen, int | float):
        return True
    if now - seen > config["STAFF_SESSION_IDLE_HOURS"] * 3600:
        return True
    if now - signed_in > config["STAFF_SESSION_MAX_HOURS"] * 3600:
        return True
    if now - seen > SEEN_RESOLUTION_S and request.endpoint not in POLLED:
        session[SEEN_AT] = now
    return False


def end_browser_session() -> None:
    logout_user()
    session.pop(SIGNED_IN_AT, None)
    session.pop(SEEN_AT, None)


def roles_required(policy: Collection[str]) -> Callable:
    """Console routes: redirect to the login page when anonymous, 403 for roles outside ``policy``
    (one of the named policies of ``domain.roles``)."""
    roles = frozenset(policy)

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        wrapper.required_roles = roles
        return wrapper

    return decorator


def issue_token(user: StaffUser, label: str | None = None) -> str:
    """A new personal API token; only its digest is kept, so it is shown once."""
    token = TOKEN_PREFIX + secrets.token_urlsafe(32)
    db.session.add(ApiToken(user_id=user.id, token_digest=token_digest(token), label=label,
                            created_at=utcnow()))
    return token


def user_from_bearer() -> StaffUser | None:
    header = request.headers.get("Authorization", "")
    scheme, _, token = header.partition(" ")
    if scheme.lower() != "bearer" or not token.startswith(TOKEN_PREFIX):
        return None
    api_token = db.session.scalar(select(ApiToken).where(ApiToken.token_digest == token_digest(token.strip()),
                                                         ApiToken.revoked_at.is_(None)))
    if api_token is None or not api_token.user.is_active:
        return None
    return api_token.user


def token_required(policy: Collection[str]) -> Callable:
    """Staff API routes: 401 without a valid token, 403 for roles outside ``policy``."""
    roles = frozenset(policy)

    def decorator(view):
        @wraps(view)
        def wrapper(*args, **kwargs):
            from .web import problem

            user = user_from_bearer()
            if user is None:
                response = problem(401, _("Authentification requise"),
                                   _("Envoyez un jeton personnel : Authorization: Bearer ccb_…"))
                response.headers["WWW-Authenticate"] = 'Bearer realm="chamber-callback"'
                return response
            if user.role not in roles:
                return problem(403, _("Accès refusé"), _("Votre rôle ne permet pas cette action."))
            g.api_user = user
            return view(*args, **kwargs)

        wrapper.required_roles = roles
        return wrapper

    return decorator
