"""Hypothesis profiles for the fuzz tests: "ci" (the default, sized for `make test`) and "fuzz" (`make fuzz`)."""

from __future__ import annotations

import os
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, Phase, settings

# Every example talks to a real server: no deadline (a cold database page can take a while), and
# the generated data is far from what Hypothesis calls too slow or too large.
_COMMON: dict[str, Any] = {
    "deadline": None,
    "suppress_health_check": [HealthCheck.too_slow, HealthCheck.data_too_large, HealthCheck.filter_too_much],
    "print_blob": True,
}

# How many examples each property gets per run, by profile; tests scale their own numbers from it.
EXAMPLES = {"ci": 1, "fuzz": 25}

settings.register_profile(
    "ci",
    max_examples=60,
    # The same examples on every run: `make test` stays a yes-or-no answer, never a lottery.
    derandomize=True,
    database=None,
    # Shrinking talks to the server too; in CI a failure's first example is report enough.
    phases=[Phase.explicit, Phase.generate],
    **_COMMON,
)
settings.register_profile("fuzz", max_examples=1500, **_COMMON)

PROFILE = os.environ.get("FUZZ_PROFILE", "ci")
if PROFILE not in EXAMPLES:
    raise ValueError(f"FUZZ_PROFILE must be one of {sorted(EXAMPLES)}, not {PROFILE!r}")


def examples(ci: int) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
    """Settings for one property: `ci` examples under the ci profile, EXAMPLES["fuzz"] times as many under fuzz."""
    return settings(settings.get_profile(PROFILE), max_examples=ci * EXAMPLES[PROFILE])
