"""Git, through the ``git`` binary: fast, and with errors that name the revision.

One subprocess per question, or one long-lived ``git cat-file --batch`` for many blob reads
(:class:`BlobReader`): reading 1,000 revisions' metrics costs one process, not a thousand, and
nothing is ever checked out.
"""

from __future__ import annotations

import io
import os
import subprocess
from collections.abc import Iterable, Iterator
from pathlib import Path
from types import TracebackType
from typing import IO

from mlratchet.errors import BadInputError, RatchetError

#: The null object id: what git prints for "no object".
NULL_SHA = "0" * 40


class GitError(RatchetError):
    """A git command failed in a way no more specific error describes."""


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env.setdefault("GIT_TERMINAL_PROMPT", "0")
    env["LC_ALL"] = "C"
    return env


def _failed(args: tuple[str, ...], stderr: bytes) -> GitError:
    """The error of a failed ``git args...``: the command and git's last line."""
    message = stderr.decode(errors="replace").strip().splitlines()
    return GitError(f"git {' '.join(args)}: {message[-1] if message else 'failed'}")


def run(
    repo: Path | str, *args: str, input: bytes | None = None, check: bool = True
) -> subprocess.CompletedProcess[bytes]:
    """Run ``git -C repo args...``; raise :class:`GitError` with git's message when it fails."""
    proc = subprocess.run(
        ["git", "-C", str(repo), *args],
        input=input,
        capture_output=True,
        env=_env(),
        check=False,
    )
    if check and proc.returncode != 0:
        raise _failed(args, proc.stderr)
    return proc


def spawn(repo: Path | str, *args: str) -> subprocess.Popen[bytes]:
    """Start ``git -C repo args...`` with its stdout piped, to overlap it with other work;
    ``communicate()`` collects the output (its exit status is the caller's to judge)."""
    return subprocess.Popen(
        ["git", "-C", str(repo), *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
        env=_env(),
    )


def stream(repo: Path | str, *args: str, size: int = 1 << 20) -> Iterator[bytes]:
    """The stdout of ``git -C repo args...`` in pieces as git writes it (to work on while git
    goes on); :class:`GitError` with git's message, after the last piece, when it fails."""
    import tempfile

    with tempfile.TemporaryFile() as errors:
        proc = subprocess.Popen(
            ["git", "-C", str(repo), *args], stdout=subprocess.PIPE, stderr=errors, env=_env()
        )
        stdout = proc.stdout
        assert isinstance(stdout, io.BufferedReader)  # noqa: S101 - Popen with PIPE sets it
        try:
            while piece := stdout.read1(size):
                yield piece
        finally:
            stdout.close()
            if proc.poll() is None:
                proc.kill()
            proc.wait()
        if proc.returncode != 0:
            errors.seek(0)
            raise _failed(args, errors.read())


def git(repo: Path | str, *args: str, input: bytes | None = None) -> str:
    """Run git and return its stdout as text, trailing newline stripped."""
    return run(repo, *args, input=input).stdout.decode("utf-8", errors="replace").rstrip("\n")


#: What to do when a revision is missing because the clone is shallow.
SHALLOW_HINT = (
    "the clone is shallow; run `git fetch --unshallow` (or check out with fetch-depth: 0)"
)


def not_a_repository(path: Path | str) -> BadInputError:
    """The error for a directory outside any git repository (exit 2)."""
    return BadInputError(
        f"not a git repository: {Path(path).resolve()} (run inside a git repository, or git init)"
    )


def toplevel(path: Path | str = ".") -> Path:
    """The root of the git work tree containing ``path``."""
    proc = run(path, "rev-parse", "--show-toplevel", check=False)
    if proc.returncode != 0:
        raise not_a_repository(path)
    return Path(proc.stdout.decode().strip())


def is_shallow(repo: Path | str) -> bool:
    """Whether ``repo`` is a shallow clone (its history is cut at some commits)."""
    proc = run(repo, "rev-parse", "--is-shallow-repository", check=False)
    return proc.stdout.decode().strip() == "true"


def shallow_boundary(repo: Path | str) -> frozenset[str]:
    """The commits of a shallow clone whose parents were not fetched (empty in a full clone)."""
    if not is_shallow(repo):
        return frozenset()
    where = Path(git(repo, "rev-parse", "--git-path", "shallow"))
    path = where if where.is_absolute() else Path(repo) / where
    try:
        return frozenset(path.read_text(encoding="ascii").split())
    except OSError:
        return frozenset()


def rev_parse(repo: Path | str, rev: str) -> str:
    """The full sha of the commit ``rev`` names; an unknown revision is bad input, which says
    when the directory is no git repository or the clone is too shallow to hold ``rev``."""
    if rev.startswith("-"):
        raise BadInputError(f"unknown revision {rev!r}")
    proc = run(
        repo,
        "rev-parse",
        "--verify",
        "--quiet",
        "--end-of-options",
        f"{rev}^{{commit}}",
        check=False,
    )
    if proc.returncode != 0:
        if run(repo, "rev-parse", "--git-dir", check=False).returncode != 0:
            raise not_a_repository(repo)
        if is_shallow(repo):
            raise BadInputError(f"unknown revision {rev!r}: {SHALLOW_HINT}")
        raise BadInputError(f"unknown revision {rev!r}")
    return proc.stdout.decode().strip()


def head(repo: Path | str) -> str | None:
    """The sha of HEAD, or None in a repository without commits."""
    proc = run(repo, "rev-parse", "--verify", "--quiet", "HEAD^{commit}", check=False)
    return proc.stdout.decode().strip() or None


def commit_times(repo: Path | str, shas: Iterable[str]) -> dict[str, int]:
    """Each commit's committer time, in milliseconds since the epoch (one ``git log`` call)."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return {}
    out = git(
        repo,
        "log",
        "--no-walk=unsorted",
        "--stdin",
        "--format=%H %ct",
        input="\n".join(wanted).encode(),
    )
    times: dict[str, int] = {}
    for line in out.splitlines():
        sha, _, seconds = line.partition(" ")
        times[sha] = int(seconds) * 1000
    return times


def dirty_paths(repo: Path | str) -> list[str]:
    """Tracked files with uncommitted changes (staged or not); untracked files do not count."""
    out = git(repo, "status", "--porcelain=v1", "-z", "--untracked-files=no")
    return sorted(entry[3:] for entry in out.split("\0") if entry)


def read_blob(repo: Path | str, rev: str, path: str) -> bytes | None:
    """The bytes of ``path`` at ``rev``, or None if the path does not exist there."""
    # "./": the path is relative to ``repo``, which may be a DVC root below the git top level.
    proc = run(repo, "cat-file", "blob", f"{rev}:./{path}", check=False)
    return proc.stdout if proc.returncode == 0 else None


#: The most request bytes :meth:`BlobReader.read_many` writes before it reads the answers: one
#: page, the least a pipe holds, so that the write never waits on git, which may itself be
#: waiting for its answers to be read.
_CHUNK = 4096


class BlobReader:
    """Many blob reads through one ``git cat-file --batch`` process.

    >>> with BlobReader(repo) as blobs:
    ...     data = blobs.read("HEAD~3", "metrics/metrics.json")   # bytes, or None if absent
    ...     found = blobs.read_many(shas)                          # pipelined: sha -> bytes

    :meth:`read_object` asks and waits for each answer, a round trip per object;
    :meth:`read_many` sends requests a page at a time and then reads their answers, and
    :meth:`prefetch` keeps such answers for the :meth:`read_object` calls that follow.
    """

    def __init__(self, repo: Path | str) -> None:
        self.repo = Path(repo)
        self._proc: subprocess.Popen[bytes] | None = None
        self._stdin: IO[bytes] | None = None
        self._stdout: IO[bytes] | None = None
        self._ahead: dict[str, bytes | None] = {}  # prefetched, each given out once

    def __enter__(self) -> BlobReader:
        self._proc = subprocess.Popen(
            ["git", "-C", str(self.repo), "cat-file", "--batch"],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            env=_env(),
        )
        self._stdin, self._stdout = self._proc.stdin, self._proc.stdout
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()

    def close(self) -> None:
        """Stop the git process."""
        if self._proc is not None and self._stdin is not None and self._stdout is not None:
            self._stdin.close()
            self._proc.wait()
            self._stdout.close()
        self._proc = self._stdin = self._stdout = None

    def _pipes(self) -> tuple[IO[bytes], IO[bytes]]:
        if self._stdin is None or self._stdout is None:
            raise RuntimeError("BlobReader used outside its `with` block")
        return self._stdin, self._stdout

    @staticmethod
    def _answer(stdout: IO[bytes]) -> bytes | None:
        header = stdout.readline().decode().rstrip("\n")
        if header.endswith((" missing", " ambiguous")):
            return None
        _sha, _kind, size = header.split(" ")
        data = stdout.read(int(size))
        stdout.read(1)  # the newline after the content
        return data

    def read_object(self, spec: str) -> bytes | None:
        """The content of the object ``spec`` (``rev:path``, a sha...), or None if missing."""
        if spec in self._ahead:
            return self._ahead.pop(spec)
        stdin, stdout = self._pipes()
        if "\n" in spec:
            return None
        stdin.write(spec.encode() + b"\n")
        stdin.flush()
        return self._answer(stdout)

    def read_many(self, specs: Iterable[str]) -> dict[str, bytes]:
        """The content of each object in ``specs`` (missing ones left out), requests pipelined:
        a round trip per page of requests, not per object."""
        return dict(self.iter_many(specs))

    def iter_many(self, specs: Iterable[str]) -> Iterator[tuple[str, bytes]]:
        """``(spec, content)`` of each object in ``specs`` as git answers (missing ones left
        out), requests fed on a thread: git reads the next ones while the caller works."""
        import threading

        stdin, stdout = self._pipes()
        wanted = [s for s in dict.fromkeys(specs) if "\n" not in s]
        if not wanted:
            return

        def feed() -> None:
            try:
                for start in range(0, len(wanted), 512):
                    stdin.write("".join(s + "\n" for s in wanted[start : start + 512]).encode())
                stdin.flush()
            except (BrokenPipeError, ValueError):  # git stopped, or the reader was closed
                pass

        writer = threading.Thread(target=feed, daemon=True)
        writer.start()
        try:
            for spec in wanted:
                data = self._answer(stdout)
                if data is not None:
                    yield spec, data
        finally:
            writer.join()

    def prefetch(self, specs: Iterable[str]) -> None:
        """Read ``specs`` now, pipelined (:meth:`read_many`), for the :meth:`read_object`
        calls that follow: each is answered from memory once, then forgotten."""
        wanted = [s for s in dict.fromkeys(specs) if s not in self._ahead]
        found = self.read_many(wanted)
        self._ahead.update((s, found.get(s)) for s in wanted)

    def read(self, rev: str, path: str) -> bytes | None:
        """The bytes of ``path`` at ``rev``, or None if it does not exist there."""
        return self.read_object(f"{rev}:{path}")


def object_ids(git_top: Path, specs: list[str]) -> list[str | None]:
    """The object id each ``rev:path`` names (None where there is none), in order, through one
    ``git cat-file --batch-check --buffer``, requests pipelined as :class:`BlobReader` does."""
    if not specs:
        return []
    sendable = ["" if "\n" in spec else spec for spec in specs]  # batch input is line-based
    payload = "".join(f"{spec}\n" for spec in sendable).encode("utf-8", "surrogateescape")
    lines = object_ids_raw(git_top, payload).split(b"\n")
    out: list[str | None] = []
    for i, spec in enumerate(sendable):
        line = lines[i] if i < len(lines) else b""
        out.append(line.decode() if spec and len(line) == 40 and b" " not in line else None)
    return out


def object_ids_raw(git_top: Path | str, payload: bytes | Path) -> bytes:
    """What ``git cat-file --batch-check=%(objectname) --buffer`` prints for ``payload`` (one
    ``rev:path`` a line; bytes fed on a thread while read, or a file git reads itself): an id a
    line, or ``<spec> missing``."""
    import threading

    source = payload.open("rb") if isinstance(payload, Path) else None
    try:
        proc = subprocess.Popen(
            ["git", "-C", str(git_top), "cat-file", "--batch-check=%(objectname)", "--buffer"],
            stdin=subprocess.PIPE if source is None else source,
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
            env={**os.environ, "GIT_TERMINAL_PROMPT": "0", "LC_ALL": "C"},
        )
    finally:
        if source is not None:
            source.close()  # the child has its own descriptor
    stdin, stdout = proc.stdin, proc.stdout
    assert stdout is not None  # noqa: S101 - Popen with PIPE sets it

    def feed() -> None:
        assert stdin is not None and isinstance(payload, bytes)  # noqa: S101 - fed bytes only
        try:
            stdin.write(payload)
        except BrokenPipeError:
            pass
        finally:
            stdin.close()

    writer = threading.Thread(target=feed, daemon=True) if stdin is not None else None
    if writer is not None:
        writer.start()
    try:
        out = stdout.read()
    finally:
        if writer is not None:
            writer.join()
        stdout.close()
        proc.wait()
    return out
