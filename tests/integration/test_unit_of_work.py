"""The unit of work: commit, then the after-commit actions; a failing action loses nothing."""
import pytest
from sqlalchemy import select

from chamber_callback.extensions import db
from chamber_callback.models import Setting
from chamber_callback.services.unit_of_work import unit_of_work
from tests.integration.helpers import T0


def _setting(key: str) -> Setting:
    return Setting(key=key, value=True, updated_at=T0)


def test_actions_run_after_the_commit_in_order_and_a_failure_is_logged_not_raised(app, caplog):
    ran = []

    def broken():
        raise RuntimeError("redis went away")

    def seen_committed():
        ran.append(db.session.scalar(select(Setting.key).where(Setting.key == "A")))

    with unit_of_work() as work:
        db.session.add(_setting("A"))
        work.after_commit(broken)
        work.after_commit(seen_committed)
    assert ran == ["A"]  # the action after the failing one still ran, and saw the committed row
    assert work.results == [None, None]
    assert "after-commit action broken failed" in caplog.text


def test_a_raise_rolls_back_and_runs_no_action(app):
    ran = []
    with pytest.raises(LookupError), unit_of_work() as work:
        db.session.add(_setting("B"))
        work.after_commit(ran.append, "enqueued")
        raise LookupError("B")
    assert ran == [] and db.session.get(Setting, "B") is None
