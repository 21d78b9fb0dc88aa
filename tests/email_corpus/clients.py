"""Raw RFC 822 replies built the way each mail program writes them: its quote header in the writer's language,
its way of quoting (">" lines, an Outlook From/Sent block, an unquoted "Original message"), its sign-off, its HTML
and its usual charset and transfer encoding. Everything is built with the standard library's `email` package.
"""

from __future__ import annotations

import base64
import html as html_lib
import quopri
import re
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.headerregistry import Address
from email.message import Message
from email.mime.base import MIMEBase
from email.mime.multipart import MIMEMultipart
from email.utils import format_datetime

from tests.email_corpus.model import Case

__all__ = ["CLIENTS", "Original", "build_reply", "build_robot"]

DAYS = {
    "en": ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"),
    "es": ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo"),
    "fr": ("lundi", "mardi", "mercredi", "jeudi", "vendredi", "samedi", "dimanche"),
    "de": ("Montag", "Dienstag", "Mittwoch", "Donnerstag", "Freitag", "Samstag", "Sonntag"),
    "pt": ("segunda-feira", "terça-feira", "quarta-feira", "quinta-feira", "sexta-feira", "sábado", "domingo"),
    "nl": ("maandag", "dinsdag", "woensdag", "donderdag", "vrijdag", "zaterdag", "zondag"),
    "it": ("lunedì", "martedì", "mercoledì", "giovedì", "venerdì", "sabato", "domenica"),
}
MONTHS = {
    "en": ("January", "February", "March", "April", "May", "June", "July", "August", "September", "October", "November", "December"),
    "es": ("enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre", "octubre", "noviembre", "diciembre"),
    "fr": ("janvier", "février", "mars", "avril", "mai", "juin", "juillet", "août", "septembre", "octobre", "novembre", "décembre"),
    "de": ("Januar", "Februar", "März", "April", "Mai", "Juni", "Juli", "August", "September", "Oktober", "November", "Dezember"),
    "pt": ("janeiro", "fevereiro", "março", "abril", "maio", "junho", "julho", "agosto", "setembro", "outubro", "novembro", "dezembro"),
    "nl": ("januari", "februari", "maart", "april", "mei", "juni", "juli", "augustus", "september", "oktober", "november", "december"),
    "it": ("gennaio", "febbraio", "marzo", "aprile", "maggio", "giugno", "luglio", "agosto", "settembre", "ottobre", "novembre", "dicembre"),
}
REPLY_PREFIX = {"en": "Re: ", "es": "RE: ", "fr": "RE : ", "de": "AW: ", "pt": "RES: ", "nl": "Antw: ", "it": "R: "}
# Outlook's From/Sent/To/Subject block, translated the way Outlook itself translates it.
OUTLOOK_FIELDS = {
    "en": ("From", "Sent", "To", "Subject"),
    "es": ("De", "Enviado el", "Para", "Asunto"),
    "fr": ("De", "Envoyé", "À", "Objet"),
    "de": ("Von", "Gesendet", "An", "Betreff"),
    "pt": ("De", "Enviado", "Para", "Assunto"),
    "nl": ("Van", "Verzonden", "Aan", "Onderwerp"),
    "it": ("Da", "Inviato", "A", "Oggetto"),
}
PHONE_SIGNATURE = {
    "en": "Sent from my iPhone", "es": "Enviado desde mi iPhone", "fr": "Envoyé de mon iPhone", "de": "Von meinem iPhone gesendet",
    "pt": "Enviado do meu iPhone", "nl": "Verstuurd vanaf mijn iPhone", "it": "Inviato da iPhone",
}  # fmt: skip
SAMSUNG_SIGNATURE = {
    "en": "Sent from my Galaxy", "es": "Enviado desde mi Galaxy", "fr": "Envoyé depuis mon Galaxy", "de": "Von meinem Galaxy gesendet",
    "pt": "Enviado do meu Galaxy", "nl": "Verzonden vanaf mijn Galaxy", "it": "Inviato dal mio Galaxy",
}  # fmt: skip
SAMSUNG_ORIGINAL = {
    "en": ("-------- Original message --------", "From", "Date", "To", "Subject"),
    "es": ("-------- Mensaje original --------", "De", "Fecha", "Para", "Asunto"),
    "fr": ("-------- Message d'origine --------", "De", "Date", "À", "Objet"),
    "de": ("-------- Ursprüngliche Nachricht --------", "Von", "Datum", "An", "Betreff"),
    "pt": ("-------- Mensagem original --------", "De", "Data", "Para", "Assunto"),
    "nl": ("-------- Oorspronkelijk bericht --------", "Van", "Datum", "Aan", "Onderwerp"),
    "it": ("-------- Messaggio originale --------", "Da", "Data", "A", "Oggetto"),
}


@dataclass(frozen=True)
class Original:
    """The email the bot really sent, as the person's mail program shows it."""

    from_name: str
    from_addr: str
    to_name: str
    to_addr: str
    reply_to: str
    subject: str
    message_id: str
    references: tuple[str, ...]
    sent_at: datetime  # in the reader's local time
    text: str
    html: str

    @property
    def html_body(self) -> str:
        found = re.search(r"(?is)<body[^>]*>(.*)</body>", self.html)
        return found[1] if found else self.html


def _d(o: Original, lang: str) -> tuple[str, str, int, int, str]:
    at = o.sent_at
    return DAYS[lang][at.weekday()], MONTHS[lang][at.month - 1], at.day, at.year, at.strftime("%H:%M")


def _who(o: Original) -> str:
    return f"{o.from_name} <{o.from_addr}>"


def _gmail_header(o: Original, lang: str, *, android: bool = False) -> str:
    day, month, date, year, hm = _d(o, lang)
    at12 = o.sent_at.strftime("%-I:%M %p")
    comma = "," if android else " at"
    return {
        "en": f"On {day[:3]}, {month[:3]} {date}, {year}{comma} {at12} {_who(o)} wrote:",
        "es": f"El {day[:3]}, {date} {month[:3]} {year} a las {o.sent_at.strftime('%-H:%M')}, {o.from_name} (<{o.from_addr}>) escribió:",
        "fr": f"Le {day[:3]}. {date} {month[:4].rstrip('.')}. {year} à {hm}, {_who(o)} a écrit :",
        "de": f"Am {day[:2]}., {date}. {month[:3]}. {year} um {hm} Uhr schrieb {_who(o)}:",
        "pt": f"Em {day[:3]}., {date} de {month[:3]}. de {year} às {hm}, {_who(o)} escreveu:",
        "nl": f"Op {day[:2]} {date} {month[:3]} {year} om {hm} schreef {_who(o)}:",
        "it": f"Il giorno {day[:3]} {date} {month[:3]} {year} alle ore {hm} {_who(o)} ha scritto:",
    }[lang]


def _apple_header(o: Original, lang: str) -> str:
    day, month, date, year, hm = _d(o, lang)
    at12 = o.sent_at.strftime("%-I:%M %p")
    return {
        "en": f"On {month[:3]} {date}, {year}, at {at12}, {_who(o)} wrote:",
        "es": f"El {date} {month[:3]} {year}, a las {o.sent_at.strftime('%-H:%M')}, {_who(o)} escribió:",
        "fr": f"Le {date} {month[:4]}. {year} à {hm}, {_who(o)} a écrit :",
        "de": f"Am {o.sent_at.strftime('%d.%m.%Y')} um {hm} schrieb {_who(o)}:",
        "pt": f"Em {date} de {month[:3]}. de {year}, à(s) {hm}, {_who(o)} escreveu:",
        "nl": f"Op {date} {month[:3]} {year}, om {hm} heeft {_who(o)} het volgende geschreven:",
        "it": f"Il giorno {date} {month[:3]} {year}, alle ore {hm}, {_who(o)} ha scritto:",
    }[lang]


def _thunderbird_header(o: Original, lang: str) -> str:
    at = o.sent_at
    return {
        "en": f"On {at.strftime('%-m/%-d/%y %-I:%M %p')}, {o.from_name} wrote:",
        "es": f"El {at.strftime('%d/%m/%y')} a las {at.strftime('%-H:%M')}, {o.from_name} escribió:",
        "fr": f"Le {at.strftime('%d/%m/%Y')} à {at.strftime('%H:%M')}, {o.from_name} a écrit :",
        "de": f"Am {at.strftime('%d.%m.%y')} um {at.strftime('%H:%M')} schrieb {o.from_name}:",
        "pt": f"Em {at.strftime('%d/%m/%Y %H:%M')}, {o.from_name} escreveu:",
        "nl": f"Op {at.strftime('%d-%m-%Y')} om {at.strftime('%H:%M')} schreef {o.from_name}:",
        "it": f"Il {at.strftime('%d/%m/%y %H:%M')}, {o.from_name} ha scritto:",
    }[lang]


def _yahoo_header(o: Original, lang: str) -> str:
    day, month, date, year, hm = _d(o, lang)
    return {
        "en": f"On {day}, {month} {date}, {year} at {o.sent_at.strftime('%I:%M:%S %p')} PST, {_who(o)} wrote:",
        "es": f"El {day}, {date} de {month} de {year}, {hm}:00 GMT-8, {_who(o)} escribió:",
        "fr": f"Le {day} {date} {month} {year} à {hm}:00 UTC−8, {_who(o)} a écrit :",
        "de": f"Am {day}, {date}. {month} {year} um {hm}:00 GMT-8 hat {_who(o)} Folgendes geschrieben:",
        "pt": f"Em {day}, {date} de {month} de {year} {hm}:00 BRT, {_who(o)} escreveu:",
        "nl": f"Op {day} {date} {month} {year} {hm}:00 CET schreef {_who(o)}:",
        "it": f"Il {day} {date} {month} {year}, {hm}:00 CET, {_who(o)} ha scritto:",
    }[lang]


def _outlook_block(o: Original, lang: str, *, seconds: bool = False) -> list[str]:
    day, month, date, year, hm = _d(o, lang)
    fields = OUTLOOK_FIELDS[lang]
    if lang == "en":
        sent = f"{day}, {month} {date}, {year} {o.sent_at.strftime('%-I:%M' + (':%S' if seconds else '') + ' %p')}"
    elif lang == "de":
        sent = f"{day}, {date}. {month} {year} {hm}"
    elif lang in ("es", "pt"):
        sent = f"{day}, {date} de {month} de {year} {hm}"
    else:
        sent = f"{day} {date} {month} {year} {hm}"
    colon = " :" if lang == "fr" else ":"  # French typography: a space before the colon, as French Outlook writes it
    return [f"{fields[0]}{colon} {_who(o)}", f"{fields[1]}{colon} {sent}", f"{fields[2]}{colon} {o.to_name} <{o.to_addr}>", f"{fields[3]}{colon} {o.subject}"]


def _samsung_block(o: Original, lang: str) -> list[str]:
    title, from_, date_, to_, subject_ = SAMSUNG_ORIGINAL[lang]
    when = o.sent_at.strftime("%m/%d/%y %-I:%M %p") if lang == "en" else o.sent_at.strftime("%d/%m/%y %H:%M")
    sep = " : " if lang == "fr" else ": "
    return [title, f"{from_}{sep}{_who(o)} ", f"{date_}{sep}{when} (GMT-08:00) ", f"{to_}{sep}{o.to_name} <{o.to_addr}> ", f"{subject_}{sep}{o.subject} "]


def _gmx_block(o: Original, lang: str) -> list[str]:
    # GMX and web.de put "Gesendet:" first, then Von/An/Betreff.
    day, month, date, year, hm = _d(o, "de")
    return [f"Gesendet: {day}, {date}. {month} {year} um {hm} Uhr", f'Von: "{o.from_name}" <{o.from_addr}>', f"An: {o.to_addr}", f"Betreff: {o.subject}"]


def _orange_block(o: Original, lang: str) -> list[str]:
    return [
        f"> Message du {o.sent_at.strftime('%d/%m/%y %H:%M')}", f'> De : "{o.from_name}" <{o.from_addr}>', f"> A : {o.to_addr}",
        "> Copie à : ", f"> Objet : {o.subject}", ">",
    ]  # fmt: skip


def _zimbra_block(o: Original, lang: str) -> list[str]:
    day, month, date, year, hm = _d(o, "fr")
    return ["----- Mail original -----", f'De: "{o.from_name}" <{o.from_addr}>', f"À: {o.to_name} <{o.to_addr}>",
            f"Envoyé: {day.capitalize()} {date} {month.capitalize()} {year} {hm}:00", f"Objet: {o.subject}"]  # fmt: skip


@dataclass(frozen=True)
class Client:
    """How one mail program writes a reply."""

    key: str
    label: str
    quoting: str  # gt (">" lines under a "wrote:" header) | block (an unquoted header block, then the original as is)
    header: Callable[[Original, str], list[str]]
    signature: Callable[[str], str]
    form: str = "alternative"
    cte: str = "quoted-printable"
    charset: str = "utf-8"
    html_quote: str = "blockquote"  # blockquote | divs (the original pasted without a blockquote)
    header_quoted: bool = False  # iOS puts the "wrote:" line itself inside the quote
    mailer: tuple[str, str] | None = None
    domain: str = "mail.example"


def _lines(text: str) -> list[str]:
    return text.replace("\r\n", "\n").split("\n")


CLIENTS: dict[str, Client] = {
    c.key: c
    for c in (
        Client("gmail_web", "Gmail web", "gt", lambda o, l: [_gmail_header(o, l)], lambda l: "", domain="mail.gmail.com"),
        Client("gmail_android", "Gmail Android", "gt", lambda o, l: [_gmail_header(o, l, android=True)], lambda l: "", domain="mail.gmail.com"),
        Client(
            "outlook_desktop", "Outlook desktop", "block", lambda o, l: ["________________________________", *_outlook_block(o, l)], lambda l: "",
            charset="windows-1252", html_quote="divs", mailer=("X-Mailer", "Microsoft Outlook 16.0"), domain="EXCH01.riverside-schools.example",
        ),
        Client(
            "outlook_web", "Outlook web", "block", lambda o, l: ["________________________________", *_outlook_block(o, l)], lambda l: "",
            html_quote="divs", domain="namprd04.prod.outlook.com",
        ),
        Client(
            "outlook_mobile", "Outlook mobile", "block", lambda o, l: ["________________________________", *_outlook_block(o, l, seconds=True)],
            lambda l: "Get Outlook for iOS<https://aka.ms/o0ukef>", html_quote="divs", domain="namprd04.prod.outlook.com",
        ),
        Client("apple_mail", "Apple Mail", "gt", lambda o, l: [_apple_header(o, l)], lambda l: "", mailer=("X-Mailer", "Apple Mail (2.3774.300.61.1.2)"), domain="icloud.com"),
        Client(
            "ios_mail", "iOS Mail", "gt", lambda o, l: [_apple_header(o, l)], lambda l: PHONE_SIGNATURE[l], form="plain", header_quoted=True,
            mailer=("X-Mailer", "iPhone Mail (22B91)"), domain="icloud.com",
        ),
        Client(
            "samsung", "Android/Samsung", "block", lambda o, l: _samsung_block(o, l), lambda l: SAMSUNG_SIGNATURE[l], form="html", cte="base64",
            html_quote="divs", domain="samsung.example",
        ),
        Client(
            "thunderbird", "Thunderbird", "gt", lambda o, l: [_thunderbird_header(o, l)], lambda l: "", form="plain", cte="7bit",
            mailer=("User-Agent", "Mozilla Thunderbird"), domain="school.example",
        ),
        Client(
            "yahoo", "Yahoo", "block", lambda o, l: [_yahoo_header(o, l), ""], lambda l: "Sent from Yahoo Mail on Android" if l == "en" else "",
            html_quote="divs", domain="mail.yahoo.com",
        ),
        Client("orange_fr", "French webmail (Orange)", "gt", _orange_block, lambda l: "", charset="iso-8859-1", domain="orange.fr"),
        Client("zimbra_fr", "French webmail (Zimbra)", "block", _zimbra_block, lambda l: "", form="plain", charset="utf-8", domain="ac-lyon.example"),
        Client("gmx_de", "German webmail (GMX)", "block", _gmx_block, lambda l: "", form="alternative", charset="utf-8", domain="gmx.de"),
    )
}


def _quote_gt(text: str) -> list[str]:
    return [("> " + line) if line.strip() else ">" for line in _lines(text)]


def _header_lines(client: Client, o: Original, lang: str) -> list[str]:
    lines = client.header(o, lang)
    if client.key in ("gmail_web",) and len(lines[0]) > 78:
        # Gmail wraps a long "wrote:" line at the address.
        head, _, tail = lines[0].rpartition("<")
        lines = [head.rstrip(), "<" + tail]
    return lines


def _inline_segments(o: Original, answers: dict[int, str]) -> list[tuple[str, str]]:
    """The original split after each numbered question's block, with the answer typed under it."""
    segments: list[tuple[str, str]] = []
    block: list[str] = []
    lines = _lines(o.text)
    current: int | None = None
    for index, line in enumerate(lines):
        number = re.match(r"^(\d{1,2})\. ", line)
        if number:
            current = int(number[1])
        block.append(line)
        following = lines[index + 1] if index + 1 < len(lines) else ""
        ends_question = current is not None and (not following.strip() or re.match(r"^\d{1,2}\. ", following))
        if ends_question and current in answers:
            segments.append(("quote", "\n".join(block)))
            segments.append(("answer", answers[current]))
            block, current = [], None
        elif ends_question:
            current = None
    if block:
        segments.append(("quote", "\n".join(block)))
    return segments


def _compose_text(case: Case, client: Client, o: Original, signature: str) -> str:
    lang = case.lang
    header = _header_lines(client, o, lang)
    if case.style == "inline":
        out = [header[0], ""] if client.quoting == "gt" else []
        for kind, text in _inline_segments(o, dict(case.inline)):
            out += _quote_gt(text) if kind == "quote" else ["", text, ""]
        if signature:
            out += ["", signature]
        return "\n".join(out)
    if client.quoting == "gt":
        quote_header = [("> " + line) for line in header] + [">"] if client.header_quoted else header + [""]
        quoted = [*quote_header, *_quote_gt(o.text)]
    else:
        quoted = [*header, "", *_lines(o.text)]
    words = _lines(case.words)
    sign = [signature] if signature else []
    if case.style == "bottom":
        return "\n".join([*quoted, "", *words, "", *sign])
    if client.key == "ios_mail" or client.key == "samsung":
        return "\n".join([*words, "", *sign, "", *quoted])
    return "\n".join([*words, *([""] + sign if sign else []), "", *quoted])


def _esc(text: str) -> str:
    return "<br>\n".join(html_lib.escape(line) for line in _lines(text))


def _compose_html(case: Case, client: Client, o: Original, signature: str) -> str:
    lang = case.lang
    header = _header_lines(client, o, lang)
    header_text = " ".join(line for line in header if line.strip() and not line.startswith("___"))
    if case.style == "inline":
        parts = [f"<div>{_esc(header[0])}</div>"] if client.quoting == "gt" else []
        for kind, text in _inline_segments(o, dict(case.inline)):
            parts.append(f'<blockquote type="cite">{_esc(text)}</blockquote>' if kind == "quote" else f"<div>{_esc(text)}</div>")
        if signature:
            parts.append(f"<div>{_esc(signature)}</div>")
        return "<html><body>" + "\n".join(parts) + "</body></html>"
    mine = f'<div dir="ltr">{_esc(case.words)}</div>' + (f"<div><br></div><div>{_esc(signature)}</div>" if signature else "")
    if client.key.startswith("gmail"):
        quote = (
            f'<div class="gmail_quote"><div dir="ltr" class="gmail_attr">{html_lib.escape(header_text)}<br></div>'
            f'<blockquote class="gmail_quote" style="margin:0px 0px 0px 0.8ex;border-left:1px solid rgb(204,204,204);padding-left:1ex">{o.html_body}</blockquote></div>'
        )
    elif client.key.startswith("outlook"):
        rows = "<br>\n".join(
            f"<b>{html_lib.escape(line.split(':', 1)[0])}:</b>{html_lib.escape(line.split(':', 1)[1])}" for line in header if ":" in line
        )
        quote = (
            '<div id="divRplyFwdMsg" dir="ltr"><hr style="display:inline-block;width:98%" tabindex="-1">'
            f'<font face="Calibri, sans-serif" style="font-size:11pt" color="#000000">{rows}</font><div>&nbsp;</div></div>'
            f"<div>{o.html_body}</div>"
        )
        mine = f'<div class="WordSection1"><p class="MsoNormal">{_esc(case.words)}</p>' + (f'<p class="MsoNormal">{_esc(signature)}</p>' if signature else "") + "</div>"
    elif client.key == "samsung":
        rows = "".join(f"<div>{html_lib.escape(line)}</div>" for line in header)
        quote = f'<div style="font-size:100%;color:#000000"><!-- originalMessage -->{rows}<div><br></div></div>{o.html_body}'
        mine = f'<div dir="auto">{_esc(case.words)}</div><div dir="auto"><br></div><div id="composer_signature" dir="auto"><div style="font-size:85%;color:#575757" dir="auto">{html_lib.escape(signature)}</div></div><div dir="auto"><br></div>'
    elif client.key == "yahoo":
        quote = (
            f'<div id="yahoo_quoted_4021" class="yahoo_quoted"><div style="font-family:Helvetica, Arial, sans-serif;font-size:13px;color:#26282a;">'
            f"<div>{html_lib.escape(header_text)}</div><div><br></div><div><br></div><div><div id=\"yiv0451\">{o.html_body}</div></div></div></div>"
        )
        mine = f'<div class="ydp3c1f2e9yahoo-style-wrap"><div>{_esc(case.words)}</div>' + (f"<div><br></div><div>{_esc(signature)}</div>" if signature else "") + "</div>"
    elif client.html_quote == "divs":
        rows = "".join(f"<div>{html_lib.escape(line)}</div>" for line in header)
        quote = f"<div>{rows}<br>{o.html_body}</div>"
    else:
        quote = f'<div><br><blockquote type="cite">{html_lib.escape(header_text)}<br><br></blockquote></div><blockquote type="cite"><div dir="ltr">{o.html_body}</div></blockquote>'
    if case.style == "bottom":
        body = quote + "<div><br></div>" + mine
    else:
        body = mine + "<div><br></div>" + quote
    return f'<html><head><meta http-equiv="Content-Type" content="text/html; charset={case.charset or client.charset}"></head><body dir="auto">{body}</body></html>'


def _text_part(text: str, subtype: str, charset: str, cte: str) -> Message:
    """A text part in the given charset and transfer encoding, encoded by hand so each client's choice is kept exactly."""
    data = text.encode(charset)  # raises when the charset can't hold the words: a broken case
    part = Message()
    part["Content-Type"] = f'text/{subtype}; charset="{charset}"'
    part["Content-Transfer-Encoding"] = cte
    if cte == "base64":
        crlf = data.replace(b"\n", b"\r\n")
        part.set_payload("\n".join(re.findall(".{1,76}", base64.b64encode(crlf).decode("ascii"))) + "\n")
    elif cte == "quoted-printable":
        part.set_payload(quopri.encodestring(data).decode("ascii"))
    elif data.isascii():
        part.set_payload(data.decode("ascii"))
    else:
        raise ValueError(f"7bit cannot carry {charset} text with accents")
    return part


def _envelope(message, *, case: Case, client: Client, o: Original, sent_at: datetime, n: int) -> None:
    message["From"] = str(Address(o.to_name, addr_spec=o.to_addr))
    message["To"] = str(Address(o.from_name, addr_spec=o.reply_to))
    message["Subject"] = case.subject or (REPLY_PREFIX[case.lang] + o.subject)
    message["Date"] = format_datetime(sent_at)
    message["Message-ID"] = f"<{case.id}.{n}@{client.domain}>"
    message["In-Reply-To"] = o.message_id
    message["References"] = " ".join([*o.references, o.message_id])
    if "MIME-Version" not in message:
        message["MIME-Version"] = "1.0"
    if client.mailer:
        message[client.mailer[0]] = client.mailer[1]
    for key, value in case.headers.items():
        message[key] = value


def build_reply(case: Case, o: Original, *, n: int) -> bytes:
    """The raw bytes of `case`'s reply to `o`, as its client writes them."""
    client = CLIENTS[case.client]
    signature = client.signature(case.lang) if case.signature is None else case.signature
    form = case.form or client.form
    charset = case.charset or client.charset
    text = _compose_text(case, client, o, signature)
    needs_8 = not text.isascii()
    cte = case.cte or (client.cte if needs_8 or client.cte == "base64" else "7bit")
    if cte == "7bit" and needs_8:
        cte = "quoted-printable"  # what a 7bit client falls back to for an accent in the quote header
    sent_at = o.sent_at + timedelta(minutes=47)
    # HTML has long lines and the quoted email's own accents, so it is never sent as 7bit.
    html_cte = "base64" if cte == "base64" else "quoted-printable"
    if form == "plain":
        message = _text_part(text, "plain", charset, cte)
    elif form == "html":
        message = _text_part(_compose_html(case, client, o, signature), "html", charset, html_cte)
    else:
        message = MIMEMultipart("alternative")
        message.attach(_text_part(text, "plain", charset, cte))
        message.attach(_text_part(_compose_html(case, client, o, signature), "html", charset, html_cte))
    _envelope(message, case=case, client=client, o=o, sent_at=sent_at, n=n)
    return message.as_bytes()


def build_robot(case: Case, o: Original, *, n: int) -> bytes:
    """An out-of-office answer or a bounce to `o`, as the robot at the person's end writes it."""
    client = CLIENTS[case.client]
    sent_at = o.sent_at + timedelta(minutes=1)
    if case.machine == "ooo":
        charset = case.charset or "utf-8"
        body = _text_part(case.words, "plain", charset, case.cte or ("7bit" if case.words.isascii() else "quoted-printable"))
        if (case.form or "plain") == "alternative":
            message = MIMEMultipart("alternative")
            message.attach(body)
            message.attach(_text_part(f"<html><body><p>{_esc(case.words)}</p></body></html>", "html", charset, "quoted-printable"))
        else:
            message = body
        _envelope(message, case=case, client=client, o=o, sent_at=sent_at, n=n)
        return message.as_bytes()
    # A delivery status notification (RFC 3464): a human part, the machine-readable status, the original's headers.
    report = MIMEMultipart("report", report_type="delivery-status")
    report.attach(_text_part(case.words, "plain", "utf-8", "7bit" if case.words.isascii() else "quoted-printable"))
    per_message, per_recipient = Message(), Message()
    per_message["Reporting-MTA"] = f"dns; {client.domain}"
    per_message["Arrival-Date"] = format_datetime(o.sent_at)
    per_recipient["Final-Recipient"] = f"rfc822; {o.to_addr}"
    per_recipient["Action"] = "failed"
    per_recipient["Status"] = "5.1.1"
    per_recipient["Diagnostic-Code"] = f"smtp; 550 5.1.1 <{o.to_addr}>: Recipient address rejected: User unknown"
    status = MIMEBase("message", "delivery-status")
    status.set_payload([per_message, per_recipient])
    report.attach(status)
    headers = MIMEBase("text", "rfc822-headers")
    headers.set_payload(
        f"From: {o.from_name} <{o.from_addr}>\r\nTo: {o.to_name} <{o.to_addr}>\r\nReply-To: {o.reply_to}\r\n"
        f"Subject: {o.subject}\r\nMessage-ID: {o.message_id}\r\nAuto-Submitted: auto-generated\r\n"
    )
    report.attach(headers)
    report["From"] = case.sender or f"Mail Delivery System <MAILER-DAEMON@{client.domain}>"
    report["To"] = case.headers.get("To") or o.reply_to
    report["Subject"] = case.subject or "Undelivered Mail Returned to Sender"
    report["Date"] = format_datetime(sent_at)
    report["Message-ID"] = f"<{case.id}.{n}@{client.domain}>"
    for key, value in case.headers.items():
        if key != "To":
            report[key] = value
    return report.as_bytes()
