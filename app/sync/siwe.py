"""Sign-In with Ethereum (EIP-4361): build, parse and verify the sign-in message.

The coordinator verifies these messages and the workstation's wallet builds and signs them,
so this module depends only on the standard library and eth-account (via `signing`).

Choices, beyond the ABNF of EIP-4361 (which includes the optional "${scheme}://" prefix):
- Externally owned accounts only (EIP-191 personal_sign). Contract wallets (EIP-1271) are
  out of scope: they need a call to the chain, and the coordinator signs in EOAs only.
- Parsing is strict and every refusal is an `InvalidMessage` naming the line and the field:
  at most 8 KiB; printable ASCII and LF only (no CR, tab, NUL or Unicode look-alikes); no
  unknown, repeated or out-of-order fields, nothing after the resources, no trailing LF.
  Our own limits where the ABNF is looser: a statement is not empty, a "Resources:" line lists
  at least one resource, the chain id is a positive decimal without leading zeros, below 2**256,
  and dates are RFC 3339 without leap seconds.
- A parsed message keeps its original date strings, so `to_text()` reproduces it byte for byte.
- `verify` compares domain, scheme, URI and chain id exactly; expiry is strict (no grace);
  issued-at and not-before may lie up to `clock_skew_s` in the future. Signatures are 65 bytes
  (v 27/28 or 0/1, EIP-2 low s), see `signing.decode_signature`.
"""

from __future__ import annotations

import hmac
import re
import secrets
import string
from dataclasses import dataclass, field
from datetime import datetime, timedelta, timezone
from typing import Any

from eth_utils import to_checksum_address

from app.sync.signing import SignatureError, recover_text_signer, sign_text

MAX_MESSAGE_CHARS = 8192
HEADER_SUFFIX = " wants you to sign in with your Ethereum account:"

_PCT = r"%[0-9A-Fa-f]{2}"
_UNRESERVED = r"A-Za-z0-9\-._~"
_SUB_DELIMS = r"!$&'()*+,;="
_RESERVED = r":/?#\[\]@" + _SUB_DELIMS
_URI = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*:(?:[" + _UNRESERVED + _RESERVED + r"]|" + _PCT + r")*")
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
_AUTHORITY = re.compile(
    r"(?:(?:[" + _UNRESERVED + _SUB_DELIMS + r":]|" + _PCT + r")*@)?"  # userinfo@
    r"(?:\[[0-9A-Fa-f:.]+\]|(?:[" + _UNRESERVED + _SUB_DELIMS + r"]|" + _PCT + r")+)"  # host
    r"(?::[0-9]*)?"  # :port
)
_STATEMENT = re.compile(r"[" + _UNRESERVED + _RESERVED + r" ]+")
_REQUEST_ID = re.compile(r"(?:[" + _UNRESERVED + _SUB_DELIMS + r":@]|" + _PCT + r")*")
_NONCE = re.compile(r"[A-Za-z0-9]{8,}")
_ADDRESS = re.compile(r"0x[0-9a-fA-F]{40}")
_CHAIN_ID = re.compile(r"[1-9][0-9]{0,77}")
_DATE_TIME = re.compile(
    r"(\d{4})-(\d{2})-(\d{2})[Tt](\d{2}):(\d{2}):(\d{2})(?:\.(\d+))?(?:([Zz])|([+-])(\d{2}):(\d{2}))"
)
_NOT_ALLOWED = re.compile(r"[^\x20-\x7e\n]")
_NONCE_ALPHABET = string.ascii_letters + string.digits
_NONCE_LENGTH = 22  # 22 * log2(62) = 131 bits

# the lines after the statement: (label, field); required ones first, in the spec's order
_REQUIRED = (("URI", "uri"), ("Version", "version"), ("Chain ID", "chain_id"), ("Nonce", "nonce"),
             ("Issued At", "issued_at_text"))
_OPTIONAL = (("Expiration Time", "expiration_time_text"), ("Not Before", "not_before_text"),
             ("Request ID", "request_id"))
_LABELS = {label for label, _ in _REQUIRED + _OPTIONAL}


class SiweError(ValueError):
    """Any refusal of a sign-in message; the subclasses say which check failed."""


class InvalidMessage(SiweError):
    """The text is not a well-formed EIP-4361 message (or a field value is out of bounds)."""

    def __init__(self, detail: str, *, field: str | None = None, line: int | None = None):
        where = f"line {line}" if line is not None else ""
        if field is not None:
            where = f"{where} ({field})" if where else field
        super().__init__(f"{where}: {detail}" if where else detail)
        self.detail, self.field, self.line = detail, field, line


class InvalidSignature(SiweError):
    """The signature is malformed or was not made by the message's address over this text."""


class DomainMismatch(SiweError):
    """The message is for another domain (or scheme)."""


class NonceMismatch(SiweError):
    """The message carries another nonce than the one expected."""


class ChainMismatch(SiweError):
    """The message is bound to another chain id."""


class UriMismatch(SiweError):
    """The message names another URI."""


class ExpiredMessage(SiweError):
    """The message's expiration time has passed."""


class NotYetValid(SiweError):
    """The message's not-before (or issued-at) time lies beyond the allowed clock skew."""


@dataclass(frozen=True)
class SiweMessage:
    """One EIP-4361 message. Build it with `create` (clients) or `parse` (servers).

    The `*_text` fields hold the RFC 3339 strings as written; `issued_at`, `expiration_time`
    and `not_before` are the timezone-aware datetimes derived from them.
    """

    domain: str
    address: str
    uri: str
    chain_id: int
    nonce: str
    issued_at_text: str
    scheme: str | None = None
    statement: str | None = None
    version: str = "1"
    expiration_time_text: str | None = None
    not_before_text: str | None = None
    request_id: str | None = None
    resources: tuple[str, ...] = ()
    issued_at: datetime = field(init=False)
    expiration_time: datetime | None = field(init=False)
    not_before: datetime | None = field(init=False)

    def __post_init__(self) -> None:
        if self.scheme is not None:
            _match("scheme", self.scheme, _SCHEME, "a URI scheme (a letter, then letters, digits, + - .)")
        _match("domain", self.domain, _AUTHORITY, "an RFC 3986 authority ([userinfo@]host[:port])")
        _match("address", self.address, _ADDRESS, "0x and 40 hex digits")
        if self.address != to_checksum_address(self.address):
            raise InvalidMessage(f"must be EIP-55 checksummed, got {self.address}", field="address")
        if self.statement is not None:
            _match("statement", self.statement, _STATEMENT, "one non-empty line of RFC 3986 reserved or "
                   "unreserved characters and spaces")
        _match("uri", self.uri, _URI, "an absolute RFC 3986 URI")
        if self.version != "1":
            raise InvalidMessage(f"must be 1, got {_show(self.version)}", field="version")
        if type(self.chain_id) is not int or not 0 < self.chain_id < 2**256:
            raise InvalidMessage(f"must be a positive integer below 2**256, got {_show(self.chain_id)}",
                                 field="chain_id")
        _match("nonce", self.nonce, _NONCE, "at least 8 letters or digits")
        if self.request_id is not None:
            _match("request_id", self.request_id, _REQUEST_ID, "RFC 3986 path characters (pchar)")
        if isinstance(self.resources, (str, bytes)) or not isinstance(self.resources, (tuple, list)):
            raise InvalidMessage("must be a sequence of URIs", field="resources")
        object.__setattr__(self, "resources", tuple(self.resources))
        for resource in self.resources:
            _match("resources", resource, _URI, "absolute RFC 3986 URIs")
        object.__setattr__(self, "issued_at", parse_time(self.issued_at_text, "issued_at"))
        for name in ("expiration_time", "not_before"):
            text = getattr(self, f"{name}_text")
            object.__setattr__(self, name, None if text is None else parse_time(text, name))

    @classmethod
    def create(cls, *, domain: str, address: str, uri: str, chain_id: int, nonce: str, issued_at: datetime,
               statement: str | None = None, expiration_time: datetime | None = None,
               not_before: datetime | None = None, request_id: str | None = None,
               resources: tuple[str, ...] | list[str] = (), scheme: str | None = None,
               version: str = "1") -> SiweMessage:
        """A message from typed values: datetimes become RFC 3339 UTC ("Z"), the address EIP-55."""
        return cls(domain=domain, address=checksum_address(address), uri=uri, chain_id=chain_id, nonce=nonce,
                   issued_at_text=format_time(issued_at, "issued_at"), scheme=scheme,
                   statement=statement or None, version=version,
                   expiration_time_text=None if expiration_time is None else format_time(expiration_time,
                                                                                          "expiration_time"),
                   not_before_text=None if not_before is None else format_time(not_before, "not_before"),
                   request_id=request_id, resources=resources)

    def to_text(self) -> str:
        """The exact EIP-4361 text, the bytes that the wallet signs."""
        origin = f"{self.scheme}://{self.domain}" if self.scheme is not None else self.domain
        lines = [origin + HEADER_SUFFIX, self.address, ""]
        lines += [self.statement, ""] if self.statement is not None else [""]
        lines += [f"URI: {self.uri}", f"Version: {self.version}", f"Chain ID: {self.chain_id}",
                  f"Nonce: {self.nonce}", f"Issued At: {self.issued_at_text}"]
        for label, name in _OPTIONAL:
            if getattr(self, name) is not None:
                lines.append(f"{label}: {getattr(self, name)}")
        if self.resources:
            lines += ["Resources:"] + [f"- {resource}" for resource in self.resources]
        return "\n".join(lines)


class _Lines:
    """A cursor over the message's lines that names the line in its errors."""

    def __init__(self, text: str):
        self.lines, self.number = text.split("\n"), 0  # number: 1-based number of the last line taken

    def more(self) -> bool:
        return self.number < len(self.lines)

    def take(self, what: str) -> str:
        if not self.more():
            raise InvalidMessage(f"the message ends where {what} should follow", line=self.number + 1)
        self.number += 1
        return self.lines[self.number - 1]

    def blank(self, after: str) -> None:
        if self.take(f"an empty line after the {after}") != "":
            raise InvalidMessage(f"expected an empty line after the {after}", line=self.number)


def parse(text: str) -> SiweMessage:
    """The message in `text`, checked strictly against EIP-4361; InvalidMessage otherwise."""
    if not isinstance(text, str):
        raise InvalidMessage(f"a message is text, got {type(text).__name__}")
    if len(text) > MAX_MESSAGE_CHARS:
        raise InvalidMessage(f"the message is longer than {MAX_MESSAGE_CHARS} characters")
    bad = _NOT_ALLOWED.search(text)
    if bad is not None:
        raise InvalidMessage(f"character {bad.group()!r} is not allowed (printable ASCII and LF only)",
                             line=text.count("\n", 0, bad.start()) + 1)
    cur = _Lines(text)
    values: dict[str, Any] = {}
    where: dict[str, int] = {}  # field -> line number, for errors found by SiweMessage itself

    header = cur.take("the header")
    if not header.endswith(HEADER_SUFFIX):
        raise InvalidMessage(f"the header must be '[scheme://]domain{HEADER_SUFFIX}'", line=1)
    scheme, sep, domain = header[: -len(HEADER_SUFFIX)].partition("://")
    values["scheme"], values["domain"] = (scheme, domain) if sep else (None, scheme)
    where.update(scheme=1, domain=1)
    values["address"], where["address"] = cur.take("the address"), cur.number
    cur.blank("address")
    statement = cur.take("the statement or an empty line")
    if statement:
        values["statement"], where["statement"] = statement, cur.number
        cur.blank("statement")

    for label, name in _REQUIRED:
        values[name] = _tagged(cur.take(f"'{label}: '"), label, cur.number)
        where[name.removesuffix("_text")] = cur.number
    if not _CHAIN_ID.fullmatch(values["chain_id"]):
        raise InvalidMessage(f"must be a positive decimal without leading zeros, got {_show(values['chain_id'])}",
                             field="chain_id", line=where["chain_id"])
    values["chain_id"] = int(values["chain_id"])
    _optional_fields(cur, values, where)
    try:
        return SiweMessage(**values)
    except InvalidMessage as exc:
        raise InvalidMessage(exc.detail, field=exc.field, line=where.get(exc.field or "")) from None


def _optional_fields(cur: _Lines, values: dict[str, Any], where: dict[str, int]) -> None:
    """Expiration Time, Not Before, Request ID (each at most once, in this order), then Resources."""
    position = 0
    while cur.more():
        line = cur.take("a field")
        if line == "Resources:":
            values["resources"] = _resources(cur)
            break
        found = next((i for i, (label, _) in enumerate(_OPTIONAL) if i >= position and line.startswith(label + ": ")),
                     None)
        if found is None:
            label = line.split(":", 1)[0]
            problem = ("is not an EIP-4361 field" if label not in _LABELS
                       else "needs ': ' after its name" if not line.startswith(label + ": ")
                       else "is repeated or out of order")
            raise InvalidMessage(f"{_show(label)} {problem}", line=cur.number)
        label, name = _OPTIONAL[found]
        values[name], where[name.removesuffix("_text")], position = line[len(label) + 2:], cur.number, found + 1


def _tagged(line: str, label: str, number: int) -> str:
    if not line.startswith(label + ": "):
        raise InvalidMessage(f"expected '{label}: ', got {_show(line)}", line=number)
    return line[len(label) + 2:]


def _resources(cur: _Lines) -> tuple[str, ...]:
    resources = []
    while cur.more():
        line = cur.take("a resource")
        if not line.startswith("- "):
            raise InvalidMessage(f"expected '- <URI>' (nothing may follow the resources), got {_show(line)}",
                                 field="resources", line=cur.number)
        if _URI.fullmatch(line[2:]) is None:
            raise InvalidMessage(f"must be an absolute RFC 3986 URI, got {_show(line[2:])}",
                                 field="resources", line=cur.number)
        resources.append(line[2:])
    if not resources:
        raise InvalidMessage("'Resources:' lists no resource", field="resources", line=cur.number)
    return tuple(resources)


def verify(text: str, signature: str | bytes, *, domain: str, nonce: str, now: datetime | None = None,
           chain_id: int | None = None, uri: str | None = None, scheme: str | None = None,
           clock_skew_s: float = 300) -> SiweMessage:
    """The message in `text` once it passes every check; a SiweError subclass says which failed.

    Checks, in order: the text parses; domain (and scheme when given); URI and chain id when
    given; nonce; expiration (strict: now >= expiration is expired); not-before and issued-at
    (each may be up to `clock_skew_s` in the future); the EIP-191 signature recovers the
    message's address. The nonce's single use is the caller's business (a database).
    """
    message = parse(text)
    if message.domain != domain:
        raise DomainMismatch(f"the message is for domain {message.domain!r}, expected {domain!r}")
    if scheme is not None and message.scheme != scheme:
        raise DomainMismatch(f"the message is for scheme {message.scheme!r}, expected {scheme!r}")
    if uri is not None and message.uri != uri:
        raise UriMismatch(f"the message names URI {message.uri!r}, expected {uri!r}")
    if chain_id is not None and message.chain_id != chain_id:
        raise ChainMismatch(f"the message is for chain {message.chain_id}, expected {chain_id}")
    if not hmac.compare_digest(message.nonce.encode("ascii"), str(nonce).encode("utf-8")):
        raise NonceMismatch("the message carries another nonce than the one issued")
    _check_times(message, now, clock_skew_s)
    try:
        signer = recover_text_signer(text, signature)
    except SignatureError as exc:
        raise InvalidSignature(str(exc)) from None
    if signer != message.address:
        raise InvalidSignature(f"the signature was not made by {message.address} over this message")
    return message


def _check_times(message: SiweMessage, now: datetime | None, clock_skew_s: float) -> None:
    now = datetime.now(timezone.utc) if now is None else now
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("now must be a timezone-aware datetime")
    latest = now + timedelta(seconds=clock_skew_s)
    if message.expiration_time is not None and now >= message.expiration_time:
        raise ExpiredMessage(f"the message expired at {message.expiration_time_text}")
    if message.not_before is not None and message.not_before > latest:
        raise NotYetValid(f"the message is not valid before {message.not_before_text}")
    if message.issued_at > latest:
        raise NotYetValid(f"the message is issued in the future ({message.issued_at_text})")


def sign(message: SiweMessage | str, private_key: Any) -> str:
    """EIP-191 personal_sign of the message's text with `private_key`: "0x" + 130 hex."""
    return sign_text(message.to_text() if isinstance(message, SiweMessage) else message, private_key)


def new_nonce() -> str:
    """A fresh random nonce: 22 letters and digits (131 bits) from `secrets`."""
    return "".join(secrets.choice(_NONCE_ALPHABET) for _ in range(_NONCE_LENGTH))


def checksum_address(address: str) -> str:
    """The EIP-55 form of an address; a mixed-case address with a wrong checksum is refused."""
    if not isinstance(address, str) or _ADDRESS.fullmatch(address) is None:
        raise InvalidMessage(f"must be 0x and 40 hex digits, got {_show(address)}", field="address")
    checksummed = to_checksum_address(address)
    digits = address[2:]
    if address != checksummed and digits not in (digits.lower(), digits.upper()):
        raise InvalidMessage(f"has a wrong EIP-55 checksum: {address}", field="address")
    return checksummed


def format_time(value: datetime, name: str = "time") -> str:
    """RFC 3339 in UTC with a "Z" (microseconds only when non-zero), from an aware datetime."""
    if not isinstance(value, datetime) or value.tzinfo is None or value.utcoffset() is None:
        raise InvalidMessage(f"must be a timezone-aware datetime, got {_show(value)}", field=name)
    try:
        u = value.astimezone(timezone.utc)
    except OverflowError:
        raise InvalidMessage(f"lies outside the years 1-9999 in UTC: {value}", field=name) from None
    fraction = f".{u.microsecond:06d}" if u.microsecond else ""  # strftime("%Y") does not pad years < 1000
    return f"{u.year:04d}-{u.month:02d}-{u.day:02d}T{u.hour:02d}:{u.minute:02d}:{u.second:02d}{fraction}Z"


def parse_time(text: str, name: str = "time") -> datetime:
    """An aware datetime from an RFC 3339 date-time (fractions beyond microseconds are cut)."""
    match = _DATE_TIME.fullmatch(text) if isinstance(text, str) else None
    if match is None:
        raise InvalidMessage(f"must be an RFC 3339 date-time such as 2021-09-30T16:25:24Z, got {_show(text)}",
                             field=name)
    year, month, day, hour, minute, second, fraction, zulu, sign_, off_h, off_m = match.groups()
    try:
        if zulu:
            tz = timezone.utc
        else:
            if int(off_h) > 23 or int(off_m) > 59:
                raise ValueError("offset out of range")
            offset = timedelta(hours=int(off_h), minutes=int(off_m))
            tz = timezone(-offset if sign_ == "-" else offset)
        micro = int((fraction or "0")[:6].ljust(6, "0"))
        return datetime(int(year), int(month), int(day), int(hour), int(minute), int(second), micro, tzinfo=tz)
    except ValueError as exc:
        raise InvalidMessage(f"is not a valid date-time ({exc}): {_show(text)}", field=name) from None


def _match(name: str, value: Any, pattern: re.Pattern[str], rule: str) -> None:
    if not isinstance(value, str) or pattern.fullmatch(value) is None:
        raise InvalidMessage(f"must be {rule}, got {_show(value)}", field=name)


def _show(value: Any) -> str:
    text = repr(value)
    return text if len(text) <= 80 else text[:77] + "..."
