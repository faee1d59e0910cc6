"""Markdown tables of projections: one target, or the headline targets of docs/scaling.md.

Headline targets: 10^12 water molecules (mW, from the LJ calibration with the measured
Stillinger-Weber cost ratio) and 10^12 LJ atoms; a 10^15-point mesh (spectral DNS at N = 10^5,
pencils; the explicit heat stencil and the incompressible PETSc solver at 10^5 cubed); and the
largest problem of each calibrated solver that fits on the cards.
"""
from .targets import (
    MW_DENSITY_PER_A3,
    MW_GHOST_CUT_A,
    Cards,
    largest_fitting,
    params_for,
    project,
)


def cards_from(args, count=None):
    return Cards(count=count or args.cards, memory_gb=args.memory_gb, link_GBps=args.link_GBps,
                 latency_us=args.latency_us, compute_speedup=args.compute_speedup,
                 fixed_memory_gb=args.fixed_memory_gb)


def _geometry(cal, args, water=None):
    water = water if water is not None else getattr(args, "water", "none") == "mW"
    if cal["solver"] == "md" and water:
        ratios = {"cost_ratio": args.sw_cost_ratio, "memory_ratio": getattr(args, "sw_memory_ratio", 1.0)}
        return {"density": MW_DENSITY_PER_A3, "ghost_cut": MW_GHOST_CUT_A}, ratios
    if cal["solver"] == "spectral":
        return {"decomposition": args.decomposition}, {}
    if cal["solver"] == "incompressible":
        # The calibration runs' iterations per step; at the target they are assumed unchanged.
        pts = [q["params"] for q in cal.get("points", []) if "pressure_its" in q["params"]]
        if pts:
            return {k: sum(q[k] for q in pts) / len(pts) for k in ("pressure_its", "momentum_its")}, {}
    return {}, {}


def _fmt_bytes(b):
    return f"{b / 1e9:.3g} GB" if b >= 1e8 else f"{b / 1e6:.3g} MB"


HEAD = ("| target | cards | time/step [s] | compute | halo | all-to-all | reductions | memory/card | fits "
        "| cards needed | efficiency |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n")


def row(label, out):
    need = out["cards_needed"]
    need = "never (fixed memory > card)" if need is None else f"{need:,}"
    note = f" ({out['note']})" if out.get("note") else ""
    return (f"| {label}{note} | {out['ranks']:,} | {out['time_per_step_s']:.3g} | {out['compute_s']:.3g} | "
            f"{out['halo_s']:.3g} | {out['alltoall_s']:.3g} | {out['reduction_s']:.3g} | "
            f"{_fmt_bytes(out['memory_per_rank_bytes'])} | {'yes' if out['fits'] else '**NO**'} | {need} | "
            f"{_num(out['efficiency'], '.3f')} |\n")


def _num(v, fmt):
    return "-" if v is None else format(v, fmt)


def target_table(cal, targets, args, water=None):
    geo, model = _geometry(cal, args, water)
    cards = cards_from(args)
    text = HEAD
    for label, units in targets:
        text += row(label, project(cal, params_for(cal["solver"], units, **geo), cards, **model))
    return text


def assumptions(args):
    return (f"Cards: {args.memory_gb:g} GB each, links {args.link_GBps:g} GB/s per card, latency "
            f"{args.latency_us:g} us, compute speed-up {args.compute_speedup:g} over one measured rank; "
            "efficiency = compute / (compute + communication).\n")


def spectral_fit_note(cal, args, points):
    """The memory arithmetic of a spectral mesh of ``points`` on the cards, in plain words."""
    room = args.cards * args.memory_gb * 1e9 / points
    b = cal["mem_bytes_per_unit"]
    return (f"\nA {points:.3g}-point mesh on {args.cards:,} cards of {args.memory_gb:g} GB leaves "
            f"{args.cards:,} x {args.memory_gb:g}e9 B / {points:.3g} = {room:.3g} bytes per point; this "
            f"calibration needs {b:.3g}. The velocity field alone, three float32 components, is 12 bytes per "
            f"point (even stored only on the 2/3-rule modes, 12 x (2/3)^3 = 3.6, with nothing left for a "
            f"Runge-Kutta register or a transform), so such a mesh {'fits' if b <= room else 'cannot fit'}.\n")


def headline(cals, args):
    by = {c["solver"]: c for c in cals}
    out = [assumptions(args)]
    if "md" in by:
        out.append(f"\n**MD, 10^12 particles** (calibration: {by['md'].get('source', '?')}). mW water: "
                   f"cost per particle-step = {args.sw_cost_ratio:g} x LJ, bytes per particle = "
                   f"{getattr(args, 'sw_memory_ratio', 1.0):g} x LJ (both measured, docs/mw.md), "
                   f"density {MW_DENSITY_PER_A3} per A^3, ghost cut {MW_GHOST_CUT_A:.2f} A.\n\n")
        out.append(HEAD + target_table(by["md"], [("10^12 mW water molecules", 1e12)], args, True)
                   .split("\n", 2)[2])
        out.append(target_table(by["md"], [("10^12 LJ atoms", 1e12)], args, False).split("\n", 2)[2])
    labels = {"spectral": "spectral DNS 100000^3 (10^15 points)", "heat": "heat stencil 100000^3",
              "incompressible": "incompressible (PETSc, GAMG) 100000^3"}
    for s in ("spectral", "heat", "incompressible"):
        if s in by:
            label = labels[s]
            out.append(f"\n**{s}, 10^15-point mesh** (calibration: {by[s].get('source', '?')})\n\n")
            out.append(target_table(by[s], [(label, 1e15)], args))
            if s == "spectral":
                out.append(spectral_fit_note(by[s], args, 1e15))
    out.append(f"\n**Largest problem that fits on {args.cards:,} cards of {args.memory_gb:g} GB**\n\n"
               + HEAD)
    cards = cards_from(args)
    for s, cal in by.items():
        variants = [(False, "")] + ([(True, " (mW water)")] if s == "md" else [])
        for water, tag in variants:
            geo, model = _geometry(cal, args, water)
            units, pr = largest_fitting(cal, s, cards, geometry=geo, model=model)
            if units is None:
                out.append(f"| {s}{tag}: nothing fits | | | | | | | | | | |\n")
                continue
            label = f"{s}{tag}: {units:.3g} {cal['unit']}s"
            if s in ("heat", "spectral", "incompressible"):
                label += f" ({round(units ** (1 / 3)):,}^3)"
            out.append(row(label, pr))
    return "".join(out)
