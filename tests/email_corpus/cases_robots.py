"""Out-of-office answers and bounces: none of them is a person's answer, so nothing is saved and nothing is sent back."""

from __future__ import annotations

from tests.email_corpus.model import case

AWAY_EN = "I am out of the office until Monday, December 7 with limited access to email.\nFor urgent matters please contact the front office at 555-0100."
NDR_TEXT = "Your message couldn't be delivered to the recipient because the address wasn't found.\n\nRemote server returned '550 5.1.1 RESOLVER.ADR.RecipNotFound; not found'"

MACHINES = [
    case("ma-exchange-automatic-reply-no-header", "outlook_desktop", "en", "opt_in", AWAY_EN, machine="ooo",
         subject="Automatic reply: Mentoring this term: Spring 2027", headers={"X-Auto-Response-Suppress": "All", "Thread-Topic": "Mentoring this term: Spring 2027"}),
    case("ma-auto-submitted-replied", "gmail_web", "en", "profile", AWAY_EN, machine="ooo", subject="Out of office",
         headers={"Auto-Submitted": "auto-replied"}),
    case("ma-precedence-auto-reply", "thunderbird", "en", "check_in", AWAY_EN, machine="ooo", subject="Away: Did you meet?",
         headers={"Precedence": "auto_reply"}),
    case("ma-x-autoreply", "yahoo", "en", "opt_in", "Thanks for your email! I'm traveling this week and will reply when I'm back.", machine="ooo",
         subject="Auto Reply: Mentoring this term: Spring 2027", headers={"X-Autoreply": "yes"}),
    case("ma-de-abwesenheit", "outlook_desktop", "de", "opt_in", "Ich bin bis zum 7. Dezember nicht im Haus. In dringenden Fällen wenden Sie sich bitte an das Sekretariat.",
         machine="ooo", subject="Automatische Antwort: Mentoring this term: Spring 2027"),
    case("ma-de-abwesenheitsnotiz-gmx", "gmx_de", "de", "survey", "Vielen Dank für Ihre Nachricht. Ich bin derzeit im Urlaub.", machine="ooo",
         subject="Abwesenheitsnotiz: End of round survey"),
    case("ma-fr-reponse-automatique", "outlook_desktop", "fr", "opt_in", "Je suis absente jusqu'au 7 décembre. Pour toute urgence, contactez le secrétariat.",
         machine="ooo", subject="Réponse automatique : Mentoring this term: Spring 2027", charset="windows-1252"),
    case("ma-fr-absence-orange", "orange_fr", "fr", "check_in", "Bonjour, je suis en congé jusqu'au 4 janvier.", machine="ooo",
         subject="Absence : Did you meet?", charset="iso-8859-1", cte="quoted-printable"),
    case("ma-es-respuesta-automatica", "outlook_desktop", "es", "profile", "Estoy fuera de la oficina hasta el lunes. Responderé a mi regreso.",
         machine="ooo", subject="Respuesta automática: Your mentoring profile"),
    case("ma-nl-automatisch-antwoord", "outlook_web", "nl", "opt_in", "Ik ben afwezig tot maandag 7 december.", machine="ooo",
         subject="Automatisch antwoord: Mentoring this term: Spring 2027"),
    case("ma-it-risposta-automatica", "outlook_desktop", "it", "approval", "Sono fuori ufficio fino al 7 dicembre.", machine="ooo",
         subject="Risposta automatica: Please approve Ana Chen as a mentor"),
    case("ma-pt-resposta-automatica", "outlook_web", "pt", "opt_in", "Estou de férias até 7 de dezembro.", machine="ooo",
         subject="Resposta automática: Mentoring this term: Spring 2027"),
    case("ma-gmail-vacation", "gmail_web", "en", "survey", "I'm on parental leave until March. For anything urgent, email my co-teacher.",
         machine="ooo", subject="Re: End of round survey", headers={"Auto-Submitted": "auto-replied", "Precedence": "bulk"}),
    case("ma-out-of-office-x-autorespond", "apple_mail", "en", "check_in", AWAY_EN, machine="ooo", subject="Out of Office: Did you meet?",
         headers={"X-Autorespond": "Out of Office"}),
    case("ma-auto-generated", "outlook_web", "en", "opt_in", AWAY_EN, machine="ooo", subject="Automatic reply: Mentoring this term: Spring 2027",
         headers={"Auto-Submitted": "auto-generated"}),
    case("ma-html-automatic-reply", "outlook_web", "en", "profile", AWAY_EN, machine="ooo", form="alternative",
         subject="Automatic reply: Your mentoring profile", headers={"X-MS-Exchange-Inbox-Rules-Loop": "x@riverside-schools.example"}),
    case("ma-challenge-response", "yahoo", "en", "opt_in",
         "Hello, I use a spam filter. Please click the link below to verify you are a real person, and your email will be delivered.",
         machine="ooo", subject="Please verify your email address", headers={"X-Challenge": "verify"}),
    case("ma-dsn-511-mailer-daemon", "gmail_web", "en", "opt_in", "This is the mail system at host mx.riverside-schools.example.\n\nI'm sorry to have to inform you that your message could not be delivered.",
         machine="bounce"),
    case("ma-dsn-postmaster", "thunderbird", "en", "survey", "Delivery to the following recipient failed permanently.", machine="bounce",
         sender="postmaster@riverside-schools.example", subject="Delivery Status Notification (Failure)"),
    case("ma-o365-ndr", "outlook_web", "en", "opt_in", NDR_TEXT, machine="bounce",
         sender="Microsoft Outlook <MicrosoftExchange329e71ec88ae4615bbc36ab6ce41109e@riverside-schools.example>",
         subject="Undeliverable: Mentoring this term: Spring 2027", headers={"X-MS-Exchange-Message-Is-Ndr": ""}),
    case("ma-dsn-delay", "gmail_web", "en", "profile", "Delivery incomplete: there was a temporary problem delivering your message.", machine="bounce",
         sender="Mail Delivery Subsystem <mailer-daemon@googlemail.com>", subject="Delivery Status Notification (Delay)"),
    case("ma-dsn-to-sender-address", "outlook_desktop", "en", "check_in", "Mail delivery failed: returning message to sender", machine="bounce",
         headers={"To": "mentoring@riverside.example"}),
]
