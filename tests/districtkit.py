"""A district's roster as an admin would export it from their HR system: thousands of teachers over a dozen sites,
each site with its principal, most people on Slack, the usual spreadsheet mess (stray spaces, mixed-case emails,
an extra column HR adds, the odd blank cell). Deterministic for a seed, so a journey's figures can be asserted.
"""

from __future__ import annotations

import csv
import random
import unicodedata
from pathlib import Path

SITES = (
    ("Lincoln Elementary", ("K-2", "3-5")), ("Harbor Elementary", ("K-2", "3-5")), ("Cedar Grove Elementary", ("PK", "K-2", "3-5")),
    ("Madison K-8", ("K-2", "3-5", "6-8")), ("Roosevelt Middle", ("6-8",)), ("Jefferson Middle", ("6-8",)),
    ("Garfield High", ("9-12",)), ("Cesar Chavez High", ("9-12",)), ("Riverside Academy", ("6-8", "9-12")),
    ("Mesa Verde Elementary", ("K-2", "3-5")), ("Northgate High", ("9-12",)), ("Sunset K-8", ("K-2", "3-5", "6-8")),
)  # fmt: skip
SUBJECTS = ("math", "science", "ELA", "SPED", "arts", "social studies", "ELD", "PE")
TOPICS = ("classroom management", "SEL", "assessment", "lesson planning", "family engagement", "differentiation", "co-teaching")
FIRST = (
    "Ana", "Ben", "Carla", "Dev", "Elena", "Farid", "Grace", "Hugo", "Iris", "Jon", "Kim", "Luis", "Maya", "Noor", "Omar",
    "Priya", "Quinn", "Rosa", "Sam", "Tomás", "Uma", "Victor", "Wen", "Ximena", "Yusuf", "Zoe", "Aisha", "Bruno", "Chloé", "Dmitri",
)  # fmt: skip
LAST = (
    "Chen", "Morales", "Okafor", "Nguyen", "Garcia", "Khan", "Silva", "Brooks", "Evans", "Tran", "Lopez", "Reyes", "Walker",
    "Huang", "Diaz", "Young", "Usman", "Vargas", "Alvarez", "O'Neil", "Johnson", "Kowalski", "Haddad", "Fischer", "Mensah",
)  # fmt: skip
# School-day windows teachers actually offer: before the bell, lunch, after school.
WINDOWS = ("07:00-07:45", "07:15-08:00", "12:00-12:45", "12:15-13:00", "15:00-16:00", "15:30-16:30", "16:00-17:00")
DAYS = ("Mon", "Tue", "Wed", "Thu", "Fri")
HEADER = (
    "Email", "Name", "Role", "Slack User ID", "Site", "Grade Bands", "Subjects", "Strengths", "Needs", "Availability",
    "Timezone", "Capacity", "Principal Email", "Avoid", "Employee Number",
)  # fmt: skip


def principal_of(site: str) -> str:
    """The principal who approves a site's mentors."""
    return "principal." + site.lower().split()[0].replace("'", "") + "@district.example"


def district_rows(people: int, *, seed: int = 2027, mentor_share: float = 0.4) -> list[dict[str, str]]:
    """`people` rows, about `mentor_share` of them mentors, every name distinct, shaped so most mentees can be matched."""
    rng = random.Random(seed)
    rows: list[dict[str, str]] = []
    names: set[str] = set()
    for index in range(people):
        mentor = rng.random() < mentor_share
        site, bands = SITES[index % len(SITES)]
        name = _distinct_name(rng, names, index)
        first, last = name.split(" ", 1)
        email = _ascii(f"{first}.{last}.{index}@district.example".lower().replace("'", "").replace(" ", ""))
        topics = rng.sample(TOPICS, 3) if mentor else rng.sample(TOPICS, 2)
        if mentor and "classroom management" not in topics and rng.random() < 0.6:
            topics[0] = "classroom management"  # the topic most programs start with, which most mentors can take
        slots = [f"{day} {rng.choice(WINDOWS)}" for day in rng.sample(DAYS, 3 if mentor else 2)]
        rows.append({
            "Email": email.title() if index % 17 == 0 else email,  # HR systems capitalise some addresses
            "Name": f" {name} " if index % 23 == 0 else name,
            "Role": ("Mentor" if index % 11 == 0 else "mentor") if mentor else "mentee",
            "Slack User ID": "" if index % 4 == 0 else f"U{index:08d}",  # a quarter have no Slack: they get email
            "Site": site,
            "Grade Bands": rng.choice(bands),
            "Subjects": ";".join(rng.sample(SUBJECTS[:6], 2 if mentor else 1)),
            "Strengths": ";".join(topics) if mentor else "",
            "Needs": "" if mentor else ";".join(topics),
            "Availability": ";".join(slots),
            "Timezone": "America/Los_Angeles" if index % 9 else "",
            "Capacity": str(rng.choice((1, 1, 2, 2, 3))) if mentor else "",
            "Principal Email": principal_of(site) if mentor else "",
            "Avoid": "",
            "Employee Number": f"E{100000 + index}",
        })  # fmt: skip
    return rows


def write_district_roster(path: Path, people: int, *, seed: int = 2027) -> Path:
    """Write the district's roster as a CSV the way a spreadsheet saves it (BOM, CRLF line ends)."""
    with path.open("w", newline="", encoding="utf-8-sig") as handle:
        writer = csv.DictWriter(handle, fieldnames=HEADER)
        writer.writeheader()
        writer.writerows(district_rows(people, seed=seed))
    return path


def _distinct_name(rng: random.Random, taken: set[str], index: int) -> str:
    """A realistic name nobody else on the roster has: a middle initial tells two Ana Chens apart, as schools do."""
    name = f"{rng.choice(FIRST)} {rng.choice(LAST)}"
    if name in taken:
        name = f"{name.split()[0]} {chr(65 + index % 26)}. {name.split(' ', 1)[1]}"
    while name in taken:
        name = f"{name} {index}"
    taken.add(name)
    return name


def _ascii(text: str) -> str:
    """HR systems fold accents out of addresses: Tomás's mail goes to tomas@."""
    return unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii")
