"""Replies that answer nothing asked and need a person: questions, requests and complaints reach the admins."""

from __future__ import annotations

from tests.email_corpus.model import case

FOR_A_PERSON = [
    case("fw-profile-same-program", "gmail_web", "en", "profile",
         "Quick question before I fill this out: is this the same program as last year's new teacher induction?",
         forwarded=True, kept=("new teacher induction",)),
    case("fw-opt-in-mentor-lead", "outlook_desktop", "en", "opt_in", "Who do I talk to about becoming a mentor lead for my building?",
         forwarded=True, kept=("mentor lead",)),
    case("fw-opt-in-es-obligatorio", "gmail_web", "es", "opt_in", "¿Quién organiza esto? ¿Es obligatorio para los maestros nuevos?",
         forwarded=True, kept=("Es obligatorio",)),
    case("fw-opt-in-fr-heures", "zimbra_fr", "fr", "opt_in", "Bonjour, est-ce que ce programme compte pour les heures de formation continue ?",
         forwarded=True, kept=("heures de formation",), charset="iso-8859-1", cte="quoted-printable"),
    case("fw-profile-retired", "outlook_web", "en", "profile", "Please take me off this list, I retired in June.", forwarded=True, kept=("I retired in June",)),
    case("fw-survey-who-sees", "apple_mail", "en", "survey", "Before I answer: who will see these responses? Are they anonymous?",
         forwarded=True, kept=("Are they anonymous",)),
    case("fw-check-in-pt-trocar", "gmail_web", "pt", "check_in", "Podemos trocar de mentora? Não estamos nos entendendo.",
         forwarded=True, kept=("trocar de mentora",)),
]
