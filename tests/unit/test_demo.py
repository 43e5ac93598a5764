"""The demo's script: its phases, the orders each sends, the alarms it tripped, and one demo at a time."""

from __future__ import annotations

import threading
import time
from collections import Counter
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import Any

import pytest

from backend.alarms import Alarm, label
from backend.demo import script as demo
from lambdas.domain.order import OrderRequest, PaymentMethod


@pytest.mark.parametrize(
    ("elapsed", "phase"),
    [(0, "steady"), (29.9, "steady"), (30, "incident"), (74.9, "incident"), (75, "recovery"), (119.9, "recovery")],
)
def test_phase_at(elapsed: float, phase: str) -> None:
    found = demo.phase_at(elapsed)
    assert found is not None
    assert found.name == phase


def test_the_script_lasts_two_minutes_and_nothing_after() -> None:
    assert demo.script_seconds(demo.TIMELINE) == 120
    assert demo.phase_at(120) is None


@pytest.mark.parametrize(
    ("elapsed", "phase"), [(9.9, "steady"), (10, "incident"), (24.9, "incident"), (25, "recovery")]
)
def test_the_quick_pace_plays_the_same_phases_in_35_seconds(elapsed: float, phase: str) -> None:
    found = demo.phase_at(elapsed, demo.PACES["quick"])
    assert found is not None
    assert found.name == phase
    assert found.cards == next(p.cards for p in demo.TIMELINE if p.name == phase)
    assert demo.script_seconds(demo.PACES["quick"]) == 35
    assert demo.phase_at(35, demo.PACES["quick"]) is None
    assert demo.pace_text("quick") == "10 + 15 + 10 s"


def test_alarm_labels_are_the_templates_logical_ids() -> None:
    assert label("orders-local-WorkflowExecutionsFailedAlarm-AB12CD34EF", "orders-local") == (
        "WorkflowExecutionsFailedAlarm"
    )
    assert label("someone-elses-alarm", "orders-local") == "someone-elses-alarm"


class FakeHome:
    """Orders sent, and an alarm that goes red with the outage's orders and back to OK after six approved ones."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.sent: list[OrderRequest] = []

    def send(self, requests: Sequence[OrderRequest]) -> None:
        with self.lock:
            self.sent.extend(requests)

    def alarms(self) -> list[Alarm]:
        with self.lock:
            outages = [i for i, r in enumerate(self.sent) if r.payment_method is PaymentMethod.TIMEOUT_ALWAYS]
            state = "ALARM" if outages and len(self.sent) - outages[-1] <= 6 else "OK"
        at = datetime.now(UTC)
        return [
            Alarm(name="s-Failed-X", label="Failed", state=state, since=at, reason="", period=60),
            Alarm(name="s-Old-X", label="Old", state="ALARM", since=at, reason="", period=60),  # red before
            Alarm(name="s-Slow-X", label="Slow", state=state, since=at, reason="", period=300),  # not waited for
        ]


def test_a_fast_demo_runs_every_phase_and_waits_for_the_alarm_it_tripped() -> None:
    home, events = FakeHome(), []
    run = demo.Demo(home.send, speed=40, read_alarms=home.alarms, on_event=events.append, seed=3)
    run.run_in_background()
    assert run.join(timeout=20)
    status = run.status()
    assert status.finished
    assert status.error is None
    assert status.tripped == ["Failed", "Slow"]
    assert status.firing == ["Old"]
    phases = [event.split(":")[0] for event in events if not event.startswith(("alarm", "done"))]
    assert phases[:3] == ["steady", "incident", "recovery"]
    assert events[-1].startswith(f"done: {status.orders_sent} orders sent; alarms tripped: Failed")
    assert "alarm Failed is in ALARM" in events
    assert "alarm Failed is OK again" in events
    cards = Counter(request.payment_method for request in home.sent)
    assert cards[PaymentMethod.TIMEOUT_ALWAYS]
    assert cards[PaymentMethod.DECLINED]
    assert len(home.sent) == status.orders_sent >= 3 * 3  # 3 orders a second for the 3 s the script takes


def test_a_short_outage_is_judged_by_the_alarms_before_the_demo_ends() -> None:
    events: list[str] = []
    run = demo.Demo(lambda requests: None, speed=40, read_alarms=list, on_event=events.append, pace="quick")
    started = time.monotonic()
    run.run_in_background()
    assert run.join(timeout=20)
    # No alarm tripped by the end of the 35 s script: the demo keeps going until the outage's minutes are judged.
    assert time.monotonic() - started >= (demo.outage_end(demo.PACES["quick"]) + demo.JUDGED_SECONDS) / 40
    assert [event.split(":")[0] for event in events] == ["steady", "incident", "recovery", "clearing", "done"]


def test_one_demo_at_a_time(monkeypatch: pytest.MonkeyPatch) -> None:
    sending, release = threading.Event(), threading.Event()

    def blocked(requests: Any) -> None:
        sending.set()
        release.wait(10)

    monkeypatch.setattr(demo, "_current", None)
    monkeypatch.setattr(demo.alarms, "stack_alarms", lambda: [])
    first = demo.start(blocked, speed=1)
    assert sending.wait(5)
    with pytest.raises(demo.DemoRunning):
        demo.start(blocked, speed=1000)
    first.stop()
    release.set()
    assert first.join(timeout=5)
    assert demo.start(lambda requests: None, speed=1000).join(timeout=10)
