"""Which keys are secrets: a table, including the words that only look like secrets."""

from __future__ import annotations

import pytest

from stemtrace.celery.scrub import FILTERED, Scrubber, mask, words
from stemtrace.celery.serialize import to_jsonable

SENSITIVE = [
    "password", "PASSWORD", "user_password", "userPassword", "passwordConfirm", "passwd", "passphrase",
    "apiKey", "api_key", "API_KEY", "apikey", "x-api-key", "Authorization", "authorization", "secret",
    "client_secret", "awsSecretAccessKey", "token", "access_token", "refreshToken", "x-csrf-token", "csrf",
    "csrfmiddlewaretoken", "credit_card", "creditCard", "card_number", "cvv", "CVC", "ssn", "ssn_last4",
    "cookie", "Cookies", "set-cookie", "session", "user_session", "sessionid", "session_id", "session_key",
    "auth", "basic_auth", "private_key", "privateKey", "jwt", "bearer", "credentials",
]  # fmt: skip
NOT_SENSITIVE = [
    "passenger", "author", "authority", "authored_by", "secretary", "tokenizer", "session_count",
    "sessionCount", "token_count", "max_tokens", "auth_method", "keyboard", "key", "cache_key", "sort_key",
    "username", "email", "card_type", "cookbook",
    "description", "",
]  # fmt: skip


@pytest.mark.parametrize("key", SENSITIVE)
def test_sensitive(key: str) -> None:
    assert Scrubber().is_sensitive(key), words(key)


@pytest.mark.parametrize("key", NOT_SENSITIVE)
def test_not_sensitive(key: str) -> None:
    assert not Scrubber().is_sensitive(key), words(key)


def test_word_splitting() -> None:
    assert words("userAPIKey_2") == ["user", "api", "key", "2"]
    assert words("x-csrf-token") == ["x", "csrf", "token"]


def test_additional_and_safe_keys_in_any_case() -> None:
    s = Scrubber(additional=["Customer_Email", "iban"], safe=["SESSION", "access-token"])
    for key in ("customer_email", "customerEmail", "billing_customer_email", "IBAN", "iban_number"):
        assert s.is_sensitive(key), key
    for key in ("session", "Session", "accessToken", "access_token"):
        assert not s.is_sensitive(key), key
    assert s.is_sensitive("password") and s.is_sensitive("refresh_token")


def test_non_string_keys() -> None:
    s = Scrubber()
    assert s.is_sensitive(b"password")
    assert not s.is_sensitive(1) and not s.is_sensitive(None) and not s.is_sensitive(("password",))


def test_disabled_scrubber_keeps_everything() -> None:
    assert not Scrubber(enabled=False).is_sensitive("password")


def test_nested_values_are_filtered() -> None:
    value = {
        "user": "ada",
        "password": {"nested": "whole value goes"},
        "items": [{"token": "t1", "count": 1}, ({"apiKey": "k"},)],
        "config": {"db": {"PASSWORD": "x", "host": "h"}},
        1: "one",
        b"secret": "bytes key",
    }
    out = to_jsonable(value, scrubber=Scrubber())
    assert out["user"] == "ada"
    assert out["password"] == FILTERED
    assert out["items"] == [{"token": FILTERED, "count": 1}, [{"apiKey": FILTERED}]]
    assert out["config"] == {"db": {"PASSWORD": FILTERED, "host": "h"}}
    assert out["1"] == "one" and out["secret"] == FILTERED


def test_secret_values_are_found_under_sensitive_keys_only() -> None:
    scrubber = Scrubber()
    kwargs = {"user": "ada", "password": "hunter22", "auth": {"api_key": "k-9876"}, "pins": [{"cvv": 1234}],
              "session_count": 5555, "note": "no"}  # fmt: skip
    assert scrubber.secret_values(kwargs) == {"hunter22", "k-9876", "1234"}
    assert Scrubber(enabled=False).secret_values(kwargs) == set()


def test_mask_replaces_every_secret_longest_first() -> None:
    text = "login failed for ada with hunter22 (hunter2 was old)"
    assert mask(text, {"hunter2", "hunter22"}) == "login failed for ada with [Filtered] ([Filtered] was old)"
    assert mask(None, {"x"}) is None and mask("plain", set()) == "plain"
