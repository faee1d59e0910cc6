"""``summary.json`` and CSV time series, written by rank 0."""

import csv
import json
import math
import os


def _clean(obj):
    if isinstance(obj, float) and not math.isfinite(obj):
        return str(obj)
    if isinstance(obj, dict):
        return {k: _clean(v) for k, v in obj.items()}
    if isinstance(obj, (list, tuple)):
        return [_clean(v) for v in obj]
    if hasattr(obj, "item"):  # numpy scalars
        return _clean(obj.item())
    return obj


def write_json_atomic(path, obj):
    """Write ``obj`` as JSON to a temporary file, then rename it over ``path`` (never a torn file)."""
    tmp = f"{path}.{os.getpid()}.tmp"
    with open(tmp, "w") as fh:
        json.dump(_clean(obj), fh, indent=1, default=str)
        fh.write("\n")
    os.replace(tmp, path)


class CsvSeries:
    """A CSV time series (one row per diagnostics step); on restart, rows after the restart step are dropped."""

    def __init__(self, path, restart_step=None):
        self.path, self.columns = path, None
        if restart_step is not None and os.path.isfile(path):
            with open(path) as fh:
                rows = list(csv.reader(fh))
            if rows:
                self.columns = rows[0]
                keep = [r for r in rows[1:] if r and int(float(r[0])) <= restart_step]
                with open(path, "w", newline="") as fh:
                    csv.writer(fh).writerows([rows[0]] + keep)
        elif os.path.exists(path):
            os.remove(path)

    def append(self, row):
        new = self.columns is None
        if new:
            self.columns = list(row)
        with open(self.path, "a", newline="") as fh:
            w = csv.writer(fh)
            if new:
                w.writerow(self.columns)
            w.writerow([_fmt(row.get(c, "")) for c in self.columns])
            fh.flush()


def _fmt(v):
    return repr(float(v)) if isinstance(v, float) else v
