"""One write transaction, and what must happen once it is committed.

    with unit_of_work() as work:
        ...                                   # reads and writes, in one transaction
        work.after_commit(enqueue_assignment, request.id)

The transaction is committed when the block ends (a ``return`` inside it too), and rolled back
if it raises; the after-commit actions (enqueues, messages, the next offer) then run in order,
never before the commit and never after a rollback. One that fails is logged and skipped: the
work is committed, and the reconciler and the periodic ticks do what the action would have done
sooner. Services never write "commit, then enqueue" by hand.
"""
from __future__ import annotations

import logging
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from ..extensions import begin_write, db

log = logging.getLogger(__name__)


class UnitOfWork:
    def __init__(self) -> None:
        self._after: list[Callable[[], object]] = []
        self.results: list[object] = []  # what each after-commit action returned, in order

    def after_commit(self, action: Callable, *args, **kwargs) -> int:
        """Run ``action(*args, **kwargs)`` once committed; returns its index in ``results``."""
        self._after.append(partial(action, *args, **kwargs))
        return len(self._after) - 1


@contextmanager
def unit_of_work(*, keep_loaded: bool = False) -> Iterator[UnitOfWork]:
    """``keep_loaded``: the objects the block loaded or wrote keep their values after the commit
    (no reading back what was just written); for a block whose caller only reads its own rows next."""
    begin_write()
    work = UnitOfWork()
    try:
        yield work
    except BaseException:
        db.session.rollback()
        raise
    session = db.session()
    expire, session.expire_on_commit = session.expire_on_commit, session.expire_on_commit and not keep_loaded
    try:
        session.commit()
    finally:
        session.expire_on_commit = expire
    for action in work._after:
        try:
            work.results.append(action())
        except Exception:
            db.session.rollback()
            log.exception("after-commit action %s failed; the periodic ticks will catch up",
                          getattr(action.func, "__name__", action.func))
            work.results.append(None)
