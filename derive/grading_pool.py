"""A pool of long-lived grading workers: every answer bounded, a class graded on all cores.

``derive.bounded`` forks one child per unit of work, which is right for a problem but costs a
fork per answer (1.4 answers/s). Here workers are forked once, after the key is built, so
each holds the key without copying it; they take one answer at a time through a pipe. The
parent gives each answer a deadline: a worker past it (an exponent tower, an expansion that
never ends) is killed and replaced, and that answer alone gets ``overrun(task, reason)``.
Memory is bounded in each worker by RLIMIT_AS; a worker the kernel or its own MemoryError
brings down is replaced the same way. Results come back in the order of the tasks.
"""

from __future__ import annotations

import contextlib
import os
import pickle
import resource
import signal
import time
import traceback
from collections import deque
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar

from derive.bounded import OUT_OF_MEMORY, Bounds, _address_space
from derive.errors import InternalError

if TYPE_CHECKING:  # multiprocessing is imported when the pool starts
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

T = TypeVar("T")
R = TypeVar("R")

SECONDS = 2.0  # per answer, by default: a typical answer takes a few milliseconds


@dataclass
class _Worker:
    process: BaseProcess
    connection: Connection
    task: int | None = None  # the index of the task it is working on
    deadline: float = 0.0


class GradingPool(Generic[T, R]):
    """``work`` applied to every task in ``workers`` processes under ``bounds`` per task.

    ``overrun(task, reason)`` is the result of a task that ran out of time or memory.
    With ``workers=0`` the tasks run in this process, unbounded (the Python API, tests).
    """

    def __init__(
        self,
        work: Callable[[T], R],
        overrun: Callable[[T, str], R],
        *,
        workers: int,
        bounds: Bounds,
    ) -> None:
        self.work = work
        self.overrun = overrun
        self.workers = workers
        self.bounds = bounds

    def map(self, tasks: Sequence[T]) -> list[R]:
        if self.workers <= 0:
            return [self.work(task) for task in tasks]
        results: dict[int, R] = {}
        waiting = deque(range(len(tasks)))
        pool: list[_Worker] = []
        try:
            while len(results) < len(tasks):
                while waiting and len(pool) < min(self.workers, len(tasks)):
                    pool.append(self._start())
                for worker in pool:
                    if worker.task is None and waiting:
                        self._give(worker, waiting.popleft(), tasks)
                self._collect(pool, tasks, results)
        finally:
            for worker in pool:
                self._stop(worker)
        return [results[index] for index in range(len(tasks))]

    def _collect(self, pool: list[_Worker], tasks: Sequence[T], results: dict[int, R]) -> None:
        """Wait for an answer or the nearest deadline; replace workers that failed."""
        busy = [w for w in pool if w.task is not None]
        if not busy:
            return
        timeout = max(0.0, min(w.deadline for w in busy) - time.monotonic())
        from multiprocessing.connection import wait

        ready = wait([w.connection for w in busy], timeout)
        now = time.monotonic()
        for position, worker in enumerate(pool):
            index = worker.task
            if index is None:
                continue
            if worker.connection in ready:
                try:
                    status, payload = worker.connection.recv()
                except (EOFError, OSError):  # killed: out of memory
                    status, payload = "memory", None
                if status == "ok":
                    results[index] = payload
                    worker.task = None
                    continue
                if status == "error":  # a bug in derive, not in the answer: stop and say so
                    raise payload
                results[index] = self.overrun(tasks[index], OUT_OF_MEMORY)
            elif now >= worker.deadline:
                seconds = f"{self.bounds.seconds:g} s"
                reason = f"gave up after {seconds} (limit --time-limit)"
                results[index] = self.overrun(tasks[index], reason)
            else:
                continue
            self._stop(worker)
            pool[position] = self._start()

    def _give(self, worker: _Worker, index: int, tasks: Sequence[T]) -> None:
        worker.task = index
        worker.deadline = time.monotonic() + self.bounds.seconds
        worker.connection.send(tasks[index])

    def _start(self) -> _Worker:
        import multiprocessing

        context = multiprocessing.get_context("fork")
        parent, child = context.Pipe(duplex=True)
        process = context.Process(
            target=_serve, args=(child, self.work, self.bounds.memory), daemon=True
        )
        process.start()
        child.close()
        return _Worker(process, parent)

    @staticmethod
    def _stop(worker: _Worker) -> None:
        with contextlib.suppress(OSError):
            worker.connection.close()
        if worker.process.is_alive():
            worker.process.kill()
        worker.process.join()


def _serve(connection: Connection, work: Callable[[object], object], memory: int) -> None:
    """In a worker: limit memory, then answer tasks until the parent closes the pipe."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    limit = _address_space() + memory
    with contextlib.suppress(ValueError, OSError):  # a platform without RLIMIT_AS: time only
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    while True:
        try:
            task = connection.recv()
        except (EOFError, OSError):
            break
        try:
            message: tuple[str, object] = ("ok", work(task))
        except MemoryError:
            message = ("memory", None)
        except Exception as error:  # a bug in derive: raised again in the parent
            error.remote_traceback = "".join(traceback.format_exception(error))  # type: ignore[attr-defined]
            message = ("error", error)
        try:
            connection.send(message)
        except (pickle.PicklingError, TypeError, AttributeError) as error:
            connection.send(("error", InternalError("an answer", RuntimeError(str(error)))))
        except (OSError, MemoryError):
            break
        if message[0] != "ok":  # the heap may be in pieces: start afresh
            break
    os._exit(0)  # no atexit handlers or buffered output of the parent's copy
