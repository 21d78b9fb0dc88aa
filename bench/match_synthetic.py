"""Synthetic rosters shaped like bot/demo_data/roster.csv, at any size, for the matching benchmarks.

The example roster has 4 grade bands, 8 subjects, 10 topics, 8 sites, 4 programs, weekday slots
between 07:00 and 18:00 in four US time zones, and mentors taking 0-3 mentees. Kept as is, a
50k roster would give every mentee thousands of eligible mentors; a district that large also
has more sites and more spread-out timetables. So the generator widens the school day and
narrows each person's free time as the roster grows, which keeps about `eligible` mentors per
mentee at every size (the benchmark prints the real figure).
"""

from __future__ import annotations

import csv
import math
import random
from pathlib import Path

BANDS = ["K-2", "3-5", "6-8", "9-12"]
SUBJECTS = ["math", "science", "ELA", "social studies", "SPED", "arts", "PE", "ELD"]
TOPICS = ["classroom management", "lesson planning", "assessment", "differentiation", "SEL", "co-teaching",
          "family engagement", "technology integration", "restorative practices", "data-driven instruction"]
PROGRAMS = ["State University", "Online EPP", "Teach Corps", "City College Residency"]
ZONES = ["America/Los_Angeles"] * 5 + ["America/Denver", "America/Chicago", "America/New_York"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri"]
BASE_PASS = 0.08 # measured: see bench/match_bench.py, which prints the real eligible count
OVERLAP = 58
COLUMNS = ["email", "name", "role", "site", "program", "grade_bands", "subjects", "strengths", "needs",
           "availability", "timezone", "capacity", "avoid"]


def _clock(minute: int) -> str:
    return f"{minute // 60:02d}:{minute % 60:02d}"


def roster_rows(mentees: int, mentors: int | None = None, *, eligible: int = 50, seed: int = 7) -> list[dict[str, str]]:
    """Rows of a synthetic roster: `mentees` mentees, about half as many mentors (mentor role first)."""
    rng = random.Random(seed)
    mentors = mentees // 2 if mentors is None else mentors
    # About BASE_PASS of mentors with capacity pass the band, subject and strengths rules; the
    # shared-time rule must keep `eligible` of those. Two one-hour slots on a 15-minute grid share
    # half an hour with probability about OVERLAP / (5 * school-day minutes); with s slots each,
    # about s * s slot pairs get that chance (Poisson, hence the log).
    with_capacity = mentors * 5 / 6
    share = eligible / max(1.0, BASE_PASS * with_capacity)
    # A small program can't reach `eligible` that way: its mentors cover more bands and topics.
    broad = share > 0.9
    share = min(0.97, share / 1.65 if broad else share)
    day_start, day_end = (7 * 60, 18 * 60) if share > 0.2 else (6 * 60, 20 * 60)
    pair_chance = OVERLAP / (5 * (day_end - day_start))
    slots_per_person = min(12.0, math.sqrt(-math.log(1 - share) / pair_chance))
    sites = [f"School {i:03d}" for i in range(max(8, (mentees + mentors) // 120))]
    rows = []
    total = mentees + mentors
    for i in range(total):
        is_mentor = i < mentors
        role = "mentor" if is_mentor else ("both" if i % 97 == 0 else "mentee")
        slots = []
        count = int(slots_per_person) + (rng.random() < slots_per_person % 1)
        for _ in range(max(1, count)):
            start = day_start + rng.randrange(0, day_end - day_start - 30, 15)
            length = rng.choice([30, 45, 60, 90])
            slots.append(f"{rng.choice(DAYS)} {_clock(start)}-{_clock(min(start + length, day_end))}")
        mentee_pool = range(mentors, total)
        rows.append({
            "email": f"{'mr' if is_mentor else 'ee'}{i}@district.example",
            "name": f"Teacher {i}",
            "role": role,
            "site": rng.choice(sites),
            "program": "" if is_mentor else rng.choice(PROGRAMS),
            "grade_bands": ";".join(rng.sample(BANDS, rng.randint(1, 3 if broad and is_mentor else 2))),
            "subjects": ";".join(rng.sample(SUBJECTS, rng.randint(1, 2))),
            "strengths": ";".join(rng.sample(TOPICS, rng.randint(4, 7) if broad else rng.randint(2, 5))) if role != "mentee" else "",
            "needs": "" if is_mentor else ";".join(rng.sample(TOPICS, rng.randint(1, 3))),
            "availability": ";".join(slots),
            "timezone": rng.choice(ZONES),
            "capacity": str(rng.choice([0, 1, 1, 2, 2, 3])) if role != "mentee" else "",
            "avoid": f"ee{rng.choice(mentee_pool)}@district.example" if is_mentor and rng.random() < 0.03 else "",
        })
    return rows


def write_roster(path: Path, rows: list[dict[str, str]]) -> None:
    """Write rows as a roster CSV."""
    with path.open("w", newline="", encoding="utf-8") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS)
        writer.writeheader()
        writer.writerows(rows)
