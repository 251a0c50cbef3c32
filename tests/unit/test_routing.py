"""Routing and outcome rules (pure)."""
from datetime import UTC, datetime, timedelta

import pytest

from chamber_callback.domain.attempts import Outcome, ReportError, after_correction, after_outcome, check_report
from chamber_callback.domain.lifecycle import Status
from chamber_callback.domain.queue import queue_key
from chamber_callback.domain.routing import AgentView, RequestView, rank_agents, should_overflow

T0 = datetime(2026, 11, 27, 9, 0, tzinfo=UTC)
ALL = frozenset({"aides", "pge", "charges", "sanitaire", "formalites", "activite_partielle", "autre"})


def agent(id, unit=1, skills=ALL, capacity=1, held=0, availability="available", idle_minutes=0):
    return AgentView(id=id, unit_id=unit, skills=frozenset(skills), capacity=capacity, held=held,
                     availability=availability, idle_since=T0 - timedelta(minutes=idle_minutes))


def request(id=1, unit=1, topic="pge", urgent=False, deadline_hours=24, **kw):
    return RequestView(id=id, unit_id=unit, topic=topic, urgent=urgent,
                       sla_deadline=T0 + timedelta(hours=deadline_hours), **kw)


def ids(agents):
    return [a.id for a in agents]


def test_only_available_agents_with_room_skill_and_unit_are_candidates():
    agents = [
        agent(1),
        agent(2, unit=2),                            # other unit
        agent(3, skills={"aides"}),                  # no skill for pge
        agent(4, held=1),                            # full
        agent(5, availability="away"),
        agent(6, availability="busy"),
        agent(7, capacity=2, held=1),                # room left
    ]
    assert ids(rank_agents(request(), agents)) == [1, 7]


def test_overflowing_request_may_go_to_any_unit():
    assert ids(rank_agents(request(overflow=True), [agent(2, unit=2), agent(3, unit=3)])) == [2, 3]


def test_portfolio_affinity_comes_before_load_and_idle_time():
    agents = [agent(1, idle_minutes=60), agent(2), agent(3, capacity=3, held=2)]
    assert ids(rank_agents(request(), agents, affinity={3: 2})) == [3, 1, 2]


def test_least_loaded_then_longest_idle():
    agents = [agent(1, capacity=4, held=2, idle_minutes=90), agent(2, capacity=4, held=1, idle_minutes=5),
              agent(3, capacity=4, held=1, idle_minutes=30)]
    assert ids(rank_agents(request(), agents)) == [3, 2, 1]


def test_follow_up_returns_to_the_same_agent_first():
    agents = [agent(1, idle_minutes=60), agent(2)]
    assert ids(rank_agents(request(preferred_agent_id=2), agents, affinity={1: 5})) == [2, 1]


def test_agents_who_declined_are_skipped():
    assert ids(rank_agents(request(excluded_agent_ids=frozenset({1})), [agent(1), agent(2)])) == [2]


def test_queue_order_is_urgent_first_then_deadline():
    requests = [request(1, deadline_hours=2), request(2, urgent=True, deadline_hours=20),
                request(3, deadline_hours=1), request(4, urgent=True, deadline_hours=5)]
    assert [r.id for r in sorted(requests, key=queue_key)] == [4, 2, 3, 1]


def test_queue_order_top_priority_then_urgent_then_raised_then_deadline_then_submission():
    requests = [request(1, deadline_hours=1), request(2, urgent=True, deadline_hours=30),
                request(3, priority=1, deadline_hours=10), request(4, priority=2, deadline_hours=40),
                request(5, urgent=True, priority=1, deadline_hours=30), request(6, deadline_hours=1)]
    assert [r.id for r in sorted(requests, key=queue_key)] == [4, 5, 2, 3, 1, 6]


def test_a_promised_request_comes_first_only_for_its_agent():
    promised = request(1, deadline_hours=20, preferred_agent_id=7)
    other = request(2, urgent=True, priority=2, deadline_hours=1)
    assert [r.id for r in sorted([other, promised], key=lambda r: queue_key(r, agent_id=7))] == [1, 2]
    assert [r.id for r in sorted([other, promised], key=lambda r: queue_key(r, agent_id=8))] == [2, 1]
    assert [r.id for r in sorted([other, promised], key=queue_key)] == [2, 1]


def test_overflow_after_the_delay():
    assert not should_overflow(T0, T0 + timedelta(minutes=29), timedelta(minutes=30))
    assert should_overflow(T0, T0 + timedelta(minutes=30), timedelta(minutes=30))


GAP = timedelta(minutes=30)


@pytest.mark.parametrize("outcome, failed_before, expected, message", [
    (Outcome.REACHED_RESOLVED, 0, Status.COMPLETED, None),
    (Outcome.REFUSED, 0, Status.COMPLETED, None),
    (Outcome.REACHED_FOLLOW_UP, 0, Status.COMPLETED, None),   # no follow-up time given
    (Outcome.WRONG_NUMBER, 0, Status.UNREACHABLE, None),      # nothing to send to a wrong number
    (Outcome.NO_ANSWER, 0, Status.RETRY_WAIT, None),
    (Outcome.VOICEMAIL, 1, Status.RETRY_WAIT, None),
    (Outcome.NO_ANSWER, 2, Status.UNREACHABLE, "unreachable"),  # third unanswered attempt
])
def test_next_step_after_an_outcome(outcome, failed_before, expected, message):
    step = after_outcome(outcome, failed_before=failed_before, max_attempts=3, now=T0, retry_gap=GAP)
    assert step.status == expected and step.message == message
    assert step.next_attempt_at == (T0 + GAP if expected == Status.RETRY_WAIT else None)
    assert step.failed_attempts == failed_before + (outcome in (Outcome.NO_ANSWER, Outcome.VOICEMAIL))


def test_a_correction_counts_the_corrected_outcome_not_the_first_one():
    # Two automatic "no answer" (failed=2); the second was in fact voicemail: still 2 failures.
    same = after_correction("no_answer", "voicemail", failed_attempts=2, max_attempts=3, now=T0, retry_gap=GAP)
    assert (same.status, same.failed_attempts) == (Status.RETRY_WAIT, 2)
    # A "voicemail" that was a conversation: one failure less, and the artisan was reached.
    reached = after_correction("voicemail", "reached_resolved", failed_attempts=2, max_attempts=3, now=T0,
                               retry_gap=GAP)
    assert (reached.status, reached.failed_attempts, reached.reached) == (Status.COMPLETED, 1, True)


def test_an_agents_report_is_checked_the_same_way_everywhere():
    with pytest.raises(ReportError) as missing:
        check_report("reached_follow_up", None, None, T0)
    assert set(missing.value.errors) == {"follow_up_at"}
    with pytest.raises(ReportError) as bad:
        check_report("maybe", "x" * 2001, T0 - timedelta(hours=1), T0)
    assert set(bad.value.errors) == {"outcome", "note"}
    with pytest.raises(ReportError) as far:
        check_report("reached_follow_up", None, T0 + timedelta(days=31), T0)
    assert "30 jours" in far.value.errors["follow_up_at"]
    report = check_report("no_answer", "  ", T0 + timedelta(hours=2), T0)
    assert (report.outcome, report.note, report.follow_up_at) == (Outcome.NO_ANSWER, None, None)


def test_follow_up_is_scheduled_at_the_chosen_time():
    later = T0 + timedelta(hours=5)
    step = after_outcome("reached_follow_up", failed_before=0, max_attempts=3, now=T0, retry_gap=GAP,
                         follow_up_at=later)
    assert (step.status, step.next_attempt_at) == (Status.SCHEDULED, later)
    with pytest.raises(ValueError):
        after_outcome("reached_follow_up", failed_before=0, max_attempts=3, now=T0, retry_gap=GAP,
                      follow_up_at=T0 - timedelta(minutes=1))
