"""Personal data in text: e-mail addresses, phone numbers, IPs, card numbers and IBANs.

Candidates are found for a whole batch with one regular expression per kind (Polars), then
checked so that look-alikes are not reported: card numbers by the Luhn checksum and the
issuers' number ranges, IBANs by the ISO 13616 mod-97 check, IPs by Python's ``is_global``
ranges (private, loopback and documentation addresses are not personal), phone numbers by
``phonenumbers`` (Google's libphonenumber metadata). The checks are vectorised except phone
numbers, which that library validates one candidate at a time.

Patterns are written here rather than taken from a detector such as Presidio, whose
recognizers need a spaCy model download and run per document; the e-mail pattern is the
HTML5/WHATWG one.

Kinds are handled in a fixed order (e-mail, IBAN, card, IP, phone) on the text with the
earlier kinds already replaced, so one string is reported as one kind.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from functools import cache
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import polars as pl


KINDS = ("email", "iban", "credit_card", "ip", "phone")
TOKENS = {"email": "<EMAIL>", "iban": "<IBAN>", "credit_card": "<CREDIT_CARD>",
          "phone": "<PHONE>", "ip": "<IP>"}
PATTERNS = {
    "email": r"\b[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
             r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?\.)+[A-Za-z]"
             r"(?:[A-Za-z0-9-]*[A-Za-z0-9])?\b",
    "iban": r"\b[A-Z]{2}\d{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?\b",
    "credit_card": r"\b\d(?:[ -]?\d){12,18}\b",
    "phone": r"(?:\+\d{1,3}[ .-]?)?(?:\(\d{1,4}\)[ .-]?)?\d[\d .-]{5,14}\d\b",
    "ip": r"\b(?:(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\.){3}(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)\b",
}
#: Issuer number ranges and lengths (Visa, Mastercard, Amex, Discover, JCB, Diners).
_CARD_RANGES = (r"^(?:4\d{12}(?:\d{3}){0,2}|5[1-5]\d{14}|2(?:22[1-9]|2[3-9]\d|[3-6]\d\d|7[01]\d"
                r"|720)\d{12}|3[47]\d{13}|6(?:011|5\d\d|4[4-9]\d)\d{12,15}"
                r"|35(?:2[89]|[3-8]\d)\d{12,15}|3(?:0[0-5]|[689]\d)\d{11,16})$")
#: IPv4 networks that are not globally reachable (Python's ``ipaddress`` ``is_global``).
_NOT_GLOBAL = (("0.0.0.0", 8), ("10.0.0.0", 8), ("100.64.0.0", 10), ("127.0.0.0", 8),
               ("169.254.0.0", 16), ("172.16.0.0", 12), ("192.0.0.0", 29),
               ("192.0.0.170", 31), ("192.0.2.0", 24), ("192.168.0.0", 16), ("198.18.0.0", 15),
               ("198.51.100.0", 24), ("203.0.113.0", 24), ("240.0.0.0", 4),
               ("255.255.255.255", 32))


def luhn_valid(digits: pl.Expr) -> pl.Expr:
    """Luhn checksum of a string of digits (vectorised over the positions from the right)."""
    import polars as pl

    rev = digits.str.reverse()
    total = pl.lit(0, dtype=pl.Int64)
    for i in range(19):
        d = rev.str.slice(i, 1).cast(pl.Int64, strict=False).fill_null(0)
        if i % 2:
            d = pl.when(d * 2 > 9).then(d * 2 - 9).otherwise(d * 2)
        total = total + d
    return (total % 10) == 0


def card_valid(match: pl.Expr) -> pl.Expr:
    digits = match.str.replace_all(r"\D", "")
    return digits.str.contains(_CARD_RANGES) & luhn_valid(digits)


def iban_valid(matches: pl.Series) -> pl.Series:
    """ISO 13616: move the first four characters to the end, letters to 10–35, mod 97 == 1."""
    import polars as pl

    df = pl.DataFrame({"s": matches.str.replace_all(" ", "", literal=True)})
    moved = pl.col("s").str.slice(4) + pl.col("s").str.slice(0, 4)
    for i, letter in enumerate("ABCDEFGHIJKLMNOPQRSTUVWXYZ"):
        moved = moved.str.replace_all(letter, str(10 + i), literal=True)
    df = df.with_columns(moved=moved, rem=pl.lit(0, dtype=pl.Int64))
    for k in range(0, 72, 7):  # 7 digits at a time keeps every step inside Int64
        df = df.with_columns(chunk=pl.col("moved").str.slice(k, 7)).with_columns(
            rem=pl.when(pl.col("chunk").str.len_chars() > 0).then(
                (pl.col("rem") * pl.lit(10, dtype=pl.Int64).pow(pl.col("chunk").str.len_chars())
                 + pl.col("chunk").cast(pl.Int64, strict=False)) % 97).otherwise(pl.col("rem")))
    return df.select(pl.col("s").str.len_chars().is_between(15, 34)
                     & (pl.col("rem") == 1)).to_series()


def _ip_int(ip: str) -> int:
    a, b, c, d = (int(x) for x in ip.split("."))
    return a << 24 | b << 16 | c << 8 | d


def ip_global(match: pl.Expr) -> pl.Expr:
    import polars as pl

    parts = match.str.split(".")
    value = pl.lit(0, dtype=pl.Int64)
    for i in range(4):
        value = value * 256 + parts.list.get(i).cast(pl.Int64)
    inside = [(value // (1 << (32 - bits))) == (_ip_int(net) >> (32 - bits))
              for net, bits in _NOT_GLOBAL]
    return ~pl.any_horizontal(inside)


@cache
def _phone_checker(region: str) -> Callable[[str], bool]:
    import phonenumbers

    def valid(candidate: str) -> bool:
        try:
            return phonenumbers.is_valid_number(phonenumbers.parse(candidate, region))
        except phonenumbers.NumberParseException:
            return False

    return valid


def phone_valid(matches: pl.Series, region: str) -> pl.Series:
    import polars as pl

    check = _phone_checker(region)
    # libphonenumber validates one number at a time (metadata lookups per region)
    return pl.Series([check(m) for m in matches.to_list()], dtype=pl.Boolean)


def _always(match: pl.Expr) -> pl.Expr:
    import polars as pl

    return pl.lit(True)


def _valid(kind: str, matches: pl.Series, region: str) -> pl.Series:
    import polars as pl

    if kind == "phone":
        return phone_valid(matches, region)
    if kind == "iban":
        return iban_valid(matches)
    checks: dict[str, Callable[[pl.Expr], pl.Expr]] = {
        "email": _always, "credit_card": card_valid, "ip": ip_global}
    check = checks[kind]
    return pl.DataFrame({"m": matches}).select(check(pl.col("m"))).to_series()


def _replace_valid(texts: list[str], rows: list[int], valid: dict[int, set[str]],
                   pattern: re.Pattern[str], token: str) -> None:
    # Only rows holding a checked match reach this loop (a small share of a corpus): a row
    # may also hold look-alikes of the same kind, which must stay as they are.
    for r in rows:
        keep = valid[r]

        def swap(m: re.Match[str], keep: set[str] = keep) -> str:
            return token if m.group(0) in keep else m.group(0)

        texts[r] = pattern.sub(swap, texts[r])


def _scan_kind(texts: pl.Series, kind: str, region: str) -> tuple[pl.Series, pl.Series]:
    """``texts`` with the checked matches of ``kind`` replaced, and whether each row had one."""
    import polars as pl

    found = (pl.DataFrame({"m": texts.str.extract_all(PATTERNS[kind])}).with_row_index("row")
             .explode("m").drop_nulls("m"))
    if found.is_empty():
        return texts, pl.Series(kind, [False] * len(texts))
    found = found.filter(_valid(kind, found["m"], region))
    rows = found["row"].unique().sort()
    hit = pl.Series(kind, [False] * len(texts)).scatter(rows, True) if len(rows) else \
        pl.Series(kind, [False] * len(texts))
    if kind == "email":  # no check: every match is replaced, by Polars
        return texts.str.replace_all(PATTERNS[kind], TOKENS[kind]), hit
    valid: dict[int, set[str]] = {}
    for r, m in found.iter_rows():
        valid.setdefault(r, set()).add(m)
    out = texts.to_list()
    _replace_valid(out, rows.to_list(), valid, re.compile(PATTERNS[kind]), TOKENS[kind])
    return pl.Series(texts.name, out, dtype=pl.String), hit


def scan(texts: pl.Series, kinds: tuple[str, ...] = KINDS, *, region: str = "US"
         ) -> tuple[pl.Series, pl.Series]:
    """The texts with every checked match of ``kinds`` replaced by its token (``<EMAIL>``…),
    and ``pii``: the kinds found in each text (``list<string>``, in ``KINDS`` order).

    ``region`` is the country whose numbering plan reads phone numbers written without
    ``+country``.
    """
    import polars as pl

    text = texts.fill_null("").cast(pl.String)
    hits = []
    for kind in KINDS:
        if kind in kinds:
            text, hit = _scan_kind(text, kind, region)
            hits.append(hit)
    if not hits:
        return text, pl.Series("pii", [[]] * len(texts), dtype=pl.List(pl.String))
    pii = pl.DataFrame(hits).select(pl.concat_list(
        [pl.when(pl.col(h.name)).then(pl.lit(h.name)) for h in hits]).list.drop_nulls()
        .alias("pii")).to_series()
    return text.set(texts.is_null(), None) if texts.null_count() else text, pii
