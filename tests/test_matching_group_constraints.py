"""Side constraints (quotas, caps, the fairness floor) on group rounds and what the result says about them."""

from __future__ import annotations

import random

from bot.matching import Participant, SideConstraints, result_report, solve_groups, solve_with_side_constraints
from bot.matching.constrained import SHORTFALL_PRICE
from tests.test_matching import S, _floor_people, person

NO_SPARE = "its mentees have no better eligible mentors to spare"


def test_a_floor_missed_for_lack_of_time_is_not_called_out_of_reach():
    people = _floor_people()
    # No time to search: the result is the plain one, North under a floor it could reach. The
    # note must not claim North's mentees have no better mentors (they do).
    hurried = solve_with_side_constraints(people, S, constraints=SideConstraints(fairness_floor=76, time_limit_seconds=1e-9))
    assert hurried.solver.status == "feasible"
    (note,) = hurried.solver.notes
    assert note.startswith("site North: mean fit 75.0 stays under the floor of 76 (the best found within the time limit")
    assert NO_SPARE not in note
    # Given the time, the floor is reached and nothing is noted.
    fair = solve_with_side_constraints(people, S, constraints=SideConstraints(fairness_floor=76))
    assert fair.solver.status == "optimal" and fair.solver.notes == ()
    # A floor proven out of reach says so.
    high = solve_with_side_constraints(people, S, constraints=SideConstraints(fairness_floor=100))
    assert high.solver.status == "optimal"
    assert high.solver.notes == (f"site North: mean fit 75.0 stays under the floor of 100 ({NO_SPARE})",)


def _group_round(seed: int, mentees: int, mentors: int) -> list[Participant]:
    """Mentees of a few sites whose needs the mentors cover unevenly: some sites fit worse."""
    rng = random.Random(seed)
    needs = ("SEL", "assessment", "co-teaching", "PE", "literacy", "ELL")
    bands = ("K-5", "6-8", "9-12")
    subjects = ("math", "ELA", "science")
    people = []
    for j in range(mentors):
        people.append(person(f"m{j:03d}", "mentor", capacity=rng.randint(1, 3), grade_bands=frozenset(rng.sample(bands, 2)),
                             subjects=frozenset(rng.sample(subjects, 2)), strengths=frozenset(rng.sample(needs, 3))))
    for i in range(mentees):
        site = f"Site {rng.randrange(6)}"
        people.append(person(f"e{i:03d}", site=site, grade_bands=frozenset({rng.choice(bands)}),
                             subjects=frozenset({rng.choice(subjects)}), needs=tuple(rng.sample(needs, 2))))
    return people


def test_group_round_under_a_floor_reaches_a_small_gap_and_keeps_its_rules():
    people = _group_round(seed=5, mentees=240, mentors=45)
    plain = solve_groups(people, S, group_size=3)
    report = result_report(plain, people)
    means = sorted(g.mean_fit for g in report.by_site if g.mean_fit is not None)
    floor = int(means[len(means) // 3]) + 1
    busiest = max(report.by_site, key=lambda g: g.matched)
    constraints = SideConstraints(fairness_floor=floor, site_caps={busiest.name: busiest.matched - 1}, time_limit_seconds=20)
    result = solve_with_side_constraints(people, S, constraints=constraints, group_size=3)
    assert result.solver.method == "CP-SAT"
    assert result.solver.gap is not None and result.solver.gap <= 0.01
    # Cardinality first: at most the one mentee the cap turns away goes unplaced.
    assert len(result.pairs) >= len(plain.pairs) - 1
    site_of = {p.key: p.site for p in people}
    assert sum(site_of[p.mentee] == busiest.name for p in result.pairs) <= busiest.matched - 1
    for group in result.groups:
        assert 1 <= len(group.mentees) <= 3
    # The objective is what the pairs add up to (shortfall priced in) and no better than the bound.
    after = result_report(result, people)
    fits = {p.mentee: sum(x.points for x in p.breakdown if x.factor != "load") for p in result.pairs}
    shortfall = 0
    for g in after.by_site:
        shortfall += max(0, sum(floor - f for m, f in fits.items() if site_of[m] == g.name))
    assert result.solver.objective == result.total_score - SHORTFALL_PRICE * shortfall
    assert result.solver.bound >= result.solver.objective
    # A note for each site under the floor, out of reach only when proven.
    short_sites = [g.name for g in after.by_site if g.mean_fit is not None and g.mean_fit < floor]
    assert len(result.solver.notes) == len(short_sites)
    assert all((NO_SPARE in note) == (result.solver.status == "optimal") for note in result.solver.notes)


def test_a_mean_under_the_floor_never_reads_as_the_floor() -> None:
    # 105.96 rounded to one decimal would print "mean fit 106.0 stays under the floor of 106".
    from bot.matching.constrained import _below

    assert [_below(m, 106) for m in (105.96, 105.2, 105.9999, 99.55)] == ["105.9", "105.2", "105.9", "99.5"]
