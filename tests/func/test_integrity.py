"""Integrity on read: an output's bytes, from the work tree or the DVC cache, against dvc.lock."""

from __future__ import annotations

import hashlib
import os
from pathlib import Path

import pytest

from helpers import commit_all, dvc, gen
from mlratchet import dvclock, integrity
from mlratchet.errors import BadInputError, IntegrityError


@pytest.fixture
def model_repo(tmp_repo: Path) -> Path:
    """A committed pipeline with a cached file output (v1), then a second commit (v2)."""
    gen(
        tmp_repo,
        {
            "params.yaml": "v: 1\n",
            "dvc.yaml": (
                "stages:\n"
                "  train:\n"
                "    cmd: python -c \"import yaml; v = yaml.safe_load(open('params.yaml'))['v'];"
                " open('model.bin', 'wb').write(bytes([v]) * 1000)\"\n"
                "    params: [v]\n"
                "    outs: [model.bin]\n"
            ),
        },
    )
    dvc(tmp_repo, "repro", "-q")
    commit_all(tmp_repo, "v1")
    gen(tmp_repo, {"params.yaml": "v: 2\n"})
    dvc(tmp_repo, "repro", "-q")
    commit_all(tmp_repo, "v2")
    return tmp_repo


def test_verified_from_the_work_tree_when_it_matches(model_repo: Path) -> None:
    """The work-tree copy is re-hashed and returned when it is the revision's."""
    found = integrity.verify_output(model_repo, "model.bin", "HEAD")
    assert found.in_workspace and found.source == model_repo / "model.bin"
    assert found.md5 == hashlib.md5(bytes([2]) * 1000, usedforsecurity=False).hexdigest()


def test_older_revision_is_read_from_the_cache(model_repo: Path) -> None:
    """An output of an older revision comes from the DVC cache, re-hashed."""
    found = integrity.verify_output(model_repo, "model.bin", "HEAD~1")
    assert not found.in_workspace
    assert found.source.read_bytes() == bytes([1]) * 1000


def test_flipped_byte_in_the_cache_is_exit_3_naming_both_hashes(model_repo: Path) -> None:
    """A corrupted cache object of the same size: IntegrityError with the path and both md5s."""
    entry = dvclock.outputs(dvclock.load_lock(model_repo, "HEAD~1"))["model.bin"]
    cached = dvclock.cache_path(model_repo, entry)
    cached.chmod(0o644)
    stat = cached.stat()
    cached.write_bytes(bytes([1]) * 999 + b"\x00")
    os.utime(cached, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    with pytest.raises(IntegrityError) as info:
        integrity.verify_output(model_repo, "model.bin", "HEAD~1")
    message = str(info.value)
    assert "model.bin" in message and entry.md5 in message
    assert integrity.md5_of(cached) in message


def test_modified_work_tree_copy_is_exit_3(model_repo: Path) -> None:
    """In the work tree (rev None) a modified output is an integrity error, never a fallback."""
    target = model_repo / "model.bin"
    target.chmod(0o644)
    target.write_bytes(b"tampered")
    with pytest.raises(IntegrityError, match=r"model\.bin"):
        integrity.verify_output(model_repo, "model.bin")


def test_not_an_output_and_not_cached_are_bad_input(model_repo: Path) -> None:
    """A path dvc.lock does not record, or bytes that are nowhere: exit 2 saying what to do."""
    with pytest.raises(BadInputError, match="not an output"):
        integrity.verify_output(model_repo, "params.yaml", "HEAD")
    entry = dvclock.outputs(dvclock.load_lock(model_repo, "HEAD~1"))["model.bin"]
    dvclock.cache_path(model_repo, entry).unlink()
    with pytest.raises(BadInputError, match="dvc pull"):
        integrity.verify_output(model_repo, "model.bin", "HEAD~1")


def test_dos2unix_hash_of_dvc2_locks(tmp_path: Path) -> None:
    """DVC 2's md5-dos2unix: a CRLF text file hashes like its LF form; binary files as is."""
    text = tmp_path / "a.csv"
    text.write_bytes(b"a,b\r\n1,2\r\n")
    assert (
        integrity.md5_of(text, "md5-dos2unix")
        == hashlib.md5(b"a,b\n1,2\n", usedforsecurity=False).hexdigest()
    )
    assert (
        integrity.md5_of(text) == hashlib.md5(b"a,b\r\n1,2\r\n", usedforsecurity=False).hexdigest()
    )
    binary = tmp_path / "b.bin"
    binary.write_bytes(b"\x00\r\n\x01")
    assert (
        integrity.md5_of(binary, "md5-dos2unix")
        == hashlib.md5(b"\x00\r\n\x01", usedforsecurity=False).hexdigest()
    )
    with pytest.raises(BadInputError, match="unsupported hash"):
        integrity.md5_of(text, "sha1")
