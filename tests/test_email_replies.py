"""Keeping every answer, wherever it was typed: top-posted, bottom-posted and inline replies as each mail client
writes them, quote headers in ten languages, signatures and phone sign-offs, HTML-only mail, and hostile input."""

from __future__ import annotations

import time

import pytest

from bot.email.replies import Asked, extract_answers, html_to_text, strip_quoted

# The plain-text part of a profile email, as bot/email/templates/flow_prompt.txt renders it.
PROMPT = """Hi Ana,

A few questions so we can find you a good match.

1. How would you like to take part this term?
     1 = Mentor
     2 = Mentee

2. When are you usually free to meet each week? (optional)
   (e.g. "Tue 15:30-16:30; Thu 07:30-08:15")

3. Which topics would you like support on?
     1 = Classroom management
     2 = Lesson planning
     3 = Assessment
   Reply with numbers or words, separated by commas (up to 2).

Reply with one line per question, starting with its number, for example:
1. Mentor
2. Tue 15:30-16:30
You can answer some now and the rest later; what you send is saved at once.

--
District Mentoring
Stop these emails: https://mentor.example/u/Zx81"""

ASKED = [
    Asked(1, "role", ("Role", "take part")),
    Asked(2, "availability", ("Availability", "free")),
    Asked(3, "needs", ("Needs", "support on")),
]


def quoted(text: str, mark: str = "> ") -> str:
    """`text` quoted the way clients quote: "> " before each line, ">" alone on empty ones."""
    return "\n".join(mark + line if line else mark.rstrip() for line in text.split("\n"))


def part(start: str, end: str | None = None) -> str:
    """The quoted prompt from the line starting `start` up to (not including) the line starting `end`."""
    lines = quoted(PROMPT).split("\n")
    first = next(i for i, line in enumerate(lines) if line.startswith("> " + start))
    last = next(i for i, line in enumerate(lines) if line.startswith("> " + end)) if end else len(lines)
    return "\n".join(lines[first:last])


QUOTE = quoted(PROMPT)
GMAIL_HEADER = "On Mon, Jan 4, 2027 at 9:00 AM District Mentoring <reply+k7@mentor.example> wrote:"
OUTLOOK_BLOCK = """From: District Mentoring <reply+k7@mentor.example>
Sent: Monday, January 4, 2027 9:00 AM
To: Ana Chen <ana.chen@lincoln.example>
Subject: Your mentoring profile"""


def answers(body: str) -> dict[str, str]:
    return extract_answers(body, ASKED, "role").answers


# ------------------------------------------------------------------------------------------- top-posted, plain text

TOP_POSTED = {
    "gmail": f"Mentee, please.\n\n{GMAIL_HEADER}\n\n{QUOTE}\n",
    "gmail-wrapped-2": (
        "1. 2\n2. Tuesdays after 3:30\n\nOn Mon, Jan 4, 2027 at 9:00 AM District Mentoring <reply+k7@mentor.example>\n"
        f"wrote:\n\n{QUOTE}\n"
    ),
    "gmail-wrapped-3": (
        "1. 2\n2. Tuesdays after 3:30\n\nOn Mon, Jan 4, 2027 at 9:00 AM District Mentoring\n<reply+k7@mentor.example>\n"
        f"wrote:\n\n{QUOTE}\n"
    ),
    "gmail-iso": f"1. 2\n2. Tuesdays after 3:30\n\n2027-01-04 9:00 GMT+01:00 District Mentoring <reply+k7@mentor.example>:\n\n{QUOTE}\n",
    "gmail-iso-wrapped": (
        "1. 2\n2. Tuesdays after 3:30\n\n2027-01-04 9:00 GMT+01:00 District Mentoring <\nreply+k7@mentor.example>:\n\n"
        f"{QUOTE}\n"
    ),
    "apple": f"1. 2\n2. Tuesdays after 3:30\n\n> On 4 Jan 2027, at 09:00, District Mentoring <reply+k7@mentor.example> wrote:\n>\n{QUOTE}\n",
    "apple-unquoted-header": f"1. 2\n2. Tuesdays after 3:30\n\nOn 4 Jan 2027, at 09:00, District Mentoring <reply+k7@mentor.example> wrote:\n\n{QUOTE}\n",
    "iphone": f"1. 2\n2. Tuesdays after 3:30\n\nSent from my iPhone\n\n> On Jan 4, 2027, at 9:00 AM, District Mentoring <reply+k7@mentor.example> wrote:\n>\n{QUOTE}\n",
    "thunderbird-top": f"1. 2\n2. Tuesdays after 3:30\n\nOn 1/4/27 9:00 AM, District Mentoring wrote:\n{QUOTE}\n",
    "outlook-desktop": f"1. 2\n2. Tuesdays after 3:30\n\n________________________________\n{OUTLOOK_BLOCK}\n\n{PROMPT}\n",
    "outlook-original-message": f"1. 2\n2. Tuesdays after 3:30\n\n-----Original Message-----\n{OUTLOOK_BLOCK}\n\n{PROMPT}\n",
    "outlook-bold": (
        "1. 2\n2. Tuesdays after 3:30\n\n*From:* District Mentoring <reply+k7@mentor.example>\n*Sent:* Monday, January 4, 2027 9:00 AM\n"
        f"*To:* Ana Chen <ana.chen@lincoln.example>\n*Subject:* Your mentoring profile\n\n{PROMPT}\n"
    ),
    "outlook-web-no-separator": f"1. 2\n2. Tuesdays after 3:30\n\n{OUTLOOK_BLOCK}\n\n{PROMPT}\n",
    "outlook-mobile": f"1. 2\n2. Tuesdays after 3:30\n\nGet Outlook for iOS<https://aka.ms/o0ukef>\n________________________________\n{OUTLOOK_BLOCK}\n\n{PROMPT}\n",
    "outlook-cc-and-wrapped-to": (
        "1. 2\n2. Tuesdays after 3:30\n\nFrom: District Mentoring <reply+k7@mentor.example>\nDate: Monday, 4 January 2027 at 09:00\n"
        f"To: Ana Chen <ana.chen@lincoln.example>, Ben Ortiz\n<ben@lincoln.example>\nCc: Office <office@lincoln.example>\nSubject: Profile\n\n{PROMPT}\n"
    ),
    "android-original-message": (
        "1. 2\n2. Tuesdays after 3:30\n\nSent from my Galaxy\n\n\n-------- Original message --------\n"
        "From: District Mentoring <reply+k7@mentor.example> \nDate: 1/4/27 09:00 (GMT-08:00) \nTo: ana.chen@lincoln.example \n"
        f"Subject: Your mentoring profile \n\n{PROMPT}\n"
    ),
    "zoho-dashes": f"1. 2\n2. Tuesdays after 3:30\n\n---- On Mon, 04 Jan 2027 09:00:00 -0800 District Mentoring <reply+k7@mentor.example> wrote ----\n\n{QUOTE}\n",
    "yahoo-unquoted-thread": (
        "1. 2\n2. Tuesdays after 3:30\n\nSent from Yahoo Mail on Android\n\n  On Mon, Jan 4, 2027 at 9:00 AM, District Mentoring"
        f"<reply+k7@mentor.example> wrote:   \n\n{PROMPT}\n"
    ),
    "forwarded-then-answered": f"1. 2\n2. Tuesdays after 3:30\n\n---------- Forwarded message ---------\n{OUTLOOK_BLOCK}\n\n{PROMPT}\n",
}


@pytest.mark.parametrize("raw", list(TOP_POSTED.values()), ids=list(TOP_POSTED))
def test_top_posted_replies_keep_only_the_new_words(raw: str) -> None:
    kept = strip_quoted(raw.replace("\n", "\r\n"))
    if raw.startswith("Mentee"):
        assert kept == "Mentee, please."
        assert answers(kept) == {"role": "Mentee, please."}
    else:
        assert kept == "1. 2\n2. Tuesdays after 3:30"
        assert answers(kept) == {"role": "2", "availability": "Tuesdays after 3:30"}


# ------------------------------------------------------------------------------------------- each language's header

LANGUAGE_HEADERS = {
    "es-gmail": "El lun, 4 ene 2027 a las 9:00, District Mentoring (<reply+k7@mentor.example>) escribió:",
    "es-apple": "El 4 ene 2027, a las 9:00, District Mentoring <reply+k7@mentor.example> escribió:",
    "fr-gmail": "Le lun. 4 janv. 2027 à 09:00, District Mentoring <reply+k7@mentor.example> a écrit :",
    "fr-wrapped": "Le lun. 4 janv. 2027 à 09:00, District Mentoring <reply+k7@mentor.example> a\nécrit :",
    "de-gmail": "Am Mo., 4. Jan. 2027 um 09:00 Uhr schrieb District Mentoring <reply+k7@mentor.example>:",
    "de-apple": "Am 04.01.2027 um 09:00 schrieb District Mentoring <reply+k7@mentor.example>:",
    "pt-gmail": "Em seg., 4 de jan. de 2027 às 09:00, District Mentoring <reply+k7@mentor.example> escreveu:",
    "pt-apple": "Em 4 de jan. de 2027, à(s) 09:00, District Mentoring <reply+k7@mentor.example> escreveu:",
    "nl-gmail": "Op ma 4 jan. 2027 om 09:00 schreef District Mentoring <reply+k7@mentor.example>:",
    "nl-apple": "Op 4 jan. 2027 om 09:00 heeft District Mentoring <reply+k7@mentor.example> het volgende geschreven:",
    "it-gmail": "Il giorno lun 4 gen 2027 alle ore 09:00 District Mentoring <reply+k7@mentor.example> ha scritto:",
    "it-short": "Il lun 4 gen 2027, 09:00 District Mentoring <reply+k7@mentor.example> ha scritto:",
    "sv-gmail": "Den mån 4 jan. 2027 kl 09:00 skrev District Mentoring <reply+k7@mentor.example>:",
    "da-gmail": "Den man. 4. jan. 2027 kl. 09.00 skrev District Mentoring <reply+k7@mentor.example>:",
    "no-gmail": "man. 4. jan. 2027 kl. 09:00 skrev District Mentoring <reply+k7@mentor.example>:",
    "pl-library": "Dnia 4 stycznia 2027 09:00 District Mentoring <reply+k7@mentor.example> napisał(a):",
    "cs-library": "Dne 4. 1. 2027 9:00 District Mentoring <reply+k7@mentor.example> napsal(a):",
    "ja-library": "2027年1月4日(月) 9:00 District Mentoring <reply+k7@mentor.example>:",
    "de-yahoo": "Am Montag, 4. Januar 2027 um 09:00:00 MEZ hat District Mentoring <reply+k7@mentor.example> Folgendes geschrieben:",
}


@pytest.mark.parametrize("header", list(LANGUAGE_HEADERS.values()), ids=list(LANGUAGE_HEADERS))
def test_wrote_headers_in_each_language_are_cut_above_and_below(header: str) -> None:
    top = f"Tue 15:30-16:30\n\n{header}\n{QUOTE}\n"
    bottom = f"{header}\n{QUOTE}\n\nTue 15:30-16:30\n"
    assert strip_quoted(top) == "Tue 15:30-16:30"
    assert strip_quoted(bottom) == "Tue 15:30-16:30"


OUTLOOK_BLOCKS = {
    "fr": "De : District Mentoring <reply+k7@mentor.example>\nEnvoyé : lundi 4 janvier 2027 09:00\nÀ : Ana Chen\nObjet : Votre profil",
    "fr-no-accent": "De : District Mentoring <reply+k7@mentor.example>\nEnvoyé : lundi 4 janvier 2027 09:00\nA : Ana Chen\nObjet : Votre profil",
    "de": "Von: District Mentoring <reply+k7@mentor.example>\nGesendet: Montag, 4. Januar 2027 09:00\nAn: Ana Chen\nBetreff: Ihr Profil",
    "es": "De: District Mentoring <reply+k7@mentor.example>\nEnviado: lunes, 4 de enero de 2027 9:00\nPara: Ana Chen\nAsunto: Su perfil",
    "pt": "De: District Mentoring <reply+k7@mentor.example>\nEnviado: segunda-feira, 4 de janeiro de 2027 09:00\nPara: Ana Chen\nAssunto: Seu perfil",
    "nl": "Van: District Mentoring <reply+k7@mentor.example>\nVerzonden: maandag 4 januari 2027 09:00\nAan: Ana Chen\nOnderwerp: Uw profiel",
    "it": "Da: District Mentoring <reply+k7@mentor.example>\nInviato: lunedì 4 gennaio 2027 09:00\nA: Ana Chen\nOggetto: Il tuo profilo",
    "sv": "Från: District Mentoring <reply+k7@mentor.example>\nSkickat: den 4 januari 2027 09:00\nTill: Ana Chen\nÄmne: Din profil",
    "da": "Fra: District Mentoring <reply+k7@mentor.example>\nSendt: 4. januar 2027 09:00\nTil: Ana Chen\nEmne: Din profil",
    "de-separator": "-----Ursprüngliche Nachricht-----\nVon: District Mentoring <reply+k7@mentor.example>\nGesendet: Montag, 4. Januar 2027 09:00\nAn: Ana Chen\nBetreff: Ihr Profil",
    "fr-separator": "-----Message d'origine-----\nDe : District Mentoring\nEnvoyé : lundi 4 janvier 2027 09:00\nÀ : Ana Chen\nObjet : Votre profil",
    "es-android": "-------- Mensaje original --------\nDe: District Mentoring <reply+k7@mentor.example>\nFecha: 4/1/27 9:00 (GMT+01:00)\nPara: Ana Chen\nAsunto: Su perfil",
    "fr-zimbra": "----- Mail original -----\nDe: \"District Mentoring\" <reply+k7@mentor.example>\nÀ: Ana Chen <ana@school.example>\nEnvoyé: Lundi 4 Janvier 2027 09:00:00\nObjet: Votre profil",
    "de-gmx": "Gesendet: Montag, 04. Januar 2027 um 09:00 Uhr\nVon: \"District Mentoring\" <reply+k7@mentor.example>\nAn: ana@school.example\nBetreff: Ihr Profil",
}


@pytest.mark.parametrize("block", list(OUTLOOK_BLOCKS.values()), ids=list(OUTLOOK_BLOCKS))
def test_localized_outlook_blocks_end_the_reply(block: str) -> None:
    assert strip_quoted(f"3. Assessment\n\n{block}\n\n{PROMPT}\n") == "3. Assessment"


# ------------------------------------------------------------------------------------------- bottom-posted and inline


def test_thunderbird_bottom_post_keeps_the_answers_under_the_quote() -> None:
    raw = f"On 1/4/27 9:00 AM, District Mentoring wrote:\n{QUOTE}\n\n1. Mentee\n2. Tue 15:30-16:30\n\n-- \nAna Chen\nLincoln Middle School\n"
    kept = strip_quoted(raw)
    assert kept == "1. Mentee\n2. Tue 15:30-16:30"
    assert answers(kept) == {"role": "Mentee", "availability": "Tue 15:30-16:30"}


def test_a_bottom_post_without_numbers_answers_the_open_question() -> None:
    raw = f"On 1/4/27 9:00 AM, District Mentoring wrote:\n{QUOTE}\n\nMentee\n\nThanks,\nAna\n"
    assert strip_quoted(raw) == "Mentee"
    assert answers(strip_quoted(raw)) == {"role": "Mentee"}


def test_gmail_inline_answers_are_tied_to_the_quoted_questions() -> None:
    raw = (
        f"{GMAIL_HEADER}\n\n{part('Hi Ana', '2. When')}\n\nMentee\n\n{part('2. When', '3. Which')}\n\nTuesdays after 3:30\n"
        f"and Thursday mornings\n\n{part('3. Which', 'Reply with')}\n\nClassroom management, assessment\n\n{part('Reply with')}\n"
    )
    kept = strip_quoted(raw)
    assert kept == "1. Mentee\n\n2. Tuesdays after 3:30\nand Thursday mornings\n\n3. Classroom management, assessment"
    assert answers(kept) == {"role": "Mentee", "availability": "Tuesdays after 3:30\nand Thursday mornings", "needs": "Classroom management, assessment"}


def test_inline_answers_can_skip_a_question() -> None:
    raw = f"{GMAIL_HEADER}\n{part('Hi Ana', '2. When')}\n2\n{part('2. When', '3. Which')}\n{part('3. Which', 'Reply with')}\nLesson planning\n{part('Reply with')}\n"
    kept = strip_quoted(raw)
    assert kept == "1. 2\n\n3. Lesson planning"
    assert answers(kept) == {"role": "2", "needs": "Lesson planning"}


def test_an_inline_answer_typed_with_its_number_is_not_numbered_twice() -> None:
    raw = f"{GMAIL_HEADER}\n{part('Hi Ana', '2. When')}\n1. Mentor\n{part('2. When', '3. Which')}\n2) Mon 8-9am\n{part('3. Which')}\n"
    assert strip_quoted(raw) == "1. Mentor\n\n2) Mon 8-9am"
    assert answers(strip_quoted(raw)) == {"role": "Mentor", "availability": "Mon 8-9am"}


def test_apple_mail_inline_with_a_question_prompt_rewrapped() -> None:
    rewrapped = (
        "> 2. When are you usually free to meet each\n> week? (optional)\n>    (e.g. \"Tue 15:30-16:30; Thu 07:30-08:15\")\n>"
    )
    raw = (
        f"> On 4 Jan 2027, at 09:00, District Mentoring <reply+k7@mentor.example> wrote:\n>\n{part('Hi Ana', '2. When')}\n"
        f"Mentor\n\n{rewrapped}\nWednesdays 15:30-16:30\n\n{part('3. Which')}\n\nSent from my iPad\n"
    )
    kept = strip_quoted(raw)
    assert kept == "1. Mentor\n\n2. Wednesdays 15:30-16:30"
    assert answers(kept) == {"role": "Mentor", "availability": "Wednesdays 15:30-16:30"}


def test_words_under_the_greeting_or_intro_are_kept_as_they_are() -> None:
    raw = f"{GMAIL_HEADER}\n> Hi Ana,\n\nHi! Answers below.\n\n>\n{part('A few', '2. When')}\nMentee\n{part('2. When')}\n"
    kept = strip_quoted(raw)
    assert kept == "Hi! Answers below.\n\n1. Mentee"
    assert answers(kept) == {"role": "Mentee"}


def test_words_typed_under_the_example_lines_are_not_tied_to_a_question() -> None:
    raw = f"On 1/4/27 9:00 AM, District Mentoring wrote:\n{part('Hi Ana', '2. Tue')}\nsee my notes below\n{part('2. Tue')}\n\nTue 3-4pm\n"
    kept = strip_quoted(raw)
    assert kept == "see my notes below\n\nTue 3-4pm"


def test_answers_above_and_inline_in_the_same_reply() -> None:
    raw = f"Happy to mentor this year.\n\n{GMAIL_HEADER}\n{part('Hi Ana', '2. When')}\n1\n{part('2. When', '3. Which')}\nFri 7-8am\n{part('3. Which')}\n"
    kept = strip_quoted(raw)
    assert kept == "Happy to mentor this year.\n\n1. 1\n\n2. Fri 7-8am"
    found = extract_answers(kept, ASKED, "role")
    assert found.answers == {"role": "1", "availability": "Fri 7-8am"}
    assert found.unplaced == ["Happy to mentor this year."]


def test_the_bots_own_questions_never_come_back_as_answers() -> None:
    raw = f"{GMAIL_HEADER}\n{QUOTE}\n"
    assert strip_quoted(raw) == ""
    assert answers(strip_quoted(raw)) == {}


def test_a_signature_above_the_quote_does_not_swallow_inline_answers_below() -> None:
    raw = f"Answers inline.\n\n-- \nAna Chen\nLincoln Middle School\n\n{GMAIL_HEADER}\n{part('Hi Ana', '2. When')}\nMentee\n{part('2. When')}\n"
    assert strip_quoted(raw) == "Answers inline.\n\n1. Mentee"


def test_a_nested_older_thread_is_not_read_for_questions() -> None:
    raw = (
        f"{GMAIL_HEADER}\n{part('Hi Ana', '2. When')}\n2\n\n> > On Fri, Jan 1, 2027 at 9:00 AM Ana wrote:\n> > 1. Mentor\n"
    )
    assert strip_quoted(raw) == "1. 2"


# ------------------------------------------------------------------------------------------- signatures and sign-offs

SIGN_OFFS = [
    "Sent from my iPhone", "Sent from my Galaxy", "Sent from my Samsung Galaxy smartphone.", "Get Outlook for iOS<https://aka.ms/o0ukef>",
    "Get Outlook for Android", "Sent from Yahoo Mail on Android", "Sent from Mail for Windows", "Enviado desde mi iPhone",
    "Envoyé de mon iPhone", "Envoyé depuis mon smartphone Samsung Galaxy", "Von meinem iPhone gesendet", "Gesendet von meinem Huawei Telefon",
    "Verstuurd vanaf mijn iPhone", "Verzonden vanaf mijn Android-telefoon", "Inviato da iPhone", "Inviato dal mio cellulare Huawei",
    "Enviado do meu iPhone", "Skickat från min iPhone", "Sendt fra min iPhone", "Hent Outlook til Android",
]  # fmt: skip


@pytest.mark.parametrize("sign_off", SIGN_OFFS)
def test_phone_and_app_sign_offs_are_cut(sign_off: str) -> None:
    assert strip_quoted(f"Tue 15:30-16:30\n\n{sign_off}\n\n{GMAIL_HEADER}\n{QUOTE}\n") == "Tue 15:30-16:30"
    assert strip_quoted(f"Tue 15:30-16:30\n{sign_off}") == "Tue 15:30-16:30"


@pytest.mark.parametrize(
    "sentence",
    [
        "Sent from my desk, I can do Tuesdays after 3:30.",
        "Sent from my classroom: Tuesdays after 3:30 work best.",
        "Enviado desde mi escuela, los martes a las 15:30 me va bien.",
        "Gesendet von der Schule, dienstags ab 15:30 passt es.",
    ],
)
def test_a_sentence_that_starts_like_a_sign_off_is_kept(sentence: str) -> None:
    assert strip_quoted(f"{sentence}\nThursdays too.\n\n{GMAIL_HEADER}\n{QUOTE}\n") == f"{sentence}\nThursdays too."


def test_dash_signature_and_closing_are_cut_but_words_that_start_with_thanks_are_kept() -> None:
    assert strip_quoted("Mon 3-4pm\n\nThanks,\nAna Chen\n") == "Mon 3-4pm"
    assert strip_quoted("Mon 3-4pm\n\nMit freundlichen Grüßen\nAna Chen\n") == "Mon 3-4pm"
    assert strip_quoted("Thanks for the reminder, Mondays 3-4pm work.") == "Thanks for the reminder, Mondays 3-4pm work."
    assert strip_quoted("Mon 3-4pm\n--\nAna Chen, grade 7 science\n") == "Mon 3-4pm"


def test_on_tuesdays_is_not_a_quote_header_even_right_above_one() -> None:
    body = "On Tuesdays I'm free after 3:30.\nOn second thought, Thursdays before 8 work too."
    assert strip_quoted(body) == body
    assert strip_quoted(f"{body}\n{GMAIL_HEADER}\n{QUOTE}\n") == body
    assert strip_quoted("On Monday my principal wrote:\nplease pick a time.") == "On Monday my principal wrote:\nplease pick a time."


def test_from_and_to_as_availability_are_not_an_outlook_block() -> None:
    body = "From: 3:30pm\nTo: 4:30pm\non Tuesdays"
    assert strip_quoted(body) == body
    dated = "From: 3:30pm\nTo: 4:30pm\nDate: any Tuesday this term\n\nThanks, Ana"
    assert strip_quoted(dated) == dated
    assert strip_quoted("Availability: Mon 3-4pm\nSubject: math") == "Availability: Mon 3-4pm\nSubject: math"


# ------------------------------------------------------------------------------------------- HTML-only mail

HTML_PROMPT = """<p>Hi Ana,</p><p>A few questions so we can find you a good match.</p>
<ol style="padding-left: 20px;">
<li value="1" style="margin-bottom: 12px;"><strong>How would you like to take part this term?</strong>
<ol style="margin: 4px 0;"><li>Mentor</li><li>Mentee</li></ol>
</li>
<li value="2" style="margin-bottom: 12px;"><strong>When are you usually free to meet each week?</strong> <em>(optional)</em><br><span style="color: #555;">e.g. "Tue 15:30-16:30; Thu 07:30-08:15"</span>
</li>
</ol>
<p>Reply with one line per question, starting with its number, for example:</p>
<pre style="background: #f4f4f6; padding: 8px;">1. Mentor
2. Tue 15:30-16:30
</pre>
<p>You can answer some now and the rest later; what you send is saved at once.</p>
<hr style="border: none; border-top: 1px solid #ddd; margin-top: 24px;">
<p style="font-size: 12px; color: #666;">District Mentoring · <a href="https://mentor.example/u/Zx81">Stop these emails</a></p>"""
Q1_HTML, REST_HTML = HTML_PROMPT.split('<li value="2"')
Q1_HTML += "</ol>"
Q2_HTML = '<ol><li value="2"' + REST_HTML
GMAIL_ATTR = '<div dir="ltr" class="gmail_attr">On Mon, Jan 4, 2027 at 9:00 AM District Mentoring &lt;reply+k7@mentor.example&gt; wrote:<br></div>'
GMAIL_BQ = '<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">'

HTML_REPLIES = {
    "gmail-top": (
        f'<div dir="ltr">1. Mentee<div>2. Tue 15:30-16:30</div></div><br><div class="gmail_quote">{GMAIL_ATTR}{GMAIL_BQ}{HTML_PROMPT}</blockquote></div>',
        "1. Mentee\n2. Tue 15:30-16:30",
    ),
    "gmail-bottom": (
        f'<div dir="ltr"><div class="gmail_quote gmail_quote_container">{GMAIL_ATTR}{GMAIL_BQ}{HTML_PROMPT}</blockquote></div>'
        "<div><br></div><div>1. Mentee</div><div>2. Tue 15:30-16:30</div></div>",
        "1. Mentee\n2. Tue 15:30-16:30",
    ),
    "gmail-inline": (
        f'<div class="gmail_quote">{GMAIL_ATTR}{GMAIL_BQ}{Q1_HTML}</blockquote><div>Mentee</div><div><br></div>'
        f"{GMAIL_BQ}{Q2_HTML}</blockquote><div>Tuesdays after 3:30</div></div>",
        "1. Mentee\n\nTuesdays after 3:30",
    ),
    "apple-top": (
        '<html><body><div dir="ltr">Mentor</div><div dir="ltr"><br><blockquote type="cite">On 4 Jan 2027, at 09:00, District Mentoring '
        f"&lt;reply+k7@mentor.example&gt; wrote:<br><br></blockquote></div><blockquote type=\"cite\">{HTML_PROMPT}</blockquote></body></html>",
        "Mentor",
    ),
    "apple-inline": (
        f'<blockquote type="cite">On 4 Jan 2027, at 09:00, District Mentoring wrote:<br>{Q1_HTML}</blockquote>'
        f'<div>Mentor</div><blockquote type="cite">{Q2_HTML.split("<p>Reply")[0]}</blockquote><div>Mon and Wed 7:30-8am</div>'
        f'<blockquote type="cite"><p>Reply{Q2_HTML.split("<p>Reply")[1]}</blockquote><div>Sent from my iPhone</div>',
        "1. Mentor\n\n2. Mon and Wed 7:30-8am",
    ),
    "outlook-web": (
        '<div dir="ltr">1. Mentor<br>2. Thu 7:30-8:15</div><div id="appendonsend"></div><hr style="display:inline-block;width:98%">'
        '<div id="divRplyFwdMsg" dir="ltr"><font face="Calibri"><b>From:</b> District Mentoring &lt;reply+k7@mentor.example&gt;<br>'
        "<b>Sent:</b> Monday, January 4, 2027 9:00 AM<br><b>To:</b> Ana Chen<br><b>Subject:</b> Your mentoring profile</font><div>&nbsp;</div></div>"
        f"<div>{HTML_PROMPT}</div>",
        "1. Mentor\n2. Thu 7:30-8:15",
    ),
    "outlook-desktop": (
        '<div class="WordSection1"><p class="MsoNormal">1. Mentor<o:p></o:p></p><p class="MsoNormal">2. Thu 7:30-8:15<o:p></o:p></p>'
        '<p class="MsoNormal"><o:p>&nbsp;</o:p></p><div><div style="border:none;border-top:solid #E1E1E1 1.0pt;padding:3.0pt 0in 0in 0in">'
        '<p class="MsoNormal"><b>From:</b> District Mentoring &lt;reply+k7@mentor.example&gt; <br><b>Sent:</b> Monday, January 4, 2027 9:00 AM<br>'
        f'<b>To:</b> Ana Chen<br><b>Subject:</b> Your mentoring profile<o:p></o:p></p></div></div>{HTML_PROMPT}</div>',
        "1. Mentor\n2. Thu 7:30-8:15",
    ),
    "outlook-desktop-french": (
        '<div class="WordSection1"><p class="MsoNormal">Mentor<o:p></o:p></p><div style="border:none;border-top:solid #E1E1E1 1.0pt">'
        '<p class="MsoNormal"><b>De&nbsp;:</b> District Mentoring<br><b>Envoyé&nbsp;:</b> lundi 4 janvier 2027 09:00<br><b>À&nbsp;:</b> Ana Chen<br>'
        f"<b>Objet&nbsp;:</b> Votre profil</p></div>{HTML_PROMPT}</div>",
        "Mentor",
    ),
    "yahoo": (
        '<html><body><div class="ydp1 yahoo-style-wrap"><div dir="ltr">Mentee, Tuesdays after school</div></div>'
        '<div id="yahoo_quoted_8812" class="yahoo_quoted"><div style="font-family:Helvetica"><div>On Monday, January 4, 2027, 09:00:00 AM PST, '
        f"District Mentoring &lt;reply+k7@mentor.example&gt; wrote:</div><div><br></div><div>{HTML_PROMPT}</div></div></div></body></html>",
        "Mentee, Tuesdays after school",
    ),
    "thunderbird-bottom": (
        '<html><body><div class="moz-cite-prefix">On 1/4/27 9:00 AM, District Mentoring wrote:<br></div>'
        f'<blockquote type="cite" cite="mid:k7@mentor.example">{HTML_PROMPT}</blockquote><p>1. Mentee<br>2. Mon 3-4pm<br></p>'
        '<pre class="moz-signature" cols="72">-- \nAna Chen\nLincoln Middle School</pre></body></html>',
        "1. Mentee\n2. Mon 3-4pm",
    ),
}


@pytest.mark.parametrize(("html", "kept"), list(HTML_REPLIES.values()), ids=list(HTML_REPLIES))
def test_html_only_replies_keep_the_persons_words_wherever_typed(html: str, kept: str) -> None:
    assert strip_quoted(html_to_text(html)) == kept


def test_html_inline_answer_is_tied_to_the_quoted_list_item_number() -> None:
    html = HTML_REPLIES["gmail-inline"][0]
    assert answers(strip_quoted(html_to_text(html))) == {"role": "Mentee"}  # the second answer follows the example lines


def test_html_lists_paragraphs_and_breaks_are_kept() -> None:
    html = "<p>Here you go:</p><ol><li>Mentee</li><li>Tue 3-4pm<br>or Thu 7am</li></ol><ul><li>math</li><li>SEL</li></ul><p>Best</p>"
    assert html_to_text(html) == "Here you go:\n\n1. Mentee\n2. Tue 3-4pm\n   or Thu 7am\n\n- math\n- SEL\n\nBest"


def test_html_drops_scripts_styles_comments_and_hidden_preheaders() -> None:
    html = (
        "<html><head><style>p{color:red}</style><title>Re: profile</title></head><body><!--[if mso]><p>old</p><![endif]-->"
        '<span style="display:none">preview text</span><script>alert(1)</script><div>Tue&nbsp;3-4pm &amp; Thu</div></body></html>'
    )
    assert html_to_text(html) == "Tue 3-4pm & Thu"


def test_html_gmail_signature_and_indent_blockquote() -> None:
    html = (
        '<div dir="ltr"><blockquote style="margin:0 0 0 40px;border:none;padding:0px"><div>Mentee</div></blockquote>'
        '<span class="gmail_signature_prefix">-- </span><br><div dir="ltr" class="gmail_signature">Ana Chen<br>Lincoln</div></div>'
    )
    assert strip_quoted(html_to_text(html)) == "Mentee"


# ------------------------------------------------------------------------------------------- hostile input


@pytest.mark.parametrize(
    "text",
    [
        "", "\r\n\r\n", ">", "> > >", "-- ", "1.", "On", ":" * 50, "\x00\x0b\x0c\u2028", "<<<>>>", "&#0; &#xD800; &bogus;",
        "On " + "a " * 300 + "wrote:", "> 1. q\n" * 50, "<blockquote>" * 300 + "x", "<ol start='999999999999'><li value='-3'>x</li></ol>",
    ],
)  # fmt: skip
def test_any_text_gives_a_string(text: str) -> None:
    assert isinstance(strip_quoted(text), str)
    assert isinstance(html_to_text(text), str)
    assert "\r" not in strip_quoted(text)


def _seconds(call, text: str) -> float:
    started = time.perf_counter()
    call(text)
    return time.perf_counter() - started


@pytest.mark.parametrize(
    "text",
    [
        "On " + "a " * 500_000 + ":",  # one huge line that looks like the start of a header
        ("On Mon " + "x " * 140 + "skrev:\n") * 3_500,  # many lines the libraries' header patterns backtrack on
        ("From: a\nTo: b\n> 1. q\n\nx\n") * 50_000,
        "-" * 1_000_000,
        ("Sent from my " + "a" * 70 + "\n") * 12_000,
    ],
    ids=["one-line", "header-like-lines", "blocks-and-quotes", "dashes", "sign-off-like"],
)
def test_a_megabyte_of_hostile_text_is_read_quickly(text: str) -> None:
    # Generous bound: linear work takes a fraction of this, catastrophic backtracking takes minutes.
    assert _seconds(strip_quoted, text) < 10


def test_a_megabyte_of_hostile_html_is_read_quickly() -> None:
    nested = "<div><blockquote>" * 20_000 + "x" + "</blockquote></div>" * 20_000
    assert _seconds(html_to_text, nested) < 20
    assert _seconds(html_to_text, "<p>" + "<b>a</b> " * 120_000) < 20


def test_numbers_typed_without_a_dot_on_a_phone_still_name_their_questions() -> None:
    asked = [Asked(1, "grade_bands", ("Grade bands",)), Asked(2, "subjects", ("Subjects",)), Asked(3, "needs", ("Needs",))]
    assert extract_answers("1 K-2\n2 ELA", asked).answers == {"grade_bands": "K-2", "subjects": "ELA"}
    # One such line is an answer, not a question number; nor are lines whose numbers don't rise.
    assert extract_answers("3 mentees", asked, default="needs").answers == {"needs": "3 mentees"}
    assert extract_answers("2 ELA\n1 K-2", asked, default="needs").answers == {"needs": "2 ELA\n1 K-2"}
