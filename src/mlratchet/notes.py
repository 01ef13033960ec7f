"""Records attached to commits in git notes, under ``refs/notes/mlratchet``, shareable by a team.

What mlratchet learns about a commit but must not write into the commit itself (compute cost of
each stage, the verify verdict, ...) goes into the commit's git note. Each top-level key belongs
to one writer (``repro``, ``verify``, ...); :func:`update` replaces one key and keeps the others.

The note is newline-delimited JSON: one self-contained record per line,
``{"at": "2026-01-02T03:04:05.123456Z", "key": "verify", "v": 1, "value": {...}}``. Lines are
only ever added, so ``git notes merge -s cat_sort_uniq`` (or ``union``) of two clones' notes is
still a valid note. :func:`read` folds the lines into one dict: per key, the record with the
greatest ``at`` wins, ties broken by the line's text, so every clone that holds the same lines
reads the same values whatever their order. A note written before this format (one JSON object)
still reads, and is rewritten as records on the next :func:`update`.

:func:`pull` and :func:`push` share the notes with a remote: fetch its notes ref, merge it into
ours line by line, push the result (retrying when another clone pushed in between).
"""

from __future__ import annotations

import hashlib
import json
import re
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any, Literal

from mlratchet.errors import BadInputError, ConflictError, IntegrityError
from mlratchet.gitio import BlobReader, GitError, run

NOTES_REF = "refs/notes/mlratchet"
#: Where :func:`pull` keeps the last fetched copy of a remote's notes.
REMOTE_NOTES_PREFIX = "refs/notes/mlratchet-remote/"
#: The version of the record format, in each line's ``v``.
FORMAT_VERSION = 1
#: The ``at`` of records converted from a note in the old one-object format: older than any.
LEGACY_AT = "1970-01-01T00:00:00.000000Z"
#: How many times :func:`push` pulls and pushes again when another clone pushed in between.
PUSH_ATTEMPTS = 3

_AT_FORMAT = "%Y-%m-%dT%H:%M:%S.%fZ"
_AT_RE = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{6}Z")


# --- the record format -----------------------------------------------------------------------


@dataclass(frozen=True)
class Record:
    """One line of a note: ``value`` for ``key``, written at ``at`` (UTC, microseconds)."""

    at: str
    key: str
    value: Any

    def line(self) -> str:
        """The record as one line of JSON (sorted keys, so the same record is the same text)."""
        data = {"at": self.at, "key": self.key, "v": FORMAT_VERSION, "value": self.value}
        return json.dumps(data, sort_keys=True, separators=(",", ":"), allow_nan=False)


def _where(commit: str) -> str:
    return f"git note {NOTES_REF} on {commit[:12]}"


def _fix(commit: str) -> str:
    return f"fix or remove it with `git notes --ref {NOTES_REF} edit {commit[:12]}`"


def _parse_line(commit: str, number: int, line: str) -> Record:
    try:
        data = json.loads(line)
    except json.JSONDecodeError as exc:
        raise IntegrityError(
            f"{_where(commit)}, line {number}: not JSON ({exc.msg}); {_fix(commit)}"
        ) from None
    if (
        not isinstance(data, dict)
        or data.get("v") != FORMAT_VERSION
        or not isinstance(data.get("key"), str)
        or not isinstance(data.get("at"), str)
        or not _AT_RE.fullmatch(data["at"])
        or "value" not in data
    ):
        raise IntegrityError(
            f"{_where(commit)}, line {number}: not an mlratchet record "
            f'(expected {{"at", "key", "v": {FORMAT_VERSION}, "value"}}); {_fix(commit)}'
        )
    return Record(at=data["at"], key=data["key"], value=data["value"])


def parse(commit: str, text: str) -> list[Record]:
    """The records of a note's text, sorted oldest first (by ``at``, then by the line's text).

    A note in the old format (one JSON object, keys to values) gives one record per key, dated
    :data:`LEGACY_AT`. A line that is not a record is an :class:`IntegrityError` naming the
    commit and the line.
    """
    stripped = text.strip()
    if not stripped:
        return []
    try:
        whole = json.loads(stripped)
    except json.JSONDecodeError:
        whole = None
    if isinstance(whole, dict) and "v" not in whole:
        return sorted((Record(LEGACY_AT, k, v) for k, v in whole.items()), key=_order)
    records = [
        _parse_line(commit, number, line)
        for number, line in enumerate(text.splitlines(), start=1)
        if line.strip()
    ]
    return sorted(records, key=_order)


def _order(record: Record) -> tuple[str, str]:
    return record.at, record.line()


def fold(records: list[Record]) -> dict[str, Any]:
    """Keys to values: for each key, the last of ``records`` in their order wins."""
    return {record.key: record.value for record in sorted(records, key=_order)}


def _latest(records: list[Record]) -> list[Record]:
    """The winning record of each key, oldest first: what a compacted note keeps."""
    winners = {record.key: record for record in sorted(records, key=_order)}
    return sorted(winners.values(), key=_order)


def _now_after(records: list[Record]) -> str:
    """Now, but strictly after every record already there (a clock that went back included)."""
    now = datetime.now(UTC)
    if records:
        newest = datetime.strptime(max(r.at for r in records), _AT_FORMAT).replace(tzinfo=UTC)
        now = max(now, newest + timedelta(microseconds=1))
    return now.strftime(_AT_FORMAT)


# --- one commit's note -----------------------------------------------------------------------


def _text(repo: Path | str, commit: str) -> str:
    proc = run(repo, "notes", "--ref", NOTES_REF, "show", commit, check=False)
    if proc.returncode != 0:
        return ""
    try:
        return proc.stdout.decode("utf-8")
    except UnicodeDecodeError:
        raise IntegrityError(f"{_where(commit)} is not UTF-8 text; {_fix(commit)}") from None


def read(repo: Path | str, commit: str) -> dict[str, Any]:
    """The record attached to ``commit``, keys to values ({} when there is none)."""
    return fold(parse(commit, _text(repo, commit)))


def annotated(repo: Path | str) -> frozenset[str]:
    """The commits that have a note (one ``git notes list``): read only those of many."""
    proc = run(repo, "notes", "--ref", NOTES_REF, "list", check=False)
    if proc.returncode != 0:
        return frozenset()
    return frozenset(line.split()[1] for line in proc.stdout.decode().splitlines() if " " in line)


def read_key(repo: Path | str, key: str) -> dict[str, Any]:
    """``key``'s value in every note that has one, commit -> value.

    One ``git notes list`` and one ``git cat-file --batch``, whatever the number of notes. A
    note that does not parse is skipped here (it is evidence of nothing; :func:`check` and
    :func:`read` report it).
    """
    proc = run(repo, "notes", "--ref", NOTES_REF, "list", check=False)
    if proc.returncode != 0:
        return {}
    pairs = [line.split() for line in proc.stdout.decode().splitlines() if " " in line]
    found: dict[str, Any] = {}
    with BlobReader(repo) as reader:
        for blob, commit in pairs:
            data = reader.read_object(blob) or b""
            if key.encode() not in data:
                continue
            try:
                value = fold(parse(commit, data.decode("utf-8"))).get(key)
            except (IntegrityError, UnicodeDecodeError):
                continue
            if value is not None:
                found[commit] = value
    return found


def update(repo: Path | str, commit: str, key: str, value: Any) -> dict[str, Any]:
    """Set ``key`` in the note on ``commit`` (other keys kept); return the whole record.

    The note keeps the latest record of each key plus the new one, so it does not grow with
    every run; lines dropped here are superseded, and if a merge brings them back, they lose.
    """
    records = _latest(parse(commit, _text(repo, commit)))
    new = Record(at=_now_after(records), key=key, value=value)
    records = [r for r in records if r.key != key] + [new]
    text = "".join(r.line() + "\n" for r in sorted(records, key=_order))
    try:
        run(
            repo,
            "notes",
            "--ref",
            NOTES_REF,
            "add",
            "--force",
            "--file=-",
            commit,
            input=text.encode("utf-8"),
        )
    except GitError as exc:
        if "lock" in str(exc):
            raise ConflictError(f"{NOTES_REF} is being updated by another process; retry") from None
        raise
    return fold(records)


# --- sharing with a remote -------------------------------------------------------------------

PullStatus = Literal["no-remote-notes", "created", "up-to-date", "fast-forward", "merged"]


@dataclass(frozen=True)
class NotesPull:
    """The outcome of :func:`pull`: what the remote had and what became of our notes ref."""

    remote: str
    status: PullStatus
    remote_ref: str | None  # where the fetched copy is kept; None when the remote has no notes
    remote_commit: str | None
    before: str | None  # our notes ref before (None: absent)
    after: str | None  # and after
    changed: int  # how many commits' notes the pull added or changed here

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape of ``ratchet notes pull``."""
        return {
            "remote": self.remote,
            "ref": NOTES_REF,
            "status": self.status,
            "remote_ref": self.remote_ref,
            "remote_commit": self.remote_commit,
            "before": self.before,
            "after": self.after,
            "changed": self.changed,
        }


@dataclass(frozen=True)
class NotesPush:
    """The outcome of :func:`push`: the last pull, and whether the remote's ref moved."""

    remote: str
    pushed: bool  # False: the remote already had our notes, or neither side has any
    commit: str | None  # our notes ref as pushed
    attempts: int
    pull: NotesPull

    def to_json(self) -> dict[str, Any]:
        """The ``--json`` shape of ``ratchet notes push``."""
        return {
            "remote": self.remote,
            "ref": NOTES_REF,
            "pushed": self.pushed,
            "commit": self.commit,
            "attempts": self.attempts,
            "pull": self.pull.to_json(),
        }


def _git_message(stderr: bytes) -> str:
    lines = [line.strip() for line in stderr.decode(errors="replace").splitlines() if line.strip()]
    first = next((line for line in lines if line.startswith("fatal:")), lines[0] if lines else "")
    return first.removeprefix("fatal:").strip() or "no message from git"


def remote_ref(remote: str) -> str:
    """The ref :func:`pull` fetches ``remote``'s notes into (a URL or path gets a hash)."""
    plain = re.fullmatch(r"[A-Za-z0-9_-][A-Za-z0-9._-]*", remote)
    if plain and ".." not in remote and not remote.endswith(".lock"):
        return REMOTE_NOTES_PREFIX + remote
    return REMOTE_NOTES_PREFIX + "url-" + hashlib.sha256(remote.encode()).hexdigest()[:16]


def _ref(repo: Path | str, ref: str) -> str | None:
    proc = run(repo, "rev-parse", "--verify", "--quiet", f"{ref}^{{commit}}", check=False)
    return proc.stdout.decode().strip() or None


def _is_ancestor(repo: Path | str, ancestor: str, descendant: str) -> bool:
    return (
        run(repo, "merge-base", "--is-ancestor", ancestor, descendant, check=False).returncode == 0
    )


def _remote_notes(repo: Path | str, remote: str) -> str | None:
    """The commit of ``remote``'s notes ref, None if it has none; unreachable is bad input."""
    if remote.startswith("-"):
        raise BadInputError(f"bad remote name {remote!r}")
    if run(repo, "rev-parse", "--git-dir", check=False).returncode != 0:
        raise BadInputError(f"{Path(repo).resolve()}: not inside a git repository")
    proc = run(repo, "ls-remote", "--refs", remote, NOTES_REF, check=False)
    if proc.returncode != 0:
        raise BadInputError(
            f"cannot reach remote {remote!r}: {_git_message(proc.stderr)}; "
            "check `git remote -v` and your access to it"
        )
    for line in proc.stdout.decode(errors="replace").splitlines():
        sha, _, ref = line.partition("\t")
        if ref == NOTES_REF:
            return sha
    return None


def _changed(repo: Path | str, before: str | None, after: str | None) -> dict[str, str]:
    """Commit -> note blob of each note ``after`` adds or changes relative to ``before``."""
    if after is None or before == after:
        return {}
    if before is None:
        out = run(repo, "ls-tree", "-r", after).stdout.decode()
        pairs = [(line.split("\t")[1], line.split("\t")[0].split()[2]) for line in out.splitlines()]
    else:
        out = run(repo, "diff-tree", "-r", "--no-renames", before, after).stdout.decode()
        pairs = [
            (line.split("\t")[1], line.split("\t")[0].split()[3])
            for line in out.splitlines()
            if not line.split("\t")[0].endswith("D")
        ]
    return {path.replace("/", ""): blob for path, blob in pairs}


def _check(repo: Path | str, blobs: dict[str, str]) -> None:
    """Parse each note (commit -> blob); the first that is not valid is an IntegrityError."""
    with BlobReader(repo) as reader:
        for commit, blob in sorted(blobs.items()):
            data = reader.read_object(blob) or b""
            try:
                parse(commit, data.decode("utf-8"))
            except UnicodeDecodeError:
                raise IntegrityError(
                    f"{_where(commit)} is not UTF-8 text; {_fix(commit)}"
                ) from None


def check(repo: Path | str) -> int:
    """Check that every note under :data:`NOTES_REF` parses; return how many there are."""
    proc = run(repo, "notes", "--ref", NOTES_REF, "list", check=False)
    pairs = [line.split() for line in proc.stdout.decode().splitlines()]
    _check(repo, {commit: blob for blob, commit in pairs})
    return len(pairs)


def pull(repo: Path | str, remote: str = "origin") -> NotesPull:
    """Fetch ``remote``'s notes and merge them into ours, line by line (``cat_sort_uniq``).

    Our notes ref is created when absent; a remote without notes is a result, not an error.
    Both clones' records survive the merge, and :func:`read` picks the same winners in both.
    A note from the remote that does not parse is an :class:`IntegrityError` (exit 3), and our
    ref is left as it was.
    """
    sha = _remote_notes(repo, remote)
    before = _ref(repo, NOTES_REF)
    if sha is None:
        return NotesPull(remote, "no-remote-notes", None, None, before, before, 0)
    tracking = remote_ref(remote)
    proc = run(
        repo, "fetch", "--quiet", "--no-tags", remote, f"+{NOTES_REF}:{tracking}", check=False
    )
    if proc.returncode != 0:
        raise BadInputError(
            f"cannot fetch {NOTES_REF} from remote {remote!r}: {_git_message(proc.stderr)}"
        )
    fetched = _ref(repo, tracking) or sha
    status: PullStatus
    if before is None:
        run(repo, "update-ref", NOTES_REF, fetched, "")
        status = "created"
    elif before == fetched or _is_ancestor(repo, fetched, before):
        status = "up-to-date"
    else:
        status = "fast-forward" if _is_ancestor(repo, before, fetched) else "merged"
        merge = run(
            repo, "notes", "--ref", NOTES_REF, "merge", "--quiet", "-s", "cat_sort_uniq", tracking,
            check=False,
        )  # fmt: skip
        if merge.returncode != 0:
            message = _git_message(merge.stderr)
            if "lock" in message:
                raise ConflictError(f"{NOTES_REF} is being updated by another process; retry")
            raise ConflictError(f"cannot merge {remote}'s notes into {NOTES_REF}: {message}")
    after = _ref(repo, NOTES_REF)
    changed = _changed(repo, before, after)
    try:
        _check(repo, changed)
    except IntegrityError as exc:
        # Do not keep a corrupt note from the remote: our ref goes back to what it was.
        if before is None:
            run(repo, "update-ref", "-d", NOTES_REF, after or "")
        else:
            run(repo, "update-ref", NOTES_REF, before, after or "")
        raise IntegrityError(f"{exc} (from remote {remote!r}; the local notes were kept)") from None
    return NotesPull(remote, status, tracking, fetched, before, after, len(changed))


_RACE = (
    "non-fast-forward",
    "fetch first",
    "stale info",
    "lock",
    "incorrect old value",
    "failed to",
)


def push(repo: Path | str, remote: str = "origin", *, attempts: int = PUSH_ATTEMPTS) -> NotesPush:
    """Pull ``remote``'s notes, then push ours to it; retry when another clone pushed meanwhile.

    A local note that does not parse is an :class:`IntegrityError` (exit 3), pushed nowhere.
    After ``attempts`` rejected pushes, a :class:`ConflictError` (exit 4).
    """
    last = ""
    for attempt in range(1, attempts + 1):
        pulled = pull(repo, remote)
        ours = pulled.after
        if ours is None or ours == pulled.remote_commit:
            return NotesPush(remote, False, ours, attempt, pulled)
        check(repo)  # never share a note that does not read
        proc = run(
            repo, "push", "--porcelain", remote, f"{NOTES_REF}:{NOTES_REF}",
            check=False,
        )  # fmt: skip
        if proc.returncode == 0:
            return NotesPush(remote, True, ours, attempt, pulled)
        status = [
            line
            for line in proc.stdout.decode(errors="replace").splitlines()
            if line.startswith("!") and NOTES_REF in line
        ]
        last = status[0].split("\t")[-1] if status else _git_message(proc.stderr)
        if not status:
            raise BadInputError(f"cannot push {NOTES_REF} to remote {remote!r}: {last}")
        if not any(word in last for word in _RACE):
            raise ConflictError(f"remote {remote!r} rejected {NOTES_REF}: {last}")
    raise ConflictError(
        f"remote {remote!r} rejected {NOTES_REF} {attempts} times ({last}): other clones keep "
        "pushing notes; retry `ratchet notes push`"
    )
