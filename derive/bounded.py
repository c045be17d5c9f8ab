"""Work that cannot run away: each problem, key and graded answer in a bounded worker process.

Symbolic work can grow without warning (an exponent tower, a huge simplification), and derive
runs on shared course servers over files students wrote. So the command line runs each unit of
work in a forked child process with an address-space limit (``resource.setrlimit``) and waits
for it at most a wall-clock limit; a child that overruns is killed, and the unit is reported as
``problem 'mt-3': gave up after 30 s (limit --time-limit)``, while the rest of a problem set
or a class still completes. The child sends its result (or its error) back pickled.

The Python API runs work in-process unless bounds are given (``bounded(...)`` as a context).
"""

from __future__ import annotations

import contextlib
import functools
import gc
import os
import pickle
import resource
import signal
import time
import traceback
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass
from typing import TYPE_CHECKING, Generic, TypeVar, cast

from derive.errors import DeriveError, InternalError

if TYPE_CHECKING:  # multiprocessing is imported when a worker starts: not for `derive --help`
    from multiprocessing.connection import Connection
    from multiprocessing.process import BaseProcess

T = TypeVar("T")

SECONDS = 60.0  # per problem, key or graded answer; no course problem comes near
MEMORY = 2 * 1024**3  # bytes of address space added to what the process already uses
OUT_OF_MEMORY = "ran out of memory (limit --memory-limit)"


class GaveUpError(DeriveError):
    """A problem, key or answer ran past its time or memory limit; the user sees which, the
    limit, and the option that raises it. The rest of a problem set or class still completes."""


@dataclass(frozen=True)
class Bounds:
    """How long and how much memory one unit of work may take."""

    seconds: float = SECONDS
    memory: int = MEMORY


_current: Bounds | None = None  # set by the command line (or ``bounded``); None: in-process


@contextlib.contextmanager
def bounded(bounds: Bounds | None) -> Iterator[None]:
    """Run the work started inside the block under ``bounds`` (None: in-process, unbounded)."""
    global _current
    saved, _current = _current, bounds
    try:
        yield
    finally:
        _current = saved


def run(work: Callable[[], T], *, what: str) -> T:
    """``work()``, in a bounded worker when bounds are set; ``what`` names it in a message
    ("problem 'mt-3'", "the answer for W2")."""
    if _current is None:
        return work()
    return start(work, what=what).result()


def start(work: Callable[[], T], *, what: str) -> Pending[T]:
    """Start ``work()`` in a bounded worker and return at once (several run side by side; each
    has its own time and memory limit). Without bounds the work is done here, now."""
    bounds = _current
    if bounds is None:
        try:
            return Pending(what, outcome=("ok", work()))
        except Exception as error:  # raised again by result(), as run() would have
            return Pending(what, outcome=("error", error))
    import multiprocessing

    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(work, sender, bounds, what), daemon=True)
    gc.freeze()  # the child's collections skip what it inherits: no copy-on-write of the heap
    child.start()
    sender.close()
    _warm_up()  # while the first worker runs: the ones forked after it start warm
    return Pending(what, bounds=bounds, child=child, receiver=receiver)


# What SymPy and NumPy import on the first use of a feature derive relies on: matrix
# derivatives (array expressions), assumptions beyond the old system, random draws. Not
# sympy.physics.units (0.4 s), which sp.simplify imports on its first call: derive calls it
# only as a last resort.
_LAZY_IMPORTS = (
    "sympy.tensor.array.expressions.arrayexpr_derivatives",
    "sympy.tensor.array.expressions.from_array_to_matrix",
    "sympy.tensor.array.expressions.from_matrix_to_array",
    "sympy.assumptions.satask",
    "sympy.assumptions.lra_satask",
    "sympy.assumptions.handlers.calculus",
    "sympy.assumptions.handlers.matrices",
    "sympy.stats.compound_rv",
    "sympy.concrete.delta",
    "numpy.random",
)


@functools.cache
def _warm_up() -> None:
    """Load in this process what every worker would otherwise load again for itself: the
    solving code and every problem kind, both grammars' parsers with their lexers compiled,
    and the modules SymPy and NumPy import on first use (``_LAZY_IMPORTS``). A worker is a
    fork, so it inherits all of it; this process waits for workers anyway."""
    import importlib

    from derive import grammars, latex_reader, parse, problems, solve  # noqa: F401

    for name in (*_LAZY_IMPORTS, *problems.KINDS.values()):
        importlib.import_module(name)
    grammars.build_scanners(latex_reader.parser())
    grammars.build_scanners(parse.parser())


class Pending(Generic[T]):
    """Work started by ``start``: a worker that has until its deadline (start + the time
    limit) to send back its result, or an outcome already known."""

    def __init__(
        self,
        what: str,
        *,
        outcome: tuple[str, object] | None = None,
        bounds: Bounds | None = None,
        child: BaseProcess | None = None,
        receiver: Connection | None = None,
    ) -> None:
        self.what = what
        self.outcome = outcome
        self.bounds = bounds or Bounds()
        self.deadline = time.monotonic() + self.bounds.seconds
        self.child = child
        self.receiver = receiver

    @property
    def done(self) -> bool:
        """Whether the outcome is known (the worker has answered, overrun or died)."""
        return self.outcome is not None

    def result(self) -> T:
        """The work's result, waiting for it until the deadline; its error, or GaveUpError."""
        while not self.settle(max(0.0, self.deadline - time.monotonic())):
            pass
        assert self.outcome is not None
        status, payload = self.outcome
        if status == "ok":
            return cast(T, payload)
        if isinstance(payload, MemoryError):
            raise GaveUpError(_named(self.what, OUT_OF_MEMORY))
        assert isinstance(payload, BaseException)
        raise payload

    def settle(self, timeout: float = 0.0) -> bool:
        """Wait up to ``timeout`` seconds for the worker; whether the outcome is now known."""
        if self.outcome is not None:
            return True
        assert self.receiver is not None
        try:
            if not self.receiver.poll(timeout):
                if time.monotonic() < self.deadline:
                    return False
                seconds = f"{self.bounds.seconds:g} s"
                gave_up = GaveUpError(
                    _named(self.what, f"gave up after {seconds} (limit --time-limit)")
                )
                self.outcome = ("error", gave_up)
                return True
            try:
                self.outcome = self.receiver.recv()
            except (EOFError, OSError):  # killed by the kernel: out of memory
                self.outcome = ("error", GaveUpError(_named(self.what, OUT_OF_MEMORY)))
        except BaseException:
            self.cancel()
            raise
        self.cancel()
        return True

    def cancel(self) -> None:
        """Stop the worker (if it still runs) and release it; an unknown outcome stays so."""
        if self.receiver is not None:
            self.receiver.close()
            self.receiver = None
        if self.child is not None:
            if self.child.is_alive():
                self.child.kill()
            self.child.join()
            self.child = None


def wait_any(pending: Iterable[Pending[object]]) -> None:
    """Block until one of the unfinished ``pending`` finishes or overruns its deadline, and
    settle every one that has."""
    running = [p for p in pending if not p.done and p.receiver is not None]
    if not running:
        return
    timeout = max(0.0, min(p.deadline for p in running) - time.monotonic())
    from multiprocessing import connection

    ready = connection.wait([p.receiver for p in running if p.receiver is not None], timeout)
    for item in running:
        if item.receiver in ready or time.monotonic() >= item.deadline:
            item.settle()


def cores() -> int:
    """The cores this process may run on (workers to start at once)."""
    try:
        return len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        return os.cpu_count() or 1


def _child(work: Callable[[], object], sender: Connection, bounds: Bounds, what: str) -> None:
    """In the worker: limit memory, do the work, send back ("ok", result) or ("error", error)."""
    signal.signal(signal.SIGTERM, signal.SIG_DFL)
    signal.signal(signal.SIGINT, signal.SIG_IGN)  # Ctrl-C is the parent's to handle
    global _current
    _current = None
    used = _address_space()
    with contextlib.suppress(ValueError, OSError):  # a platform without RLIMIT_AS: time only
        resource.setrlimit(resource.RLIMIT_AS, (used + bounds.memory, used + bounds.memory))
    try:
        message: tuple[str, object] = ("ok", work())
    except MemoryError as error:
        message = ("error", error)
    except InternalError as error:  # a bug found nearer the work: keep where it happened
        error.remote_traceback = "".join(traceback.format_exception(error))
        message = ("error", error)
    except DeriveError as error:
        message = ("error", error)
    except Exception as error:  # a bug: raised again in the parent, which names the part
        error.remote_traceback = "".join(traceback.format_exception(error))  # type: ignore[attr-defined]
        message = ("error", error)
    try:
        sender.send(message)
    except (pickle.PicklingError, TypeError, AttributeError, MemoryError) as error:
        fallback = InternalError(what or "the input", RuntimeError(f"result not sent: {error}"))
        sender.send(("error", fallback))
    finally:
        sender.close()
    os._exit(0)  # no atexit handlers or buffered output of the parent's copy


def _address_space() -> int:
    """Bytes of virtual memory this process maps now (the child inherits all of it)."""
    try:
        with open(f"/proc/{os.getpid()}/statm", encoding="ascii") as statm:
            pages = int(statm.read().split()[0])
        return pages * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0


def _named(what: str, message: str) -> str:
    return f"{what}: {message}" if what else message
