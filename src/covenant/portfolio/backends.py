"""Where a portfolio's agreements are evaluated: worker processes here, or a Dask cluster.

Both backends run ``portfolio.evaluate_chunk`` on batches of whole
agreements and hand the results back in the order the batches were made
(agreement-id order), so the report's bytes never depend on which worker
finished first. A bounded number of batches is in flight at a time: the
fact lines of the portfolio are never all in memory at once.

Worker processes are started with ``spawn``, never ``fork``: the
durable-rules C core is not safe to use in a child forked after the parent
used it (``forkserver`` would do as well, but its workers are not children
of this process, so ``getrusage`` could not count their memory). Each worker compiles each form once
(``pipeline.evaluator_for`` caches per process) and keeps it for every batch.

On Dask, each batch is one task. The rule files travel with the work (a
``FormSource`` scattered once to every worker and written to its temporary
folder), so workers need the ``covenant-monitor`` package, not this file
system. docs/portfolios.md says how to start a cluster.
"""

from __future__ import annotations

import asyncio
import multiprocessing
import os
import signal
import uuid
from collections import deque
from collections.abc import Callable, Iterable, Iterator
from concurrent.futures import Future, ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import AbstractContextManager
from types import TracebackType
from typing import Any

from covenant.pipeline import evaluator_for
from covenant.portfolio.work import Backend, Chunk, ChunkResult, FormSource, InProcess, evaluate_chunk


class BackendError(RuntimeError):
    """The cluster could not be reached or lost the work: the run cannot finish."""


def _ordered(submit: Callable[[Chunk], Any], work: Iterable[Chunk], window: int) -> Iterator[Any]:
    """Submit up to ``window`` chunks ahead; yield their futures' outcomes in submission order."""
    pending: deque[Any] = deque()
    for chunk in work:
        pending.append(submit(chunk))
        if len(pending) >= window:
            yield pending.popleft()
    yield from pending


def _warm(folders: tuple[str, ...], parent: int | None = None) -> None:
    """Die with the parent, then compile every form once when a worker starts, not inside the first batch."""
    from pathlib import Path

    if parent is not None:
        _die_with(parent)
    for folder in folders:
        evaluator_for(Path(folder))


def _die_with(parent: int) -> None:
    """Ask Linux to send SIGKILL to this worker when its parent dies, however it dies (even SIGKILL).

    A worker orphaned by a parent killed mid-run would otherwise evaluate on
    for nobody. Elsewhere (no prctl) the parent's own clean-up stops workers.
    """
    try:
        import ctypes

        libc = ctypes.CDLL(None, use_errno=True)
        pr_set_pdeathsig = 1
        libc.prctl(pr_set_pdeathsig, signal.SIGKILL, 0, 0, 0)
    except (OSError, AttributeError):  # pragma: no cover - not Linux
        return
    if os.getppid() != parent:  # the parent died before prctl took effect
        os._exit(1)


def _context() -> multiprocessing.context.BaseContext:
    """``spawn``: a fresh interpreter per worker, a direct child of this process (so its peak memory is counted)."""
    return multiprocessing.get_context("spawn")


class LocalPool(AbstractContextManager["LocalPool"]):
    """``--jobs N``: N worker processes on this machine."""

    ship_rules = False

    def __init__(self, jobs: int):
        if jobs < 1:
            raise ValueError("jobs must be 1 or more")
        self.workers = jobs
        self._pool: ProcessPoolExecutor | None = None
        self._folders: tuple[str, ...] = ()

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        if self._pool is not None:
            if error is not None:
                self._stop_workers()  # an error or a signal: the batches in flight are not wanted any more
            self._pool.shutdown(wait=True, cancel_futures=True)
            self._pool = None

    def _stop_workers(self) -> None:
        """Terminate every worker now, instead of waiting for the batch each is evaluating."""
        assert self._pool is not None
        processes = getattr(self._pool, "_processes", None) or {}
        for process in list(processes.values()):
            if process.is_alive():
                process.terminate()
        for process in list(processes.values()):
            process.join(timeout=5)

    def run(self, work: Iterable[Chunk], forms: dict[str, FormSource]) -> Iterator[ChunkResult]:
        folders = tuple(sorted(forms))
        if self._pool is None or folders != self._folders:
            if self._pool is not None:
                self._pool.shutdown(wait=True)
            self._pool = ProcessPoolExecutor(
                max_workers=self.workers, mp_context=_context(), initializer=_warm, initargs=(folders, os.getpid())
            )
            self._folders = folders
        pool = self._pool
        futures: Iterator[Future[ChunkResult]] = _ordered(
            lambda chunk: pool.submit(evaluate_chunk, chunk, forms), work, 2 * self.workers
        )
        for future in futures:
            try:
                result = future.result()
            except BrokenProcessPool as error:
                self._pool = None  # unusable now; a later run starts new workers
                raise BackendError(
                    "a worker process ended abruptly (killed, out of memory, or a crash in the rule engine); "
                    "a script that starts workers must run them under `if __name__ == '__main__':`"
                ) from error
            yield result


PROBE_SECONDS = 10.0
"""How long a scheduler address may take to say it is one."""


def probe_scheduler(address: str, timeout: float = PROBE_SECONDS) -> None:
    """Ask ``address`` who it is, within ``timeout``; ``BackendError`` unless a Dask scheduler answers.

    ``distributed.Client`` on an unknown scheme raised ValueError and then
    spent 60 seconds closing itself when collected; on a port that answers
    but speaks something else (a web server) it waited for ever. One bounded
    question first turns both into a one-line error.
    """
    from distributed.comm import connect

    async def identity() -> Any:
        comm = await connect(address, timeout=timeout)
        try:
            await comm.write({"op": "identity", "reply": True})
            return await comm.read()
        finally:
            comm.abort()

    try:
        answer = asyncio.run(asyncio.wait_for(identity(), timeout + 1))
    except ValueError as error:
        raise BackendError(f"--scheduler {address!r} is not a Dask address (tcp://host:8786): {error}") from None
    except TimeoutError:
        raise BackendError(f"{address} answers but is not a Dask scheduler (no reply in {timeout:g} s)") from None
    except OSError as error:
        raise BackendError(f"cannot reach the Dask scheduler at {address}: {error}") from None
    except Exception as error:  # the peer sent bytes the Dask protocol cannot read
        raise BackendError(f"{address} is not a Dask scheduler ({type(error).__name__})") from None
    if not isinstance(answer, dict) or answer.get("type") != "Scheduler":
        raise BackendError(f"{address} is not a Dask scheduler")


class DaskCluster(AbstractContextManager["DaskCluster"]):
    """``--scheduler ADDRESS``: one task per batch on a Dask distributed cluster."""

    ship_rules = True

    def __init__(self, address: str, *, timeout: float = 30.0):
        try:
            from distributed import Client
        except ImportError:  # pragma: no cover - the `cluster` extra is not installed
            raise BackendError("--scheduler needs Dask distributed: pip install 'covenant-monitor[cluster]'") from None
        probe_scheduler(address, min(timeout, PROBE_SECONDS))
        try:
            self._client = Client(address, set_as_default=False, timeout=timeout)
        except (OSError, TimeoutError, ValueError) as error:
            raise BackendError(f"cannot reach the Dask scheduler at {address}: {error}") from error
        threads = sum(w.get("nthreads", 1) for w in self._client.scheduler_info()["workers"].values())
        if threads == 0:
            self._client.close()
            raise BackendError(f"the Dask scheduler at {address} has no workers")
        self.workers = threads

    def __exit__(
        self, kind: type[BaseException] | None, error: BaseException | None, trace: TracebackType | None
    ) -> None:
        self._client.close()

    def run(self, work: Iterable[Chunk], forms: dict[str, FormSource]) -> Iterator[ChunkResult]:
        client = self._client
        token = uuid.uuid4().hex[:12]
        [shared] = client.scatter([forms], broadcast=True, hash=False)
        try:
            futures = _ordered(
                lambda chunk: client.submit(
                    evaluate_chunk, chunk, shared, pure=False, key=f"covenant-{token}-{chunk.number}"
                ),
                work,
                2 * self.workers,
            )
            for future in futures:
                try:
                    result: ChunkResult = future.result()
                except (OSError, TimeoutError) as error:
                    raise BackendError(f"the Dask cluster lost a batch: {error}") from error
                finally:
                    future.release()
                yield result
        finally:
            shared.release()


class _InProcessContext(InProcess, AbstractContextManager["_InProcessContext"]):
    def __exit__(self, *_: object) -> None:
        return None


def backend_for(jobs: int = 1, scheduler: str | None = None) -> AbstractContextManager[Backend]:
    """The backend a command line asks for: a Dask cluster, N local processes, or this process."""
    if scheduler:
        return DaskCluster(scheduler)
    if jobs > 1:
        return LocalPool(jobs)
    return _InProcessContext()
