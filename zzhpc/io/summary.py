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
    """A CSV time series (one row per diagnostics step); on restart, rows after the restart step are dropped.

    The file opens with ``#`` comment lines: the run's provenance record (``# zzhpc provenance: {json}``)
    and the units of the columns (``# units: temp=K, pe=kcal/mol, ...``) where the solver declares them.
    Read it with :func:`read_csv_rows` (or ``pandas.read_csv(path, comment="#")``)."""

    def __init__(self, path, restart_step=None, provenance=None, units=None):
        self.path, self.columns = path, None
        self.comments = []
        if provenance is not None:
            self.comments.append("# zzhpc provenance: " + json.dumps(_clean(provenance), default=str))
        if units:
            self.comments.append("# units: " + ", ".join(f"{k}={v}" for k, v in units.items()))
        if restart_step is not None and os.path.isfile(path):
            with open(path) as fh:
                lines = fh.read().splitlines()
            comments = [line for line in lines if line.startswith("#")]
            rows = list(csv.reader(line for line in lines if not line.startswith("#")))
            if rows:
                self.columns = rows[0]
                keep = [r for r in rows[1:] if r and int(float(r[0])) <= restart_step]
                with open(path, "w", newline="") as fh:
                    fh.write("".join(c + "\n" for c in comments or self.comments))
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
                fh.write("".join(c + "\n" for c in self.comments))
                w.writerow(self.columns)
            w.writerow([_fmt(row.get(c, "")) for c in self.columns])
            fh.flush()


def read_csv_rows(path):
    """The rows of a CSV time series as dicts of strings, ``#`` comment lines (provenance, units) skipped."""
    with open(path, newline="") as fh:
        return list(csv.DictReader(line for line in fh if not line.startswith("#")))


def read_csv_comments(path):
    """``{"provenance": dict or None, "units": {column: unit}}`` from a CSV series' comment lines."""
    out = {"provenance": None, "units": {}}
    with open(path) as fh:
        for line in fh:
            if not line.startswith("#"):
                break
            if line.startswith("# zzhpc provenance: "):
                out["provenance"] = json.loads(line[len("# zzhpc provenance: ") :])
            elif line.startswith("# units: "):
                out["units"] = dict(
                    item.split("=", 1) for item in line[len("# units: ") :].strip().split(", ") if "=" in item
                )
    return out


def _fmt(v):
    return repr(float(v)) if isinstance(v, float) else v
