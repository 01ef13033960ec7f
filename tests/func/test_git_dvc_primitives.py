"""Shared primitives on real git+dvc repos: revisions, blobs, dvc.lock, integrity, notes."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from helpers import commit_all, dvc, gen, git
from mlratchet import dvclock, gitio, integrity, notes, revs
from mlratchet.errors import BadInputError, IntegrityError


@pytest.fixture
def pipeline_repo(tmp_repo: Path) -> Path:
    """A repo with a two-stage pipeline (a file output and a directory output), reproduced."""
    gen(
        tmp_repo,
        {
            "params.yaml": "n: 3\n",
            "dvc.yaml": (
                "stages:\n"
                "  make:\n"
                "    cmd: python -c \"open('out.txt','w').write('x' * 3)\"\n"
                "    params: [n]\n"
                "    outs: [out.txt]\n"
                "  tree:\n"
                "    cmd: python -c \"import os; os.makedirs('d/sub', exist_ok=True); "
                "open('d/a.txt','w').write('a'); open('d/sub/b.txt','w').write('b')\"\n"
                "    deps: [out.txt]\n"
                "    outs: [d]\n"
            ),
        },
    )
    dvc(tmp_repo, "repro", "-q")
    commit_all(tmp_repo, "pipeline")
    return tmp_repo


def test_rev_parse_and_unknown_revision(pipeline_repo: Path) -> None:
    """A revision resolves to a full sha; an unknown one is bad input naming it."""
    sha = gitio.rev_parse(pipeline_repo, "HEAD")
    assert len(sha) == 40
    assert revs.resolve(pipeline_repo, "HEAD~1").sha == git(pipeline_repo, "rev-parse", "HEAD~1")
    assert revs.resolve(pipeline_repo, "workspace").is_workspace
    with pytest.raises(BadInputError, match="unknown revision 'nope'"):
        revs.resolve(pipeline_repo, "nope")
    with pytest.raises(BadInputError, match="unknown revision '--all'"):
        gitio.rev_parse(pipeline_repo, "--all")


def test_blob_reader_reads_many_revisions_in_one_process(pipeline_repo: Path) -> None:
    """BlobReader returns a file's bytes at each revision, and None where it is absent."""
    gen(pipeline_repo, {"params.yaml": "n: 4\n"})
    commit_all(pipeline_repo, "n=4")
    with gitio.BlobReader(pipeline_repo) as blobs:
        assert blobs.read("HEAD", "params.yaml") == b"n: 4\n"
        assert blobs.read("HEAD~1", "params.yaml") == b"n: 3\n"
        assert blobs.read("HEAD", "missing.txt") is None
        assert blobs.read("HEAD~2", "dvc.yaml") is None
    assert gitio.read_blob(pipeline_repo, "HEAD~1", "params.yaml") == b"n: 3\n"


def test_blob_reader_read_many_and_prefetch(tmp_repo: Path) -> None:
    """read_many answers many objects (more than a pipe holds, requests and answers alike)
    with the missing ones left out; prefetched objects are answered once from memory, and
    reads before and after stay in step."""
    contents = [b"blob %d\n" % i * (1 + 40 * (i % 7)) for i in range(600)]
    paths = []
    for i, data in enumerate(contents):
        (tmp_repo / f"b{i}").write_bytes(data)
        paths.append(f"b{i}\n")
    out = gitio.run(tmp_repo, "hash-object", "-w", "--stdin-paths", input="".join(paths).encode())
    shas = out.stdout.decode().split()
    missing = "f" * 40
    with gitio.BlobReader(tmp_repo) as blobs:
        assert blobs.read_object(shas[0]) == contents[0]
        found = blobs.read_many([*shas, missing, shas[1]])
        assert found == dict(zip(shas, contents, strict=True))
        assert blobs.read_object(shas[2]) == contents[2]
        blobs.prefetch([shas[5], missing])
        assert blobs.read_object(shas[5]) == contents[5]
        assert blobs.read_object(missing) is None
        assert blobs.read_object(shas[5]) == contents[5]  # asked of git again
        assert blobs.read_many([]) == {}


def test_dirty_paths_ignore_untracked(pipeline_repo: Path) -> None:
    """Only changes to tracked files make a work tree dirty."""
    assert gitio.dirty_paths(pipeline_repo) == []
    gen(pipeline_repo, {"untracked.txt": "u"})
    assert gitio.dirty_paths(pipeline_repo) == []
    gen(pipeline_repo, {"params.yaml": "n: 5\n"})
    assert gitio.dirty_paths(pipeline_repo) == ["params.yaml"]


def test_lock_is_parsed_at_head_and_in_workspace(pipeline_repo: Path) -> None:
    """dvc.lock gives each stage's outputs with their hashes, at a revision or on disk."""
    committed = dvclock.load_lock(pipeline_repo, "HEAD")
    assert committed == dvclock.load_lock(pipeline_repo)
    outs = dvclock.outputs(committed)
    assert set(outs) == {"out.txt", "d"}
    assert outs["d"].is_dir and outs["d"].nfiles == 2
    assert committed["make"].params == {"params.yaml": {"n": 3}}
    with pytest.raises(BadInputError, match=r"dvc\.lock does not exist at HEAD~1"):
        dvclock.load_lock(pipeline_repo, "HEAD~1")


def test_integrity_matches_dvc_for_files_and_directories(pipeline_repo: Path) -> None:
    """Our re-hash of every output equals what DVC recorded, directories included."""
    for entry in dvclock.outputs(dvclock.load_lock(pipeline_repo)).values():
        assert integrity.check_entry(pipeline_repo, entry) is None
        integrity.verify_entry(pipeline_repo, entry)
        assert dvclock.cache_path(pipeline_repo, entry).exists()


def test_flipped_byte_is_an_integrity_error_that_dvc_misses(pipeline_repo: Path) -> None:
    """A same-size edit with the mtime restored passes `dvc status` but not our re-hash."""
    import os

    out = pipeline_repo / "out.txt"
    stat = out.stat()
    out.chmod(0o644)
    out.write_text("xyx")
    os.utime(out, ns=(stat.st_atime_ns, stat.st_mtime_ns))
    entry = dvclock.outputs(dvclock.load_lock(pipeline_repo))["out.txt"]
    with pytest.raises(IntegrityError) as info:
        integrity.verify_entry(pipeline_repo, entry)
    message = str(info.value)
    assert "out.txt" in message
    assert entry.md5 in message
    assert integrity.md5_of(out) in message


def test_missing_output_is_bad_input(pipeline_repo: Path) -> None:
    """An output that is not in the workspace says how to get it."""
    (pipeline_repo / "out.txt").unlink()
    entry = dvclock.outputs(dvclock.load_lock(pipeline_repo))["out.txt"]
    with pytest.raises(BadInputError, match="dvc pull"):
        integrity.verify_entry(pipeline_repo, entry)


def test_notes_keep_other_keys(pipeline_repo: Path) -> None:
    """Each writer owns one key of the commit's note; updating one keeps the others."""
    head = gitio.rev_parse(pipeline_repo, "HEAD")
    assert notes.read(pipeline_repo, head) == {}
    notes.update(pipeline_repo, head, "repro", {"wall": 1.5})
    notes.update(pipeline_repo, head, "verify", {"ok": True})
    assert notes.read(pipeline_repo, head) == {"repro": {"wall": 1.5}, "verify": {"ok": True}}
    raw = git(pipeline_repo, "notes", "--ref", notes.NOTES_REF, "show", head)
    records = [json.loads(line) for line in raw.splitlines()]
    assert [(r["key"], r["value"]) for r in records] == [
        ("repro", {"wall": 1.5}),
        ("verify", {"ok": True}),
    ]
    assert git(pipeline_repo, "status", "--porcelain") == ""
