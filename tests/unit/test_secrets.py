"""mlratchet.secrets: which param keys look like secrets, and their masked values."""

from __future__ import annotations

import pytest

from mlratchet.secrets import MASK, is_secret, mask


@pytest.mark.parametrize(
    "key",
    [
        "db.password",
        "DB_PASSWD",
        "auth.Token",
        "client_secret",
        "openai.api_key",
        "apiKey",
        "aws.access_key_id",
        "ssh.private_key",
        "credentials.user",
        "key",
        "s3.key",
    ],
)
def test_secret_looking_keys_are_masked(key: str) -> None:
    """A key with a secret word in any part of its path (or a part named `key`) is masked."""
    assert is_secret(key)
    assert mask(key, "hunter2") == MASK


@pytest.mark.parametrize("key", ["train.lr", "keyboard", "model.n_keys", "monkey", "seed"])
def test_ordinary_keys_are_shown(key: str) -> None:
    """Keys without a secret word keep their values (`keyboard` is not `key`)."""
    assert not is_secret(key)
    assert mask(key, 0.1) == 0.1


def test_patterns_extend_the_words() -> None:
    """`params.mask` patterns match the dotted path or one of its names, case-insensitively."""
    assert is_secret("db.host", ["db.*"])
    assert is_secret("warehouse.DSN", ["dsn"])
    assert is_secret("a.b.conn_dsn", ["*_dsn"])
    assert not is_secret("dbx.host", ["db.*"])


def test_absent_value_stays_absent() -> None:
    """A key absent on one side of a diff shows `-`, not a mask."""
    assert mask("password", None) is None
