"""What the receiving mail server found about who really sent a message: SPF, DKIM and DMARC.

A From header is trivially forged; the receiving server's checks are not. Mailgun reports them in
``X-Mailgun-Spf`` and ``X-Mailgun-Dkim-Check-Result``, SendGrid Inbound Parse in its ``SPF`` and ``dkim`` fields,
and a mailbox read over IMAP in the ``Authentication-Results`` header (RFC 8601) its server added, parsed here
with the `authres` library. Only the topmost Authentication-Results header is ours: the ones below it came with
the message and say whatever its sender wrote. When nothing is reported, nothing is refused; when two sources
report (a provider's fields and a header), either one can refuse and neither can overrule the other.
"""

from __future__ import annotations

import json
import logging
import re
from dataclasses import dataclass

import authres

logger = logging.getLogger(__name__)


@dataclass(frozen=True)
class AuthResults:
    """SPF, DKIM and DMARC results (lower case, e.g. "pass", "fail", "softfail"); None when not reported."""

    spf: str | None = None
    dkim: str | None = None
    dmarc: str | None = None

    def refusal(self) -> str | None:
        """Why the sender is not believed (DMARC fail, or SPF fail without a DKIM pass), or None."""
        if self.dmarc == "fail":
            return "DMARC fail"
        if self.spf == "fail" and self.dkim != "pass":
            return f"SPF fail and DKIM {self.dkim or 'none'}"
        return None


def _domain(address: str) -> str:
    return address.rpartition("@")[2].strip().strip(">").lower()


def _aligned(signer: str, sender: str) -> bool:
    """DMARC's relaxed alignment, roughly: the signing domain is the sender's domain or one of them contains the other."""
    signer, domain = signer.lstrip("@").lower().rstrip("."), _domain(sender)
    return bool(signer and domain) and (signer == domain or domain.endswith("." + signer) or signer.endswith("." + domain))


def _dkim_of(results: list[tuple[str | None, str]], sender: str) -> str | None:
    """One DKIM result from several signatures: "pass" when one that speaks for the sender's domain passes."""
    if not results:
        return None
    if any(result == "pass" and (signer is None or _aligned(signer, sender)) for signer, result in results):
        return "pass"
    return next((result for _signer, result in results if result != "pass"), "fail")


def from_authentication_results(values: list[str], *, sender: str, authserv_id: str | None = None) -> AuthResults:
    """The results in the topmost Authentication-Results header (`values` in header order), the one our receiving
    server added; with `authserv_id` set, only when that header names it. Unreadable headers report nothing."""
    if not values:
        return AuthResults()
    try:
        header = authres.AuthenticationResultsHeader.parse_value(" ".join(str(values[0]).split()))
    except Exception as exc:  # authres raises its own errors and, on odd input, IndexError or ValueError
        logger.warning("Authentication-Results header not understood (%s); its results are not used", exc)
        return AuthResults()
    if authserv_id and str(header.authserv_id).lower() != authserv_id.lower():
        logger.warning("topmost Authentication-Results is from %r, not our server %r; its results are not used", header.authserv_id, authserv_id)
        return AuthResults()
    first = lambda method: next((str(r.result).lower() for r in header.results if r.method == method), None)  # noqa: E731
    dkim = [(getattr(r, "header_d", None) or getattr(r, "header_i", None), str(r.result).lower()) for r in header.results if r.method == "dkim"]
    return AuthResults(spf=first("spf"), dkim=_dkim_of(dkim, sender), dmarc=first("dmarc"))


def from_mailgun(form: dict[str, str], *, sender: str, authserv_id: str | None = None) -> str | None:
    """Why Mailgun's checks refuse the sender, or None: its own verdicts (form fields, or the topmost such header in
    message-headers), then the topmost Authentication-Results it passes on."""
    headers: list[tuple[str, str]] = []
    try:
        headers = [(str(k).lower(), str(v)) for k, v in json.loads(form.get("message-headers") or "[]")]
    except (ValueError, TypeError):
        pass
    header = lambda name: next((v for k, v in headers if k == name), None)  # noqa: E731
    spf = form.get("X-Mailgun-Spf") or header("x-mailgun-spf")
    dkim = form.get("X-Mailgun-Dkim-Check-Result") or header("x-mailgun-dkim-check-result")
    own = AuthResults(spf=spf.strip().lower() if spf else None, dkim=dkim.strip().lower() if dkim else None)
    reported = [v for k, v in headers if k == "authentication-results"]
    return own.refusal() or from_authentication_results(reported, sender=sender, authserv_id=authserv_id).refusal()


def from_sendgrid(form: dict[str, str], *, sender: str) -> AuthResults:
    """SendGrid's ``SPF`` field ("pass", "fail", "softfail"…) and ``dkim`` field (``{@school.org : pass}``)."""
    spf = (form.get("SPF") or "").strip().lower() or None
    signatures = [(domain, result.lower()) for domain, result in re.findall(r"(@?[\w.-]+)\s*:\s*([a-zA-Z]+)", form.get("dkim") or "")]
    return AuthResults(spf=spf, dkim=_dkim_of(signatures, sender))
