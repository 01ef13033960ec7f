"""The files of one revision: the work tree on disk, or a commit's tree read straight from git.

A :class:`Snapshot` answers the few questions collection needs (where are the ``dvc.yaml``
files, what are a file's bytes, what is under a directory) without checking anything out. A
committed tree is listed once (``git ls-tree -r``) and its blobs are read through one
``git cat-file --batch`` process; each blob carries its sha so that parsing can be shared
between revisions that hold the same bytes.
"""

from __future__ import annotations

import bisect
import os
import posixpath
from abc import ABC, abstractmethod
from collections.abc import Iterable
from pathlib import Path

from mlratchet.dvcroot import Root
from mlratchet.errors import BadInputError, RefusedError
from mlratchet.gitio import BlobReader, run

DVC_FILE = "dvc.yaml"
LOCK_FILE = "dvc.lock"

#: git's file mode of a symbolic link: the blob holds the link's target.
SYMLINK_MODE = b"120000"
#: How many links a path may go through before it is taken for a loop (Linux's MAXSYMLINKS).
MAX_LINKS = 40


class SymlinkEscapeError(RefusedError):
    """A metrics, params or plots file that is a symlink leading out of the project (exit 5)."""

    def __init__(self, path: str, where: str, target: str) -> None:
        super().__init__(
            f"{path} at {where} is a symlink to {target}, outside the project; refusing to "
            "read it (commit the file itself, or point the link inside the repository)"
        )
        self.path = path
        self.where = where
        self.target = target


class Snapshot(ABC):
    """The files of the project at one revision, by repo-relative POSIX path."""

    root: Root
    label: str  # for messages: "workspace", or "HEAD~1 (a1b2c3d)"
    sha: str | None  # the commit, None for the work tree

    @abstractmethod
    def dvcfiles(self) -> list[str]:
        """Every ``dvc.yaml`` of the project, sorted."""

    @abstractmethod
    def read(self, path: str) -> tuple[bytes, str | None] | None:
        """The bytes of a file and a key identifying them (blob sha, or None); None if absent."""

    def key(self, path: str) -> str | None:
        """A key naming the bytes of ``path`` (its blob sha), or None where there is none."""
        return None

    @abstractmethod
    def exists(self, path: str) -> bool:
        """Whether ``path`` is a file."""

    @abstractmethod
    def is_dir(self, path: str) -> bool:
        """Whether ``path`` is a directory with files in it."""

    @abstractmethod
    def files_under(self, path: str) -> list[str]:
        """Every file below directory ``path``, sorted."""


class WorkspaceSnapshot(Snapshot):
    """The work tree, read from disk."""

    def __init__(self, root: Root) -> None:
        self.root = root
        self.label = "workspace"
        self.sha = None
        self._bytes: dict[str, bytes | None] = {}

    def dvcfiles(self) -> list[str]:
        # DVC walks the work tree; git knows the same files (tracked or untracked, not ignored)
        # without descending into the data directories that DVC outputs fill.
        proc = run(
            self.root.path,
            "ls-files",
            "-z",
            "--cached",
            "--others",
            "--exclude-standard",
            "--",
            f":(glob)**/{DVC_FILE}",
        )
        names = {n for n in proc.stdout.decode("utf-8", "surrogateescape").split("\0") if n}
        return sorted(n for n in names if (self.root.path / n).is_file())

    def _allowed(self) -> tuple[Path, ...]:
        """Where a link may lead: the project, and the DVC cache (``cache.type: symlink``)."""
        from mlratchet.dvclock import cache_dir

        return (self.root.path.resolve(), cache_dir(self.root.path).resolve())

    def resolve(self, path: str) -> Path:
        """The file ``path`` is once every link is followed; one outside the project is refused."""
        real = (self.root.path / path).resolve()
        if not any(real.is_relative_to(base) for base in self._allowed()):
            raise SymlinkEscapeError(path, self.label, str(real))
        return real

    def _content(self, path: str) -> bytes | None:
        if path not in self._bytes:
            try:
                self._bytes[path] = self.resolve(path).read_bytes()
            except (FileNotFoundError, NotADirectoryError, IsADirectoryError):
                self._bytes[path] = None
            except RuntimeError:  # a symlink loop
                raise BadInputError(
                    f"{path} in the workspace: a loop of symlinks; replace it by the file"
                ) from None
            except OSError as exc:
                raise BadInputError(
                    f"{path} in the workspace: cannot read: {exc.strerror}"
                ) from None
        return self._bytes[path]

    def read(self, path: str) -> tuple[bytes, str | None] | None:
        data = self._content(path)
        return None if data is None else (data, blob_sha(data))

    def key(self, path: str) -> str | None:
        # The sha git would give the file: a work-tree file equal to a committed one shares
        # its parse with the commit's (``metrics diff HEAD`` parses an unchanged file once).
        data = self._content(path)
        return None if data is None else blob_sha(data)

    def exists(self, path: str) -> bool:
        return (self.root.path / path).is_file()

    def is_dir(self, path: str) -> bool:
        return (self.root.path / path).is_dir()

    def files_under(self, path: str) -> list[str]:
        base = self.root.path / path
        out: list[str] = []
        for dirpath, dirnames, filenames in os.walk(base):
            dirnames.sort()
            rel = Path(dirpath).relative_to(self.root.path).as_posix()
            out.extend(f"{rel}/{name}" for name in filenames)
        return sorted(out)


class TreeSnapshot(Snapshot):
    """A commit's tree: path -> blob sha, contents through a shared :class:`BlobReader`."""

    def __init__(
        self,
        root: Root,
        *,
        sha: str,
        label: str,
        entries: dict[str, str],
        blobs: BlobReader,
        dvcfiles: Iterable[str] | None = None,
        links: Iterable[str] = (),
    ) -> None:
        self.root = root
        self.sha = sha
        self.label = label
        self.entries = entries
        self.links = frozenset(links)  # the entries that are symlinks (mode 120000)
        self.blobs = blobs
        self._dvcfiles = sorted(dvcfiles) if dvcfiles is not None else None
        self._sorted: list[str] | None = None

    @classmethod
    def of_commit(cls, root: Root, sha: str, label: str, blobs: BlobReader) -> TreeSnapshot:
        """Build the snapshot of commit ``sha`` from one ``git ls-tree -r``."""
        links: set[str] = set()
        entries = ls_tree(root, sha, links)
        return cls(root, sha=sha, label=label, entries=entries, blobs=blobs, links=links)

    def resolve(self, path: str) -> str:
        """``path`` with every symlink in it followed (git stores a link as a blob holding its
        target); a link whose target leaves the project is :class:`SymlinkEscapeError`."""
        if not self.links:
            return path
        parts = path.split("/")
        done: list[str] = []
        hops = 0
        while parts:
            here = "/".join([*done, parts[0]])
            if here not in self.links:
                done.append(parts.pop(0))
                continue
            hops += 1
            data = self.blobs.read_object(self.entries[here])
            target = (data or b"").decode("utf-8", "surrogateescape")
            joined = posixpath.normpath(posixpath.join(posixpath.dirname(here), target))
            if target.startswith("/") or joined == ".." or joined.startswith("../"):
                shown = target if target.startswith("/") else f"{target} ({joined})"
                raise SymlinkEscapeError(path, self.label, shown)
            if hops > MAX_LINKS:
                raise BadInputError(
                    f"{path} at {self.label}: a loop of symlinks; replace it by the file"
                )
            parts = [*([] if joined == "." else joined.split("/")), *parts[1:]]
            done = []
        return "/".join(done)

    def dvcfiles(self) -> list[str]:
        if self._dvcfiles is None:
            self._dvcfiles = sorted(p for p in self.entries if is_dvcfile(p))
        return self._dvcfiles

    def read(self, path: str) -> tuple[bytes, str | None] | None:
        sha = self.key(path)
        if sha is None:
            return None
        data = self.blobs.read_object(sha)
        return None if data is None else (data, sha)

    def exists(self, path: str) -> bool:
        return self.key(path) is not None

    def key(self, path: str) -> str | None:
        sha = self.entries.get(path)
        if sha is not None and not self.links:
            return sha
        real = self.resolve(path)
        return None if real in self.links else self.entries.get(real)

    def _keys(self) -> list[str]:
        if self._sorted is None:
            self._sorted = sorted(self.entries)
        return self._sorted

    def is_dir(self, path: str) -> bool:
        keys = self._keys()
        prefix = self.resolve(path.rstrip("/")) + "/"
        i = bisect.bisect_left(keys, prefix)
        return i < len(keys) and keys[i].startswith(prefix)

    def files_under(self, path: str) -> list[str]:
        keys = self._keys()
        prefix = self.resolve(path.rstrip("/")) + "/"
        i = bisect.bisect_left(keys, prefix)
        out = []
        while i < len(keys) and keys[i].startswith(prefix):
            out.append(keys[i])
            i += 1
        return out


def blob_sha(data: bytes) -> str:
    """The git object id of a blob with these bytes (``git hash-object``)."""
    import hashlib

    return hashlib.sha1(b"blob %d\0" % len(data) + data, usedforsecurity=False).hexdigest()


def is_dvcfile(path: str) -> bool:
    """Whether a repo-relative path names a ``dvc.yaml``."""
    return path == DVC_FILE or path.endswith("/" + DVC_FILE)


def ls_tree(root: Root, sha: str, links: set[str] | None = None) -> dict[str, str]:
    """Path (relative to the DVC root) -> blob sha of every file in commit ``sha``; the paths
    that are symlinks are added to ``links`` when it is given."""
    out = run(root.git_top, "ls-tree", "-r", "-z", "--full-tree", sha).stdout
    entries: dict[str, str] = {}
    prefix = root.prefix
    for record in out.split(b"\0"):
        if not record:
            continue
        meta, _, name = record.partition(b"\t")
        mode, kind, blob = meta.split(b" ")
        if kind != b"blob":
            continue
        path = name.decode("utf-8", "surrogateescape")
        if prefix:
            if not path.startswith(prefix):
                continue
            path = path[len(prefix) :]
        entries[path] = blob.decode()
        if links is not None and mode == SYMLINK_MODE:
            links.add(path)
    return entries


def read_blobs(git_top: Path, shas: Iterable[str]) -> dict[str, bytes]:
    """The contents of many blobs through one ``git cat-file --batch``, requests pipelined
    (:meth:`BlobReader.read_many`): no round trip per blob."""
    wanted = list(dict.fromkeys(shas))
    if not wanted:
        return {}
    with BlobReader(git_top) as blobs:
        return blobs.read_many(wanted)
