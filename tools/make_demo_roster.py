"""Write bot/demo_data/roster.csv: the demo district's 70 teachers, a healthy program by design.

Run `python tools/make_demo_roster.py` from the repository root; the output is the same every time (seeded).

How it is built, so the demo shows a program that works:
- 30 mentors (3 of them with capacity 0, i.e. sitting this term out) and 40 mentees, every name distinct, and
  none shared with the people the demo's Slack and email legs add (Rosa Alvarez, Sam Okafor, Lee Nguyen,
  Jordan Lee, Priya Principal, Ada Admin).
- Sites have the grades they really have (an elementary school has no 9-12), and subjects fit the level.
- Each ordinary mentee is written around one mentor seat: they share a grade band, a subject, a weekly slot and
  one of the mentee's needs is the mentor's strength. So a full matching exists; the matcher finds its own.
- A few seats are left spare for the mentees the Slack and email legs add, and three mentees are planted to stay
  unmatched, each for a different reason: one is free only when no mentor is (Friday evening), one teaches a
  subject no mentor teaches (music), and two high-school ELD teachers both fit only one mentor, who takes one.
- Most mentors list "classroom management", so a topic round on it (docs/getting-started.md, "Using it") matches most mentees too.
- The cells are messy the way spreadsheets are, but valid: "Tuesday" for "Tue", spaces around ";", "Mentor".
"""

from __future__ import annotations

import csv
import random
from pathlib import Path

OUT = Path(__file__).resolve().parents[1] / "bot" / "demo_data" / "roster.csv"
COLUMNS = ["email", "name", "role", "slack_user_id", "site", "program", "grade_bands", "subjects", "strengths", "needs",
           "availability", "timezone", "capacity", "principal_email", "avoid"]
SITES = {  # site -> (grade bands it has, principal's address)
    "Lincoln Elementary": (["K-2", "3-5"], "principal.lincoln@district.example"),
    "Jefferson Elementary": (["K-2", "3-5"], "principal.jefferson@district.example"),
    "Harbor Elementary": (["K-2", "3-5"], "principal.harbor@district.example"),
    "Madison K-8": (["K-2", "3-5", "6-8"], "principal.madison@district.example"),
    "Roosevelt Middle": (["6-8"], "principal.roosevelt@district.example"),
    "Mountain View Middle": (["6-8"], "principal.mountain@district.example"),
    "Garfield High": (["9-12"], "principal.garfield@district.example"),
    "Cesar Chavez High": (["9-12"], "principal.cesar@district.example"),
}
ELEMENTARY_SUBJECTS = [["ELA", "math"], ["ELA", "math", "science"], ["ELA", "social studies"], ["SPED"], ["arts"], ["PE"]]
SECONDARY_SUBJECTS = ["math", "science", "ELA", "social studies", "SPED", "arts", "PE"]
TOPICS = ["lesson planning", "assessment", "differentiation", "SEL", "co-teaching", "family engagement",
          "technology integration", "restorative practices", "data-driven instruction"]
PROGRAMS = ["State University", "Online EPP", "Teach Corps", "City College Residency"]
# Weekly slots teachers really have: before school, lunch, after school (local time; Friday evening is nobody's).
SLOTS = [(day, start, end) for day in ("Mon", "Tue", "Wed", "Thu", "Fri")
         for start, end in (("07:00", "07:45"), ("12:00", "12:45"), ("15:00", "16:00"), ("15:30", "16:30"), ("16:00", "17:00"))]
LONG_DAY = {"Mon": "Monday", "Tue": "Tuesday", "Wed": "Wednesday", "Thu": "Thursday", "Fri": "Friday"}

# Mentor names by index (the index is in the email); 6, 4 and 16 are the ones tests look up.
MENTORS = ["Kim Evans", "Uma Tran", "Omar Tran", "Sam Khan", "Hugo Morales", "Rosa Lopez", "Ana Chen", "Wen Silva",
           "Grace Park", "Zoe Garcia", "Grace Alvarez", "Victor Reyes", "Omar Khan", "Kim Chen", "Noor Walker",
           "Ana Khan", "Ana Alvarez", "Victor Morales", "Zoe Alvarez", "Wen Reyes", "Quinn Silva", "Iris Vargas",
           "Omar Chen", "Noor Lopez", "Carla Lopez", "Zoe Evans", "Rosa Huang", "Zoe Brooks", "Quinn Okafor", "Quinn Vargas"]
MENTEES = ["Noor Xu", "Quinn Chen", "Ana Usman", "Luis Nguyen", "Priya Alvarez", "Hugo Diaz", "Priya Silva", "Hugo Evans",
           "Tara Xu", "Marcus Bell", "Maya Young", "Uma Morales", "Quinn Flores", "Victor Lopez", "Quinn Reyes",
           "Priya Johnson", "Iris Walker", "Sam Walker", "Jamal Diaz", "Rosa Walker", "Deshawn Carter", "Uma Brooks",
           "Wen Alvarez", "Elena Diaz", "Wen Brooks", "Nia Thompson", "Farid Johnson", "Tara Zhang", "Hugo Young",
           "Maya Okafor", "Uma Xu", "Sam Okonkwo", "Noor Vargas", "Dev Tran", "Victor Chen", "Lena Fischer",
           "Farid Nguyen", "Jamal Lopez", "Ben Morales", "Leila Haddad"]
OPTED_OUT = {15, 16, 29}  # capacity 0: these mentors sit this term out
ONLY_ELD_MENTOR = 23  # the one 9-12 ELD mentor, capacity 1, wanted by two mentees
SPARE = {9: 1, 21: 1, 0: 1, 13: 1}  # seats kept free for the legs' mentees (K-2 and 6-8) and some slack


def _email(name: str, kind: str, index: int) -> str:
    return f"{name.lower().replace(' ', '.')}.{kind}{index}@district.example"


def _slot_text(slot: tuple[str, str, str], rng: random.Random) -> str:
    day, start, end = slot
    # Spreadsheets are typed by hand: some write the whole day name, some drop the leading zero.
    day = LONG_DAY[day] if rng.random() < 0.15 else day
    start = start.lstrip("0") if rng.random() < 0.1 else start
    return f"{day} {start}-{end}"


def _cell(values: list[str], rng: random.Random) -> str:
    return (" ; " if rng.random() < 0.15 else ";").join(values)


def _slack_id(rng: random.Random) -> str:
    return "U" + "".join(rng.choice("0123456789ABCDEF") for _ in range(9))


def build(seed: int = 2027) -> list[dict[str, str]]:
    """The roster's rows, in the order a district export might list them."""
    rng = random.Random(seed)
    sites = list(SITES)
    mentors: list[dict] = []
    for index, name in enumerate(MENTORS):
        site = sites[index % len(sites)]
        bands, principal = SITES[site]
        level_bands = rng.sample(bands, k=min(len(bands), rng.choice((1, 1, 2))))
        if bands == ["9-12"] or bands == ["6-8"]:
            subjects = rng.sample(SECONDARY_SUBJECTS, k=rng.choice((1, 2)))
        else:
            subjects = list(rng.choice(ELEMENTARY_SUBJECTS))
        strengths = rng.sample(TOPICS, k=rng.choice((2, 3)))
        if rng.random() < 0.85:
            strengths.insert(rng.randrange(len(strengths) + 1), "classroom management")
        slots = rng.sample(SLOTS, k=rng.choice((2, 3, 4)))
        capacity = 0 if index in OPTED_OUT else rng.choice((1, 2, 2, 3))
        if index == 6:  # Ana Chen: tests know her as a Cesar Chavez High mentor of one, with no Slack account
            site, level_bands, subjects, capacity = "Cesar Chavez High", ["9-12"], ["math", "SPED"], 1
        if index == ONLY_ELD_MENTOR:
            site, level_bands, subjects, capacity = "Garfield High", ["9-12"], ["ELD"], 1
            strengths, slots = ["family engagement", "SEL", "classroom management"], [("Wed", "07:00", "07:45"), ("Thu", "12:00", "12:45")]
        if index == 9:  # a K-2 mentor free Tuesday and Thursday afternoons, for the email leg's Jordan Lee
            site, level_bands, subjects, capacity = "Harbor Elementary", ["K-2"], ["ELA", "math", "science"], 2
            strengths = ["family engagement", "classroom management", "lesson planning"]
            slots = [("Tue", "15:30", "16:30"), ("Thu", "15:30", "16:30")]
        if index == 21:  # a 6-8 science mentor free Thursday after school, for the Slack leg's Lee Nguyen
            site, level_bands, subjects, capacity = "Roosevelt Middle", ["6-8"], ["science"], 2
            strengths = ["assessment", "classroom management", "data-driven instruction"]
            slots = [("Thu", "15:30", "16:30"), ("Mon", "12:00", "12:45")]
        if index != ONLY_ELD_MENTOR:
            subjects = [s for s in subjects if s != "ELD"] or ["ELA"]  # ELD in 9-12 stays with one mentor
        zone = "America/Los_Angeles"
        mentors.append({
            "index": index, "name": name, "site": site, "bands": level_bands, "subjects": subjects, "strengths": strengths,
            "slots": slots, "capacity": capacity, "principal": SITES[site][1], "zone": zone,
            "slack": "" if index == 6 or rng.random() < 0.15 else _slack_id(rng),
        })  # fmt: skip

    seats = [m for m in mentors if m["index"] != ONLY_ELD_MENTOR for _ in range(max(0, m["capacity"] - SPARE.get(m["index"], 0)))]
    rng.shuffle(seats)
    planted = {20: "availability", 25: "subject", 9: "only_eld", 35: "only_eld"}
    mentees: list[dict] = []
    for index, name in enumerate(MENTEES):
        zone = "America/New_York" if index == 26 else "America/Los_Angeles"  # Farid Johnson studies online from New York
        if index in planted:
            why = planted[index]
            if why == "availability":  # free only on Friday evenings, when no mentor is
                mentor = None
                site, bands, subjects, needs, slots = "Madison K-8", ["3-5"], ["ELA", "math"], ["classroom management", "SEL"], [("Fri", "17:30", "18:15")]
            elif why == "subject":  # the district's one music teacher in the pool; no mentor teaches music
                mentor = None
                site, bands, subjects, needs, slots = "Garfield High", ["9-12"], ["music"], ["classroom management"], [("Tue", "15:30", "16:30"), ("Wed", "12:00", "12:45")]
            else:  # two ELD teachers whose only fitting mentor takes one mentee
                eld = mentors[ONLY_ELD_MENTOR]
                mentor = None
                site, bands, subjects = "Cesar Chavez High", ["9-12"], ["ELD"]
                needs, slots = ["family engagement"], [eld["slots"][index % 2]]
        else:
            mentor = seats.pop()
            bands = [rng.choice(mentor["bands"])]
            site = rng.choice([s for s, (site_bands, _) in SITES.items() if bands[0] in site_bands])
            subjects = [rng.choice(mentor["subjects"])]
            if rng.random() < 0.3:
                extra = rng.choice(SECONDARY_SUBJECTS)
                if extra not in subjects and extra != "ELD":
                    subjects.append(extra)
            needs = [rng.choice(mentor["strengths"])]
            for topic in rng.sample(["classroom management", *TOPICS], k=rng.choice((0, 1, 2))):
                if topic not in needs:
                    needs.insert(rng.randrange(len(needs) + 1), topic)
            shared = rng.choice(mentor["slots"])
            others = [s for s in rng.sample(SLOTS, k=rng.choice((0, 1, 2))) if s != shared]
            slots = [shared, *others]
            if zone == "America/New_York":  # the same hour, written in the mentee's own zone
                slots = [(day, f"{int(a[:2]) + 3:02d}{a[2:]}", f"{int(b[:2]) + 3:02d}{b[2:]}") for day, a, b in slots]
        mentees.append({
            "index": index, "name": name, "site": site, "bands": bands, "subjects": subjects, "needs": needs,
            "slots": slots, "zone": zone, "program": rng.choice(PROGRAMS),
            "slack": "" if index == 8 or rng.random() < 0.35 else _slack_id(rng),
        })  # fmt: skip

    rows = []
    for m in mentors:
        rows.append({
            "email": _email(m["name"], "mr", m["index"]), "name": m["name"],
            "role": "Mentor" if rng.random() < 0.1 and m["index"] != 6 else "mentor",
            "slack_user_id": m["slack"], "site": m["site"], "program": "", "grade_bands": _cell(m["bands"], rng),
            "subjects": _cell(m["subjects"], rng), "strengths": _cell(m["strengths"], rng), "needs": "",
            "availability": _cell([_slot_text(s, rng) for s in m["slots"]], rng), "timezone": m["zone"],
            "capacity": str(m["capacity"]), "principal_email": m["principal"], "avoid": "",
        })  # fmt: skip
    for e in mentees:
        rows.append({
            "email": _email(e["name"], "ee", e["index"]), "name": e["name"], "role": "mentee", "slack_user_id": e["slack"],
            "site": e["site"], "program": e["program"], "grade_bands": _cell(e["bands"], rng), "subjects": _cell(e["subjects"], rng),
            "strengths": "", "needs": _cell(e["needs"], rng), "availability": _cell([_slot_text(s, rng) for s in e["slots"]], rng),
            "timezone": e["zone"], "capacity": "", "principal_email": "", "avoid": "",
        })  # fmt: skip
    rng.shuffle(rows)
    return rows


def main() -> None:
    """Write the roster next to the demo."""
    rows = build()
    names = [row["name"] for row in rows]
    assert len(set(names)) == len(names), "every person in the demo roster has a name of their own"
    with OUT.open("w", encoding="utf-8", newline="") as handle:
        writer = csv.DictWriter(handle, fieldnames=COLUMNS, lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
    print(f"Wrote {len(rows)} rows to {OUT}")


if __name__ == "__main__":
    main()
