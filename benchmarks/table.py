"""The one table `make bench` prints, and the percentile its rows are made of."""

from __future__ import annotations

import statistics
from dataclasses import dataclass


@dataclass
class Row:
    measure: str
    orderbot: float
    anchor: float
    unit: str
    goal: str
    higher_is_better: bool = True

    @property
    def ratio(self) -> float:
        return self.orderbot / self.anchor if self.anchor else float("nan")


def render(rows: list[Row]) -> str:
    header = ("measure", "orderbot", "anchor", "ratio", "goal")
    lines = [
        (r.measure, f"{r.orderbot:,.1f} {r.unit}", f"{r.anchor:,.1f} {r.unit}", f"{r.ratio:.2f}", r.goal)
        for r in rows
    ]
    widths = [max(len(str(cell)) for cell in column) for column in zip(header, *lines, strict=True)]
    out = [" | ".join(h.ljust(w) for h, w in zip(header, widths, strict=True))]
    out.append("-+-".join("-" * w for w in widths))
    out += [" | ".join(str(c).ljust(w) for c, w in zip(line, widths, strict=True)) for line in lines]
    return "\n".join(out)


def percentile(values: list[float], q: int, method: str = "exclusive") -> float:
    """The ``q``-th percentile of ``values`` (statistics.quantiles' ``method``; one value is its own)."""
    if len(values) < 2:
        return values[0]
    return statistics.quantiles(values, n=100, method=method)[q - 1]
