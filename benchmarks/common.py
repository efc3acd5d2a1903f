"""What the benchmarks share: the landing-page contract, its workload, stopping a child process.

The benchmarks run as scripts (``python benchmarks/engine.py``), so this directory is first on
``sys.path`` and they import this module as ``common``.
"""

from __future__ import annotations

import random
import signal
import subprocess
from collections.abc import Iterator

# The landing page's short form (SPEC section 2); tests/contracts.py keeps the tests' copy.
LANDING_CONDITION = "completed AND score > 3 AND NOT disputed"
LANDING_PAGE = f"""
active_for: 48h
review_window: 24h
price: $0.99
conditions: {LANDING_CONDITION}
on_timeout: confirm
"""


def picks(count: int, outcomes: int, seed: int = 7) -> Iterator[tuple[int, int, str, int | None]]:
    """A deterministic stream of ``(i, outcome, signal, score)``: completed (40%), a score 1-5
    (50%), disputed (10%); ``score`` is None except for score signals."""
    rng = random.Random(seed)
    for i in range(count):
        ref = rng.randrange(outcomes)
        pick = rng.random()
        if pick < 0.4:
            yield i, ref, "completed", None
        elif pick < 0.9:
            yield i, ref, "score", rng.randint(1, 5)
        else:
            yield i, ref, "disputed", None


def stop(
    process: subprocess.Popen[bytes], how: signal.Signals = signal.SIGTERM, timeout: float = 30
) -> None:
    """Send ``how`` to a running process, wait up to ``timeout`` seconds, then kill it."""
    if process.poll() is None:
        process.send_signal(how)
        try:
            process.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
