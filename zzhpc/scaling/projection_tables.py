"""Markdown tables of projections: one target, or the headline targets of docs/scaling.md.

What is projected comes from each calibrated solver (:meth:`~zzhpc.core.Solver.projections`): its
variants (md: LJ as calibrated, and mW water from the LJ calibration with the measured Stillinger-Weber
cost ratio), their headline targets (10^12 particles; a 10^15-point mesh) and the geometry of a target
(spectral: slabs or pencils). The tables add the largest problem of each variant that fits on the cards.
"""

from .targets import Cards, largest_fitting, params_for, project


def cards_from(args, count=None):
    return Cards(
        count=count or args.cards,
        memory_gb=args.memory_gb,
        link_GBps=args.link_GBps,
        latency_us=args.latency_us,
        compute_speedup=args.compute_speedup,
        fixed_memory_gb=args.fixed_memory_gb,
    )


def _solver(name):
    from ..core.registry import get_solver

    return get_solver(name)


def projections(cal, args, headline=False):
    """The solver's :class:`~zzhpc.core.perfmodel.Projection` list for ``cal`` and the command's options."""
    return _solver(cal["solver"]).projections(cal, vars(args), headline)


def _fmt_bytes(b):
    return f"{b / 1e9:.3g} GB" if b >= 1e8 else f"{b / 1e6:.3g} MB"


HEAD = (
    "| target | cards | time/step [s] | compute | halo | all-to-all | reductions | memory/card | fits "
    "| cards needed | efficiency |\n|---|---:|---:|---:|---:|---:|---:|---:|---|---:|---:|\n"
)


def row(label, out):
    need = out["cards_needed"]
    need = "never (fixed memory > card)" if need is None else f"{need:,}"
    note = f" ({out['note']})" if out.get("note") else ""
    return (
        f"| {label}{note} | {out['ranks']:,} | {out['time_per_step_s']:.3g} | {out['compute_s']:.3g} | "
        f"{out['halo_s']:.3g} | {out['alltoall_s']:.3g} | {out['reduction_s']:.3g} | "
        f"{_fmt_bytes(out['memory_per_rank_bytes'])} | {'yes' if out['fits'] else '**NO**'} | {need} | "
        f"{_num(out['efficiency'], '.3f')} |\n"
    )


def _num(v, fmt):
    return "-" if v is None else format(v, fmt)


def target_table(cal, targets, args, projection=None):
    """A table of ``(label, units)`` targets, projected as ``projection`` says (default: the solver's
    first projection for these options)."""
    pj = projection or projections(cal, args)[0]
    cards = cards_from(args)
    text = HEAD
    for label, units in targets:
        text += row(label, project(cal, params_for(cal["solver"], units, **pj.geometry), cards, **pj.model))
    return text


def assumptions(args):
    return (
        f"Cards: {args.memory_gb:g} GB each, links {args.link_GBps:g} GB/s per card, latency "
        f"{args.latency_us:g} us, compute speed-up {args.compute_speedup:g} over one measured rank; "
        "efficiency = compute / (compute + communication).\n"
    )


def headline(cals, args):
    out = [assumptions(args)]
    variants = [(cal, projections(cal, args, headline=True)) for cal in cals]
    for cal, pjs in variants:
        rows = [(pj, target) for pj in pjs for target in pj.headline]
        if not rows:
            continue
        heading = next(
            (pj.heading for pj in pjs if pj.heading), f"**{cal['solver']}** (calibration: {cal.get('source', '?')})"
        )
        out.append(f"\n{heading}\n\n{HEAD}")
        out.extend(target_table(cal, [target], args, pj).split("\n", 2)[2] for pj, target in rows)
        out.extend(pj.note(cal, args) for pj in pjs if pj.note)
    out.append(f"\n**Largest problem that fits on {args.cards:,} cards of {args.memory_gb:g} GB**\n\n" + HEAD)
    cards = cards_from(args)
    for cal, pjs in variants:
        s = cal["solver"]
        name = cal.get("name") or s  # "md (mixed)": a calibration of one precision among several
        for pj in pjs:
            units, pr = largest_fitting(cal, s, cards, geometry=pj.geometry, model=pj.model)
            if units is None:
                out.append(f"| {name}{pj.tag}: nothing fits | | | | | | | | | | |\n")
                continue
            label = f"{name}{pj.tag}: {units:.3g} {cal['unit']}s" + _solver(s).describe_units(units)
            out.append(row(label, pr))
    return "".join(out)
