"""The default adapter: no account needed.

Without the simulator, agents dial from the call card's ``tel:`` link and record the outcome
themselves. With ``TELEPHONY_SIMULATOR`` (e.g. ``reached:60,no-answer:20,voicemail:10,busy:5,
failed:5``) « Appeler » plays a call: an RQ job sends the same status events Twilio would,
a few seconds later. Text messages are written to ``instance/sms.log``.
"""
from __future__ import annotations

import random
from datetime import timedelta
from pathlib import Path

from ..clock import utcnow
from .base import Capabilities

SIMULATED_RESULTS = ("reached", "no-answer", "voicemail", "busy", "failed")


def parse_simulator(spec: str | None) -> dict[str, int]:
    """``"reached:60,no-answer:40"`` → weights; empty → simulator off."""
    weights = {}
    for part in filter(None, (chunk.strip() for chunk in (spec or "").split(","))):
        name, _, weight = part.partition(":")
        if name not in SIMULATED_RESULTS or not weight.isdigit():
            raise ValueError(f"TELEPHONY_SIMULATOR: {part!r} is not one of {', '.join(SIMULATED_RESULTS)} "
                             "with a weight")
        weights[name] = int(weight)
    return weights


def simulated_result(attempt_id: int, weights: dict[str, int]) -> str:
    """The result played for an attempt (the same attempt always plays the same)."""
    names = list(weights)
    return random.Random(attempt_id).choices(names, weights=[weights[n] for n in names])[0]


def simulated_events(result: str) -> list[tuple[str, str, int | None, str | None]]:
    """(leg, status, duration, answered_by) events, in the order Twilio would send them."""
    agent = [("agent", "initiated", None, None), ("agent", "ringing", None, None), ("agent", "in-progress", None, None)]
    artisan = [("artisan", "initiated", None, None), ("artisan", "ringing", None, None)]
    if result == "reached":
        return agent + artisan + [("artisan", "in-progress", None, "human")]
    if result == "voicemail":
        return agent + artisan + [("artisan", "in-progress", None, "machine_start"),
                                  ("artisan", "completed", 25, "machine_start"), ("agent", "completed", 40, None)]
    final = {"no-answer": "no-answer", "busy": "busy", "failed": "failed"}[result]
    return agent + artisan + [("artisan", final, 0, None), ("agent", "completed", 30, None)]


def simulated_sid(attempt_id: int) -> str:
    """The agent leg's call id of a simulated call: known before the attempt has stored it."""
    return f"SIM{attempt_id:032d}"


class ConsoleTelephony:
    def __init__(self, sms_log: str | Path, simulate: str | None = None):
        self.sms_log = Path(sms_log)
        self.weights = parse_simulator(simulate)
        self.capabilities = Capabilities(bridge=bool(self.weights), sms=True)

    def start_bridge(self, attempt_id: int, agent_phone: str) -> str | None:
        if not self.weights:
            return None  # the agent dials from its own phone
        from ..queues import schedule_simulation

        schedule_simulation(attempt_id, utcnow() + timedelta(seconds=2))
        return simulated_sid(attempt_id)

    def cancel(self, call_sid: str) -> None:
        return None

    def call_status(self, call_sid: str) -> str | None:
        return None  # a simulated call lives only in its job

    def send_sms(self, to: str, body: str) -> str | None:
        self.sms_log.parent.mkdir(parents=True, exist_ok=True)
        stamp = utcnow().isoformat(timespec="seconds")
        with self.sms_log.open("a", encoding="utf-8") as handle:
            handle.write(f"--- {stamp} to {to}\n{body}\n\n")
        return None
