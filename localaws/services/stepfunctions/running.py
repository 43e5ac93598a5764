"""A bound on the executions interpreting their workflow at once; the others wait, in start order, still RUNNING.

moto gives every execution a thread from its start to its end. Behind the local Lambda concurrency cap a burst became
thousands of threads blocked in Task states, ~0.3 MB each: 5,000 orders took the RSS past 700 MB. Waiting executions
cost only their record; the Lambda workers stay just as busy. The worker's start hands it here (events.py).
"""

from __future__ import annotations

import collections
import threading
from typing import Any


class RunningExecutions:
    """At most limit execution workers run at once; admit() starts one or queues it."""

    def __init__(self, limit: int) -> None:
        self.limit = limit
        self.running = 0
        self._waiting: collections.deque[Any] = collections.deque()
        self._lock = threading.Lock()

    def admit(self, worker: Any) -> None:
        """Run the worker's _execution_logic on a thread of its own now, or once a running one ends."""
        with self._lock:
            if self.running >= self.limit:
                self._waiting.append(worker)
                return
            self.running += 1
        self._start(worker)

    def forget_waiting(self) -> None:
        """Drop the executions still waiting (their records were forgotten); the running ones end on their own."""
        with self._lock:
            self._waiting.clear()

    def _start(self, worker: Any) -> None:
        threading.Thread(target=self._run, args=(worker,), name="sfn-execution", daemon=True).start()

    def _run(self, worker: Any) -> None:
        try:
            worker._execution_logic()
        finally:
            with self._lock:
                following = self._waiting.popleft() if self._waiting else None
                if following is None:
                    self.running -= 1
            if following is not None:
                self._start(following)


running_executions = RunningExecutions(limit=100)  # the provider sets the limit from the options
