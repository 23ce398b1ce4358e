"""Per-tenant request limits, counted in fixed one-minute windows in this process's memory."""

import time
import tomllib
from typing import Protocol


class Limiter(Protocol):
    def allow(self, tenant: str) -> bool: ...


def load_limits(path: str) -> dict[str, int]:
    with open(path, "rb") as handle:
        table = tomllib.load(handle)
    default = int(table.get("default_per_minute", 600))
    limits = {name: int(value) for name, value in table.get("tenants", {}).items()}
    limits.setdefault("*", default)
    return limits


class WindowLimiter:
    def __init__(self, limits: dict[str, int]) -> None:
        self.limits = limits
        self.window = 0
        self.counts: dict[str, int] = {}

    def allow(self, tenant: str) -> bool:
        window = int(time.time() // 60)
        if window != self.window:  # a new minute: forget the old counts
            self.window, self.counts = window, {}
        used = self.counts.get(tenant, 0)
        if used >= self.limits.get(tenant, self.limits["*"]):
            return False
        self.counts[tenant] = used + 1
        return True
