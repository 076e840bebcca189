"""`wire.to_xml` writes its documents as text: the very bytes lxml writes for the same
value, for any nesting, text (markup, a carriage return, characters XML cannot carry) and
names (a name it does not write itself goes through lxml, refused or not alike)."""

from __future__ import annotations

from typing import Any

import msgspec
from hypothesis import given
from hypothesis import strategies as st

from smsaccounts.dialects import wire

NAMES = st.one_of(
    st.sampled_from(["page", "a", "user_id", "x.y", "b-c", "_z", "xmlns", "Ab9"]),
    st.text(min_size=0, max_size=6),  # mostly names lxml refuses, or writes otherwise
    st.sampled_from(["{urn:x}a", "é", "a:b", "1a", ""]),
)
TEXT = st.text(st.characters(codec=None, blacklist_categories=()), max_size=12) | st.sampled_from(
    ["", "<&>", "a&b", "a\rb", "\x00", "\ud800", "]]>", "'\""]
)
SCALARS = st.none() | st.booleans() | st.integers() | TEXT | st.floats(allow_nan=False)
VALUES = st.recursive(
    SCALARS,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(NAMES, inner, max_size=4),
    max_leaves=12,
)


def _outcome(encode: Any, *args: Any, **options: Any) -> object:
    try:
        return encode(*args, **options)
    except ValueError as error:  # lxml refuses a name
        return type(error).__name__


@given(root=NAMES, value=VALUES, declaration=st.booleans(), nulls=st.booleans())
def test_the_text_encoder_writes_what_lxml_writes(
    root: str, value: Any, declaration: bool, nulls: bool
) -> None:
    options = {"declaration": declaration, "nulls": nulls}
    builtins = msgspec.to_builtins(value, str_keys=True)
    expected = _outcome(wire.to_xml_lxml, root, builtins, **options)
    assert _outcome(wire.to_xml, root, value, **options) == expected


def test_markup_empty_elements_and_refused_names_come_out_as_lxmls() -> None:
    value = {"error": "a\rb <&> \x00", "list": [1, None, {"c": ""}], "empty": [], "t": True,
             "nested": {"gone": None}}  # fmt: skip
    for nulls in (False, True):
        expected = wire.to_xml_lxml("page", value, declaration=True, nulls=nulls)
        assert wire.to_xml("page", value, nulls=nulls) == expected
    assert wire.to_xml("page", value) == (
        b"<?xml version='1.0' encoding='UTF-8'?>\n<page><error>a&#13;b &lt;&amp;&gt; \xef\xbf\xbd"
        b"</error><list>1</list><list><c></c></list><t>true</t><nested/></page>"
    )
    assert _outcome(wire.to_xml, "page", {"1a": 1}) == "ValueError"
    assert wire.to_xml("{urn:x}a", {}) == wire.to_xml_lxml("{urn:x}a", {}, declaration=True,
                                                           nulls=False)  # fmt: skip


# Text around every check of the leaves `_write` puts out inline: markup, controls XML
# carries or not, surrogates, noncharacters, printable and not.
LEAVES = ["", "plain", "a&b", "a<b", "a>b", "a\rb", "a\tb\n", "\x00", "\x1f", "\x7f", "\xa0",
          "\ud800", "\ufffe", "\uffff", "\U0001f600", "é", "]]>", "'\""]  # fmt: skip


def test_leaves_of_known_names_come_out_as_lxmls() -> None:
    value = {"i": -3, "t": False, "f": 1.5, "n": None} | {f"s{n}": s for n, s in enumerate(LEAVES)}
    for nulls in (False, True):
        expected = wire.to_xml_lxml("page", value, declaration=True, nulls=nulls)
        for _ in range(2):  # the second time every name is known: its leaves go out inline
            assert wire.to_xml("page", value, nulls=nulls) == expected
