"""Golden tests for the equity report of a result and the health of a pool (numbers and printout)."""

from __future__ import annotations

import io

from rich.console import Console

from bot import report_match
from bot.matching import (
    AreaHealth,
    GroupStats,
    History,
    LoadCount,
    RoundSettings,
    Unmatched,
    match_round,
    pool_health,
    result_report,
)
from tests.test_matching import S, person


def people():
    return [
        person("amy", "mentor", site="North", grade_bands=frozenset({"6-8"}), subjects=frozenset({"math"}), strengths=frozenset({"assessment", "SEL"}), capacity=2),
        person("ana", "mentor", site="South", grade_bands=frozenset({"9-12"}), subjects=frozenset({"science"}), strengths=frozenset({"SEL"}), capacity=1),
        person("abe", "mentor", site="South", grade_bands=frozenset({"6-8"}), strengths=frozenset({"SEL"}), capacity=0),
        person("ben", site="North", program="EPP", grade_bands=frozenset({"6-8"}), subjects=frozenset({"math"}), needs=("assessment",)),
        person("bea", site="south", program="EPP", grade_bands=frozenset({"6-8"}), subjects=frozenset({"math"}), needs=("SEL", "assessment")),
        person("bo", site="South", program="Corps", grade_bands=frozenset({"9-12"}), subjects=frozenset({"science"}), needs=("SEL",)),
        person("bud", site="North", program="Corps", grade_bands=frozenset({"K-2"}), needs=("PE",)),
        person("bly", program="corps", grade_bands=frozenset({"9-12"}), needs=("SEL",)),
    ]


def test_result_report_per_site_program_and_load():
    report = result_report(match_round(people(), S), people())
    assert (report.mentees, report.matched, report.match_rate) == (5, 3, 0.6)
    assert report.mean_fit == (95 + 95 + 115) / 3   # fit before load: Ben 95, Bo 95, Bea 115
    # Worst first; sites and programs grouped case-insensitively, shown as first spelled (by key).
    assert report.by_site == (
        GroupStats("(none)", mentees=1, matched=0, match_rate=0.0, mean_fit=None),
        GroupStats("North", mentees=2, matched=1, match_rate=0.5, mean_fit=95.0),
        GroupStats("south", mentees=2, matched=2, match_rate=1.0, mean_fit=105.0),
    )
    assert report.by_program == (
        GroupStats("corps", mentees=3, matched=1, match_rate=1 / 3, mean_fit=95.0),
        GroupStats("EPP", mentees=2, matched=2, match_rate=1.0, mean_fit=105.0),
    )
    assert report.mentor_load == (LoadCount(0, 0), LoadCount(1, 1), LoadCount(2, 1))
    assert (report.seats, report.seats_used) == (3, 3)


def test_pool_health_flags_thin_areas_and_forecasts_the_unmatched():
    health = pool_health(people(), S)
    assert (health.mentors, health.seats, health.mentees, health.healthy_ratio) == (2, 3, 5, 1.5)
    assert health.areas == (
        AreaHealth("grade band", "K-2", mentors=0, seats=0, mentees=1, ratio=0.0, flagged=True, forecast_unmatched=1, short=True),
        AreaHealth("grade band", "6-8", mentors=1, seats=2, mentees=2, ratio=0.5, flagged=True, forecast_unmatched=0),
        AreaHealth("grade band", "9-12", mentors=1, seats=1, mentees=2, ratio=0.5, flagged=True, forecast_unmatched=1, short=True),
        AreaHealth("subject", "math", mentors=1, seats=2, mentees=2, ratio=0.5, flagged=True, forecast_unmatched=0),
        AreaHealth("subject", "science", mentors=1, seats=1, mentees=1, ratio=1.0, flagged=True, forecast_unmatched=0),
        AreaHealth("topic", "assessment", mentors=1, seats=2, mentees=2, ratio=0.5, flagged=True, forecast_unmatched=0),
        AreaHealth("topic", "PE", mentors=0, seats=0, mentees=1, ratio=0.0, flagged=True, forecast_unmatched=1, short=True),
        AreaHealth("topic", "SEL", mentors=2, seats=3, mentees=3, ratio=2 / 3, flagged=True, forecast_unmatched=1),
    )
    assert health.forecast == (
        Unmatched("bly@x.example", ("the only eligible mentor (Ana Test) was needed for other mentees: "
                                     "pairing them with Bly would leave another mentee without a mentor",)),
        Unmatched("bud@x.example", ("no mentor with capacity shares grade band K-2",
                                     "no mentor with capacity has a strength that meets Bud's needs (PE)")),
    )


def test_pool_health_follows_the_round():
    # A topic round has one topic area; relaxed rules have none; a healthier threshold flags less.
    topic = pool_health(people(), RoundSettings(topic="SEL", relax=frozenset({"grade_band", "subject"})), History(),
                        healthy_ratio=0.5)
    assert [(a.rule, a.area, a.mentors, a.mentees, a.flagged) for a in topic.areas] == [("topic", "SEL", 2, 5, True)]
    assert pool_health(people(), S, healthy_ratio=0.5).areas[1].flagged is False   # 6-8: 1 mentor for 2 mentees


def test_golden_report_printout():
    out = Console(file=io.StringIO(), record=True, width=100, color_system=None)
    report_match.print_result_report(out, result_report(match_round(people(), S), people()))
    report_match.print_pool_health(out, pool_health(people(), S), {p.key: p.name for p in people()})
    assert [line.rstrip() for line in out.export_text().splitlines()] == GOLDEN_PRINTOUT


GOLDEN_PRINTOUT = [
    'Overall: 3 of 5 mentees matched (60 %), mean fit 101.7; 3 of 3 mentor seats used.',
    '                       By site',
    '┏━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━┓',
    '┃ site   ┃ mentees ┃ matched ┃ match rate ┃ mean fit ┃',
    '┡━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━┩',
    '│ (none) │ 1       │ 0       │ 0 %        │ -        │',
    '│ North  │ 2       │ 1       │ 50 %       │ 95.0     │',
    '│ south  │ 2       │ 2       │ 100 %      │ 105.0    │',
    '└────────┴─────────┴─────────┴────────────┴──────────┘',
    '                      By program',
    '┏━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━━┓',
    '┃ program ┃ mentees ┃ matched ┃ match rate ┃ mean fit ┃',
    '┡━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━━┩',
    '│ corps   │ 3       │ 1       │ 33 %       │ 95.0     │',
    '│ EPP     │ 2       │ 2       │ 100 %      │ 105.0    │',
    '└─────────┴─────────┴─────────┴────────────┴──────────┘',
    '          Mentor load',
    '┏━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━┓',
    '┃ mentees this round ┃ mentors ┃',
    '┡━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━┩',
    '│ 0                  │ 0       │',
    '│ 1                  │ 1       │',
    '│ 2                  │ 1       │',
    '└────────────────────┴─────────┘',
    'Pool: 2 mentors with 3 seats for 5 mentees.',
    '                        Health per area (short: fewer seats than mentees)',
    '┏━━━━━━━━━━━━┳━━━━━━━━━━━━┳━━━━━━━━━┳━━━━━━━┳━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━┓',
    '┃ rule       ┃ area       ┃ mentors ┃ seats ┃ mentees ┃ mentors per mentee ┃ forecast unmatched ┃',
    '┡━━━━━━━━━━━━╇━━━━━━━━━━━━╇━━━━━━━━━╇━━━━━━━╇━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━┩',
    '│ grade band │ K-2        │ 0       │ 0     │ 1       │ 0.00 (short)       │ 1                  │',
    '│ grade band │ 6-8        │ 1       │ 2     │ 2       │ 0.50               │ 0                  │',
    '│ grade band │ 9-12       │ 1       │ 1     │ 2       │ 0.50 (short)       │ 1                  │',
    '│ subject    │ math       │ 1       │ 2     │ 2       │ 0.50               │ 0                  │',
    '│ subject    │ science    │ 1       │ 1     │ 1       │ 1.00               │ 0                  │',
    '│ topic      │ assessment │ 1       │ 2     │ 2       │ 0.50               │ 0                  │',
    '│ topic      │ PE         │ 0       │ 0     │ 1       │ 0.00 (short)       │ 1                  │',
    '│ topic      │ SEL        │ 2       │ 3     │ 3       │ 0.67               │ 1                  │',
    '└────────────┴────────────┴─────────┴───────┴─────────┴────────────────────┴────────────────────┘',
    'Forecast: 2 would go unmatched.',
    '                                        Unmatched, by cause',
    '┏━━━━━━━━━━━┳━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━┳━━━━━━━━━━┓',
    '┃ unmatched ┃ cause                                                                     ┃ who      ┃',
    '┡━━━━━━━━━━━╇━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━━╇━━━━━━━━━━┩',
    '│ 1         │ had eligible mentors, but their seats went to other mentees               │ Bly Test │',
    '├───────────┼───────────────────────────────────────────────────────────────────────────┼──────────┤',
    '│ 1         │ are ruled out by several rules at once (relaxing any one alone finds them │ Bud Test │',
    '│           │ no mentor)                                                                │          │',
    '└───────────┴───────────────────────────────────────────────────────────────────────────┴──────────┘',
    'Recruit mentors for grade band K-2 (no mentor for 1 mentee), grade band 9-12 (1 place for 2',
    'mentees), topic PE (no mentor for 1 mentee): there are fewer places than mentees.',
]
