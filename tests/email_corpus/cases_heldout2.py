"""A second held-out set: replies written after the reader met every earlier case, by someone who had not read the
reader's code, in phrasings the other lists do not use (UK, Australian and Indian English, texting, rambling replies
with the answer in the middle, corrections, pasted tables, conditions, time zones, emoji). The share met on first run
is a fresh, honest measure of how the bot reads mail it was not tuned on."""

from __future__ import annotations

from tests.email_corpus.model import case, weights

MENTOR_ASKED = {"role": "mentor"}  # the follow-up that asks "2. How many mentees can you take this term?"
ASKS_AVAILABILITY = {"grade_bands": "6-8", "subjects": "math", "needs": "assessment"}  # the email asks 4 (when) and 5 (what matters)
ASKS_WEIGHTS = {**ASKS_AVAILABILITY, "availability": "Tue 15:30-16:30"}  # only "5. What matters most" is still open
HEADTEACHER = "Mrs J. Ashworth\nHeadteacher\nHollins Park Academy"


def slots(days, hours: str) -> list[str]:
    """The stored slots for the same hours on several days."""
    return [f"{day} {hours}" for day in days]


def when(id: str, client: str, lang: str, words: str, saved: list[str] | None = None, **extra):
    """An answer to the availability question alone; None means a careful reader would ask back."""
    expect = {"saved": {"availability": saved}} if saved is not None else {"asks": ("availability",)}
    return case(id, client, lang, "profile", words, prior=ASKS_AVAILABILITY, **{**expect, **extra})


RAMBLING_OPT_IN = """Hi there,

Sorry this is so late, it's been a week - parent evenings on Tuesday and Wednesday, then the fire alarm went off
twice on Thursday during mocks, and I've had a stinking cold since the weekend.

Anyway! To actually answer your question: I'd love to be a mentee again this term. Last year really helped me
with my Year 9 group and I think another round would do me good.

Hope you're keeping well and that the rest of the team got through report writing in one piece.

Best wishes,
Harriet"""

RAMBLING_AVAILABILITY = """Hello!

Thanks for sending this. Just so you know, I coach netball on Mondays and Wednesdays until 5 so those days are out
for me, and Fridays I pick my son up early. Tuesday afternoons from about 3:45 are usually clear though, if that
suits whoever I'm matched with. Happy to do it on Teams too if they're at another site.

Cheers,
Priya"""

RAMBLING_CHECK_IN = """Hi,

Quick update as requested. It's been a manic few weeks with Ofsted in and the Christmas production, so I
wasn't sure we'd manage it, but we did get together last Wednesday after school and had a proper chat about
her behaviour plan for 8X. Really useful. We've pencilled in another one after half term.

Thanks,
Tom"""

H2_OPT_IN = [
    case("h2-oi-gmail-uk-put-me-down", "gmail_web", "en", "opt_in", "Put me down as a mentee please - second year ECT so I could do with the support!",
         saved={"role": "mentee"}),
    case("h2-oi-outlook-rambling", "outlook_desktop", "en", "opt_in", RAMBLING_OPT_IN, signature="", saved={"role": "mentee"},
         note="the answer is in the middle of a long reply"),
    case("h2-oi-ios-k", "ios_mail", "en", "opt_in", "k", asks=("role",), note="an acknowledgement, not an answer to how they'll take part"),
    case("h2-oi-gmail-android-yup", "gmail_android", "en", "opt_in", "yup", saved={"role": "mentee"},
         note="yes to taking part means the roster role"),
    case("h2-oi-samsung-texting-mentor", "samsung", "en", "opt_in", "ya ill mentor. 1 max tho", role="mentor", saved={"role": "mentor", "capacity": 1}),
    case("h2-oi-outlook-web-au-yeah-nah", "outlook_web", "en", "opt_in", "Yeah nah, not this term mate - flat out with Year 12 exams.",
         saved={"role": "none"}, note="Australian 'yeah nah' is a no"),
    case("h2-oi-outlook-in-kindly-mentor", "outlook_desktop", "en", "opt_in",
         "Respected Sir/Madam,\n\nKindly consider me as a mentor for this term. I can take up two mentees.\n\nThanking you,\nR. Venkatesh\nPGT Mathematics",
         role="mentor", signature="", saved={"role": "mentor", "capacity": 2}),
    case("h2-oi-gmail-in-do-the-needful", "gmail_web", "en", "opt_in", "Please enrol me as mentee and do the needful.", saved={"role": "mentee"}),
    case("h2-oi-apple-scratch-that-both", "apple_mail", "en", "opt_in", "Mentee - actually no, scratch that, put me down for both. I can take one.",
         role="both", saved={"role": "both", "capacity": 1}, note="a correction: the last word counts"),
    case("h2-oi-ios-thumbs-up", "ios_mail", "en", "opt_in", "👍", asks=("role",), note="a thumbs up does not say how"),
    case("h2-oi-gmail-a-pair", "gmail_web", "en", "opt_in", "I'll mentor again - a pair of new teachers at most.", role="mentor",
         saved={"role": "mentor", "capacity": 2}),
    case("h2-oi-yahoo-html-yes-please", "yahoo", "en", "opt_in", "Yes please!\nThanks for organising.", form="html", saved={"role": "mentee"}),
    case("h2-oi-outlook-inline-two-mentee", "outlook_desktop", "en", "opt_in", style="inline", inline={1: "2 (mentee)"}, saved={"role": "mentee"}),
    case("h2-oi-gmail-es-me-apunto", "gmail_web", "es", "opt_in", "Me apunto como mentora, con una persona me basta.", role="mentor",
         saved={"role": "mentor", "capacity": 1}),
    case("h2-oi-zimbra-fr-passer-mon-tour", "zimbra_fr", "fr", "opt_in", "Cette fois-ci je préfère passer mon tour, merci.", saved={"role": "none"}),
    case("h2-oi-gmx-de-gern-beides", "gmx_de", "de", "opt_in", "Gern beides - ich kann eine Kollegin begleiten.", role="both",
         saved={"role": "both", "capacity": 1}),
    case("h2-oi-outlook-web-pt-opcao-2", "outlook_web", "pt", "opt_in", "Opção 2, por favor.", saved={"role": "mentee"}),
    case("h2-oi-apple-nl-verlof", "apple_mail", "nl", "opt_in", "Dit keer niet, ik ga in maart met zwangerschapsverlof.", saved={"role": "none"}),
    case("h2-oi-samsung-it-mentore-due", "samsung", "it", "opt_in", "Vorrei fare da mentore, al massimo due colleghi.", role="mentor",
         saved={"role": "mentor", "capacity": 2}),
    case("h2-cap-ios-one-or-two", "ios_mail", "en", "opt_in", "one or two?", role="mentor", prior=MENTOR_ASKED, asks=("capacity",)),
    case("h2-cap-outlook-timetable", "outlook_desktop", "en", "opt_in", "Two, timetable permitting.", role="mentor", prior=MENTOR_ASKED,
         saved={"capacity": 2}),
    case("h2-cap-gmail-android-yup", "gmail_android", "en", "opt_in", "yup", role="mentor", prior=MENTOR_ASKED, asks=("capacity",),
         note="yes is not a number"),
    case("h2-cap-orange-fr-deux-max", "orange_fr", "fr", "opt_in", "Deux maximum.", role="mentor", prior=MENTOR_ASKED, saved={"capacity": 2}),
    case("h2-cap-gmail-es-ninguno", "gmail_web", "es", "opt_in", "Ninguno este trimestre, estoy de baja.", role="mentor", prior=MENTOR_ASKED,
         saved={"capacity": 0}),
    case("h2-cap-thunderbird-nl-drie", "thunderbird", "nl", "opt_in", "Drie is prima.", role="mentor", prior=MENTOR_ASKED, saved={"capacity": 3}),
    case("h2-cap-ios-it-solo-uno", "ios_mail", "it", "opt_in", "Solo uno", role="mentor", prior=MENTOR_ASKED, saved={"capacity": 1}),
    case("h2-cap-gmail-pt-dois", "gmail_web", "pt", "opt_in", "Posso ficar com dois.", role="mentor", prior=MENTOR_ASKED, saved={"capacity": 2}),
    case("h2-cap-outlook-de-hoechstens-einen", "outlook_desktop", "de", "opt_in", "Höchstens einen.", role="mentor", prior=MENTOR_ASKED,
         saved={"capacity": 1}),
]

H2_PROFILE = [
    case("h2-pf-gmail-uk-year-7-maths", "gmail_web", "en", "profile", "1. Year 7 and Year 8\n2. Maths\n3. behaviour management, differentiation",
         saved={"grade_bands": ["6-8"], "subjects": ["math"], "needs": ["classroom management", "differentiation"]},
         note="UK Years 7-8 are US grades 6-7; behaviour management is classroom management"),
    case("h2-pf-outlook-uk-year-4", "outlook_desktop", "en", "profile", "1. Year 4\n2. English and maths", saved={"grade_bands": ["3-5"], "subjects": ["ELA", "math"]},
         note="UK Year 4 is US grade 3"),
    case("h2-pf-ios-au-yr-11", "ios_mail", "en", "profile", "1. Yr 11 & 12\n2. Maths Methods, Physics",
         saved={"grade_bands": ["9-12"], "subjects": ["math", "science"]}),
    case("h2-pf-gmail-in-standard-roman", "gmail_web", "en", "profile", "1. Standard VI to VIII\n2. Mathematics and Science",
         saved={"grade_bands": ["6-8"], "subjects": ["math", "science"]}),
    case("h2-pf-apple-one-sentence", "apple_mail", "en", "profile",
         "I teach 7th and 8th grade science and would really like help with assessment.",
         saved={"grade_bands": ["6-8"], "subjects": ["science"], "needs": ["assessment"]}, note="three answers in one sentence, no numbers"),
    case("h2-pf-outlook-pasted-table", "outlook_desktop", "en", "profile", "Grade band\t9-12\nSubject\tSocial studies\nI can help with\tTech integration",
         role="mentor", saved={"grade_bands": ["9-12"], "subjects": ["social studies"], "strengths": ["technology integration"]},
         note="a two-column table pasted from Outlook arrives as tab-separated lines"),
    case("h2-pf-gmail-correction-grade", "gmail_web", "en", "profile", "1. 3-5 - sorry, I mean K-2, I moved down to 2nd grade this year\n2. ELA",
         saved={"grade_bands": ["K-2"], "subjects": ["ELA"]}),
    case("h2-pf-samsung-music-k-5", "samsung", "en", "profile", "1. K-5 (I'm the music teacher)\n2. Music", saved={"grade_bands": ["K-2", "3-5"], "subjects": ["arts"]}),
    case("h2-pf-yahoo-all-grades", "yahoo", "en", "profile", "1. all of them lol\n2. PE", saved={"subjects": ["PE"]}, asks=("grade_bands",)),
    case("h2-pf-gmail-android-needs-ranked", "gmail_android", "en", "profile", "3. 4 then 1 then 10", prior={"grade_bands": "3-5", "subjects": "math"},
         saved={"needs": ["assessment", "classroom management", "technology integration"]}),
    case("h2-pf-outlook-web-both-labelled", "outlook_web", "en", "profile",
         "Grades: K-2\nSubjects: ELA, ELD\nI can help with: family engagement\nI'd like help with: technology integration", role="both",
         saved={"grade_bands": ["K-2"], "subjects": ["ELA", "ELD"], "strengths": ["family engagement"], "needs": ["technology integration"]}),
    case("h2-pf-gmail-es-esl", "gmail_web", "es", "profile", "1. 9-12\n2. Inglés como segunda lengua\n3. Manejo del aula",
         saved={"grade_bands": ["9-12"], "subjects": ["ELD"], "needs": ["classroom management"]}),
    case("h2-pf-apple-fr-cm1-cm2", "apple_mail", "fr", "profile", "1. CM1-CM2\n2. Mathématiques et sciences", charset="iso-8859-1", cte="quoted-printable",
         saved={"grade_bands": ["3-5"], "subjects": ["math", "science"]}, note="CM1 and CM2 are the French grades 4 and 5"),
    case("h2-pf-gmx-de-klasse-5-6", "gmx_de", "de", "profile", "1. Klasse 5 und 6\n2. Deutsch als Zweitsprache\n3. Differenzierung, Elternarbeit",
         saved={"grade_bands": ["3-5", "6-8"], "subjects": ["ELD"], "needs": ["differentiation", "family engagement"]}),
    case("h2-pf-outlook-web-pt-4-ano", "outlook_web", "pt", "profile", "1. Ensino fundamental, 4º ano\n2. Matemática\n3. Gestão da sala de aula",
         saved={"grade_bands": ["3-5"], "subjects": ["math"], "needs": ["classroom management"]}),
    case("h2-pf-gmail-nl-aardrijkskunde", "gmail_web", "nl", "profile", "1. 6-8\n2. Aardrijkskunde en geschiedenis",
         saved={"grade_bands": ["6-8"], "subjects": ["social studies"]}),
    case("h2-pf-ios-nl-groep", "ios_mail", "nl", "profile", "1. groep 5/6\n2. rekenen en taal", saved={"grade_bands": ["3-5"], "subjects": ["math", "ELA"]},
         note="Dutch groep 5 and 6 are US grades 3 and 4"),
    case("h2-pf-ios-it-storia", "ios_mail", "it", "profile", "1. 9-12\n2. Storia e geografia\n3. Valutazione",
         saved={"grade_bands": ["9-12"], "subjects": ["social studies"], "needs": ["assessment"]}),
    case("h2-pf-gmail-weights-ranked-words", "gmail_web", "en", "profile", "5. shared time matters most, then subject", prior=ASKS_WEIGHTS,
         saved={"match_weights": weights("schedule", "subject")}),
    case("h2-pf-thunderbird-nl-weights", "thunderbird", "nl", "profile", "5. 3 en 5", prior=ASKS_WEIGHTS, saved={"match_weights": weights("schedule", "cross_site")}),
    case("h2-pf-orange-fr-weights", "orange_fr", "fr", "profile", "5. Meme matiere, et quelqu'un d'un autre etablissement", prior=ASKS_WEIGHTS,
         saved={"match_weights": weights("subject", "cross_site")}, note="typed without accents"),
    case("h2-pf-outlook-mobile-weights-dont-mind", "outlook_mobile", "en", "profile", "5. don't mind really", prior=ASKS_WEIGHTS, asks=("match_weights",)),
]

H2_AVAILABILITY = [
    when("h2-av-gmail-uk-half-term", "gmail_web", "en", "Thursdays after school (not in half term obviously)", ["Thu 15:30-17:00"]),
    when("h2-av-outlook-uk-period-5", "outlook_desktop", "en", "Wednesday period 5, that's 2:10-3:10", ["Wed 14:10-15:10"]),
    when("h2-av-ios-uk-lunchtimes", "ios_mail", "en", "Any lunchtime except Monday (I'm on duty)", slots(("Tue", "Wed", "Thu", "Fri"), "12:00-12:45")),
    when("h2-av-samsung-au-arvo", "samsung", "en", "Tuesday arvo from 3.30", ["Tue 15:30-17:00"], note="Australian 'arvo' is afternoon; 3.30 with a dot"),
    when("h2-av-gmail-in-saturday", "gmail_web", "en", "Saturdays 10 to 12, we have a half day", ["Sat 10:00-12:00"]),
    when("h2-av-apple-scratch-that", "apple_mail", "en", "Mondays after school. Wait no, scratch that - Thursdays, Mondays are staff meetings.",
         ["Thu 15:30-17:00"]),
    when("h2-av-outlook-web-first-tuesday", "outlook_web", "en", "Tuesdays after school, except the first Tuesday of the month (staff meeting)", None),
    when("h2-av-yahoo-every-other-friday", "yahoo", "en", "Every other Friday morning", None, note="fortnightly: which Fridays?"),
    when("h2-av-gmail-pacific", "gmail_web", "en", "Wed 3:30-4:30pm Pacific", ["Wed 15:30-16:30"], note="the program's own time zone"),
    when("h2-av-outlook-eastern", "outlook_desktop", "en", "Thursdays at 4pm ET", None, note="another time zone than the person's: ask, don't guess"),
    when("h2-av-ios-emoji-clock", "ios_mail", "en", "Tues 🕒 3-4", ["Tue 15:00-16:00"]),
    when("h2-av-gmail-android-coffee", "gmail_android", "en", "Fridays before school ☕️", ["Fri 07:00-08:00"]),
    when("h2-av-outlook-table", "outlook_desktop", "en", "Mon\t7:30-8:00\nWed\t3:45-4:30", ["Mon 07:30-08:00", "Wed 15:45-16:30"]),
    when("h2-av-outlook-web-table-header", "outlook_web", "en", "Day\tFrom\tTo\nTuesday\t15:30\t16:30\nThursday\t15:30\t16:30",
         ["Tue 15:30-16:30", "Thu 15:30-16:30"], note="a table with a header row"),
    when("h2-av-samsung-html-lines", "samsung", "en", "Mondays: 3:30-4:30\nFridays: lunch", ["Mon 15:30-16:30", "Fri 12:00-12:45"], form="html"),
    when("h2-av-gmail-lone-two", "gmail_web", "en", "2", None, note="a number is not a time to meet"),
    when("h2-av-ios-texting", "ios_mail", "en", "tues n thurs aft 330", ["Tue 15:30-17:00", "Thu 15:30-17:00"]),
    when("h2-av-gmail-rambling", "gmail_web", "en", RAMBLING_AVAILABILITY, ["Tue 15:45-17:00"], signature="",
         note="the days that are out are named too; only Tuesday is free"),
    when("h2-av-thunderbird-ish", "thunderbird", "en", "Mondays, 2:30ish", ["Mon 14:30-15:30"]),
    when("h2-av-apple-8-9", "apple_mail", "en", "8-9 on Mondays", ["Mon 08:00-09:00"]),
    when("h2-av-gmail-two-ranges", "gmail_web", "en", "Tuesdays 4-5, Thursdays 12-1", ["Tue 16:00-17:00", "Thu 12:00-13:00"]),
    when("h2-av-outlook-whichever", "outlook_desktop", "en", "Mon 3:30-4:30 or Tue 3:30-4:30, whichever suits my mentor",
         ["Mon 15:30-16:30", "Tue 15:30-16:30"]),
    when("h2-av-yahoo-whenever", "yahoo", "en", "whenever tbh", None),
    when("h2-av-gmx-de-13-14", "gmx_de", "de", "Mittwochs von 13 bis 14 Uhr", ["Wed 13:00-14:00"]),
    when("h2-av-outlook-es-antes", "outlook_desktop", "es", "Los lunes antes de clase", ["Mon 07:00-08:00"]),
    when("h2-av-zimbra-fr-mercredi-midi", "zimbra_fr", "fr", "Le mercredi midi", ["Wed 12:00-12:45"]),
    when("h2-av-ios-pt-tercas-quintas", "ios_mail", "pt", "Terças e quintas, das 15h30 às 16h30", ["Tue 15:30-16:30", "Thu 15:30-16:30"]),
    when("h2-av-outlook-web-nl-ochtend", "outlook_web", "nl", "Elke ochtend voor de les, behalve vrijdag", slots(("Mon", "Tue", "Wed", "Thu"), "07:00-08:00")),
    when("h2-av-gmail-it-primo-del-mese", "gmail_web", "it", "Il giovedì dopo scuola, tranne il primo del mese", None),
    case("h2-av-outlook-two-in-one", "outlook_desktop", "en", "profile",
         "Tuesdays after school, and I'd really like someone who teaches the same subject as me.", prior=ASKS_AVAILABILITY,
         saved={"availability": ["Tue 15:30-17:00"], "match_weights": weights("subject")}, note="questions 4 and 5 in one sentence"),
    case("h2-av-apple-inline-de", "apple_mail", "de", "profile", style="inline", inline={4: "Di und Do ab 15:30", 5: "1, 2"}, prior=ASKS_AVAILABILITY,
         saved={"availability": ["Tue 15:30-17:00", "Thu 15:30-17:00"], "match_weights": weights("grade_band", "subject")}),
]

H2_APPROVAL = [
    case("h2-ap-outlook-uk-sign-off", "outlook_desktop", "en", "approval", "Happy to sign this off.", signature=HEADTEACHER, saved={"decision": "approve"}),
    case("h2-ap-gmail-cap-at-one", "gmail_web", "en", "approval", "Approve, but cap it at one please.", saved={"decision": "change", "capacity": 1}),
    case("h2-ap-ios-au-no-worries", "ios_mail", "en", "approval", "No worries, approved 👍", saved={"decision": "approve"}),
    case("h2-ap-outlook-in-kindly", "outlook_desktop", "en", "approval", "Approved. Kindly ensure it does not affect her teaching load.",
         saved={"decision": "approve"}),
    case("h2-ap-gmail-android-lone-two", "gmail_android", "en", "approval", "2", saved={"decision": "change"},
         note="option 2 picked without the number: the choice is recorded and the number is the next question"),
    case("h2-ap-outlook-mobile-y", "outlook_mobile", "en", "approval", "Y", saved={"decision": "approve"}),
    case("h2-ap-outlook-web-es-no-apruebo", "outlook_web", "es", "approval", "No lo apruebo este trimestre, ya tiene demasiada carga.",
         saved={"decision": "decline"}),
    case("h2-ap-apple-fr-une-seule", "apple_mail", "fr", "approval", "D'accord, mais une seule mentorée.", saved={"decision": "change", "capacity": 1}),
    case("h2-ap-gmx-de-abgelehnt", "gmx_de", "de", "approval", "Abgelehnt, sie ist erst seit August an der Schule.", saved={"decision": "decline"}),
    case("h2-ap-gmail-pt-aprovo", "gmail_web", "pt", "approval", "Aprovo.", saved={"decision": "approve"}),
    case("h2-ap-thunderbird-nl-een", "thunderbird", "nl", "approval", "Ja, maar liever maar één mentee.", style="bottom",
         saved={"decision": "change", "capacity": 1}),
    case("h2-ap-samsung-it-non-approvo", "samsung", "it", "approval", "Non approvo, mi dispiace.", saved={"decision": "decline"}),
    case("h2-ap-outlook-not-my-staff", "outlook_desktop", "en", "approval",
         "I'm not her principal anymore - she transferred to Lincoln in October. Please ask Dr. Reyes.", forwarded=True, kept=("transferred to Lincoln",)),
]

H2_CHECK_IN = [
    case("h2-ci-gmail-uk-cuppa", "gmail_web", "en", "check_in", "Yes, caught up over a cuppa on Thursday.", saved={"met": "met"}),
    case("h2-ci-ios-au-bumped", "ios_mail", "en", "check_in", "Nah we had to bump it to next week, swimming carnival.", saved={"met": "rescheduled"}),
    case("h2-ci-samsung-texting-help", "samsung", "en", "check_in", "not yet, keep missing each other, pls help", saved={"met": "need_help"}),
    case("h2-ci-apple-correction", "apple_mail", "en", "check_in",
         "We met - well, scratch that, we were supposed to but she got sick, so we've moved it to Tuesday.", saved={"met": "rescheduled"}),
    case("h2-ci-outlook-web-four", "outlook_web", "en", "check_in", "4", saved={"met": "not_happening"}),
    case("h2-ci-gmail-android-yup", "gmail_android", "en", "check_in", "yup", saved={"met": "met"}),
    case("h2-ci-outlook-rambling", "outlook_desktop", "en", "check_in", RAMBLING_CHECK_IN, signature="", saved={"met": "met"}),
    case("h2-ci-gmail-es-coordinar", "gmail_web", "es", "check_in", "Todavía no hemos podido, ¿nos pueden ayudar a coordinar?", saved={"met": "need_help"}),
    case("h2-ci-orange-fr-c-est-fait", "orange_fr", "fr", "check_in", "Oui c'est fait, tres bonne seance.", saved={"met": "met"}),
    case("h2-ci-outlook-de-verlegt", "outlook_desktop", "de", "check_in", "Wir haben den Termin auf Donnerstag verlegt.", saved={"met": "rescheduled"}),
    case("h2-ci-gmail-pt-nao-vai-rolar", "gmail_web", "pt", "check_in", "Acho que não vai rolar, ela pediu transferência de escola.",
         saved={"met": "not_happening"}),
    case("h2-ci-ios-nl-koffie", "ios_mail", "nl", "check_in", "Ja, we hebben vorige week koffie gedronken en alles doorgenomen.", saved={"met": "met"}),
    case("h2-ci-yahoo-it-una-mano", "yahoo", "it", "check_in", "Purtroppo non riusciamo mai a trovarci, ci serve una mano.", saved={"met": "need_help"}),
    case("h2-ci-outlook-wellbeing", "outlook_desktop", "en", "check_in",
         "Met, yes. But I have a concern about my mentee's wellbeing that I'd rather discuss privately - could someone from the programme ring me?",
         role="mentor", saved={"met": "met"}, forwarded=True, kept=("wellbeing",)),
]

H2_SURVEY = [
    case("h2-sv-ios-abbrev", "ios_mail", "en", "survey", "1. SA\n2. A\n3. N", saved={"voice": 5, "useful": 4, "again": 3}),
    case("h2-sv-outlook-uk-brilliant", "outlook_desktop", "en", "survey", "1. Agree\n2. Strongly agree\n3. Agree\n4. Brilliant programme, cheers",
         saved={"voice": 4, "useful": 5, "again": 4, "comment": "Brilliant programme, cheers"}, kept=("Brilliant programme",)),
    case("h2-sv-samsung-spaces", "samsung", "en", "survey", "5 5 5", saved={"voice": 5, "useful": 5, "again": 5}),
    case("h2-sv-gmail-correction", "gmail_web", "en", "survey", "1. 3\n2. 4 - no wait, 5\n3. 4", saved={"voice": 3, "useful": 5, "again": 4}),
    case("h2-sv-gmail-out-of-range", "gmail_web", "en", "survey", "1. 6\n2. 5\n3. 5", saved={"useful": 5, "again": 5}, asks=("voice",),
         note="6 is not on the scale"),
    case("h2-sv-outlook-web-es-ni", "outlook_web", "es", "survey", "1. De acuerdo\n2. Totalmente de acuerdo\n3. Ni de acuerdo ni en desacuerdo",
         saved={"voice": 4, "useful": 5, "again": 3}),
    case("h2-sv-zimbra-fr-plutot", "zimbra_fr", "fr", "survey", "1. Plutôt d'accord\n2. Tout à fait d'accord\n3. Pas du tout d'accord",
         saved={"voice": 4, "useful": 5, "again": 1}),
    case("h2-sv-gmx-de-kaum-zeit", "gmx_de", "de", "survey", "1. 2\n2. 2\n3. 1\n4. Leider kaum Zeit gehabt.",
         saved={"voice": 2, "useful": 2, "again": 1, "comment": "Leider kaum Zeit gehabt."}, kept=("kaum Zeit",)),
    case("h2-sv-apple-pt-tudo", "apple_mail", "pt", "survey", "Concordo com tudo.", saved={"voice": 4, "useful": 4, "again": 4}),
    case("h2-sv-outlook-nl-oneens", "outlook_desktop", "nl", "survey", "1. Neutraal\n2. Oneens\n3. Helemaal oneens", saved={"voice": 3, "useful": 2, "again": 1}),
    case("h2-sv-thunderbird-it-molto", "thunderbird", "it", "survey", "1. D'accordo\n2. Completamente d'accordo\n3. D'accordo", style="bottom",
         saved={"voice": 4, "useful": 5, "again": 4}),
    case("h2-sv-yahoo-never-clicked", "yahoo", "en", "survey", "My mentor and I never clicked and I'd rather explain why to a person than in a form.",
         forwarded=True, kept=("never clicked",)),
]

H2_FOR_A_PERSON = [
    case("h2-fw-oi-student-teacher", "gmail_web", "en", "opt_in", "I'm a student teacher on placement here until March - can I even join?",
         forwarded=True, kept=("student teacher",)),
    case("h2-fw-pf-google-form", "outlook_web", "en", "profile", "Do I have to do this again? I filled in the Google form last week.",
         forwarded=True, kept=("Google form",)),
    case("h2-fw-oi-de-elternzeit", "gmx_de", "de", "opt_in", "Ich gehe im Februar in Elternzeit. Lohnt sich eine Anmeldung überhaupt?",
         forwarded=True, kept=("Elternzeit",)),
    case("h2-fw-oi-fr-stagiaire", "orange_fr", "fr", "opt_in", "Je suis stagiaire cette annee, est-ce que je peux etre mentoree ?",
         forwarded=True, kept=("stagiaire",)),
    case("h2-fw-ci-it-inappropriati", "gmail_web", "it", "check_in", "Il mio mentore mi ha fatto commenti inappropriati. A chi posso parlarne?",
         forwarded=True, kept=("commenti inappropriati",)),
    case("h2-fw-sv-pt-direcao", "outlook_web", "pt", "survey", "Quem vai ler isto? Não quero que a direção veja as minhas respostas.",
         forwarded=True, kept=("direção veja",)),
]

H2_MACHINES = [
    case("h2-ma-uk-school-trip", "outlook_web", "en", "check_in",
         "Thank you for your email. I am on the Year 8 residential trip until Friday 27th November and will reply on my return.",
         machine="ooo", subject="Automatic reply: Did you meet?", headers={"X-Autoreply": "yes"}),
    case("h2-ma-it-service-desk", "outlook_web", "en", "profile",
         "Thank you for contacting the District IT Service Desk. Incident INC0012345 has been opened on your behalf.\n\n"
         "Please do not reply to this message.",
         machine="ooo", subject="Incident INC0012345 has been opened on your behalf", headers={"Auto-Submitted": "auto-generated"}),
    case("h2-ma-outlook-read-receipt", "outlook_desktop", "en", "opt_in",
         "Your message\n\n  To: Riverside Mentoring\n  Subject: Mentoring this term: Spring 2027\n  Sent: Monday, November 23, 2026 9:00:00 AM\n\n"
         "was read on Monday, November 23, 2026 9:47:12 AM.",
         machine="ooo", subject="Read: Mentoring this term: Spring 2027", note="a read receipt is no one's answer"),
    case("h2-ma-it-congedo", "apple_mail", "it", "check_in", "Sono in congedo di maternità fino a marzo. Per urgenze scrivere alla segreteria.",
         machine="ooo", subject="Fuori sede: Did you meet?", headers={"X-Autorespond": "Fuori sede"}),
    case("h2-ma-pt-ferias", "gmail_web", "pt", "survey", "Olá! Estou de férias e volto dia 4 de janeiro.", machine="ooo",
         subject="Em férias: End of round survey", headers={"Auto-Submitted": "auto-replied", "Precedence": "auto_reply"}),
    case("h2-ma-es-auto-precedence", "yahoo", "es", "opt_in", "Gracias por su mensaje. Estoy de licencia hasta el 1 de febrero.", machine="ooo",
         subject="Respuesta automática", headers={"Precedence": "auto_reply"}),
    case("h2-ma-postfix-de", "gmx_de", "de", "profile",
         "Dies ist das Mailsystem auf dem Rechner mail.gymnasium-nord.example.\n\n"
         "Ihre Nachricht konnte an einen oder mehrere Empfänger nicht zugestellt werden.",
         machine="bounce", sender="MAILER-DAEMON@mail.gymnasium-nord.example (Mail Delivery System)"),
    case("h2-ma-nl-onbestelbaar", "outlook_desktop", "nl", "approval", "Uw bericht heeft enkele of alle ontvangers niet bereikt.", machine="bounce",
         sender="Microsoft Outlook <postmaster@basisschool-de-linde.example>", subject="Onbestelbaar: Please approve a mentor"),
    case("h2-ma-fr-boite-pleine", "orange_fr", "fr", "check_in", "La boite aux lettres du destinataire est pleine.\n\n552 5.2.2 Quota exceeded",
         machine="bounce", sender="Mailer Daemon <MAILER-DAEMON@orange.fr>", subject="Message non delivre"),
    case("h2-ma-es-demora", "gmail_web", "es", "opt_in", "Hubo un problema temporal al entregar el mensaje. Gmail lo reintentará durante 46 horas.",
         machine="bounce", sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>", subject="Delivery Status Notification (Delay)"),
]

HELDOUT_2 = [*H2_OPT_IN, *H2_PROFILE, *H2_AVAILABILITY, *H2_APPROVAL, *H2_CHECK_IN, *H2_SURVEY, *H2_FOR_A_PERSON, *H2_MACHINES]
