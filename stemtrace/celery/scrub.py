"""Which dict keys hold secrets. Matching is by *word*, never by substring.

A key is split into lower-case words at ``_ - . space``, camelCase and letter/digit boundaries
(``userPassword`` → ``user password``, ``API_KEY2`` → ``api key 2``). Then:

1. **Anywhere words** make the key sensitive wherever they stand, alone or as a run of joined neighbours:
   ``password passwd passphrase secret(s) credential(s) authorization cookie(s) csrf xsrf cvv cvc ssn jwt
   bearer apikey privatekey accesskey signingkey creditcard cardnumber sessionid sessionkey
   csrfmiddlewaretoken`` — so ``user_password``, ``apiKey``, ``api_key``, ``x-csrf-token``,
   ``credit_card``, ``session_id``.
2. **Head words** make it sensitive only as the *last* word (the noun the key names):
   ``token session auth`` — so ``access_token``, ``session``, ``user_session``, ``basic_auth`` are
   filtered, while ``token_count``, ``session_count``, ``max_tokens``, ``auth_method`` are kept.
3. Words are whole: ``passenger``, ``author``, ``authority``, ``secretary``, ``tokenizer`` are kept.
4. ``additional_sensitive_keys`` are anywhere words after the same normalisation (``customer_email``
   also catches ``customerEmail`` and ``billing_customer_email``); ``safe_keys`` exempt a key whose
   normalised whole form matches, and win over everything else. Both are case-insensitive.

Non-string keys: ``bytes`` are decoded, numbers and other objects are never sensitive.

The values found under sensitive keys (and in positional parameters with sensitive names) are also
masked wherever they reappear in free text: a task's exception message and traceback.
"""

from __future__ import annotations

import re
from collections.abc import Collection, Iterable, Mapping
from typing import Any

FILTERED = "[Filtered]"
# Secrets are looked for this deep in arguments: deeper ones are cut from the payload anyway.
_MAX_SECRET_DEPTH = 32

ANYWHERE_WORDS = frozenset(
    {
        "password", "passwords", "passwd", "passphrase", "secret", "secrets", "credential", "credentials",
        "authorization", "cookie", "cookies", "csrf", "xsrf", "cvv", "cvc", "ssn", "jwt", "bearer",
        "apikey", "privatekey", "accesskey", "signingkey", "creditcard", "cardnumber", "sessionid",
        "sessionkey", "csrfmiddlewaretoken",
    }
)  # fmt: skip
HEAD_WORDS = frozenset({"token", "session", "auth"})

_SPLIT = re.compile(r"[A-Z]+(?=[A-Z][a-z])|[A-Z]?[a-z]+|[A-Z]+|\d+")
_MAX_KEY_LEN = 200
_CACHE_MAX = 4096


def words(key: str) -> list[str]:
    """Lower-case words of a key: ``"userAPIKey_2"`` → ``["user", "api", "key", "2"]``."""
    return [w.lower() for w in _SPLIT.findall(key[:_MAX_KEY_LEN])]


def _joined(key: str) -> str:
    return "".join(words(key))


class Scrubber:
    """Decides per key; results are cached (keys repeat a lot), the cache is bounded."""

    def __init__(self, additional: Iterable[str] = (), safe: Iterable[str] = (), enabled: bool = True) -> None:
        self.enabled = enabled
        self.anywhere = ANYWHERE_WORDS | {j for j in map(_joined, additional) if j}
        self.safe = frozenset(j for j in map(_joined, safe) if j)
        self._longest = max((len(w) for w in self.anywhere), default=0)
        self._cache: dict[str, bool] = {}

    def is_sensitive(self, key: object) -> bool:
        if not self.enabled:
            return False
        if isinstance(key, bytes):
            key = key.decode("utf-8", "replace")
        if not isinstance(key, str):
            return False
        hit = self._cache.get(key)
        if hit is None:
            hit = self._decide(key)
            if len(self._cache) >= _CACHE_MAX:
                self._cache.clear()
            self._cache[key] = hit
        return hit

    def _decide(self, key: str) -> bool:
        ws = words(key)
        if not ws:
            return False
        if "".join(ws) in self.safe:
            return False
        if ws[-1] in HEAD_WORDS:
            return True
        anywhere = self.anywhere
        n = len(ws)
        for i in range(n):
            joined = ""
            for j in range(i, n):  # every run of consecutive words, bounded by the longest known word
                joined += ws[j]
                if len(joined) > self._longest:
                    break
                if joined in anywhere:
                    return True
        return False

    def secret_values(self, value: Any, sensitive: bool = False, depth: int = 0) -> set[str]:
        """The text of every value under a sensitive key in ``value`` (nested mappings and sequences),
        so the same secrets can be masked where they leak into free text: exception messages and
        tracebacks. Values under 4 characters are left out: masking them would mangle the text."""
        found: set[str] = set()
        if depth > _MAX_SECRET_DEPTH:
            return found
        if isinstance(value, Mapping):
            for k, v in value.items():
                found |= self.secret_values(v, sensitive or self.is_sensitive(k), depth + 1)
        elif isinstance(value, (list, tuple, set, frozenset)):
            for v in value:
                found |= self.secret_values(v, sensitive, depth + 1)
        elif sensitive and isinstance(value, (str, bytes, int)) and not isinstance(value, bool):
            text = value.decode("utf-8", "replace") if isinstance(value, bytes) else str(value)
            if len(text) >= 4:
                found.add(text)
        return found


def mask(text: str | None, secrets: Collection[str]) -> str | None:
    """``text`` with every secret replaced by ``[Filtered]``, longest first (one may contain another)."""
    if not text or not secrets:
        return text
    for secret in sorted(secrets, key=len, reverse=True):
        text = text.replace(secret, FILTERED)
    return text
