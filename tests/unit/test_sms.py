"""SMS parts counted with the GSM 03.38 codec: 160/153 septets, 70/67 UCS-2 units, an
extension character two septets, and no part splits an escape or a surrogate pair."""

from __future__ import annotations

import pytest

from smsaccounts.domain import sms
from smsaccounts.domain.sms import Coding


@pytest.mark.parametrize(
    ("text", "coding", "units", "parts"),
    [
        ("", Coding.GSM7, 0, 1),
        ("a" * 160, Coding.GSM7, 160, 1),
        ("a" * 161, Coding.GSM7, 161, 2),
        ("a" * 306, Coding.GSM7, 306, 2),
        ("a" * 307, Coding.GSM7, 307, 3),
        ("€" * 80, Coding.GSM7, 160, 1),  # extension characters: two septets each
        ("€" * 81, Coding.GSM7, 162, 2),
        ("a" * 159 + "€", Coding.GSM7, 161, 2),
        ("a" * 152 + "€" + "a" * 152, Coding.GSM7, 306, 3),  # the escape pair moves on
        ("@£$¥èéùìòÇØøÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉÄÖÑÜ§¿äöñüà", Coding.GSM7, 40, 1),
        ("ж" * 70, Coding.UCS2, 70, 1),
        ("ж" * 71, Coding.UCS2, 71, 2),
        ("ж" * 134, Coding.UCS2, 134, 2),
        ("ж" * 135, Coding.UCS2, 135, 3),
        ("a" * 159 + "ж", Coding.UCS2, 160, 3),  # one non-GSM character makes it UCS-2
        ("😀" * 35, Coding.UCS2, 70, 1),  # beyond the BMP: two UTF-16 units each
        ("😀" * 36, Coding.UCS2, 72, 2),
        ("a" + "😀" * 33 + "a", Coding.UCS2, 68, 1),
        ("a" * 66 + "😀" + "a" * 66, Coding.UCS2, 134, 3),  # the pair moves on
    ],
)
def test_parts_at_the_boundaries(text: str, coding: Coding, units: int, parts: int) -> None:
    assert sms.count(text) == sms.Parts(coding, units, parts)


def test_the_basic_table_excludes_the_escape_and_the_extension_table() -> None:
    assert all(sms.is_basic(char) for char in "§@\n")
    assert not any(sms.is_basic(char) for char in "€\x1bж")
