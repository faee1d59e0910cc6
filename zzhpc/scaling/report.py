"""A sweep's tables and figures: ``runs.csv``, ``scaling.csv``, ``scaling.md`` and four PNG plots.

Plots (matplotlib, Agg): time per step (median, min-max bars) against ranks on log-log axes with
the ideal line; speedup and parallel efficiency against ideal; per-phase time per step stacked
for each rank count.
"""

import csv
import os

from .collect import aggregate, load_sweep, machine, run_rows

PLOTS = ("time_per_step.png", "speedup.png", "efficiency.png", "breakdown.png")


def write_csv(path, rows):
    cols = []
    for r in rows:
        cols += [k for k in r if k not in cols]
    with open(path, "w", newline="") as fh:
        w = csv.DictWriter(fh, fieldnames=cols)
        w.writeheader()
        for r in rows:
            w.writerow({k: ("" if r.get(k) is None else r.get(k)) for k in cols})


def _g(v, fmt=".4g"):
    return "-" if v is None else format(v, fmt)


def markdown(meta, agg, phases, mach, command=None):
    """The sweep as a Markdown section: machine, then one table row per rank count."""
    unit = agg[0]["unit"] if agg else "unit"
    lines = [
        f"**{meta['solver']}**, {meta['mode']} scaling over `{meta['key']}`, "
        f"{meta['repeat']} repeat(s) per rank count.",
        "",
        f"Machine: {mach['cpu_model']}, {mach['logical_cpus']} logical CPUs, host(s) {mach['hosts']}; "
        f"backend {mach['backend']} on {mach['device']} ({mach['dtype']}); {mach['mpi_library']}.",
    ]
    if mach.get("load_average"):
        lo, hi = mach["load_average"]
        lines.append(f"Load average (1 min) before the runs: {lo:.1f} to {hi:.1f}.")
    if command:
        lines.append(f"Command: `{command}`")
    lines.append("")
    head = (
        ["ranks", f"{unit}s", f"{unit}s/rank", "runs", "t/step median [s]", "min", "max", "speedup", "efficiency"]
        + [f"{p} [s/step]" for p in phases]
        + ["memory HWM/rank [MB]"]
    )
    lines.append("| " + " | ".join(head) + " |")
    lines.append("|" + "|".join("---:" for _ in head) + "|")
    for a in agg:
        cells = (
            [
                str(a["ranks"]),
                _g(a["units"], ".6g"),
                _g(a["units_per_rank"], ".6g"),
                str(a["runs"]),
                _g(a["t_median_s"]),
                _g(a["t_min_s"]),
                _g(a["t_max_s"]),
                _g(a["speedup"], ".3f"),
                _g(a["efficiency"], ".3f"),
            ]
            + [_g(a.get(f"{p}_s"), ".3g") for p in phases]
            + [_g(a["memory_max_mb"], ".1f")]
        )
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def plot(agg, phases, meta, outdir, dpi=72):
    """The four PNG figures; returns their paths."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    p = [a["ranks"] for a in agg]
    med = [a["t_median_s"] for a in agg]
    lo = [a["t_median_s"] - a["t_min_s"] for a in agg]
    hi = [a["t_max_s"] - a["t_median_s"] for a in agg]
    title = f"{meta['solver']} {meta['mode']} scaling"
    paths = []

    def save(fig, name):
        path = os.path.join(outdir, name)
        fig.tight_layout()
        fig.savefig(path, dpi=dpi)
        plt.close(fig)
        paths.append(path)

    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    ax.errorbar(p, med, yerr=[lo, hi], marker="o", capsize=3, label="measured (median, min-max)")
    ideal = [med[0] * (p[0] / x if meta["mode"] == "strong" else 1.0) for x in p]
    ax.plot(p, ideal, "k--", lw=1, label="ideal")
    ax.set_xscale("log", base=2)
    ax.set_yscale("log")
    ax.set_xlabel("ranks")
    ax.set_ylabel("time per step [s]")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    save(fig, PLOTS[0])

    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    ax.plot(p, [a["speedup"] for a in agg], "o-", label="measured")
    ax.plot(p, [x / p[0] for x in p], "k--", lw=1, label="ideal")
    ax.set_xlabel("ranks")
    ax.set_ylabel("scaled speedup" if meta["mode"] == "weak" else "speedup")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    save(fig, PLOTS[1])

    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    ax.plot(p, [a["efficiency"] for a in agg], "o-", label="measured")
    ax.axhline(1.0, color="k", ls="--", lw=1, label="ideal")
    ax.set_ylim(0, max(1.1, max(a["efficiency"] for a in agg) * 1.1))
    ax.set_xlabel("ranks")
    ax.set_ylabel("parallel efficiency")
    ax.set_title(title, fontsize=10)
    ax.legend(fontsize=7)
    save(fig, PLOTS[2])

    fig, ax = plt.subplots(figsize=(4.5, 3.4))
    x = list(range(len(p)))
    bottom = [0.0] * len(p)
    for ph in phases:
        vals = [a.get(f"{ph}_s") or 0.0 for a in agg]
        ax.bar(x, vals, bottom=bottom, label=ph)
        bottom = [b + v for b, v in zip(bottom, vals)]
    ax.plot(x, med, "k_", ms=20, mew=2, label="time per step")
    ax.set_xticks(x, [str(v) for v in p])
    ax.set_xlabel("ranks")
    ax.set_ylabel("time per step per phase [s]\n(mean over ranks)")
    ax.set_title(title + ": phases", fontsize=10)
    ax.legend(fontsize=7)
    save(fig, PLOTS[3])
    return paths


def write_report(sweep_dir, outdir=None, command=None, plots=True):
    """Write ``runs.csv``, ``scaling.csv``, ``scaling.md`` (and the PNGs) for a sweep folder."""
    outdir = outdir or sweep_dir
    os.makedirs(outdir, exist_ok=True)
    meta = load_sweep(sweep_dir)
    rows = run_rows(sweep_dir)
    agg, phases = aggregate(rows, meta["mode"])
    mach = machine(rows)
    write_csv(os.path.join(outdir, "runs.csv"), rows)
    write_csv(
        os.path.join(outdir, "scaling.csv"),
        [
            dict(
                a,
                cpu_model=mach["cpu_model"],
                logical_cpus=mach["logical_cpus"],
                backend=mach["backend"],
                mode=meta["mode"],
                solver=meta["solver"],
            )
            for a in agg
        ],
    )
    text = markdown(meta, agg, phases, mach, command)
    with open(os.path.join(outdir, "scaling.md"), "w") as fh:
        fh.write(text)
    paths = plot(agg, phases, meta, outdir) if plots and agg else []
    return {"rows": rows, "aggregate": agg, "phases": phases, "machine": mach, "markdown": text, "plots": paths}
