"""Benchmark: matching synthetic rosters shaped like the example roster, end to end.

Prints markdown tables (docs/performance.md's tables are one run of this):

1. per size (1k, 10k, 50k mentees, half as many mentors, ~50 eligible mentors per mentee), each in
   its own process so peak memory is its own: reading the file, roster rows -> pairings (end to
   end), the solver inside it, a bare OR-Tools min-cost-flow solve of the same candidate edges in
   the same process, total fit against greedy-by-score, the most any matching could beat greedy
   by (the ceiling: the best fit minus load over all matchings within capacities, however many
   mentees they match), and against the bare solve's optimum;
2. CP-SAT with site quotas and a fairness floor at 2k mentees, one to one and in groups of 3;
3. a speed-mentoring event: 300 people, 8 rotations.

Usage: python bench/match_bench.py [--sizes 1000 10000 50000] [--repeat 2] [--skip-cp] [--skip-speed] [--group-size 3]
Times are the best of --repeat runs (the machine may be shared); they are wall-clock seconds, and
end-to-end / bare is also given in CPU seconds (time.process_time), which other work on a shared
machine disturbs far less. End-to-end runs and bare solves alternate so both see the same load.
"""

from __future__ import annotations

import argparse
import json
import math
import resource
import subprocess
import sys
import tempfile
import time
from collections import Counter
from datetime import date
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench._rows import Row, emit  # noqa: E402
from bench.match_synthetic import roster_rows, write_roster  # noqa: E402

WEEK = date(2027, 2, 1)
TIMEZONE = "America/Los_Angeles"


def _bare_flow(graph) -> tuple[float, int, int, float]:
    """A bare OR-Tools min-cost-flow solve over the graph's candidate edges, with the same seats:
    (seconds including building the arcs, placements, objective = fit minus load, CPU seconds)."""
    from ortools.graph.python import min_cost_flow

    from bot.matching.graph import load_costs

    seats = np.minimum(graph.capacity, graph.degree())
    seat_mentor, seat_cost = graph.seat_arcs(seats, load_costs)
    started, cpu_started = time.perf_counter(), time.process_time()
    n_e, n_m = len(graph.mentees), len(graph.mentors)
    fit = graph.fit
    tails = np.concatenate([np.zeros(n_e, dtype=np.int64), 1 + graph.edge_mentee, 1 + n_e + seat_mentor])
    heads = np.concatenate([1 + np.arange(n_e), 1 + n_e + graph.edge_mentor, np.full(len(seat_mentor), n_e + n_m + 1)])
    costs = np.concatenate([np.zeros(n_e, dtype=np.int64), int(fit.max()) - fit, seat_cost])
    flow = min_cost_flow.SimpleMinCostFlow()
    arcs = flow.add_arcs_with_capacity_and_unit_cost(tails, heads, np.ones(len(tails), dtype=np.int64), costs)
    flow.set_nodes_supplies(np.array([0, n_e + n_m + 1]), np.array([n_e, -n_e]))
    assert flow.solve_max_flow_with_min_cost() == flow.OPTIMAL
    seconds, cpu_seconds = time.perf_counter() - started, time.process_time() - cpu_started
    used = flow.flows(arcs) > 0
    edges = used[n_e:n_e + len(fit)]
    seat_used = used[n_e + len(fit):]
    return seconds, int(edges.sum()), int(fit[edges].sum() - seat_cost[seat_used].sum()), cpu_seconds


def _greedy(graph) -> tuple[int, int]:
    """Greedy by score: best-fitting edges first while mentee and mentor are free: (placements, fit minus load)."""
    from bot.matching.scoring import load_cost

    order = np.lexsort((graph.edge_mentor, graph.edge_mentee, -graph.fit))
    left = graph.capacity.copy()
    taken = np.zeros(len(graph.mentees), dtype=bool)
    recent = graph.recent
    count = total = 0
    mentee_of, mentor_of, fit = graph.edge_mentee.tolist(), graph.edge_mentor.tolist(), graph.fit.tolist()
    for edge in order.tolist():
        i, j = mentee_of[edge], mentor_of[edge]
        if taken[i] or left[j] == 0:
            continue
        taken[i] = True
        used = graph.capacity[j] - left[j] + 1
        left[j] -= 1
        count += 1
        total += fit[edge] - load_cost(int(used), int(recent[j]))
    return count, total


def _ceiling(graph) -> int:
    """The most fit minus load any matching of the candidate edges within capacities can reach,
    however many mentees it leaves out: min-cost flow where every edge may stay unused."""
    from ortools.graph.python import min_cost_flow

    from bot.matching.graph import load_costs

    seats = np.minimum(graph.capacity, graph.degree())
    seat_mentor, seat_cost = graph.seat_arcs(seats, load_costs)
    n_e, n_m = len(graph.mentees), len(graph.mentors)
    sink = n_e + n_m + 1
    # A free bypass from source to sink: flow only takes an edge when it gains more than it loads.
    tails = np.concatenate([np.zeros(n_e, dtype=np.int64), 1 + graph.edge_mentee, 1 + n_e + seat_mentor, [0]])
    heads = np.concatenate([1 + np.arange(n_e), 1 + n_e + graph.edge_mentor, np.full(len(seat_mentor), sink), [sink]])
    costs = np.concatenate([np.zeros(n_e, dtype=np.int64), -graph.fit, seat_cost, [0]])
    capacities = np.ones(len(tails), dtype=np.int64)
    capacities[-1] = n_e
    flow = min_cost_flow.SimpleMinCostFlow()
    flow.add_arcs_with_capacity_and_unit_cost(tails, heads, capacities, costs)
    flow.set_nodes_supplies(np.array([0, sink]), np.array([n_e, -n_e]))
    assert flow.solve() == flow.OPTIMAL
    return -flow.optimal_cost()


def _cold_caches() -> None:
    """Empty the matcher's memo caches, so a repeated run costs what a first run costs."""
    from bot.matching import availability, candidates, eligibility, explain, graph, model, scoring

    for module in (availability, candidates, eligibility, explain, graph, model, scoring):
        for value in vars(module).values():
            if hasattr(value, "cache_clear"):
                value.cache_clear()


def one_size(mentees: int, repeat: int) -> dict:
    """Everything for one roster size; runs in its own process."""
    from bot.cli_match import roster_participants
    from bot.matching import History, RoundSettings, match_round
    from bot.matching.graph import build_graph
    from bot.roster import read_roster

    settings = RoundSettings(session_minutes=30, reference_date=WEEK)
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.csv"
        write_roster(path, roster_rows(mentees))
        started = time.perf_counter()
        read = read_roster(path, default_timezone=TIMEZONE)
        read_seconds = time.perf_counter() - started
    assert not read.errors, read.errors[:3]
    def end_to_end_run():
        _cold_caches()
        started, cpu_started = time.perf_counter(), time.process_time()
        participants = roster_participants(read.rows, week_of=WEEK)
        found = match_round(participants, settings)
        return time.perf_counter() - started, time.process_time() - cpu_started, found

    # The first run alone, so that the peak memory is the matcher's own; then end-to-end runs and
    # bare solves alternate, so that both see the same load on a shared machine.
    first = end_to_end_run()
    peak_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    result = first[2]
    graph = build_graph(roster_participants(read.rows, week_of=WEEK), settings, History())
    runs, bare = [first], []
    for index in range(repeat):
        bare.append(_bare_flow(graph))
        if index:
            runs.append(end_to_end_run())
    end_to_end = [r[0] for r in runs]
    solver = [r[2].solver.seconds for r in runs]
    greedy_count, greedy_total = _greedy(graph)
    ceiling = _ceiling(graph)
    return {
        "mentees": len(graph.mentees),
        "mentors": len(graph.mentors),
        "rows": len(read.rows),
        "eligible_per_mentee": result.candidate_edges / len(graph.mentees),
        "edges": result.candidate_edges,
        "read_s": read_seconds,
        "end_to_end_s": min(end_to_end),
        "solver_s": min(solver),
        "bare_s": min(b[0] for b in bare),
        "end_to_end_cpu_s": min(r[1] for r in runs),
        "bare_cpu_s": min(b[3] for b in bare),
        "matched": len(result.pairs),
        "total": result.total_score,
        "bare_matched": bare[0][1],
        "bare_total": bare[0][2],
        "greedy_matched": greedy_count,
        "greedy_total": greedy_total,
        "ceiling": ceiling,
        "peak_mb": peak_mb,
    }


def cp_sat_bench(mentees: int = 2000, limit: float = 30.0, group_size: int | None = None) -> dict:
    """Site minimums for the two sites that lose the most, a cap on the busiest, and a floor every
    site must reach that a quarter of the sites miss in the plain result; with group_size, the
    same for a small-group round (the plain result is then the group flow's)."""
    from bot.cli_match import roster_participants
    from bot.matching import (
        RoundSettings,
        SideConstraints,
        match_round,
        result_report,
        solve_groups,
        solve_with_side_constraints,
    )
    from bot.roster import read_roster

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.csv"
        write_roster(path, roster_rows(mentees))
        rows = read_roster(path, default_timezone=TIMEZONE).rows
    people = roster_participants(rows, week_of=WEEK)
    settings = RoundSettings(reference_date=WEEK)
    plain = match_round(people, settings) if group_size is None else solve_groups(people, settings, group_size=group_size)
    report = result_report(plain, people)
    site_of = {p.key: p.site for p in people}
    unmatched = Counter(site_of[u.key] for u in plain.unmatched)
    matched = Counter(site_of[p.mentee] for p in plain.pairs)
    minimums = {site: matched[site] + unmatched[site] // 3 for site, _ in unmatched.most_common(2)}
    busiest = matched.most_common(1)[0][0]
    caps = {busiest: matched[busiest] - 2}
    means = sorted(g.mean_fit for g in report.by_site if g.mean_fit is not None)
    floor = math.ceil(means[len(means) // 4])
    constraints = SideConstraints(site_minimums=minimums, site_caps=caps, fairness_floor=floor, time_limit_seconds=limit)
    started = time.perf_counter()
    result = solve_with_side_constraints(people, settings, constraints=constraints, group_size=group_size)
    seconds = time.perf_counter() - started
    after = result_report(result, people)
    placed = Counter(site_of[p.mentee] for p in result.pairs)
    return {
        "mentees": len([p for p in people if p.role != "mentor"]),
        "group_size": group_size,
        "edges": result.candidate_edges,
        "minimums": minimums,
        "caps": caps,
        "floor": floor,
        "seconds": seconds,
        "status": result.solver.status,
        "gap": result.solver.gap,
        "matched": len(result.pairs),
        "plain_matched": len(plain.pairs),
        "total": result.total_score,
        "plain_total": plain.total_score,
        "worst_site_before": means[0],
        "worst_site_after": min(g.mean_fit for g in after.by_site if g.mean_fit is not None),
        "minimums_met": all(placed[s] >= n for s, n in minimums.items()),
        "caps_met": all(placed[s] <= n for s, n in caps.items()),
        "notes": list(result.solver.notes),
    }


def speed_bench(people: int = 300, rotations: int = 8) -> dict:
    from bot.cli_match import SPEED_RELAX, roster_participants
    from bot.matching import RoundSettings, speed_schedule
    from bot.roster import read_roster

    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / "roster.csv"
        write_roster(path, roster_rows(people // 2, people // 2, seed=11))
        rows = read_roster(path, default_timezone=TIMEZONE).rows
    started = time.perf_counter()
    participants = roster_participants(rows, week_of=WEEK)
    schedule = speed_schedule(participants, RoundSettings(relax=SPEED_RELAX, reference_date=WEEK), rotations=rotations)
    seconds = time.perf_counter() - started
    pairs = [(m.mentor, m.mentee) for m in schedule.meetings]
    met = Counter(m.mentee for m in schedule.meetings)
    counts = [met.get(p.key, 0) for p in participants if p.role == "mentee"]
    return {
        "people": len(rows), "mentors": schedule.mentors, "mentees": schedule.mentees, "rotations": rotations,
        "meetings": len(pairs), "repeats": len(pairs) - len(set(pairs)), "seconds": seconds,
        "meetings_per_mentee": (min(counts), max(counts)), "total": schedule.total_score,
    }


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--sizes", type=int, nargs="*", default=[1000, 10000, 50000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--one", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--skip-cp", action="store_true")
    parser.add_argument("--skip-speed", action="store_true")
    parser.add_argument("--group-size", type=int, default=3, help="group size for the CP-SAT group-round row")
    parser.add_argument("--quick", action="store_true", help="10k mentees only, one run, no CP-SAT or speed rows (python -m bench --quick)")
    args = parser.parse_args()
    if args.quick:
        args.sizes, args.repeat, args.skip_cp, args.skip_speed = [10000], 1, True, True
    if args.one:
        print(json.dumps(one_size(args.one, args.repeat)))
        return

    rows = []
    for size in args.sizes:
        done = subprocess.run([sys.executable, __file__, "--one", str(size), "--repeat", str(args.repeat)],
                              capture_output=True, text=True, check=True)
        rows.append(json.loads(done.stdout.strip().splitlines()[-1]))
    for r in rows:
        ratio = r["end_to_end_s"] / r["bare_s"]
        emit(Row(
            path="matching", case=f"{r['mentees']:,} mentees, {r['edges']:,} edges, rows to pairings with reasons",
            figure=r["end_to_end_s"], unit="s", baseline=r["bare_s"], baseline_name="OR-Tools min-cost flow on the same edges",
            goal="within 2x of bare", met=ratio <= 2, note=f"peak {r['peak_mb']:.0f} MB",
        ))  # fmt: skip
    print("| mentees | mentors | eligible / mentee | edges | read file s | rows -> pairings s | solver s | bare flow s "
          "| end-to-end / bare | same in CPU s | solver / bare | matched | total fit | vs greedy | ceiling vs greedy | vs flow optimum "
          "| peak MB |")
    print("|" + "---|" * 17)
    for r in rows:
        versus_greedy = (r["total"] / r["greedy_total"] - 1) * 100
        ceiling = (r["ceiling"] / r["greedy_total"] - 1) * 100
        print(f"| {r['mentees']:,} | {r['mentors']:,} | {r['eligible_per_mentee']:.1f} | {r['edges']:,} | {r['read_s']:.2f} "
              f"| {r['end_to_end_s']:.2f} | {r['solver_s']:.2f} | {r['bare_s']:.2f} | {r['end_to_end_s'] / r['bare_s']:.2f}x "
              f"| {r['end_to_end_cpu_s'] / r['bare_cpu_s']:.2f}x "
              f"| {r['solver_s'] / r['bare_s']:.2f}x | {r['matched']:,} (greedy {r['greedy_matched']:,}) | {r['total']:,.0f} "
              f"| {versus_greedy:+.1f} % | {ceiling:+.1f} % | {'equal' if r['total'] == r['bare_total'] and r['matched'] == r['bare_matched'] else 'DIFFERENT'} "
              f"| {r['peak_mb']:.0f} |")
    if not args.skip_cp:
        print()
        print("| CP-SAT at | edges | quotas | floor | status | gap | seconds | matched (plain) | total fit (plain) "
              "| worst site mean fit before -> after | quotas met |")
        print("|" + "---|" * 11)
        notes = []
        for group_size in (None, args.group_size):
            c = cp_sat_bench(group_size=group_size)
            shape = "" if group_size is None else f", groups of {group_size}"
            print(f"| {c['mentees']:,} mentees{shape} | {c['edges']:,} | min {c['minimums']}, cap {c['caps']} | {c['floor']} "
                  f"| {c['status']} | {c['gap'] * 100:.2f} % | {c['seconds']:.1f} | {c['matched']:,} ({c['plain_matched']:,}) "
                  f"| {c['total']:,.0f} ({c['plain_total']:,.0f}) | {c['worst_site_before']:.1f} -> {c['worst_site_after']:.1f} "
                  f"| {c['minimums_met'] and c['caps_met']} |")
            notes += [f"{shape.lstrip(', ') or 'one to one'}: {note}" for note in c["notes"]]
        for note in notes:
            print(f"  note: {note}")
    if not args.skip_speed:
        s = speed_bench()
        print()
        print("| speed event | rotations | meetings | repeats | meetings per mentee | seconds |")
        print("|---|---|---|---|---|---|")
        print(f"| {s['people']} people ({s['mentors']} mentors, {s['mentees']} mentees) | {s['rotations']} | {s['meetings']:,} "
              f"| {s['repeats']} | {s['meetings_per_mentee'][0]}-{s['meetings_per_mentee'][1]} | {s['seconds']:.2f} |")


if __name__ == "__main__":
    main()
