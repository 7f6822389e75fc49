"""Run a Hypothesis property in a worker thread while the server and its clients stay on the test's event loop."""

from __future__ import annotations

import asyncio
from collections.abc import Callable, Coroutine
from typing import Any, TypeVar

T = TypeVar("T")


class LoopBridge:
    """Hypothesis's @given is synchronous and the server is not: examples run in a thread and hand
    each coroutine to the loop that runs the server, one at a time, waiting for its result."""

    def __init__(self, loop: asyncio.AbstractEventLoop, timeout: float = 30.0) -> None:
        self.loop = loop
        self.timeout = timeout

    def run(self, coroutine: Coroutine[Any, Any, T]) -> T:
        return asyncio.run_coroutine_threadsafe(coroutine, self.loop).result(self.timeout)

    @classmethod
    async def drive(cls, property_test: Callable[[LoopBridge], None]) -> None:
        """Run property_test(bridge) in a worker thread; its failures are raised here."""
        bridge = cls(asyncio.get_running_loop())
        await asyncio.to_thread(property_test, bridge)
