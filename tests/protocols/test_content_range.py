import pytest

from omnidrop.protocols.content_range import ByteRange, InvalidContentRange, parse_content_range


@pytest.mark.parametrize(
    ("header", "expected"),
    [
        ("bytes 0-104857599/524288000", ByteRange(0, 104857599, 524288000)),
        ("bytes 5-5/6", ByteRange(5, 5, 6)),
        ("Bytes  10-19/20 ", ByteRange(10, 19, 20)),
    ],
)
def test_parses_inclusive_ranges(header, expected):
    parsed = parse_content_range(header)
    assert parsed == expected
    assert parsed.length == expected.end - expected.start + 1


@pytest.mark.parametrize(
    "header",
    ["bytes 10-5/20", "bytes 0-20/20", "bytes */20", "bytes 0-9/*", "items 0-9/10", "0-9/10", "bytes -1-9/10", ""],
)
def test_refuses_malformed_or_impossible_ranges(header):
    with pytest.raises(InvalidContentRange):
        parse_content_range(header)
