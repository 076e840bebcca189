"""What a text costs as SMS: GSM 03.38 7-bit or UCS-2, and how many parts it takes.

The characters are the `gsm0338` codec's (3GPP TS 23.038): a basic-table character is one
septet, an extension-table one (`€`, `[`, `{`, `|`, `^`, `~`, `\\`, `]`, `}` and the form
feed) is two, the escape and its character. A text any character of which the codec cannot
encode goes as UCS-2, in UTF-16 code units (a character beyond the BMP takes two).

One part holds 160 septets (70 UCS-2 units); a longer text is split into parts of 153 (67),
the rest of each part holding the concatenation header. A part never splits an escape pair
or a surrogate pair, so a text whose boundary falls inside one takes the next part early.
"""

from __future__ import annotations

import dataclasses
import enum

import gsm0338  # type: ignore[import-untyped]  # noqa: F401 - registers the "gsm03.38" codec

_CODEC = "gsm03.38"
ESCAPE = 0x1B
SINGLE = {"gsm7": 160, "ucs2": 70}
MULTI = {"gsm7": 153, "ucs2": 67}
# The longest text a charge takes: LINK allows 1,530 septets / 670 UCS-2 units (10 parts).
MAX_PARTS = 10


class Coding(enum.StrEnum):
    GSM7 = "gsm7"
    UCS2 = "ucs2"


@dataclasses.dataclass(frozen=True, slots=True)
class Parts:
    coding: Coding
    units: int  # septets (GSM 7-bit) or UTF-16 code units (UCS-2)
    parts: int


def septets(char: str) -> int | None:
    """The septets one character takes in GSM 03.38 (1 or 2), None when it has none."""
    try:
        return len(char.encode(_CODEC))
    except UnicodeEncodeError:
        return None


def is_basic(char: str) -> bool:
    """Whether `char` is in the GSM 03.38 basic table (one septet, not the escape)."""
    try:
        encoded = char.encode(_CODEC)
    except UnicodeEncodeError:
        return False
    return len(encoded) == 1 and encoded[0] != ESCAPE


def count(text: str) -> Parts:
    """The coding, length and number of parts of `text` (an empty text is one part)."""
    widths = [septets(char) for char in text]
    if all(width is not None for width in widths):
        sizes = [width for width in widths if width is not None]
        return _split(Coding.GSM7, sizes)
    units = [len(char.encode("utf-16-le")) // 2 for char in text]
    return _split(Coding.UCS2, units)


def _split(coding: Coding, sizes: list[int]) -> Parts:
    total = sum(sizes)
    if total <= SINGLE[coding]:
        return Parts(coding, total, 1)
    room, parts, used = MULTI[coding], 1, 0
    for size in sizes:
        if used + size > room:  # never split an escape or a surrogate pair
            parts, used = parts + 1, 0
        used += size
    return Parts(coding, total, parts)
