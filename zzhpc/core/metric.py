"""One checked number of a validation case, and its pass rule."""

from __future__ import annotations

from dataclasses import dataclass


@dataclass
class Metric:
    """One checked number of a validation case."""

    name: str
    measured: float | None
    reference: float
    tolerance: float
    mode: str = "abs"  # 'abs': |m - r| <= tol; 'rel': |m - r| <= tol |r|; 'max': m <= tol; 'min': m >= tol
    note: str = ""

    @property
    def passed(self) -> bool:
        return bool(self._passed())

    def _passed(self) -> bool:
        m, r, t = self.measured, self.reference, self.tolerance
        if m is None or m != m:
            return False
        if self.mode == "abs":
            return abs(m - r) <= t
        if self.mode == "rel":
            return abs(m - r) <= t * abs(r)
        if self.mode == "max":
            return m <= t
        if self.mode == "min":
            return m >= t
        raise ValueError(self.mode)
