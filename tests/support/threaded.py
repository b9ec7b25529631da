"""An asyncio event loop in a daemon thread, for servers that must outlive ``asyncio.run``.

CLI tests call ``main()``, which runs its own loop with ``asyncio.run``; loopback servers
started on that loop would die with it, so they live on this one instead.
"""

from __future__ import annotations

import asyncio
import contextlib
import threading
from collections.abc import Coroutine
from contextlib import AbstractAsyncContextManager
from types import TracebackType
from typing import Any, Self, TypeVar

T = TypeVar("T")


class BackgroundLoop:
    """Runs an event loop in a daemon thread; :meth:`run` executes coroutines on it.

    Use as a context manager. On exit, contexts entered with :meth:`enter_async_context`
    are exited (servers stopped), pending tasks are cancelled and awaited, the loop is
    closed and the thread joined, so no transport outlives the block.
    """

    def __init__(self, *, name: str = "starttls-check-loopback") -> None:
        self._name = name
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._stack = contextlib.AsyncExitStack()

    @property
    def loop(self) -> asyncio.AbstractEventLoop:
        """The running loop; valid between :meth:`start` and :meth:`close`."""
        if self._loop is None:
            raise RuntimeError("background loop not started")
        return self._loop

    def start(self) -> None:
        """Start the thread and wait until its loop is running."""
        if self._thread is not None:
            raise RuntimeError("background loop already started")
        loop = asyncio.new_event_loop()
        ready = threading.Event()
        loop.call_soon(ready.set)
        self._thread = threading.Thread(
            target=self._main, args=(loop,), name=self._name, daemon=True
        )
        self._thread.start()
        ready.wait()
        self._loop = loop

    def run(self, coro: Coroutine[Any, Any, T], timeout: float | None = 30.0) -> T:
        """Run ``coro`` on the background loop and return its result.

        On timeout the coroutine is cancelled and ``TimeoutError`` raised.
        """
        if self._loop is None:
            coro.close()  # else "coroutine was never awaited", an error under pytest
            raise RuntimeError("background loop not started")
        future = asyncio.run_coroutine_threadsafe(coro, self._loop)
        try:
            return future.result(timeout)
        except TimeoutError:
            if future.done():
                raise  # the coroutine's own TimeoutError, not ours
            future.cancel()
            raise TimeoutError(f"coroutine did not finish within {timeout} s") from None

    def enter_async_context(self, cm: AbstractAsyncContextManager[T]) -> T:
        """Enter ``cm`` (a server, say) on the loop; :meth:`close` exits it there."""
        return self.run(self._stack.enter_async_context(cm))

    def close(self) -> None:
        """Exit entered contexts, stop the loop (its thread cancels what is pending)
        and join the thread."""
        loop, thread = self._loop, self._thread
        if loop is None or thread is None:
            return
        try:
            self.run(self._stack.aclose())
        finally:
            loop.call_soon_threadsafe(loop.stop)
            thread.join()
            self._loop = self._thread = None

    def __enter__(self) -> Self:
        self.start()
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    @staticmethod
    def _main(loop: asyncio.AbstractEventLoop) -> None:
        asyncio.set_event_loop(loop)
        try:
            loop.run_forever()
            # Same clean-up as asyncio.run: cancel leftovers so their finally blocks
            # close transports (otherwise ResourceWarning, an error in our tests).
            pending = asyncio.all_tasks(loop)
            for task in pending:
                task.cancel()
            loop.run_until_complete(asyncio.gather(*pending, return_exceptions=True))
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.run_until_complete(loop.shutdown_default_executor())
        finally:
            asyncio.set_event_loop(None)
            loop.close()
