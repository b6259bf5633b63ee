"""URLs as they may be shown: no credentials in any message."""

import pytest

from common.urls import shown


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (
            "http://user:secret@gen.test:8000/v1/completions",
            "http://***@gen.test:8000/v1/completions",
        ),
        ("http://token@gen.test/v1", "http://***@gen.test/v1"),
        ("http://gen.test/v1", "http://gen.test/v1"),
        ("https://gen.test/v1?x=1", "https://gen.test/v1?x=1"),
    ],
)
def test_credentials_are_never_shown(url: str, expected: str) -> None:
    assert shown(url) == expected
