"""A scripted demo of about two minutes: a steady stream of orders, then a spike of declines and a payment-gateway
outage that trips the failed-executions alarm, then recovery. It runs on a background thread (one per process), so
every page stays live meanwhile; status() says where it is. The quick pace plays the same phases in 35 s."""

from __future__ import annotations

import dataclasses
import random
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from pydantic import BaseModel

from backend import alarms
from backend.demo.samples import random_requests
from backend.errors import BackendError
from lambdas.domain.order import OrderRequest, PaymentMethod

ORDERS_PER_SECOND = 3
# The alarms judge whole minutes once they are over, so a one-minute alarm clears a minute or two after the outage
# ends; the demo waits for those (an alarm over five minutes, like p99 latency, clears minutes later).
CLEAR_SECONDS = 150
_WAITED_FOR_PERIOD = 60
# However short the outage, the demo runs until the one-minute alarms have judged it: its last failures end within
# ~15 s (the retries), their minute ends within 60 s, the alarm is evaluated 10 s later and read 5 s after that.
JUDGED_SECONDS = 90
_ALARM_CHECK_SECONDS = 5
_MOST_PER_SEND = 30  # after a slow call, catch up in bounded batches

APPROVED = {PaymentMethod.VISA: 85, PaymentMethod.MASTERCARD: 15}
# tok_timeout_always exhausts the workflow's retries and ends OrderFailed: a technical failure, which
# WorkflowExecutionsFailedAlarm counts (declines are business outcomes it subtracts).
INCIDENT = {
    PaymentMethod.DECLINED: 30,
    PaymentMethod.INSUFFICIENT_FUNDS: 15,
    PaymentMethod.TIMEOUT_ALWAYS: 35,
    PaymentMethod.VISA: 20,
}


@dataclass(frozen=True)
class Phase:
    """One part of the script: its name, length in seconds, what happens, and the cards its orders use."""

    name: str
    seconds: float
    description: str
    cards: dict[PaymentMethod, int]


TIMELINE = (
    Phase("steady", 30, "A steady stream of orders, all approved.", APPROVED),
    Phase("incident", 45, "A spike of declined cards, and the payment gateway is down: charges time out.", INCIDENT),
    Phase("recovery", 45, "The gateway answers again: orders are approved.", APPROVED),
)
# The same phases, shorter: 15 s of outage still fails a dozen orders, enough to trip the one-minute alarms. Unlike
# --speed, it keeps real time, so the alarms judge their real minutes (for the browser test and the screenshots).
QUICK = tuple(dataclasses.replace(phase, seconds=s) for phase, s in zip(TIMELINE, (10, 15, 10), strict=True))
PACES = {"full": TIMELINE, "quick": QUICK}
CLEARING = Phase(
    "clearing", CLEAR_SECONDS, "Approved orders while the tripped alarms return to OK (they judge whole minutes).",
    APPROVED,
)  # fmt: skip


def script_seconds(timeline: Sequence[Phase]) -> float:
    """How long the timeline's phases last in all, in seconds."""
    return sum(phase.seconds for phase in timeline)


def outage_end(timeline: Sequence[Phase]) -> float:
    """Seconds into the timeline when its last phase with gateway timeouts ends (0 if none has)."""
    end = start = 0.0
    for phase in timeline:
        start += phase.seconds
        if PaymentMethod.TIMEOUT_ALWAYS in phase.cards:
            end = start
    return end


def pace_text(pace: str) -> str:
    """The pace's phase lengths, e.g. "10 + 15 + 10 s"."""
    return " + ".join(f"{phase.seconds:.0f}" for phase in PACES[pace]) + " s"


def phase_at(elapsed: float, timeline: Sequence[Phase] = TIMELINE) -> Phase | None:
    """The timeline's phase at that many seconds into the script; None once it is over."""
    start = 0.0
    for phase in timeline:
        if elapsed < start + phase.seconds:
            return phase
        start += phase.seconds
    return None


class DemoStatus(BaseModel):
    """Where a demo is: its phase, orders sent, seconds left of the script, and the alarms it tripped."""

    phase: str
    description: str
    step: int  # 1-based position in the timeline, then one more while clearing
    orders_sent: int
    seconds_left: int
    speed: float
    started_at: datetime
    finished: bool = False
    error: str | None = None
    firing: list[str] = []
    tripped: list[str] = []


class DemoRunning(BackendError):
    """Another demo is running in this process."""


Send = Callable[[Sequence[OrderRequest]], Any]


class Demo:
    """One run of the script on a background thread."""

    def __init__(
        self,
        send: Send,
        speed: float = 1.0,
        read_alarms: Callable[[], list[alarms.Alarm]] | None = None,
        on_event: Callable[[str], None] | None = None,
        seed: int | None = None,
        pace: str = "full",
    ) -> None:
        if speed <= 0:
            raise ValueError(f"speed must be more than 0, got {speed}")
        self.speed = speed
        self.timeline = PACES[pace]
        self._send = send
        self._read_alarms = read_alarms or alarms.stack_alarms
        self._on_event = on_event or (lambda text: None)
        self._rng = random.Random(seed)
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._thread = threading.Thread(target=self._run, name="demo", daemon=True)
        self._started = time.monotonic()
        self._already_firing: set[str] | None = None
        self._minute_alarms: set[str] = set()
        self._status = DemoStatus(
            phase=self.timeline[0].name, description=self.timeline[0].description, step=1, orders_sent=0,
            seconds_left=int(script_seconds(self.timeline) / speed), speed=speed, started_at=datetime.now(UTC),
        )  # fmt: skip

    def status(self) -> DemoStatus:
        """A snapshot of where the demo is."""
        with self._lock:
            return self._status.model_copy(deep=True)

    def stop(self) -> None:
        """Stop sending; the demo ends at once."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        """Wait for the demo to end; True if it did."""
        self._thread.join(timeout)
        return not self._thread.is_alive()

    def _update(self, **changes: Any) -> None:
        with self._lock:
            self._status = self._status.model_copy(update=changes)

    def _run(self) -> None:
        try:
            self._script()
        except BackendError as exc:
            self._update(error=str(exc))
            self._on_event(f"stopped: {exc}")
        finally:
            self._update(finished=True, seconds_left=0)

    def run_in_background(self) -> None:
        """Start the script on its thread."""
        self._thread.start()

    def _script(self) -> None:
        # The first read also connects (and may start the local AWS): the script's clock starts after it.
        self._check_alarms()
        self._started = time.monotonic()
        sent, next_check = 0, _ALARM_CHECK_SECONDS / self.speed
        script, judged = script_seconds(self.timeline), outage_end(self.timeline) + JUDGED_SECONDS
        current: Phase | None = None
        while not self._stop.is_set():
            wall = time.monotonic() - self._started
            scripted = wall * self.speed
            phase = phase_at(scripted, self.timeline)
            if wall >= next_check or (phase is None and current is not CLEARING):
                self._check_alarms()
                next_check = wall + _ALARM_CHECK_SECONDS / self.speed
            if phase is None:
                status = self.status()
                waiting = [name for name in status.tripped if name in status.firing and name in self._minute_alarms]
                cleared = not waiting and scripted >= judged
                if cleared or scripted >= script + CLEAR_SECONDS or self._already_firing is None:
                    self._on_event(_summary(status, sent))
                    return
                phase = CLEARING
            if phase is not current:
                current = phase
                step = self.timeline.index(phase) + 1 if phase in self.timeline else len(self.timeline) + 1
                self._update(phase=phase.name, description=phase.description, step=step)
                self._on_event(f"{phase.name}: {phase.description}")
            due = min(_MOST_PER_SEND, int(wall * ORDERS_PER_SECOND) - sent)
            if due > 0:
                self._send(random_requests(due, self._rng, cards=phase.cards, over_stock_rate=0))
                sent += due
            left = script - scripted if phase is not CLEARING else 0
            self._update(orders_sent=sent, seconds_left=max(0, round(left / self.speed)))
            self._stop.wait(0.25)

    def _check_alarms(self) -> None:
        """Note the alarms in ALARM, and report those that change."""
        try:
            found = self._read_alarms()
        except BackendError as exc:
            self._on_event(f"cannot read the alarms: {exc}")
            return
        firing = sorted(alarm.label for alarm in found if alarm.state == "ALARM")
        self._minute_alarms = {a.label for a in found if a.period is not None and a.period <= _WAITED_FOR_PERIOD}
        if self._already_firing is None:
            self._already_firing = set(firing)  # an alarm already red before the demo is not its doing
        status = self.status()
        tripped = sorted(set(status.tripped) | (set(firing) - self._already_firing))
        for name in sorted(set(firing) - set(status.firing)):
            self._on_event(f"alarm {name} is in ALARM")
        for name in sorted(set(status.firing) - set(firing)):
            self._on_event(f"alarm {name} is OK again")
        self._update(firing=firing, tripped=tripped)


def _summary(status: DemoStatus, sent: int) -> str:
    still = [name for name in status.tripped if name in status.firing]
    tripped = ", ".join(status.tripped) or "none"
    ending = f"; still in ALARM: {', '.join(still)}" if still else ""
    return f"done: {sent} orders sent; alarms tripped: {tripped}{ending}"


_current_lock = threading.Lock()
_current: Demo | None = None


def start(send: Send, speed: float = 1.0, on_event: Callable[[str], None] | None = None, pace: str = "full") -> Demo:
    """Start the demo at that pace (a key of PACES), placing orders through send, on a background thread;
    DemoRunning if one is running."""
    global _current
    with _current_lock:
        if _current is not None and not _current.status().finished:
            raise DemoRunning("A demo is already running: wait for it to end.")
        _current = Demo(send, speed, on_event=on_event, pace=pace)
        _current.run_in_background()
        return _current


def current() -> Demo | None:
    """The demo running in this process, or the last one that ran."""
    return _current
