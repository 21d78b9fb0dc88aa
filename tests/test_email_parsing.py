"""Reply parsing, plain-words availability and signed tokens: pure functions, samples in each client's style."""

from __future__ import annotations

from datetime import datetime, timedelta, timezone

import pytest

from bot.email import tokens
from bot.email.availability import format_slots, parse_availability
from bot.email.replies import Asked, extract_answers, html_to_text, strip_quoted
from bot.flows.parsers import AnswerError

NOW = datetime(2026, 11, 23, 17, 0, tzinfo=timezone.utc)

GMAIL_WRAPPED = """1. 2
2. Tuesdays and Thursdays after 3:30

On Mon, Nov 23, 2026 at 9:00 AM District Mentoring <reply+abc@mentor.example>
wrote:

> A few questions so we can find you a good match.
> 1. Which grade bands do you teach?
"""
APPLE_MAIL = """Mentee please

> On Nov 23, 2026, at 09:00, District Mentoring <reply+abc@mentor.example> wrote:
>
> How would you like to take part this term?
"""
THUNDERBIRD = """Availability: Mon 3-4pm

On 11/23/26 9:00 AM, District Mentoring wrote:
> When are you usually free?
"""
OUTLOOK = """Needs: classroom managment, Lesson planning

Thanks,
Ben

________________________________
From: District Mentoring <reply+abc@mentor.example>
Sent: Monday, November 23, 2026 9:00 AM
To: Ben Ortiz <ben@d.example>
Subject: Your mentoring profile

1. Which grade bands do you teach?
"""
ORIGINAL_MESSAGE = """3

-----Original Message-----
From: District Mentoring [mailto:reply+abc@mentor.example]
Sent: Monday, November 23, 2026 9:00 AM
To: Ben
Subject: Mentoring this term
"""
IPHONE = """2

Sent from my iPhone

> On Nov 23, 2026, at 9:00 AM, District Mentoring <reply+abc@mentor.example> wrote:
> How would you like to take part this term?
"""
SIGNATURE = """On Tuesdays I'm free after 3:30.
On Thursdays, mornings before 8 work too.

-- 
Ana Chen
Lincoln Middle School
"""
FRENCH = """6-8

Le lun. 23 nov. 2026 à 09:00, District Mentoring <reply+abc@mentor.example> a
écrit :
> Quelles classes enseignez-vous ?
"""
GERMAN = """- 6-8
- 9-12

Am 23.11.2026 um 09:00 schrieb District Mentoring <reply+abc@mentor.example>:
> Welche Klassenstufen?
"""
SPANISH = """mentee

Enviado desde mi iPhone

El lun, 23 nov 2026 a las 9:00, District Mentoring (<reply+abc@mentor.example>) escribió:
> ¿Cómo quiere participar?
"""
OUTLOOK_BOLD = """Availability: Tue 3-4pm

*From:* District Mentoring <reply+abc@mentor.example>
*Sent:* Monday, November 23, 2026 9:00 AM
*To:* Ben Ortiz <ben@d.example>
*Subject:* Your mentoring profile

4. When are you usually free to meet each week?
"""
OUTLOOK_FRENCH = """4

De : District Mentoring <reply+abc@mentor.example>
Envoyé : lundi 23 novembre 2026 09:00
À : Ben Ortiz
Objet : Mentorat
"""


@pytest.mark.parametrize(
    ("raw", "kept"),
    [
        (GMAIL_WRAPPED, "1. 2\n2. Tuesdays and Thursdays after 3:30"),
        (APPLE_MAIL, "Mentee please"),
        (THUNDERBIRD, "Availability: Mon 3-4pm"),
        (OUTLOOK, "Needs: classroom managment, Lesson planning"),
        (ORIGINAL_MESSAGE, "3"),
        (IPHONE, "2"),
        (SIGNATURE, "On Tuesdays I'm free after 3:30.\nOn Thursdays, mornings before 8 work too."),
        (FRENCH, "6-8"),
        (GERMAN, "- 6-8\n- 9-12"),
        (SPANISH, "mentee"),
        (OUTLOOK_FRENCH, "4"),
        (OUTLOOK_BOLD, "Availability: Tue 3-4pm"),
    ],
    ids=["gmail-wrapped", "apple", "thunderbird", "outlook", "original-message", "iphone", "dash-signature", "french", "german", "spanish", "outlook-fr", "outlook-bold"],
)
def test_quoted_history_and_signatures_are_stripped(raw: str, kept: str) -> None:
    assert strip_quoted(raw.replace("\n", "\r\n")) == kept


def test_a_line_starting_with_on_is_not_a_quote_header() -> None:
    body = "On Mondays I teach until 4.\nOn second thought, Tuesdays after 3:30 are best."
    assert strip_quoted(body) == body


def test_html_only_replies_lose_their_blockquote() -> None:
    html = "<div>1. 2<br>2. Mon 3-4pm</div><div class='gmail_quote'>On Mon wrote:<blockquote>old</blockquote></div>"
    assert strip_quoted(html_to_text(html)).splitlines()[:2] == ["1. 2", "2. Mon 3-4pm"]


ASKED = [Asked(1, "grade_bands", ("Grade bands",)), Asked(2, "subjects", ("Subjects",)), Asked(3, "availability", ("Availability", "free"))]


def test_numbered_lines_map_to_the_numbers_in_the_email() -> None:
    found = extract_answers("Hi!\n1) 6-8\n2. math,\n   science\n\n3: Tue 3-4pm", ASKED)
    assert found.answers == {"grade_bands": "6-8", "subjects": "math,\nscience", "availability": "Tue 3-4pm"}


def test_labelled_lines_and_times_with_colons() -> None:
    found = extract_answers("availability: 3:30-4:30 on Tuesdays\nSubject: math", ASKED)
    assert found.answers == {"availability": "3:30-4:30 on Tuesdays", "subjects": "math"}


def test_a_single_answer_goes_to_the_first_open_question_without_greeting_or_sign_off() -> None:
    found = extract_answers("Hello,\n\n6-8\n\nThanks!\nBen", ASKED, default="grade_bands")
    assert found.answers == {"grade_bands": "6-8"}


@pytest.mark.parametrize(
    ("text", "slots"),
    [
        ("Tuesdays and Thursdays after 3:30", "Tue 15:30-17:00; Thu 15:30-17:00"),
        ("Mon 3-4pm", "Mon 15:00-16:00"),
        ("mornings before 8", "Mon 07:00-08:00; Tue 07:00-08:00; Wed 07:00-08:00; Thu 07:00-08:00; Fri 07:00-08:00"),
        ("Tue 15:30-17:00; Thu 07:30-08:15", "Tue 15:30-17:00; Thu 07:30-08:15"),
        ("3-4pm on Mon and Wed, Fri at 7am", "Mon 15:00-16:00; Wed 15:00-16:00; Fri 07:00-08:00"),
        ("Mon 3-4pm and Wed mornings", "Mon 15:00-16:00; Wed 07:00-08:00"),
        ("Mon-Wed 11-1pm", "Mon 11:00-13:00; Tue 11:00-13:00; Wed 11:00-13:00"),
        ("Thursday after 4:30", "Thu 16:30-17:30"),
        ("after school on Fridays", "Fri 15:30-17:00"),
        ("Tue 3.30-4.30", "Tue 15:30-16:30"),
    ],
)
def test_availability_in_plain_words(text: str, slots: str) -> None:
    assert format_slots(parse_availability(text)) == slots


@pytest.mark.parametrize(("text", "hint"), [("Tuesdays", "What times on Tue"), ("not Fridays", "apart from Fri"), ("whenever", "couldn't find a day or a time"), ("Mon 5-3am", "ends before it starts"), ("wensdays after 3", "wensdays")])
def test_availability_that_cant_be_read_says_why(text: str, hint: str) -> None:
    with pytest.raises(AnswerError, match=hint):
        parse_availability(text)


def test_reply_tokens_round_trip_and_survive_case_changes() -> None:
    token = tokens.make_reply_token("secret", person_id=4242, flow="approval", context="term:12:mentor:987", now=NOW)
    address = tokens.reply_address(token, "reply.example")
    assert len(address.split("@")[0]) <= 64
    found = tokens.read_reply_token("secret", tokens.token_from_address(f"Mentoring <{address.upper()}>"), now=NOW)
    assert (found.person_id, found.flow, found.context) == (4242, "approval", "term:12:mentor:987")


def test_forged_expired_and_cross_kind_tokens_are_refused() -> None:
    token = tokens.make_reply_token("secret", person_id=7, flow="profile", context="term:3", now=NOW, valid_days=10)
    with pytest.raises(tokens.BadToken, match="signature"):
        tokens.read_reply_token("another secret", token, now=NOW)
    tampered = token[:-3] + ("a" if token[-3] != "a" else "b") + token[-2:]
    with pytest.raises(tokens.BadToken):
        tokens.read_reply_token("secret", tampered, now=NOW)
    with pytest.raises(tokens.BadToken, match="expired"):
        tokens.read_reply_token("secret", token, now=NOW + timedelta(days=11))
    unsubscribe = tokens.make_unsubscribe_token("secret", person_id=7)
    assert tokens.read_unsubscribe_token("secret", unsubscribe) == 7
    with pytest.raises(tokens.BadToken):
        tokens.read_reply_token("secret", unsubscribe, now=NOW)
    with pytest.raises(tokens.BadToken):
        tokens.read_unsubscribe_token("secret", token)
