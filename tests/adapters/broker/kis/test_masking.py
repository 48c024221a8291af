"""SecretFilter: secrets registered at any time are scrubbed; the pattern is built when used."""

from __future__ import annotations

import logging

from stock_manager.masking import SecretFilter


def test_secrets_added_after_a_scrub_are_scrubbed_too() -> None:
    f = SecretFilter()
    assert f.scrub("nothing registered") == "nothing registered"
    f.add("app-secret-123456", "short")  # "short" would mask ordinary words: ignored
    assert f._pattern is None  # nothing compiled until something is scrubbed
    assert f.scrub("a app-secret-123456 short") == "a *** short"
    f.add("access-token-abcdef")
    assert f.scrub("app-secret-123456 access-token-abcdef") == "*** ***"


def test_the_longest_secret_wins_where_two_overlap() -> None:
    f = SecretFilter()
    f.add("token-1234", "token-1234-and-more")
    assert f.scrub("x token-1234-and-more y") == "x *** y"


def test_log_records_are_scrubbed() -> None:
    f = SecretFilter()
    f.add("secret-value-42")
    record = logging.LogRecord(
        "t", logging.WARNING, __file__, 1, "got %s", ("secret-value-42",), None
    )
    assert f.filter(record)
    assert record.getMessage() == "got ***"
