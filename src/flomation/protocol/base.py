"""What every protocol model shares."""

from __future__ import annotations

import re

from pydantic import BaseModel, ConfigDict

LABEL_KEY = re.compile(r"^[A-Za-z0-9_.\-/]{1,63}$")
MAX_LABELS = 32
MAX_LABEL_VALUE = 200


class Strict(BaseModel):
    """A body that refuses fields it does not know: a misspelt field is an error, not a
    silently ignored one."""

    model_config = ConfigDict(extra="forbid")


def check_labels(value: dict[str, str]) -> dict[str, str]:
    """Labels are a small map of short keys to short string values."""
    if len(value) > MAX_LABELS:
        raise ValueError(f"at most {MAX_LABELS} labels")
    for key, item in value.items():
        if not LABEL_KEY.match(key):
            raise ValueError(f"label key {key!r} must match {LABEL_KEY.pattern}")
        if len(item) > MAX_LABEL_VALUE:
            raise ValueError(f"label {key!r} is longer than {MAX_LABEL_VALUE} characters")
    return value
