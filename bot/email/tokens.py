"""Signed tokens carried in reply addresses and unsubscribe links.

A reply token names a person and the dialog a reply belongs to (flow + context) and when it stops being
accepted; an unsubscribe token names only the person. The same secret also keys the digest in our Message-IDs (so
nobody can predict the id of an email we sent) and the six-digit codes that confirm an erasure asked for by email. Both are HMAC-SHA256 signed with EMAIL_TOKEN_SECRET
(a separate derived key per kind, so one kind can never be passed off as the other) and encoded in
lower-case base32, because mail systems may change the case of an address's local part. A reply address
looks like ``reply+<token>@REPLY_DOMAIN`` and stays under the 64-character local-part limit.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
from dataclasses import dataclass
from datetime import date, datetime, timedelta, timezone

__all__ = [
    "BadToken", "ReplyToken", "make_reply_token", "read_reply_token", "make_unsubscribe_token", "read_unsubscribe_token", "reply_address",
    "token_from_address", "message_id_digest", "erasure_code", "erasure_code_matches",
]  # fmt: skip

VERSION = 1
MAC_BYTES = 10  # 80 bits: forging one needs ~2^79 tries against a server that rate-limits nothing but logs each
EPOCH = date(2020, 1, 1)
FLOWS = ("", "opt_in", "profile", "approval", "check_in", "survey")  # index = code; "" = a notice, no dialog
CONTEXT_NAMES = ("", "term", "mentor", "pairing", "round")
KIND_REPLY, KIND_UNSUBSCRIBE, KIND_MESSAGE_ID, KIND_ERASURE_CODE = 1, 2, 3, 4
ERASURE_CODE_HOURS = 24


class BadToken(ValueError):
    """A token that is malformed, forged or expired; the message says which, for the log (never for users)."""


@dataclass(frozen=True)
class ReplyToken:
    """Whom a reply address belongs to and which dialog a reply to it answers."""

    person_id: int
    flow: str | None  # None: a notice that asks nothing
    context: str
    expires_on: date


def _key(secret: str, kind: int) -> bytes:
    return hmac.new(secret.encode("utf-8"), f"mentorbot-token-kind-{kind}".encode(), hashlib.sha256).digest()


def _varint(value: int) -> bytes:
    if value < 0:
        raise ValueError("token fields are non-negative")
    out = bytearray()
    while True:
        byte, value = value & 0x7F, value >> 7
        out.append(byte | (0x80 if value else 0))
        if not value:
            return bytes(out)


def _read_varints(data: bytes) -> list[int]:
    values, current, shift = [], 0, 0
    for byte in data:
        current |= (byte & 0x7F) << shift
        shift += 7
        if shift > 63:
            raise BadToken("varint too long")
        if not byte & 0x80:
            values.append(current)
            current, shift = 0, 0
    if shift:
        raise BadToken("truncated varint")
    return values


def _encode_context(context: str) -> list[int]:
    if not context:
        return [0]
    parts = context.split(":")
    if len(parts) % 2:
        raise ValueError(f"context {context!r} is not name:number pairs")
    numbers = [len(parts) // 2]
    for name, number in zip(parts[::2], parts[1::2]):
        if name not in CONTEXT_NAMES[1:] or not number.isdecimal():
            raise ValueError(f"context {context!r} can't be put in a token")
        numbers += [CONTEXT_NAMES.index(name), int(number)]
    return numbers


def _decode_context(numbers: list[int]) -> tuple[str, list[int]]:
    if not numbers:
        raise BadToken("no context")
    count, rest = numbers[0], numbers[1:]
    if len(rest) < 2 * count:
        raise BadToken("context cut short")
    parts = []
    for index in range(count):
        name_code, number = rest[2 * index], rest[2 * index + 1]
        if not 0 < name_code < len(CONTEXT_NAMES):
            raise BadToken("unknown context name")
        parts += [CONTEXT_NAMES[name_code], str(number)]
    return ":".join(parts), rest[2 * count :]


def _seal(secret: str, kind: int, payload: bytes) -> str:
    body = bytes([VERSION, kind]) + payload
    mac = hmac.new(_key(secret, kind), body, hashlib.sha256).digest()[:MAC_BYTES]
    return base64.b32encode(body + mac).decode("ascii").rstrip("=").lower()


def _open(secret: str, kind: int, token: str) -> bytes:
    text = token.strip().upper()
    if not text or len(text) > 100 or not re.fullmatch(r"[A-Z2-7]+", text):
        raise BadToken("not a token")
    try:
        raw = base64.b32decode(text + "=" * (-len(text) % 8))
    except (ValueError, base64.binascii.Error) as exc:
        raise BadToken("not base32") from exc
    if base64.b32encode(raw).decode("ascii").rstrip("=") != text:
        # The last character's spare bits: "…a" and "…b" can decode alike; only the exact token we issued is taken.
        raise BadToken("not the canonical encoding")
    if len(raw) < 2 + MAC_BYTES:
        raise BadToken("too short")
    body, mac = raw[:-MAC_BYTES], raw[-MAC_BYTES:]
    expected = hmac.new(_key(secret, kind), body, hashlib.sha256).digest()[:MAC_BYTES]
    if not hmac.compare_digest(mac, expected):
        raise BadToken("signature does not match")
    if body[0] != VERSION or body[1] != kind:
        raise BadToken("wrong version or kind")
    return body[2:]


def make_reply_token(secret: str, *, person_id: int, flow: str | None, context: str, now: datetime, valid_days: int = 60) -> str:
    """A signed token for replies from `person_id` to the dialog `flow`/`context`, accepted for `valid_days`."""
    expires = (now.astimezone(timezone.utc).date() + timedelta(days=valid_days) - EPOCH).days
    payload = _varint(person_id) + _varint(FLOWS.index(flow or "")) + b"".join(_varint(n) for n in _encode_context(context)) + _varint(expires)
    return _seal(secret, KIND_REPLY, payload)


def read_reply_token(secret: str, token: str, *, now: datetime) -> ReplyToken:
    """The reply token's contents; BadToken when it is malformed, forged or expired."""
    numbers = _read_varints(_open(secret, KIND_REPLY, token))
    if len(numbers) < 3:
        raise BadToken("fields missing")
    person_id, flow_code = numbers[0], numbers[1]
    if flow_code >= len(FLOWS):
        raise BadToken("unknown flow")
    context, rest = _decode_context(numbers[2:])
    if len(rest) != 1:
        raise BadToken("wrong field count")
    expires_on = EPOCH + timedelta(days=rest[0])
    if now.astimezone(timezone.utc).date() > expires_on:
        raise BadToken(f"expired on {expires_on.isoformat()}")
    return ReplyToken(person_id=person_id, flow=FLOWS[flow_code] or None, context=context, expires_on=expires_on)


def make_unsubscribe_token(secret: str, *, person_id: int) -> str:
    """A signed token that unsubscribes `person_id` (it does not expire: old emails' links keep working)."""
    return _seal(secret, KIND_UNSUBSCRIBE, _varint(person_id))


def read_unsubscribe_token(secret: str, token: str) -> int:
    """The person an unsubscribe token names; BadToken when it is malformed or forged."""
    numbers = _read_varints(_open(secret, KIND_UNSUBSCRIBE, token))
    if len(numbers) != 1:
        raise BadToken("wrong field count")
    return numbers[0]


def reply_address(token: str, domain: str) -> str:
    """``reply+<token>@domain``."""
    return f"reply+{token}@{domain}"


_ADDRESS_RE = re.compile(r"reply\+([a-z2-7]+)@", re.IGNORECASE)


def token_from_address(*addresses: str | None) -> str | None:
    """The token in the first reply address found among `addresses` (To, Delivered-To, a recipient list…)."""
    for address in addresses:
        if address:
            match = _ADDRESS_RE.search(address)
            if match:
                return match.group(1).lower()
    return None


def message_id_digest(secret: str, idempotency_key: str) -> str:
    """A keyed digest of an outbox key for its Message-ID: the same key always gives the same digest, and without the
    secret nobody can work out the id of an email we sent (and so cannot pose as a reply to it)."""
    return hmac.new(_key(secret, KIND_MESSAGE_ID), idempotency_key.encode("utf-8"), hashlib.sha256).hexdigest()[:32]


def _erasure_code_for_hour(secret: str, person_id: int, hour: int) -> str:
    digest = hmac.new(_key(secret, KIND_ERASURE_CODE), f"{person_id}:{hour}".encode(), hashlib.sha256).digest()
    return f"{int.from_bytes(digest[:8], 'big') % 1_000_000:06d}"


def _hour(now: datetime) -> int:
    return int(now.timestamp() // 3600)


def erasure_code(secret: str, *, person_id: int, now: datetime) -> str:
    """The six-digit code that confirms `person_id`'s erasure by email; it works for ERASURE_CODE_HOURS from `now`.

    Stateless: the code is an HMAC of the person and the hour it was made, so nothing is stored until it is used.
    """
    return _erasure_code_for_hour(secret, person_id, _hour(now))


def erasure_code_matches(secret: str, code: str, *, person_id: int, now: datetime, hours: int = ERASURE_CODE_HOURS) -> bool:
    """True when `code` was made for `person_id` in the last `hours` whole hours: a code works for at least `hours`
    hours after it is made and stops within the hour after that."""
    code = re.sub(r"\D", "", code)
    if len(code) != 6:
        return False
    current = _hour(now)
    # Compare against every hour's code without stopping early, so timing does not tell how old a code is.
    found = False
    for hour in range(current - hours, current + 1):
        found |= hmac.compare_digest(code, _erasure_code_for_hour(secret, person_id, hour))
    return found
