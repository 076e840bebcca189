"""`wire.parse_xml` reads a flat document without lxml: whatever that shortcut reads, lxml
reads the same (root name and fields), and what it cannot read exactly it leaves to lxml."""

from __future__ import annotations

from hypothesis import example, given
from hypothesis import strategies as st

from smsaccounts.dialects import wire

# Pieces the shortcut reads are drawn more often than near misses, so that most documents
# are ones it reads, and one near miss at a time is what tells it from lxml.
DECLARATIONS = st.sampled_from([
    "", "", "", '<?xml version="1.0"?>', "<?xml version='1.0' encoding='UTF-8'?>",
    '<?xml version="1.0" encoding="utf-8" ?>', '<?xml version="1.0" encoding="latin-1"?>',
    '<?xml version="1.1"?>', ' <?xml version="1.0"?>', '<?xml version="1.0" standalone="yes"?>',
    "<!DOCTYPE r>", "<!-- c -->",
])  # fmt: skip
SPACE = st.sampled_from(["", "", " ", "\n", "\r\n", "\t", "\r", "\x0c"])
NAMES = st.sampled_from(
    ["a", "a", "apiKey", "_x", "a.b", "b-c", "Ab9", "xml", "a:b", "1a", "é", ""]
)
TEXT = st.lists(
    st.sampled_from(["x", "x", "sak_Q-9", " ", "\n", "\t", "\r", "\r\n", "&amp;", "&#13;", "&",
                     "<", ">", "]]>", "'\"", "\x01", "é", "\x7f", "<![CDATA[y]]>", "<b>z</b>"]),
    max_size=3,
).map("".join)  # fmt: skip
CHILD = st.tuples(SPACE, NAMES, TEXT, st.sampled_from([None, None, None, "a", "b:c"]))


@st.composite
def documents(draw: st.DrawFn) -> bytes:
    """Flat documents and near misses: every piece may be what the shortcut refuses."""
    root = draw(NAMES)
    parts = [draw(DECLARATIONS), draw(SPACE), f"<{root}>"]
    for space, name, text, closing in draw(st.lists(CHILD, max_size=4)):
        parts.append(f"{space}<{name}>{text}</{name if closing is None else closing}>")
    parts += [draw(SPACE), f"</{draw(NAMES | st.just(root))}>", draw(SPACE)]
    return "".join(parts).encode()


def _lxml(body: bytes) -> object:
    try:
        return wire._parse_lxml(body)
    except wire.WireError:
        return "refused"


@given(body=documents() | st.binary(max_size=40) | st.text(max_size=40).map(str.encode))
@example(b"<r><a>a&amp;b</a></r>")
@example(b"<r><a>a\r\nb</a></r>")
@example(b"<r><a>]]></a></r>")
@example(b"<r><a>\x01</a></r>")
def test_what_the_shortcut_reads_lxml_reads_the_same(body: bytes) -> None:
    flat = wire._flat(body)
    if flat is not None:
        assert flat == _lxml(body)


def test_a_balance_request_and_repeated_fields_take_the_shortcut() -> None:
    body = (
        b'<?xml version="1.0" encoding="UTF-8"?>\n<userGetBalanceRequest>\n'
        b"  <apiKey>sak_Oksd__QMrrB</apiKey><authToken>sat_vbUL-KV</authToken>\n"
        b"  <to>1</to><to></to><to>3</to>\n</userGetBalanceRequest>\n"
    )
    fields = {"apiKey": "sak_Oksd__QMrrB", "authToken": "sat_vbUL-KV", "to": ["1", "", "3"]}
    assert wire._flat(body) == ("userGetBalanceRequest", fields) == wire._parse_lxml(body)
    assert wire.parse_xml(body) == ("userGetBalanceRequest", fields)
