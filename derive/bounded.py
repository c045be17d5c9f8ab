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
import multiprocessing
import os
import pickle
import resource
import signal
import traceback
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from multiprocessing.connection import Connection
from typing import TypeVar, cast

from derive.errors import DeriveError, InternalError

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
    bounds = _current
    if bounds is None:
        return work()
    context = multiprocessing.get_context("fork")
    receiver, sender = context.Pipe(duplex=False)
    child = context.Process(target=_child, args=(work, sender, bounds, what), daemon=True)
    child.start()
    sender.close()
    try:
        if not receiver.poll(bounds.seconds):
            seconds = f"{bounds.seconds:g} s"
            raise GaveUpError(_named(what, f"gave up after {seconds} (limit --time-limit)"))
        try:
            status, payload = receiver.recv()
        except (EOFError, OSError):  # killed by the kernel: out of memory
            raise GaveUpError(_named(what, OUT_OF_MEMORY)) from None
    finally:
        receiver.close()
        if child.is_alive():
            child.kill()
        child.join()
    if status == "ok":
        return cast(T, payload)
    if isinstance(payload, MemoryError):
        raise GaveUpError(_named(what, OUT_OF_MEMORY))
    assert isinstance(payload, BaseException)
    raise payload


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
