"""Secret masking: every secret value, and what templates make of it, becomes `***` in reports.

A secret leaks in more shapes than its plain text: inside an `Authorization: Basic` header
(base64), in a URL (percent-encoded), inside a JSON string (escaped) and as hex. The masker
looks for all of these. Values passed between nodes are never masked; only what the engine
records is (step inputs and outputs, logs, errors, the execution's output).

Templates can also transform a secret (`secrets.T|reverse`, `|upper`, slices, `|list`, ...).
To follow it, a secret enters the template scope as a `TaintedStr` (see `SecretValues`): a
`str` whose operations return tainted strings again. When a render's value is made plain
(see `expressions`), every tainted string in it is handed to `Masker.learn`, so the text the
secret became is masked wherever it is recorded, while the node itself uses the real value.
Derived strings of `MIN_DERIVED_LEN` characters or more are masked wherever they appear (plain
or JSON-escaped; the first `MAX_LEARNED_PATTERNS` of an execution, later ones as whole values);
shorter ones (one character of `|list`, say) would match unrelated text, so they are masked
only where a recorded string is exactly that value.

Taint follows strings, not numbers or booleans (`|length`, `ord`, comparisons), and code
nodes can always transform a secret beyond recognition: masking is a guard against accidents
in templates, not a boundary against a flow's author.
"""

from __future__ import annotations

import base64
import json
import re
from collections.abc import Iterable, Iterator, Mapping
from contextvars import ContextVar
from typing import Any, SupportsIndex
from urllib.parse import quote, quote_plus

__all__ = [
    "MASK",
    "MAX_LEARNED_PATTERNS",
    "MIN_DERIVED_LEN",
    "Masker",
    "SecretValues",
    "TaintedStr",
    "is_tainted",
    "tainted_made",
]

MASK = "***"
# Secrets shorter than this are still masked in plain form, but their encoded fragments would
# match too much unrelated text.
_MIN_ENCODED_LEN = 4
# Strings derived from a secret shorter than this are masked only as whole values.
MIN_DERIVED_LEN = 4
# How many derived strings one execution masks wherever they appear; later ones are masked
# only as whole values. Each one is an alternative in the masking pattern, which is compiled
# again after each: the limit bounds that work (about 10 ms per compile at the limit) for a flow
# that makes thousands of different strings from a secret (a loop over `secrets.T ~ item` needs
# none: the secret inside is masked anyway).
MAX_LEARNED_PATTERNS = 64


def _base64_fragments(secret: bytes) -> set[str]:
    """Base64 text that encodes `secret` wherever it sits in a longer encoded value.

    The secret may start at any of three byte offsets inside a base64 group; for each, keep
    only the characters fully determined by the secret's own bytes.
    """
    fragments: set[str] = set()
    for offset in range(3):
        for encode in (base64.b64encode, base64.urlsafe_b64encode):
            encoded = encode(b"\0" * offset + secret).decode().rstrip("=")
            skip = (0, 2, 3)[offset]
            if (offset + len(secret)) % 3:
                encoded = encoded[:-1]  # the last character mixes in the following bytes
            fragment = encoded[skip:]
            if len(fragment) >= _MIN_ENCODED_LEN:
                fragments.add(fragment)
    return fragments


def _forms(secret: str) -> set[str]:
    forms = {secret}
    if len(secret) < _MIN_ENCODED_LEN:
        return forms
    forms.add(json.dumps(secret)[1:-1])
    forms.add(json.dumps(secret, ensure_ascii=False)[1:-1])
    forms.add(quote(secret, safe=""))
    forms.add(quote_plus(secret, safe=""))
    forms.add(quote(secret))
    raw = secret.encode()
    forms.add(raw.hex())
    forms.add(raw.hex().upper())
    forms |= _base64_fragments(raw)
    return {form for form in forms if form}


class Masker:
    """Replaces secret values (and their encodings) with `***` in strings and JSON values.

    `learn` adds values derived from a secret while the execution runs; the pattern is rebuilt
    lazily, on the next masking after a new value.
    """

    __slots__ = ("_dirty", "_exact", "_forms", "_known", "_learned", "_pattern")

    def __init__(self, secrets: Iterable[str]) -> None:
        self._forms: set[str] = set()
        # Short derived values, masked only as whole strings.
        self._exact: set[str] = set()
        # Everything masked (secrets and derived values, plain): what `knows` answers.
        self._known: set[str] = set()
        self._pattern: re.Pattern[str] | None = None
        self._dirty = False
        self._learned = 0
        for secret in secrets:
            if isinstance(secret, str) and secret:
                self._known.add(secret)
                self._forms |= _forms(secret)
        self._compile()

    def _compile(self) -> None:
        # Longest first, so a secret's encoding is replaced whole rather than piecewise.
        ordered = sorted(self._forms, key=len, reverse=True)
        self._pattern = re.compile("|".join(map(re.escape, ordered))) if ordered else None
        self._dirty = False

    def learn(self, derived: str) -> None:
        """Masks `derived` (text a template made from a secret) from now on."""
        derived = str.__str__(derived)  # a plain copy: the masker keeps no tainted strings
        if not derived or derived in self._known:
            return
        self._known.add(derived)
        if len(derived) >= MIN_DERIVED_LEN and self._learned < MAX_LEARNED_PATTERNS:
            # The text and its JSON escaping (inside a recorded JSON text): the encodings of
            # a derived value are left to its own template, where they are tainted too.
            self._learned += 1
            self._forms.add(derived)
            self._forms.add(json.dumps(derived, ensure_ascii=False)[1:-1])
            self._forms.add(json.dumps(derived)[1:-1])
            self._dirty = True
        else:
            self._exact.add(derived)

    def knows(self, value: str) -> bool:
        """Whether `value` is a secret or a value learned from one (exactly)."""
        return value in self._known

    @property
    def active(self) -> bool:
        """False when there is nothing to mask (the common case: skip all the work)."""
        return bool(self._known)

    def text(self, value: str) -> str:
        if not self._known:
            return value
        if self._dirty:
            self._compile()
        return self._text(value)

    def _text(self, value: str) -> str:
        if value in self._exact:
            return MASK
        return self._pattern.sub(MASK, value) if self._pattern else value

    def value(self, value: Any) -> Any:
        """A copy of a JSON value with every string (and mapping key) masked."""
        if not self._known:
            return value
        if self._dirty:
            self._compile()
        return self._mask(value)

    def _mask(self, value: Any) -> Any:
        if isinstance(value, str):
            return self._text(value)
        if isinstance(value, dict):
            # Keys get the pattern only: a short derived value (one character of a secret)
            # masked as a key would hide the value's structure, not the secret.
            pattern = self._pattern
            return {
                pattern.sub(MASK, k) if pattern and isinstance(k, str) else k: self._mask(v)
                for k, v in value.items()
            }
        if isinstance(value, list | tuple):
            return [self._mask(v) for v in value]
        return value

    def tainted(self, secrets: Mapping[str, str]) -> SecretValues:
        """The `secrets` a template sees: values tainted, derived values learned here."""
        return SecretValues(secrets, self)


# --------------------------------------------------------------------------- taint


def _taint(value: Any) -> Any:
    """`value` with its strings tainted (containers as lists and tuples of tainted strings)."""
    if isinstance(value, TaintedStr):
        return value
    if isinstance(value, str):
        return TaintedStr(value)
    if isinstance(value, list):
        return [_taint(item) for item in value]
    if isinstance(value, tuple):
        return tuple(_taint(item) for item in value)
    if isinstance(value, bytes):
        return TaintedBytes(value)
    return value


def is_tainted(value: Any, depth: int = 2) -> bool:
    """Whether `value` is, or holds (a few levels down), a string derived from a secret."""
    if isinstance(value, TaintedStr | TaintedBytes):
        return True
    if depth <= 0 or isinstance(value, str):
        return False
    if isinstance(value, Mapping):
        return any(is_tainted(v, depth - 1) or is_tainted(k, 0) for k, v in value.items())
    if isinstance(value, list | tuple):
        return any(is_tainted(v, depth - 1) for v in value)
    return False


def carry(result: Any, *sources: Any) -> Any:
    """`result` tainted when it is a new string made from a tainted source."""
    if (
        isinstance(result, str)
        and not isinstance(result, TaintedStr)
        and any(is_tainted(source) for source in sources)
    ):
        return TaintedStr(result)
    return result


# While a render with secrets runs: every tainted string it makes (up to `_MADE_LIMIT`), so a
# render that fails can mask what it made too, since error messages may quote it (Jinja names
# a missing key, for one).
tainted_made: ContextVar[list[str] | None] = ContextVar("flomation_tainted_made", default=None)
_MADE_LIMIT = 1000


class TaintedStr(str):
    """A string derived from a secret. Its operations return tainted strings again.

    It is a real `str` with the real value: it only marks where the value came from.
    """

    __slots__ = ()

    def __new__(cls, value: object = "") -> TaintedStr:
        self = super().__new__(cls, value)
        made = tainted_made.get()
        if made is not None and len(made) < _MADE_LIMIT:
            made.append(self)
        return self

    def __getitem__(self, key: SupportsIndex | slice) -> TaintedStr:
        return TaintedStr(str.__getitem__(self, key))

    def __iter__(self) -> Iterator[TaintedStr]:
        return (TaintedStr(char) for char in str.__iter__(self))

    def __add__(self, other: str) -> TaintedStr:
        return TaintedStr(str.__add__(self, other))

    def __radd__(self, other: Any) -> Any:
        # Called before `str.__add__` for `"text" + tainted`: Python prefers a subclass's
        # reflected method.
        if isinstance(other, str):
            return TaintedStr(str.__add__(other, self))
        return NotImplemented

    def __mul__(self, count: SupportsIndex) -> TaintedStr:
        return TaintedStr(str.__mul__(self, count))

    __rmul__ = __mul__

    def __mod__(self, args: Any) -> TaintedStr:
        return TaintedStr(str.__mod__(self, args))

    def __rmod__(self, other: Any) -> Any:
        if isinstance(other, str):
            return TaintedStr(str.__mod__(other, self))
        return NotImplemented

    def __format__(self, spec: str) -> TaintedStr:
        return TaintedStr(str.__format__(self, spec))

    def encode(self, encoding: str = "utf-8", errors: str = "strict") -> TaintedBytes:
        return TaintedBytes(str.encode(self, encoding, errors))


def _tainting(name: str) -> Any:
    method = getattr(str, name)

    def tainted(self: str, *args: Any, **kwargs: Any) -> Any:
        return _taint(method(self, *args, **kwargs))

    # The sandbox recognises methods by name (`format` especially): keep the real one.
    tainted.__name__ = tainted.__qualname__ = name
    tainted.__doc__ = method.__doc__
    return tainted


# `format` and `format_map` are left to the sandbox, which wraps them (and carries the taint).
for _name in (
    "capitalize",
    "casefold",
    "center",
    "expandtabs",
    "join",
    "ljust",
    "lower",
    "lstrip",
    "partition",
    "removeprefix",
    "removesuffix",
    "replace",
    "rjust",
    "rpartition",
    "rsplit",
    "rstrip",
    "split",
    "splitlines",
    "strip",
    "swapcase",
    "title",
    "upper",
    "zfill",
):
    setattr(TaintedStr, _name, _tainting(_name))


# Messages of errors name a value's type ("'str' object cannot be interpreted as an integer"):
# a tainted string is a string to the flow's author.
TaintedStr.__name__ = TaintedStr.__qualname__ = "str"
TaintedStr.__module__ = "builtins"


class TaintedBytes(bytes):
    """Bytes encoded from a tainted string: `hex()`, `decode()` and slices stay tainted."""

    __slots__ = ()

    def __getitem__(self, key: Any) -> Any:
        item = bytes.__getitem__(self, key)
        return TaintedBytes(item) if isinstance(item, bytes) else item

    def hex(self, *args: Any) -> TaintedStr:
        return TaintedStr(bytes.hex(self, *args))

    def decode(self, encoding: str = "utf-8", errors: str = "strict") -> TaintedStr:
        return TaintedStr(bytes.decode(self, encoding, errors))


class SecretValues(Mapping[str, str]):
    """The template scope's `secrets`: each value a `TaintedStr`, learned by `masker`."""

    __slots__ = ("_secrets", "masker", "tainting")

    def __init__(self, secrets: Mapping[str, str], masker: Masker) -> None:
        self._secrets = secrets
        self.masker = masker
        # The masker when there is a secret to taint, else None: renders check this only.
        self.tainting = masker if any(secrets.values()) else None

    def __getitem__(self, name: str) -> TaintedStr:
        return TaintedStr(self._secrets[name])

    def __iter__(self) -> Iterator[str]:
        return iter(self._secrets)

    def __len__(self) -> int:
        return len(self._secrets)
