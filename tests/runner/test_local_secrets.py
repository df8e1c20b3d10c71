"""Runner-local secrets: the environment first, then the secrets file, then the API's."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from flomation.runner.local_secrets import LocalSecrets, SecretsFileError


def test_local_secrets_win_over_the_apis_and_the_environment_over_the_file(
    tmp_path: Path,
) -> None:
    file = tmp_path / "secrets.json"
    file.write_text(json.dumps({"DB_PASSWORD": "from-file", "ONLY_FILE": "f"}))
    local = LocalSecrets.load(
        environ={"FLOMATION_SECRET_DB_PASSWORD": "from-env", "OTHER": "x"}, file=file
    )
    resolved = local.resolve({"DB_PASSWORD": "from-api", "API_ONLY": "a"})
    assert resolved == {"DB_PASSWORD": "from-env", "ONLY_FILE": "f", "API_ONLY": "a"}


def test_environment_variables_that_are_not_secret_names_are_ignored() -> None:
    local = LocalSecrets.load(
        environ={"FLOMATION_SECRET_": "empty name", "FLOMATION_SECRET_9X": "bad", "HOME": "/"}
    )
    assert local.names == frozenset()


@pytest.mark.parametrize(
    ("content", "message"),
    [
        ("not json", "not JSON"),
        ("[1, 2]", "one JSON object"),
        ('{"bad name": "x"}', "must match"),
        ('{"N": 3}', "must be a string"),
    ],
)
def test_a_bad_secrets_file_is_refused_with_the_reason(
    tmp_path: Path, content: str, message: str
) -> None:
    file = tmp_path / "secrets.json"
    file.write_text(content)
    with pytest.raises(SecretsFileError, match=message):
        LocalSecrets.load(environ={}, file=file)


def test_a_missing_secrets_file_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SecretsFileError, match="cannot read"):
        LocalSecrets.load(environ={}, file=tmp_path / "nope.json")


def test_values_never_appear_in_the_repr() -> None:
    local = LocalSecrets({"TOKEN": "s3cr3t"})
    assert "s3cr3t" not in repr(local)
    assert "TOKEN" in repr(local)
