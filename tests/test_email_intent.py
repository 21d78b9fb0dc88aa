"""A reply's yes/no to a proposal, and whether a person must read it, from what teachers actually write."""

from __future__ import annotations

import pytest

from bot.email.intent import confirmation, needs_person


@pytest.mark.parametrize(
    "text",
    ["yes", "Yes!", "YES", "Yep, that's right", "yes please", "Correct.", "That's right, thanks!", "Hi Sam,\nyes, correct\nThanks",
     "Sí", "si", "Oui, c'est bon", "Ja, genau", "Sim", "Klopt", "Esatto!", "ok", "Looks good"],
)  # fmt: skip
def test_a_plain_yes_confirms(text: str) -> None:
    assert confirmation(text) is True


@pytest.mark.parametrize("text", ["no", "No.", "Nope, wrong day", "Not quite", "Non", "Nein", "Não", "nee"])
def test_a_plain_no_rejects(text: str) -> None:
    assert confirmation(text) is False


@pytest.mark.parametrize(
    "text",
    ["Yes but not Fridays", "Tuesdays after 3", "", "yes\nand also\nsomething\nelse entirely", "I think so? Let me check my calendar",
     "Wednesday, not Tuesday", "y" * 300],
)  # fmt: skip
def test_anything_else_is_neither(text: str) -> None:
    assert confirmation(text) is None


@pytest.mark.parametrize(
    ("text", "flow", "answered", "reason"),
    [
        ("Can we move it to Thursday? Zoom link?", None, False, "a question for a person"),
        ("we haven't met, she hasn't replied", "check_in", True, "check-in comment"),
        ("Tuesdays after 3. Also, who do I talk to about my sub coverage?", "profile", True, "a question for a person"),
        ("¿Podemos cambiar la hora", "profile", True, "a question for a person"),
        ("I need to cancel, I'm going on maternity leave in March", "profile", True, "a request for help"),
        ("Thanks, see you Tuesday in room 12", None, False, "a reply to a notice"),
        ("mentee", "opt_in", False, "answered nothing asked"),
        ("We never clicked and I'd rather explain why to a person than in a form.", "survey", True, "a request for help"),
        ("Prefiero hablar con alguien del programa.", "survey", True, "a request for help"),
    ],
)  # fmt: skip
def test_replies_that_need_a_person(text: str, flow: str | None, answered: bool, reason: str) -> None:
    assert needs_person(text, answered=answered, flow=flow) == reason


@pytest.mark.parametrize(
    ("text", "flow"),
    [("Mentee please", "opt_in"), ("Tue and Thu after school", "profile"), ("1. 6-8\n2. math", "profile"), ("Strongly agree", "survey")],
)
def test_plain_answers_need_no_one(text: str, flow: str) -> None:
    assert needs_person(text, answered=True, flow=flow) is None


@pytest.mark.parametrize("text", ["  \n ", "Thanks!", "Great, see you then", "Thank you so much!!", "Merci", "ok thx"])
def test_empty_or_thanks_only_needs_no_one(text: str) -> None:
    assert needs_person(text, answered=False, flow=None) is None
