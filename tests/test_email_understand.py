"""Whole-sentence replies read question by question: certain values, proposals to confirm, doubts to ask back."""

from __future__ import annotations

import pytest

from bot.email.questions import NumberedQuestion
from bot.email.understand import BellTimes, Reading, read_reply
from bot.flows.definitions import APPROVAL, CHECK_IN, GRADE_BAND_CHOICES, OPT_IN, PROFILE, ROLE_CHOICES, SURVEY
from bot.flows.model import Flow, FlowContext

CTX = FlowContext(topics=("classroom management", "lesson planning", "assessment", "family engagement", "co-teaching"))


def numbered(*flows: Flow, ctx: FlowContext = CTX) -> list[NumberedQuestion]:
    out: list[NumberedQuestion] = []
    for flow in flows:
        for question in flow.questions:
            out.append(NumberedQuestion(len(out) + 1, question, question.options(ctx)))
    return out


OPT_IN_AND_PROFILE = numbered(OPT_IN, PROFILE)


def whole(text: str, key: str = "role", questions=OPT_IN_AND_PROFILE, person_role: str = "mentor", **kw) -> Reading:
    """A reply with no numbered lines: all of it answers the open question `key`, and may volunteer others."""
    return read_reply({key: text}, text, questions, person_role=person_role, **kw)


def answered(answers: dict[str, str], questions, person_role: str = "mentor") -> Reading:
    return read_reply(answers, "\n".join(answers.values()), questions, person_role=person_role)


# ---------------------------------------------------------------- role and capacity


def test_mentee_please_with_needs_in_the_same_breath() -> None:
    reading = whole("Mentee please. I need help with lesson planning and assessment…", person_role="mentee")
    assert reading.values == {"role": "mentee", "needs": "lesson planning; assessment"}
    assert (reading.proposals, reading.doubts) == ({}, {})
    assert reading.understood == {"role": "Mentee: I'd like support from a colleague", "needs": "lesson planning, assessment"}


@pytest.mark.parametrize("text", ["Yes I'd love to mentor! I can take two.", "YES I'D LOVE TO MENTOR! I CAN TAKE TWO.", "yes i'd love to mentor, i can take 2"])
def test_mentor_with_capacity_in_one_sentence(text: str) -> None:
    reading = whole(text)
    assert reading.values == {"role": "mentor", "capacity": "2"}
    assert (reading.proposals, reading.doubts) == ({}, {})


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("Happy to be a mentor, but only 1 this time", {"role": "mentor", "capacity": "1"}),
        ("neither this term, sorry", {"role": "none"}),
        ("Not this term, thanks!", {"role": "none"}),
        ("No thanks", {"role": "none"}),
        ("both!", {"role": "both"}),
        ("I'd like a mentor this year", {"role": "mentee"}),
        ("I can't mentor this term but would love to be mentored", {"role": "mentee"}),
        ("mentor, I can take up to 3 mentees", {"role": "mentor", "capacity": "3"}),
        ("Mentora, puedo con dos personas", {"role": "mentor", "capacity": "2"}),
        ("4", {"role": "none"}),
        ("1", {"role": "mentor"}),
    ],
)
def test_role_sentences(text: str, values: dict[str, str]) -> None:
    reading = whole(text)
    assert reading.values == values and reading.doubts == {} and reading.proposals == {}


@pytest.mark.parametrize(
    ("text", "role"),
    [
        ("Actually mentor, not mentee — I've been teaching for 15 years now.", "mentor"),
        ("Mentee rather than mentor this year, please", "mentee"),
        ("Plutôt mentor, pas mentorée", "mentor"),
        ("Mentor, nicht als Mentee", "mentor"),
        ("I'd like to be mentored instead of being a mentor", "mentee"),
    ],
)
def test_a_role_ruled_out_is_not_read_as_chosen(text: str, role: str) -> None:
    reading = whole(text, person_role="mentee")
    assert (reading.values, reading.proposals, reading.doubts) == ({"role": role}, {}, {})


@pytest.mark.parametrize(
    "text",
    [
        "Hmm I'm not sure yet, can I let you know after winter break?",
        "Not sure — let me think about it",
        "Todavía no sé, te aviso la semana que viene",
        "Ich weiß es noch nicht, ich melde mich.",
        "Je ne sais pas encore.",
    ],
)
def test_a_deferral_is_asked_about_never_saved(text: str) -> None:
    reading = whole(text, person_role="mentee")
    assert (reading.values, reading.proposals) == ({}, {})
    assert "role" in reading.doubts


def test_a_hedged_role_is_only_proposed() -> None:
    reading = whole("Not sure yet, maybe a mentee?", person_role="mentor")
    assert (reading.values, reading.proposals) == ({}, {"role": "mentee"})


def test_a_question_after_a_dash_names_no_role() -> None:
    reading = whole("I'm a long-term sub through March — am I eligible to be a mentee?", person_role="mentee")
    assert reading.values == {} and "role" in reading.doubts


@pytest.mark.parametrize("text", ["Dieses Halbjahr leider nicht, sorry!", "Dit schooljaar niet, helaas.", "Cette année non, désolée", "Unfortunately not, my plate is full"])
def test_a_term_turned_down_in_any_language(text: str) -> None:
    assert whole(text).values == {"role": "none"}


@pytest.mark.parametrize("text", ["I'd be happy to do either", "Either is fine with me", "mentor or mentee, whatever you need most", "Me da igual, lo que necesiten"])
def test_either_leaves_the_choice_to_us_and_is_asked_back(text: str) -> None:
    reading = whole(text)
    assert (reading.values, reading.proposals) == ({}, {})
    assert "a mentor, a mentee, or both" in reading.doubts["role"]


@pytest.mark.parametrize("text", ["Who do I talk to about becoming a mentor lead for my building?", "Is the mentor training on Zoom?"])
def test_a_question_about_mentoring_is_not_a_role(text: str) -> None:
    assert "role" not in whole(text).values


@pytest.mark.parametrize(("text", "value"), [("Mentee bitte", "mentee"), ("Ich wäre gern Mentee", "mentee"), ("Mentorée, merci", "mentee"), ("Both, either way is fine", "both")])
def test_role_words_in_other_languages(text: str, value: str) -> None:
    assert whole(text, person_role="mentor").values == {"role": value}


@pytest.mark.parametrize(("person_role", "value"), [("mentee", "mentee"), ("mentor", "mentor"), ("both", "both")])
def test_yes_to_the_role_question_takes_the_roster_role(person_role: str, value: str) -> None:
    assert whole("yes", person_role=person_role).values == {"role": value}
    assert whole("Sure!", person_role=person_role).values == {"role": value}


def test_yes_without_a_roster_role_is_asked_back() -> None:
    reading = whole("Yes!", person_role="")
    assert reading.values == {} and reading.doubts == {"role": "Glad you'd like to take part! As a mentor, a mentee, or both?"}


def test_a_misspelt_role_is_a_proposal() -> None:
    reading = whole("mentr")
    assert (reading.values, reading.proposals) == ({}, {"role": "mentor"})


def test_an_unreadable_role_is_asked_back() -> None:
    reading = whole("what is this about?")
    assert reading.values == {}
    assert reading.doubts == {"role": "How would you like to take part this term: as a mentor, a mentee, both, or not this term?"}


def test_a_mentees_number_is_not_a_capacity() -> None:
    reading = whole("Mentee. I teach 2 classes of 7th grade", person_role="mentee")
    assert "capacity" not in reading.values and reading.values["role"] == "mentee"


@pytest.mark.parametrize(("text", "value"), [("2", "2"), ("two", "2"), ("Two mentees please", "2"), ("none", "0"), ("no", "0"), ("just one", "1"), ("dos", "2"), ("3 max", "3")])
def test_capacity_answered_on_its_own(text: str, value: str) -> None:
    assert answered({"capacity": text}, numbered(OPT_IN)).values == {"capacity": value}


@pytest.mark.parametrize("text", ["None this time, I'm coaching the robotics team.", "Keine dieses Mal, sorry", "Aucun cette année.", "no one this time"])
def test_none_with_a_reason_is_zero(text: str) -> None:
    assert answered({"capacity": text}, numbered(OPT_IN)).values == {"capacity": "0"}


def test_none_now_and_a_number_later_is_asked_back() -> None:
    reading = answered({"capacity": "None this term, but two next term"}, numbered(OPT_IN))
    assert reading.values == {} and reading.doubts == {"capacity": "How many mentees can you take this term: 0 or 2?"}


@pytest.mark.parametrize(
    ("text", "capacity"),
    [
        ("Je veux bien être mentor cette année, pour une seule personne.", "1"),
        ("Ik wil graag mentor zijn, maximaal twee collega's.", "2"),
        ("Ich bin gern Mentorin, höchstens zwei Kolleginnen.", "2"),
        ("Sí, como mentora, solo dos profes nuevos.", "2"),
    ],
)
def test_capacity_inside_a_sentence_in_other_languages(text: str, capacity: str) -> None:
    assert whole(text).values == {"role": "mentor", "capacity": capacity}


def test_capacity_with_two_numbers_is_asked_back() -> None:
    reading = answered({"capacity": "one or two"}, numbered(OPT_IN))
    assert reading.values == {} and reading.doubts == {"capacity": "How many mentees can you take: 1 or 2?"}


def test_a_couple_is_a_proposal() -> None:
    assert answered({"capacity": "a couple"}, numbered(OPT_IN)).proposals == {"capacity": "2"}


@pytest.mark.parametrize(
    ("text", "capacity"),
    [
        ("I'll be a mentor. Put me down for 2.", "2"),
        ("Mentor - count me in for three", "3"),
        ("Mentor, one max", "1"),
        ("Sí, me gustaría ser mentora. Puedo con dos.", "2"),
        ("Mentor, je peux en prendre deux", "2"),
        ("Mentor, deux personnes maximum.", "2"),
        ("Mentor - bis zu zwei Personen", "2"),
    ],
)
def test_capacity_in_the_sentence_that_makes_a_mentor(text: str, capacity: str) -> None:
    assert whole(text).values == {"role": "mentor", "capacity": capacity}


@pytest.mark.parametrize("text", ["I can take 2-3", "happy to take two or three", "2 to 3 mentees"])
def test_a_range_of_mentees_is_asked_back(text: str) -> None:
    reading = answered({"capacity": text}, numbered(OPT_IN))
    assert reading.values == {} and reading.doubts == {"capacity": "How many mentees can you take: 2 or 3?"}


def test_a_time_range_is_not_a_number_of_mentees() -> None:
    reading = whole("I'd love to mentor, Tuesdays 3-4pm work best")
    assert reading.values == {"role": "mentor", "availability": "Tue 15:00-16:00"}


# ---------------------------------------------------------------- approval


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("Approved, but only one mentee", {"decision": "change", "capacity": "1"}),
        ("Yes, approved.", {"decision": "approve"}),
        ("Approve", {"decision": "approve"}),
        ("ok go ahead", {"decision": "approve"}),
        ("APPROVED - max 2 mentees", {"decision": "change", "capacity": "2"}),
        ("I don't approve this term", {"decision": "decline"}),
        ("No, she has too much on her plate", {"decision": "decline"}),
        ("Declined", {"decision": "decline"}),
        ("3", {"decision": "decline"}),
        ("Aprobado", {"decision": "approve"}),
        ("Yes with 1", {"decision": "change", "capacity": "1"}),
        ("2 - one mentee only, she's new to the grade level", {"decision": "change", "capacity": "1"}),
        ("On Mon, Nov 23, 2026 at 9:00 AM Ms Park wrote\n1 - but just one mentee", {"decision": "change", "capacity": "1"}),
        ("3 - not this term", {"decision": "decline"}),
        # other languages, and declines worded as a wish
        ("Einverstanden, aber bitte nur eine Mentee.", {"decision": "change", "capacity": "1"}),
        ("D'accord, mais seulement une personne.", {"decision": "change", "capacity": "1"}),
        ("Akkoord, maar maximaal één mentee.", {"decision": "change", "capacity": "1"}),
        ("Akkoord!", {"decision": "approve"}),
        ("Va bene così.", {"decision": "approve"}),
        ("Non, pas ce semestre.", {"decision": "decline"}),
        ("Nein, leider nicht.", {"decision": "decline"}),
        ("Dit semester niet.", {"decision": "decline"}),
        ("Pas d'accord, elle débute.", {"decision": "decline"}),
        ("Nicht einverstanden.", {"decision": "decline"}),
        ("I'd prefer she not mentor this term. She's new to our building.", {"decision": "decline"}),
        ("I'd rather he waited until next year.", {"decision": "decline"}),
        ("De acuerdo, con dos está bien", {"decision": "change", "capacity": "2"}),
        ("Niet goedgekeurd.", {"decision": "decline"}),
        ("Não aprovado, desculpe.", {"decision": "decline"}),
        ("Approved, this time no changes", {"decision": "approve"}),
    ],
)
def test_approval_sentences(text: str, values: dict[str, str]) -> None:
    reading = answered({"decision": text}, numbered(APPROVAL))
    assert reading.values == values and reading.doubts == {}


@pytest.mark.parametrize("text", ["Non conosco questa insegnante, è davvero della mia scuola?", "No conozco a esta maestra", "Não conheço essa professora."])
def test_a_not_that_negates_a_verb_is_no_decline(text: str) -> None:
    reading = answered({"decision": text}, numbered(APPROVAL))
    assert reading.values == {} and "decision" in reading.doubts


def test_approval_with_a_different_number_unnamed_asks_how_many() -> None:
    reading = answered({"decision": "approve, but with fewer mentees"}, numbered(APPROVAL))
    assert reading.values == {"decision": "change"} and reading.doubts == {"capacity": "How many mentees should they take?"}


# ---------------------------------------------------------------- check-in


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("we've met twice, going well", "met"),
        ("Yes! We met on Tuesday", "met"),
        ("we haven't met, she hasn't replied", "need_help"),
        ("We rescheduled to next week", "rescheduled"),
        ("Postponed, parent conferences", "rescheduled"),
        ("It's not going to happen, he's on leave", "not_happening"),
        ("we need help finding a time", "need_help"),
        ("1", "met"),
        ("Ja, we hebben elkaar gesproken.", "met"),
        ("Sì, ci siamo visti lunedì.", "met"),
        ("Wir haben uns am Montag gesehen", "met"),
        # met, in free words
        ("Yep, we got together Thursday after school.", "met"),
        ("We caught up over coffee on Monday", "met"),
        ("Ja, am Montag getroffen 👍", "met"),
        ("Oui, on s'est retrouvés mardi midi.", "met"),
        ("Sim, conversamos na quarta.", "met"),
        # rescheduled, in free words
        ("Had to push it back a week — she had jury duty.", "rescheduled"),
        ("We bumped it to Friday", "rescheduled"),
        ("On a dû reporter à la semaine prochaine.", "rescheduled"),
        ("Remarcamos para semana que vem.", "rescheduled"),
        ("Hemos aplazado la reunión", "rescheduled"),
        ("Wir haben den Termin verschoben", "rescheduled"),
        ("We hebben het verplaatst naar dinsdag", "rescheduled"),
        # a request for help, in any language
        ("Nee, nog niet gelukt. Kunnen jullie ons helpen?", "need_help"),
        ("Pas encore. Pouvez-vous nous aider à trouver un créneau ?", "need_help"),
        ("Todavía no. ¿Nos pueden ayudar?", "need_help"),
    ],
)
def test_check_in_sentences(text: str, value: str) -> None:
    reading = answered({"met": text}, numbered(CHECK_IN))
    assert reading.values == {"met": value} and reading.doubts == {}


@pytest.mark.parametrize("text", ["Can we move it to Thursday? Zoom link?", "Können wir den Termin auf nächste Woche verschieben? Ich bin krank.", "On peut se voir la semaine prochaine ?"])
def test_a_question_about_meeting_is_no_report_of_it(text: str) -> None:
    reading = answered({"met": text}, numbered(CHECK_IN))
    assert reading.values == {} and "met" in reading.doubts


def test_a_request_for_help_is_kept_for_a_person() -> None:
    said = "Nee, nog niet gelukt. Kunnen jullie ons helpen?"
    assert answered({"met": said}, numbered(CHECK_IN)).remarks == {"met": said}


def test_the_check_in_comment_is_kept_for_a_person() -> None:
    reading = answered({"met": "we haven't met, she hasn't replied"}, numbered(CHECK_IN))
    assert reading.remarks == {"met": "we haven't met, she hasn't replied"}


@pytest.mark.parametrize(
    "text",
    [
        "We hebben elkaar nog niet gesproken", "Wir haben uns noch nicht gesehen", "Non ci siamo ancora visti", "Nein, wir haben uns nicht getroffen.",
        "No nos hemos visto todavía.", "Nous ne nous sommes pas encore vus", "Not yet, she's been out sick",
    ],
)
def test_not_met_in_other_languages_is_not_met(text: str) -> None:
    reading = answered({"met": text}, numbered(CHECK_IN))
    assert reading.values == {} and "met" in reading.doubts


def test_not_met_without_a_reason_is_asked_which() -> None:
    reading = answered({"met": "we haven't met yet"}, numbered(CHECK_IN))
    assert reading.values == {}
    assert reading.doubts == {"met": "Sorry you haven't met yet. Have you rescheduled, do you need help, or is it not going to happen?"}


# ---------------------------------------------------------------- survey


@pytest.mark.parametrize(("text", "value"), [("Helemaal eens", "5"), ("Eens", "4"), ("Niet eens", "2"), ("strongly agree", "5"), ("Agree", "4"), ("Neutral", "3"), ("disagree", "2"), ("Strongly Disagree", "1"), ("4", "4"), ("5/5", "5"), ("d'accord", "4"), ("totalmente de acuerdo", "5")])
def test_likert_in_words_certain(text: str, value: str) -> None:
    assert answered({"voice": text}, numbered(SURVEY)).values == {"voice": value}


@pytest.mark.parametrize(("text", "value"), [("mostly", "4"), ("not really", "2"), ("Definitely!", "5"), ("kind of", "3"), ("not at all", "1"), ("I don't really agree", "2")])
def test_likert_in_loose_words_is_a_proposal(text: str, value: str) -> None:
    reading = answered({"useful": text}, numbered(SURVEY))
    assert (reading.values, reading.proposals) == ({}, {"useful": value})


@pytest.mark.parametrize(
    ("text", "values"),
    [
        ("5, 5, 4", {"voice": "5", "useful": "5", "again": "4"}),
        ("4 3 5", {"voice": "4", "useful": "3", "again": "5"}),
        ("Strongly agree to all three!", {"voice": "5", "useful": "5", "again": "5"}),
        ("agree with all of them", {"voice": "4", "useful": "4", "again": "4"}),
        ("4/5", {"voice": "4"}),
        # words, one per statement
        ("Agree, agree, strongly agree", {"voice": "4", "useful": "4", "again": "5"}),
        ("D'accord, d'accord, pas d'accord", {"voice": "4", "useful": "4", "again": "2"}),
        ("Eens / Helemaal eens", {"voice": "4", "useful": "5"}),
        # the next statements' numbers on the same line
        ("4 2) 3 3) 5", {"voice": "4", "useful": "3", "again": "5"}),
        ("agree 2. neutral 3. strongly agree", {"voice": "4", "useful": "3", "again": "5"}),
        # statements named by their place
        ("Disagree on the first one, agree on the other two.", {"voice": "2", "useful": "4", "again": "4"}),
        ("Strongly agree on the first two, neutral on the last", {"voice": "5", "useful": "5", "again": "3"}),
        ("Agree on the second one", {"useful": "4"}),
        ("Pas d'accord pour la première, d'accord pour les autres", {"voice": "2", "useful": "4", "again": "4"}),
        # one answer with a comment is one answer
        ("Agree, it was great", {"voice": "4"}),
    ],
)
def test_several_statements_answered_in_one_line(text: str, values: dict[str, str]) -> None:
    assert answered({"voice": text}, numbered(SURVEY)).values == values


def test_survey_comment_is_kept_as_written() -> None:
    reading = answered({"comment": "More time at the start of the year, please."}, numbered(SURVEY))
    assert reading.values == {"comment": "More time at the start of the year, please."}


# ---------------------------------------------------------------- grade bands


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("I teach 7th and 8th grade", "6-8"),
        ("kinder and first", "K-2"),
        ("high school", "9-12"),
        ("Middle school", "6-8"),
        ("grades 4-6", "3-5; 6-8"),
        ("6-8; 9-12", "6-8; 9-12"),
        ("Pre-K", "PK"),
        ("2nd grade", "K-2"),
        ("juniors and seniors", "9-12"),
        ("middle & high school", "6-8; 9-12"),
        ("middle and high schools", "6-8; 9-12"),
        ("middle/high school (7-12)", "6-8; 9-12"),
    ],
)
def test_grade_bands_in_words(text: str, value: str) -> None:
    assert answered({"grade_bands": text}, numbered(PROFILE)).values == {"grade_bands": value}


def test_elementary_is_a_proposal() -> None:
    assert answered({"grade_bands": "elementary"}, numbered(PROFILE)).proposals == {"grade_bands": "K-2; 3-5"}


# ---------------------------------------------------------------- subjects, topics, what matters


def test_subjects_matched_case_and_typo_tolerantly() -> None:
    assert answered({"subjects": "MATH and ela"}, numbered(PROFILE)).values == {"subjects": "math; ELA"}
    reading = answered({"subjects": "Math, sciense"}, numbered(PROFILE))
    assert (reading.values, reading.proposals, reading.understood) == ({}, {"subjects": "math; science"}, {"subjects": "math, science"})


def test_topics_keep_own_words_and_fix_small_typos() -> None:
    reading = answered({"needs": "classroom managment, Lesson Planning and robotics club"}, numbered(PROFILE), person_role="mentee")
    assert reading.values == {"needs": "classroom management; lesson planning; robotics club"}


def test_topics_by_number() -> None:
    assert answered({"strengths": "1, 3"}, numbered(PROFILE)).values == {"strengths": "classroom management; assessment"}


@pytest.mark.parametrize(
    ("key", "text", "value"),
    [
        ("subjects", "Matemáticas", "math"),
        ("subjects", "Mathe und Sport", "math; PE"),
        ("subjects", "maths and history", "math; social studies"),
        ("subjects", "Sciences, EPS", "science; PE"),
        ("needs", "Gestion de classe", "classroom management"),
        ("needs", "planificación y evaluación", "lesson planning; assessment"),
        # articles and short forms
        ("needs", "L'évaluation", "assessment"),
        ("needs", "la gestion de classe", "classroom management"),
        ("needs", "classroom mgmt + family engmt", "classroom management; family engagement"),
        ("needs", "lesson plans and assess.", "lesson planning; assessment"),
        ("subjects", "soc studies + sci", "social studies; science"),
    ],
)
def test_subjects_and_topics_in_the_programs_languages(key: str, text: str, value: str) -> None:
    reading = answered({key: text}, numbered(PROFILE), person_role="mentee")
    assert (reading.values, reading.proposals) == ({key: value}, {})


@pytest.mark.parametrize("text", ["All subjects (self-contained)", "all of them", "Todas las materias"])
def test_all_subjects_is_asked_which_matter(text: str) -> None:
    reading = answered({"subjects": text}, numbered(PROFILE))
    assert reading.values == {} and "which matter most for you? 1. math" in reading.doubts["subjects"]


def test_what_matters_in_words() -> None:
    reading = answered({"match_weights": "same subject, time, and someone from another school"}, numbered(PROFILE))
    assert reading.values == {"match_weights": "subject; schedule; cross_site"}


@pytest.mark.parametrize(
    ("text", "value"),
    [
        ("same grade level + same content area", "grade_band; subject"),
        ("grade + subject", "grade_band; subject"),
        ("content area and plenty of shared time", "subject; schedule"),
    ],
)
def test_what_matters_several_joined(text: str, value: str) -> None:
    reading = answered({"match_weights": text}, numbered(PROFILE))
    assert (reading.values, reading.proposals) == ({"match_weights": value}, {})


def test_what_matters_unknown_is_asked_back() -> None:
    reading = answered({"match_weights": "vibes"}, numbered(PROFILE))
    assert reading.values == {} and reading.doubts["match_weights"].startswith('I didn\'t recognise "vibes". Which of these: 1. Same grade band')


def test_what_matters_too_many_is_asked_back() -> None:
    reading = answered({"match_weights": "1, 2, 3, 4"}, numbered(PROFILE))
    assert reading.doubts == {"match_weights": "Please pick at most 3: which matter most?"}


# ---------------------------------------------------------------- availability and volunteered answers


def test_availability_certain_proposed_and_doubtful() -> None:
    profile = numbered(PROFILE)
    certain = answered({"availability": "M/W after school, F mornings"}, profile)
    assert certain.values == {"availability": "Mon 15:30-17:00; Wed 15:30-17:00; Fri 07:00-08:00"}
    assert certain.understood == {"availability": "Mon and Wed 15:30-17:00; Fri 07:00-08:00"}
    typo = answered({"availability": "wensdays after school"}, profile)
    assert (typo.values, typo.proposals) == ({}, {"availability": "Wed 15:30-17:00"})
    assert typo.understood == {"availability": 'Wed 15:30-17:00 (you wrote "wensdays", which I read as Wed)'}
    vague = answered({"availability": "before school most days"}, profile)
    assert (vague.values, vague.proposals) == ({}, {})
    assert vague.doubts == {"availability": 'Which days do you mean by "most days"? Please name them, e.g. "Mon, Tue and Thu before school".'}


def test_availability_echo_names_the_days_ruled_out() -> None:
    reading = answered({"availability": "after school, not Fridays"}, numbered(PROFILE))
    assert reading.values == {"availability": "Mon 15:30-17:00; Tue 15:30-17:00; Wed 15:30-17:00; Thu 15:30-17:00"}
    assert reading.understood == {"availability": "Mon, Tue, Wed and Thu 15:30-17:00 (not Fri)"}


def test_availability_uses_the_programs_bell_times_and_languages() -> None:
    bell = BellTimes(after_school=(15 * 60, 16 * 60))
    reading = read_reply({"availability": "Martes y jueves después de clases"}, "", numbered(PROFILE), person_role="mentor", bell=bell, languages=("es",))
    assert reading.values == {"availability": "Tue 15:00-16:00; Thu 15:00-16:00"}


def test_volunteered_profile_answers_in_an_opt_in_reply() -> None:
    text = "Mentor! I teach 7th and 8th grade math and I'm free Tuesdays after school."
    reading = whole(text)
    assert reading.values == {"role": "mentor", "grade_bands": "6-8", "subjects": "math", "availability": "Tue 15:30-17:00"}


def test_volunteered_strengths() -> None:
    reading = whole("Happy to mentor. I can help with classroom management and family engagement.")
    assert reading.values == {"role": "mentor", "strengths": "classroom management; family engagement"}


def test_nothing_is_volunteered_from_an_unrelated_sentence() -> None:
    reading = whole("Mentee. Thanks so much for organising this, see you Monday!", person_role="mentee")
    assert reading.values == {"role": "mentee"} and reading.doubts == {}


def test_explicit_answers_win_over_the_text() -> None:
    text = "1. mentor\n2. 3\nI can take two"
    reading = read_reply({"role": "mentor", "capacity": "3"}, text, numbered(OPT_IN), person_role="mentor")
    assert reading.values == {"role": "mentor", "capacity": "3"}


def test_skip_for_an_optional_question_passes_through() -> None:
    assert answered({"comment": "skip"}, numbered(SURVEY)).values == {"comment": "skip"}


@pytest.mark.parametrize(
    "text",
    [
        "Please take me off this list, I retired in June.", "Ya no trabajo en esta escuela.", "Ich bin seit Juli im Ruhestand.",
        "Please take me out of the program, I'm moving to Ohio in January.", "We're relocating over the summer, so please withdraw me.",
    ],
)
def test_someone_leaving_is_kept_for_a_person(text: str) -> None:
    reading = whole(text, key="grade_bands", questions=numbered(PROFILE))
    assert reading.values == {} and reading.remarks == {"grade_bands": text}


@pytest.mark.parametrize("text", ["", "\x00", "?" * 3000, "1. 2. 3.", "Ω≈ç√∫", "mentor " * 2000])
def test_any_text_gives_a_reading_never_an_exception(text: str) -> None:
    questions = numbered(OPT_IN, PROFILE) + numbered(CHECK_IN) + numbered(SURVEY)
    reading = read_reply({q.question.key: text for q in questions[:3]}, text, questions, person_role="mentor")
    assert isinstance(reading, Reading)
    assert set(reading.values).isdisjoint(reading.proposals)


def test_french_si_possible_is_not_a_yes_to_taking_part() -> None:
    role = NumberedQuestion(1, OPT_IN.questions[0], ROLE_CHOICES)
    said = "Je préférerais en parler d'abord avec la directrice, si possible en français"
    reading = read_reply({"role": said}, said, [role], person_role="mentee")
    assert "role" not in reading.values and "role" in reading.doubts
    assert read_reply({"role": "Sí, claro"}, "Sí, claro", [role], person_role="mentee").values == {"role": "mentee"}


# ---------------------------------------------------------------- the safety net: nothing saved that the words don't account for

PROFILE_ONLY = numbered(PROFILE)


@pytest.mark.parametrize(
    ("key", "text", "questions", "value"),
    [
        ("grade_bands", "3-5 - sorry, I mean K-2, I moved down to 2nd grade", PROFILE_ONLY, "K-2"),
        ("voice", "4 - no wait, 5", numbered(SURVEY), "5"),
        ("capacity", "Deux, non attendez, une seule", numbered(OPT_IN), "1"),
        ("grade_bands", "6-8, ich meine 9-12", PROFILE_ONLY, "9-12"),
    ],
)
def test_a_correction_takes_the_corrected_part(key: str, text: str, questions, value: str) -> None:
    reading = answered({key: text}, questions)
    assert reading.values.get(key) == value and key not in reading.proposals


@pytest.mark.parametrize(
    "text",
    [
        "Thursdays at 4pm ET",  # another time zone than the school's
        "Jeudi 16h heure de Paris, fuseau horaire différent",
        "Every other Friday morning",  # not every week
        "Lunes después de clase, cada dos semanas",
        "Il giovedì dopo scuola, tranne il primo del mese",
        "Dienstags nach der Schule, alle zwei Wochen",
        "Tuesdays after school except when I have bus duty",  # an exception that names no day
    ],
)
def test_availability_that_changes_meaning_is_asked_about(text: str) -> None:
    reading = answered({"availability": text}, PROFILE_ONLY)
    assert "availability" not in reading.values
    assert "availability" in reading.doubts


def test_the_schools_own_time_zone_is_accounted_for() -> None:
    assert answered({"availability": "Wed 3:30-4:30pm Pacific"}, PROFILE_ONLY).values == {"availability": "Wed 15:30-16:30"}


def test_a_pasted_table_keeps_times_inside_the_school_day() -> None:
    reading = answered({"availability": "Mon\t7:30-8:00\nWed\t3:45-4:30"}, PROFILE_ONLY)
    assert reading.values == {"availability": "Mon 07:30-08:00; Wed 15:45-16:30"}
    header = answered({"availability": "Day\tFrom\tTo\nTuesday\t15:30\t16:30"}, PROFILE_ONLY)
    assert header.values == {"availability": "Tue 15:30-16:30"}


def test_a_strict_slot_at_night_is_never_saved_silently() -> None:
    reading = answered({"availability": "Tue 22:00-23:00"}, PROFILE_ONLY)
    assert "availability" not in reading.values and reading.proposals == {"availability": "Tue 22:00-23:00"}


def test_unread_words_beside_the_days_make_a_proposal() -> None:
    reading = answered({"availability": "Tuesdays after school when the robotics club isn't running"}, PROFILE_ONLY)
    assert reading.proposals == {"availability": "Tue 15:30-17:00"} and "availability" not in reading.values


@pytest.mark.parametrize(
    ("key", "text", "questions"),
    [
        ("role", "Je suis stagiaire cette année, est-ce que je peux être mentorée ?", numbered(OPT_IN)),
        ("role", "Can I be a mentee even though I'm part-time?", numbered(OPT_IN)),
        ("capacity", "¿Puedo con dos?", numbered(OPT_IN)),
    ],
)
def test_a_question_is_never_a_saved_answer(key: str, text: str, questions) -> None:
    reading = answered({key: text}, questions)
    assert key not in reading.values
    assert key in reading.proposals or key in reading.doubts


@pytest.mark.parametrize(
    ("key", "text", "questions"),
    [
        ("role", "Mentor, unless my timetable changes in January", numbered(OPT_IN)),
        ("decision", "Approved as long as it stays after school", numbered(APPROVAL)),
        ("capacity", "Zwei, aber nur wenn sie an meiner Schule sind", numbered(OPT_IN)),
    ],
)
def test_a_condition_makes_a_proposal(key: str, text: str, questions) -> None:
    reading = answered({key: text}, questions)
    assert key not in reading.values and key in reading.proposals


@pytest.mark.parametrize(
    ("text", "bands"),
    [("groep 5/6", "3-5"), ("CM1-CM2", "3-5"), ("Ensino fundamental, 4º ano", "3-5"), ("Standard VI to VIII", "6-8"), ("5e et 4e", "6-8")],
)
def test_school_years_as_other_countries_name_them(text: str, bands: str) -> None:
    assert answered({"grade_bands": text}, PROFILE_ONLY).values == {"grade_bands": bands}


def test_a_line_labelled_for_another_question_is_not_part_of_this_answer() -> None:
    text = "I can help with: family engagement\nI'd like help with: assessment"
    reading = read_reply({"strengths": text}, text, numbered(PROFILE, ctx=CTX), person_role="both")
    assert reading.values.get("strengths") == "family engagement" and reading.values.get("needs") == "assessment"


def test_a_day_and_time_among_other_words_is_not_volunteered() -> None:
    text = "1. 9-12\n2. Inglés como segunda lengua"
    reading = read_reply({"grade_bands": "9-12", "subjects": "Inglés como segunda lengua"}, text, PROFILE_ONLY, person_role="mentee")
    assert "availability" not in reading.values and reading.values.get("subjects") == "ELD"


@pytest.mark.parametrize("piece", ["x", "\n", "12 ", "1", "? ", "mon 3-"])
def test_hostile_lengths_are_read_quickly_and_never_raise(piece: str) -> None:
    # Once quadratic (a 200,000-letter word took 80 s, 60,000 newlines 135 s) or a crash (20,000 digits as a grade).
    questions = [NumberedQuestion(i + 1, q, GRADE_BAND_CHOICES if q.key == "grade_bands" else ()) for i, q in enumerate(PROFILE.questions)]
    text = piece * (200_000 // len(piece))
    for key in ("grade_bands", "availability", "needs"):
        reading = read_reply({key: text}, text, questions, person_role="mentee")
        assert isinstance(reading, Reading) and key not in reading.values or reading.values[key]
