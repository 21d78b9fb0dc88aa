"""The simplest answer ("2", Mentee) from every client in the languages its users write in: each client's quote
header, quoting, sign-off, charset and transfer encoding in turn, so a stripping regression shows per client."""

from __future__ import annotations

from tests.email_corpus.model import Case, case

LANGUAGES = {
    "gmail_web": ("en", "es", "fr", "de", "pt", "nl", "it"),
    "gmail_android": ("en", "es", "pt"),
    "outlook_desktop": ("en", "fr", "de", "es", "nl", "it", "pt"),
    "outlook_web": ("en", "es", "de"),
    "outlook_mobile": ("en", "fr"),
    "apple_mail": ("en", "fr", "de", "es", "nl", "it", "pt"),
    "ios_mail": ("en", "es", "fr", "de", "pt", "nl", "it"),
    "samsung": ("en", "de", "fr", "es"),
    "thunderbird": ("en", "de", "fr", "nl", "it"),
    "yahoo": ("en", "fr", "es", "de"),
    "orange_fr": ("fr",),
    "zimbra_fr": ("fr",),
    "gmx_de": ("de",),
}
LATIN1 = {"fr", "de", "es", "pt", "it", "nl"}


def _variant(client: str, lang: str, index: int) -> dict:
    """Vary charset and transfer encoding the way these clients do for accented text."""
    if client == "outlook_desktop":
        return {"charset": "windows-1252"}
    if client in ("thunderbird", "apple_mail") and lang in LATIN1 and index % 2:
        return {"charset": "iso-8859-1", "cte": "quoted-printable"}
    if client == "gmail_web" and lang in LATIN1 and index % 3 == 0:
        return {"cte": "base64"}
    return {}


def _style(client: str, index: int) -> str:
    return "bottom" if client in ("thunderbird", "orange_fr") and index % 2 == 0 else "top"


MATRIX: list[Case] = [
    case(f"mx-{client}-{lang}", client, lang, "opt_in", "2", style=_style(client, index), saved={"role": "mentee"}, **_variant(client, lang, index))
    for client, languages in LANGUAGES.items()
    for index, lang in enumerate(languages)
]
