"""Replies to the profile email: 1 grade bands, 2 subjects, 3 strengths (mentors) or needs (mentees), then
availability and what matters most (numbered 4 and 5 for a mentee or a mentor, 5 and 6 for someone who is both)."""

from __future__ import annotations

from tests.email_corpus.model import case, weights

# Grade bands, subjects and needs already answered: the email asks "4. When are you usually free…" and "5. What matters…".
ASKS_AVAILABILITY = {"grade_bands": "6-8", "subjects": "math", "needs": "assessment"}
MENTOR_ASKS_AVAILABILITY = {"grade_bands": "9-12", "subjects": "science", "strengths": "assessment"}


def avail(id: str, client: str, lang: str, words: str, slots: list[str] | None = None, **extra):
    """An answer to the availability question alone (the first question still open)."""
    expect = {"saved": {"availability": slots}} if slots is not None else {"asks": ("availability",)}
    return case(id, client, lang, "profile", words, prior=ASKS_AVAILABILITY, **expect, **extra)


AVAILABILITY = [
    avail("av-gmail-mw-f", "gmail_web", "en", "M/W after school, F mornings", ["Mon 15:30-17:00", "Wed 15:30-17:00", "Fri 07:00-08:00"]),
    avail("av-ios-wensdays", "ios_mail", "en", "wensdays after 3", None,
          note="a misspelt day is read as Wed 15:00-17:00 and proposed: the answer asks the person to confirm it, nothing is saved until they do"),
    avail("av-apple-fr-jeudi", "apple_mail", "fr", "Le jeudi, 16:00-17:00", ["Thu 16:00-17:00"], charset="iso-8859-1", cte="quoted-printable"),
    avail("av-gmail-es-martes-jueves", "gmail_web", "es", "Martes y jueves después de las 3:30", ["Tue 15:30-17:00", "Thu 15:30-17:00"]),
    avail("av-outlook-before-school-most-days", "outlook_desktop", "en", "before school most days", None),
    avail("av-gmail-except-fridays", "gmail_web", "en", "After school any day except Fridays",
          ["Mon 15:30-17:00", "Tue 15:30-17:00", "Wed 15:30-17:00", "Thu 15:30-17:00"]),
    avail("av-outlook-web-not-fridays", "outlook_web", "en", "Not Fridays. Mon-Thu 3:30-4:30 works",
          ["Mon 15:30-16:30", "Tue 15:30-16:30", "Wed 15:30-16:30", "Thu 15:30-16:30"]),
    avail("av-thunderbird-tues-pm", "thunderbird", "en", "Tues 3:15-4:15pm", ["Tue 15:15-16:15"]),
    avail("av-apple-lunch-thursdays", "apple_mail", "en", "lunch on Thursdays", ["Thu 12:00-12:45"]),
    avail("av-gmx-de-dienstags", "gmx_de", "de", "Dienstags ab 15 Uhr", ["Tue 15:00-17:00"]),
    avail("av-gmail-pt-segundas", "gmail_web", "pt", "Segundas e quartas depois das 16h", ["Mon 16:00-17:00", "Wed 16:00-17:00"]),
    avail("av-outlook-nl-woensdag", "outlook_desktop", "nl", "Woensdagmiddag na 14:00", ["Wed 14:00-17:00"]),
    avail("av-ios-it-martedi", "ios_mail", "it", "Il martedì dalle 15:30 alle 16:30", ["Tue 15:30-16:30"]),
    avail("av-gmail-schedule-mess", "gmail_web", "en", "Honestly my schedule changes every week, it depends on coverage.", None),
    avail("av-samsung-mon-early-thu-4", "samsung", "en", "Mondays 7:15-7:45am or Thursdays at 4", ["Mon 07:15-07:45", "Thu 16:00-17:00"]),
    avail("av-yahoo-any-weekday-after-4", "yahoo", "en", "Any weekday after 4",
          ["Mon 16:00-17:00", "Tue 16:00-17:00", "Wed 16:00-17:00", "Thu 16:00-17:00", "Fri 16:00-17:00"]),
    avail("av-gmail-android-tu-th", "gmail_android", "en", "Tu/Th 3:30-4:30", ["Tue 15:30-16:30", "Thu 15:30-16:30"]),
    avail("av-outlook-mobile-wed-evenings", "outlook_mobile", "en", "Wednesday evenings", ["Wed 17:00-19:00"]),
    avail("av-gmail-a-days", "gmail_web", "en", "I'm free 3rd period (10:05-10:55) on A days", None),
    avail("av-thunderbird-strict", "thunderbird", "en", "Mon 15:00-16:00; Thu 07:30-08:15", ["Mon 15:00-16:00", "Thu 07:30-08:15"]),
    avail("av-outlook-es-miercoles", "outlook_desktop", "es", "Los miércoles por la tarde", ["Wed 15:30-17:00"], charset="windows-1252"),
    avail("av-zimbra-fr-apres-ecole", "zimbra_fr", "fr", "Lundi et jeudi après l'école", ["Mon 15:30-17:00", "Thu 15:30-17:00"],
          charset="iso-8859-1", cte="quoted-printable"),
    avail("av-thunderbird-de-montags", "thunderbird", "de", "Montags und mittwochs 7:30-8:00", ["Mon 07:30-08:00", "Wed 07:30-08:00"],
          charset="iso-8859-1", cte="quoted-printable"),
    avail("av-gmail-tue-thu-after-330", "gmail_web", "en", "Tuesdays and Thursdays after 3:30", ["Tue 15:30-17:00", "Thu 15:30-17:00"]),
    avail("av-apple-mornings-before-8", "apple_mail", "en", "Mon and Wed mornings before 8", ["Mon 07:00-08:00", "Wed 07:00-08:00"]),
    avail("av-ios-base64-fr-mardi", "ios_mail", "fr", "Mardi après 15h30", ["Tue 15:30-17:00"], cte="base64"),
    avail("av-outlook-web-not-sure-yet", "outlook_web", "en", "Not sure yet, I'll know once the spring schedule is out", None),
]

PROFILE = [
    case("pf-gmail-numbered-all", "gmail_web", "en", "profile",
         "1. 3-5\n2. Math, science\n3. classroom management, differentiation\n4. Tuesdays after 3:30\n5. 1, 3",
         saved={"grade_bands": ["3-5"], "subjects": ["math", "science"], "needs": ["classroom management", "differentiation"],
                "availability": ["Tue 15:30-17:00"], "match_weights": weights("grade_band", "schedule")}),
    case("pf-outlook-labelled", "outlook_desktop", "en", "profile", "Grades: 6-8\nSubjects: ELA\nAvailability: Mon and Wed mornings before 8",
         saved={"grade_bands": ["6-8"], "subjects": ["ELA"], "availability": ["Mon 07:00-08:00", "Wed 07:00-08:00"]}),
    case("pf-apple-inline-mentee", "apple_mail", "en", "profile", style="inline", form="plain",
         inline={1: "6th grade", 2: "Science", 3: "Classroom management and SEL", 4: "Thursdays after school", 5: "Same subject, plenty of shared time"},
         saved={"grade_bands": ["6-8"], "subjects": ["science"], "needs": ["classroom management", "SEL"], "availability": ["Thu 15:30-17:00"],
                "match_weights": weights("subject", "schedule")}),
    case("pf-gmail-inline-partial", "gmail_web", "en", "profile", style="inline", inline={1: "K-2", 2: "ELA, ELD"},
         saved={"grade_bands": ["K-2"], "subjects": ["ELA", "ELD"]}),
    case("pf-thunderbird-inline-mentor", "thunderbird", "en", "profile", style="inline", role="mentor",
         inline={1: "9-12", 2: "math", 3: "assessment, data-driven instruction", 4: "Mon 15:00-16:00", 5: "2"},
         saved={"grade_bands": ["9-12"], "subjects": ["math"], "strengths": ["assessment", "data-driven instruction"],
                "availability": ["Mon 15:00-16:00"], "match_weights": weights("subject")}),
    case("pf-ios-grades-3-and-4", "ios_mail", "en", "profile", "1. grades 3 and 4\n2. math", saved={"grade_bands": ["3-5"], "subjects": ["math"]}),
    case("pf-outlook-web-strengths", "outlook_web", "en", "profile", "3. Classroom management, SEL, and family engagement", role="mentor",
         prior={"grade_bands": "K-2", "subjects": "ELA"}, saved={"strengths": ["classroom management", "SEL", "family engagement"]}),
    case("pf-gmail-needs-misspelt", "gmail_web", "en", "profile", "3. assesment and differentation", prior={"grade_bands": "3-5", "subjects": "math"},
         saved={"needs": ["assessment", "differentiation"]}),
    case("pf-apple-weights-words", "apple_mail", "en", "profile", "5. Same subject and someone from another school",
         prior={**ASKS_AVAILABILITY, "availability": "Tue 15:30-16:30"}, saved={"match_weights": weights("subject", "cross_site")}),
    case("pf-gmail-weights-numbers", "gmail_web", "en", "profile", "5. 1,2,3", prior={**ASKS_AVAILABILITY, "availability": "Tue 15:30-16:30"},
         saved={"match_weights": weights("grade_band", "subject", "schedule")}),
    case("pf-outlook-weights-all", "outlook_desktop", "en", "profile", "5. All of them honestly", prior={**ASKS_AVAILABILITY, "availability": "Tue 15:30-16:30"},
         asks=("match_weights",)),
    case("pf-gmail-es-numbered", "gmail_web", "es", "profile", "1. 6-8\n2. Matemáticas\n4. Lunes y miércoles después de las 4",
         saved={"grade_bands": ["6-8"], "subjects": ["math"], "availability": ["Mon 16:00-17:00", "Wed 16:00-17:00"]}),
    case("pf-outlook-fr-numbered", "outlook_desktop", "fr", "profile", "1. 3-5\n2. Sciences\n3. Gestion de classe", charset="windows-1252",
         saved={"grade_bands": ["3-5"], "subjects": ["science"], "needs": ["classroom management"]}),
    case("pf-outlook-sig-phone", "outlook_desktop", "en", "profile", "1. 9-12\n2. social studies",
         signature="Mr. Tariq Haddad\nSocial Studies Department\nRiverside High School\nT: 555-0142 | he/him",
         saved={"grade_bands": ["9-12"], "subjects": ["social studies"]}),
    case("pf-ios-mobile-short", "ios_mail", "en", "profile", "1 K-2\n2 ELA", saved={"grade_bands": ["K-2"], "subjects": ["ELA"]}),
    case("pf-gmail-kinder", "gmail_web", "en", "profile", "1. Kindergarten\n2. All subjects (self-contained)", asks=("subjects",),
         saved={"grade_bands": ["K-2"]}),
    case("pf-samsung-html-numbered", "samsung", "en", "profile", "1. 6-8\n2. PE", saved={"grade_bands": ["6-8"], "subjects": ["PE"]}),
    case("pf-yahoo-labelled-needs", "yahoo", "en", "profile", "Needs: co-teaching, technology integration", prior={"grade_bands": "3-5", "subjects": "science"},
         saved={"needs": ["co-teaching", "technology integration"]}),
    case("pf-outlook-mobile-own-topic", "outlook_mobile", "en", "profile", "3. classroom management, working with newcomer students",
         prior={"grade_bands": "6-8", "subjects": "ELD"}, saved={"needs": ["classroom management", "working with newcomer students"]},
         kept=("working with newcomer students",)),
    case("pf-both-six-questions", "gmail_web", "en", "profile", "1. 6-8\n2. math\n3. assessment\n4. classroom management\n5. Fridays 7:30-8:00\n6. 3",
         role="both", saved={"grade_bands": ["6-8"], "subjects": ["math"], "strengths": ["assessment"], "needs": ["classroom management"],
                             "availability": ["Fri 07:30-08:00"], "match_weights": weights("schedule")}),
    case("pf-de-gmail-numbered", "gmail_web", "de", "profile", "1. 3-5\n2. Mathe\n4. Donnerstags 15:30-16:30",
         saved={"grade_bands": ["3-5"], "subjects": ["math"], "availability": ["Thu 15:30-16:30"]}),
    case("pf-grade-backwards", "apple_mail", "en", "profile", "1. 8-6", asks=("grade_bands",)),
]
