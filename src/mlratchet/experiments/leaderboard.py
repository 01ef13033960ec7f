"""The leaderboard: every experiment of a baseline, its params and metrics, judged and ranked.

:func:`load` reads the experiments (``refs/exps``, DVC's and ours alike) straight from git,
nothing checked out: one ``git for-each-ref``, then, per baseline, one ``git ls-tree -r`` and its
policy and note; every commit, tree and file of every experiment comes through one
``git cat-file --batch`` process. An experiment's tree is its baseline's with the entries that
differ: only the subtrees whose ids differ are read, so 1,000 experiments cost a few thousand
small reads, asked in a few pipelined batches (the commits, the differing trees a level at a
time, the changed files: :meth:`~mlratchet.gitio.BlobReader.prefetch`), not one round trip
each. Files are parsed once per blob, flattened once per blob, and ``dvc.yaml`` once per
version (:class:`~mlratchet.metrics.collect.Reader`): experiments normally share their
baseline's, and one that changed it is read with its own.

Each experiment is judged against its baseline commit's metrics by the ``metrics:`` rules of
``ratchet.yaml`` at that baseline (:func:`mlratchet.metrics.verdict.judge`), and ranked by the
primary metric (``experiments: primary:``, else the first rule), best first; experiments
without a number for it come last, unranked. Without any rule they are listed by name.

Failed experiments (the ``exp`` git note of the baseline, key ``failed``) are listed with
status ``failed``, their error and their params (the baseline's with the point applied), and
no metrics. An experiment whose files cannot be read (a malformed metrics file...) is listed
with the error and what could be read.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypedDict

from mlratchet.dvcroot import Root, find_root
from mlratchet.errors import BadInputError
from mlratchet.experiments.refs import ExpRef
from mlratchet.gitio import BlobReader, run
from mlratchet.metrics.collect import MissingFileError, Reader
from mlratchet.metrics.parse import flat_view, metrics_flat, suffix
from mlratchet.metrics.source import (
    SYMLINK_MODE,
    TreeSnapshot,
    is_dvcfile,
    ls_tree,
)

if TYPE_CHECKING:
    from mlratchet.metrics.api import Comparison
    from mlratchet.metrics.verdict import Verdict
    from mlratchet.policy import MetricRule, Policy

#: path -> flat key -> value, as :func:`mlratchet.metrics.read_metrics` returns.
Flat = dict[str, dict[str, Any]]
Direction = Literal["higher", "lower"]
Status = Literal["success", "failed"]
NOTE_KEY = "exp"


# -- the JSON contract ----------------------------------------------------------------------
class VerdictJson(TypedDict):
    """One declared metric of one experiment against its baseline."""

    key: str
    path: str | None
    old: Any
    new: Any
    status: str  # improved, unchanged, regressed, added, missing, not finite, not a number


class BaselineJson(TypedDict):
    """The baseline commit the leaderboard is shown for."""

    rev: str
    name: str | None
    params: Flat
    metrics: Flat


class PrimaryJson(TypedDict):
    """The metric the experiments are ranked by."""

    metric: str
    direction: Direction


class ExperimentJson(TypedDict):
    """One row of the leaderboard."""

    name: str
    ref: str
    rev: str | None
    baseline: str
    status: Status
    error: str | None
    params: Flat
    metrics: Flat
    verdicts: list[VerdictJson]
    rank: int | None


class LeaderboardJson(TypedDict):
    """``ratchet exp show --json`` (and what the HTML page is built from)."""

    baseline: BaselineJson
    primary: PrimaryJson | None
    swept: list[list[str]]
    experiments: list[ExperimentJson]


# -- the data -------------------------------------------------------------------------------
@dataclass(frozen=True)
class Baseline:
    """A baseline commit: its branch (or tag) name, params and metrics."""

    rev: str
    name: str | None
    params: Flat
    metrics: Flat


@dataclass(frozen=True)
class Primary:
    """The ranking metric (a flat key) and the direction that is better."""

    metric: str
    direction: Direction

    def value(self, metrics: Flat) -> float | None:
        """The first finite number under this key in ``metrics`` (files in order), or None."""
        for flat in metrics.values():
            value = flat.get(self.metric)
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            if math.isfinite(value):
                return float(value)
        return None


@dataclass(frozen=True)
class Row:
    """One experiment."""

    name: str
    ref: str
    rev: str | None  # None for a failed experiment (it has no commit)
    baseline: str
    status: Status
    error: str | None
    params: Flat
    metrics: Flat
    verdicts: tuple[Verdict, ...] = ()
    rank: int | None = None

    def to_json(self) -> ExperimentJson:
        """The row as in :class:`ExperimentJson`."""
        return {
            "name": self.name,
            "ref": self.ref,
            "rev": self.rev,
            "baseline": self.baseline,
            "status": self.status,
            "error": self.error,
            "params": self.params,
            "metrics": self.metrics,
            "verdicts": [
                {"key": v.key, "path": v.path, "old": v.old, "new": v.new, "status": str(v.status)}
                for v in self.verdicts
            ],
            "rank": self.rank,
        }


@dataclass(frozen=True)
class Leaderboard:
    """The experiments of one baseline (or of all), sorted best first."""

    baseline: Baseline
    primary: Primary | None
    swept: tuple[tuple[str, str], ...]  # (params file, flat key) that some experiment changed
    experiments: tuple[Row, ...]
    baselines: Mapping[str, Baseline] = field(default_factory=dict)  # by commit, shown first
    #: The flat metric keys the shown baseline's ``ratchet.yaml`` names: ``experiments.primary``,
    #: then the keys under ``metrics:`` (:func:`named_metrics`).
    policy_metrics: tuple[str, ...] = ()

    def shown_metrics(self, all_metrics: bool = False) -> tuple[str, ...] | None:
        """The flat metric keys a table or chart shows: the ranking metric, then those the
        policy names; None (every metric) with ``all_metrics`` or when there are none."""
        if all_metrics:
            return None
        ranking = (self.primary.metric,) if self.primary else ()
        return tuple(dict.fromkeys([*ranking, *self.policy_metrics])) or None

    def to_json(self) -> LeaderboardJson:
        """The leaderboard as in :class:`LeaderboardJson` (NaN and infinities as strings)."""
        from mlratchet.metrics.render import json_safe

        base = self.baseline
        data: LeaderboardJson = {
            "baseline": {
                "rev": base.rev,
                "name": base.name,
                "params": base.params,
                "metrics": base.metrics,
            },
            "primary": (
                {"metric": self.primary.metric, "direction": self.primary.direction}
                if self.primary
                else None
            ),
            "swept": [list(pair) for pair in self.swept],
            "experiments": [row.to_json() for row in self.experiments],
        }
        safe: LeaderboardJson = json_safe(data)
        return safe


# -- git objects through one cat-file ---------------------------------------------------------
_TREE_MODE = b"40000"
_Entry = tuple[bytes, str]  # (mode, object id)


class _Trees:
    """Commits and trees read through a :class:`BlobReader`, each object once."""

    def __init__(self, blobs: BlobReader) -> None:
        self.blobs = blobs
        self._trees: dict[str, dict[str, _Entry]] = {}
        self._commits: dict[str, tuple[str, tuple[str, ...]]] = {}

    def commit(self, sha: str) -> tuple[str, tuple[str, ...]]:
        """The tree and parents of commit ``sha``; a missing object is :class:`BadInputError`."""
        if sha not in self._commits:
            data = self.blobs.read_object(sha)
            if data is None:
                raise BadInputError(f"commit {sha[:7]} is not in this repository")
            tree, parents = "", []
            for line in data.split(b"\n"):
                if not line:
                    break
                name, _, value = line.partition(b" ")
                if name == b"tree":
                    tree = value.decode()
                elif name == b"parent":
                    parents.append(value.decode())
            self._commits[sha] = (tree, tuple(parents))
        return self._commits[sha]

    def tree(self, sha: str) -> dict[str, _Entry]:
        """The entries of tree ``sha``: name -> (mode, id)."""
        if sha not in self._trees:
            data = self.blobs.read_object(sha) or b""
            entries: dict[str, _Entry] = {}
            i = 0
            while i < len(data):
                space = data.index(b" ", i)
                nul = data.index(b"\0", space)
                name = data[space + 1 : nul].decode("utf-8", "surrogateescape")
                entries[name] = (data[i:space], data[nul + 1 : nul + 21].hex())
                i = nul + 21
            self._trees[sha] = entries
        return self._trees[sha]

    def prefetch(self, pairs: Iterable[tuple[str | None, str | None, str]]) -> None:
        """Read ahead every tree that :meth:`subtree` (down to the directory ``prefix``) and
        then :meth:`changes` walk for ``pairs`` of (old, new, prefix), one pipelined batch per
        level of the trees instead of a round trip per tree."""
        level = [
            (old, new, prefix.strip("/").split("/") if prefix else []) for old, new, prefix in pairs
        ]
        while level:
            self.blobs.prefetch(
                t for old, new, _ in level for t in (old, new) if t and t not in self._trees
            )
            below: list[tuple[str | None, str | None, list[str]]] = []
            for old, new, parts in level:
                if old == new:
                    continue
                before = self.tree(old) if old else {}
                after = self.tree(new) if new else {}
                for name in parts[:1] or dict.fromkeys([*before, *after]):
                    a, b = before.get(name), after.get(name)
                    a_tree = a[1] if a and a[0] == _TREE_MODE else None
                    b_tree = b[1] if b and b[0] == _TREE_MODE else None
                    if a != b and (a_tree or b_tree):
                        below.append((a_tree, b_tree, parts[1:]))
            level = below

    def subtree(self, tree: str, prefix: str) -> str | None:
        """The tree at directory ``prefix`` ("" or "a/b/") below ``tree``, or None."""
        for part in prefix.strip("/").split("/") if prefix else ():
            entry = self.tree(tree).get(part)
            if entry is None or entry[0] != _TREE_MODE:
                return None
            tree = entry[1]
        return tree

    def changes(self, old: str | None, new: str | None, prefix: str = "") -> Iterable[_Change]:
        """(path, blob or None, is a link) for every file that differs from ``old`` to ``new``."""
        if old == new:
            return
        before = self.tree(old) if old else {}
        after = self.tree(new) if new else {}
        for name in dict.fromkeys([*before, *after]):
            a, b = before.get(name), after.get(name)
            if a == b:
                continue
            path = prefix + name
            a_tree = a[1] if a and a[0] == _TREE_MODE else None
            b_tree = b[1] if b and b[0] == _TREE_MODE else None
            if a_tree or b_tree:
                yield from self.changes(a_tree, b_tree, path + "/")
            if b is None or b_tree or b[0] == b"160000":  # gone, a directory now, a submodule
                if a is not None and not a_tree:
                    yield path, None, False
            else:
                yield path, b[1], b[0] == SYMLINK_MODE


_Change = tuple[str, "str | None", bool]


# -- params files edited in place --------------------------------------------------------------
_NUMBER = re.compile(r"(-?(?:0|[1-9][0-9]*)(\.[0-9]+)?)(?:[ \t]+#.*)?[ \t]*")
_UNSAFE = tuple("|>&*!%@`")
#: Anchors, aliases, merge keys, tags, directives: one edit may show in two places, or values
#: may resolve otherwise (``%YAML 1.1``); such files are always parsed whole.
_NODES = re.compile(r"(?:^|[\s\[{,])[&*!]|^%|<<", re.MULTILINE)
_Path = tuple[Any, ...]


class _Edits:
    """An experiment's YAML params file parsed from its baseline's parse.

    ``ratchet exp run`` (and most hand edits) change a params file by replacing one-line scalar
    values in place. When an experiment's text differs from its baseline's only in such lines
    (same line count, same text up to each value), its parse is the baseline's with those
    values replaced, each value parsed alone: exactly what parsing the whole file gives (a
    one-line value of a block mapping is resolved from its own text), at a fraction of the
    cost of the pure-Python YAML parser. Anything else (a new key, a value turned into a
    block, an anchor, a tag...) is parsed whole, as any file is.
    """

    def __init__(self) -> None:
        self._bases: dict[str, tuple[list[str], Any, dict[int, tuple[int, _Path]]] | None] = {}
        self._values: dict[str, Any] = {}
        self._yaml: Any = None

    def _base(self, key: str, read: Callable[[], bytes | None], parsed: Any) -> Any:
        if key not in self._bases:
            self._bases[key] = None
            text = (read() or b"").decode("utf-8", "replace")
            if "\r" not in text and isinstance(parsed, dict) and not _NODES.search(text):
                from ruamel.yaml import YAML

                try:
                    tree = YAML(typ="rt").load(text)
                except Exception:
                    return None
                leaves: dict[int, tuple[int, _Path]] = {}
                seen: set[int] = set()
                lines = text.splitlines(keepends=True)
                if _leaves(tree, parsed, (), leaves, seen):
                    for line in seen:
                        leaves.pop(line, None)
                    for line, (col, path) in list(leaves.items()):
                        # A value that goes on below its line (a folded plain scalar) is no leaf.
                        ok, value = self._value(lines[line][col:].rstrip("\n"))
                        want = _at(parsed, path)
                        if not ok or type(value) is not type(want) or value != want:
                            del leaves[line]
                    self._bases[key] = (lines, parsed, leaves)
        return self._bases[key]

    def _value(self, rest: str) -> tuple[bool, Any]:
        if rest in self._values:
            return True, self._values[rest]
        match = _NUMBER.fullmatch(rest)
        if match:
            value: Any = float(match[1]) if match[2] else int(match[1])
        else:
            if not rest.strip() or rest.lstrip().startswith(_UNSAFE):
                return False, None
            if self._yaml is None:
                from ruamel.yaml import YAML

                self._yaml = YAML(typ="safe", pure=False)
            try:
                doc = self._yaml.load("x: " + rest)
            except Exception:
                return False, None
            if not isinstance(doc, dict) or list(doc) != ["x"]:
                return False, None
            value = doc["x"]
        self._values[rest] = value
        return True, value

    def parse(self, base: tuple[str, Callable[[], bytes | None], Any], data: bytes) -> Any | None:
        """The parse of ``data``, from ``base`` = (its blob id, a reader of its bytes, its
        parse); None: parse it whole."""
        known = self._base(*base)
        if known is None:
            return None
        lines, parsed, leaves = known
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            return None
        new = text.splitlines(keepends=True)
        if len(new) != len(lines) or "\r" in text:
            return None
        edits = []
        for number, (old, line) in enumerate(zip(lines, new, strict=True)):
            if old == line:
                continue
            leaf = leaves.get(number)
            if (
                leaf is None
                or line[: leaf[0]] != old[: leaf[0]]
                or old.endswith("\n") != line.endswith("\n")
            ):
                return None
            ok, value = self._value(line[leaf[0] :].rstrip("\n"))
            if not ok:
                return None
            edits.append((leaf[1], value))
        # Copy only the mappings and lists on the way to an edit; the rest is shared with the
        # baseline's parse, which nothing changes (parses are cached and shared by blob).
        out = _shallow(parsed)
        copied = {id(out)}
        for path, value in edits:
            node = out
            for part in path[:-1]:
                child = node[part]
                if id(child) not in copied:
                    child = node[part] = _shallow(child)
                    copied.add(id(child))
                node = child
            node[path[-1]] = value
        return out


def _leaves(
    tree: Any, parsed: Any, path: _Path, out: dict[int, tuple[int, _Path]], twice: set[int]
) -> bool:
    """Map each line holding a one-line scalar value of a block mapping to (its column, its
    key path); False if the round-trip and the safe parses do not line up."""
    if isinstance(tree, dict):
        if not isinstance(parsed, dict) or len(tree) != len(parsed):
            return False
        for (key, value), (safe_key, safe_value) in zip(tree.items(), parsed.items(), strict=True):
            here = (*path, safe_key)
            if isinstance(value, dict | list):
                if not _leaves(value, safe_value, here, out, twice):
                    return False
                continue
            key_line, _col = tree.lc.key(key)  # type: ignore[attr-defined]
            line, col = tree.lc.value(key)  # type: ignore[attr-defined]
            if line != key_line or value is None:
                continue
            (twice.add if line in out else lambda _line: None)(line)
            out[line] = (col, here)
        return True
    if isinstance(tree, list):
        if not isinstance(parsed, list) or len(tree) != len(parsed):
            return False
        return all(
            _leaves(item, safe, (*path, i), out, twice)
            for i, (item, safe) in enumerate(zip(tree, parsed, strict=True))
        )
    return True


def _at(data: Any, path: _Path) -> Any:
    for part in path:
        data = data[part]
    return data


def _shallow(data: Any) -> Any:
    return dict(data) if isinstance(data, dict) else list(data)


# -- reading ---------------------------------------------------------------------------------
@dataclass
class _Base:
    """What every experiment of one baseline shares."""

    sha: str
    snap: TreeSnapshot
    tree: str | None  # the DVC root's tree at the baseline
    entries: dict[str, str]
    links: set[str]
    dvcfiles: set[str]
    params: Flat
    metrics: Flat
    policy: Policy
    failed: dict[str, Any]


def _read(
    reader: Reader, snap: TreeSnapshot, flats: dict[tuple[str, str], dict[str, Any]]
) -> tuple[Flat, Flat, str | None]:
    """Params and metrics of a snapshot, flat; a file declared but absent is skipped, any
    other problem is returned as the error (with what could be read). ``flats``: the flat
    metrics by (path, blob id), shared by the snapshots that hold the same file."""
    params: Flat = {}
    metrics: Flat = {}
    try:
        params = {p: flat_view(d, p, snap.label) for p, d in reader.params(snap).items()}
        for path, data in reader.each_metrics_file(snap):
            if isinstance(data, MissingFileError):
                continue
            if isinstance(data, BadInputError):
                raise data
            key = snap.key(path)
            flat = flats.get((path, key)) if key else None
            if flat is None:
                flat = metrics_flat(data, path, snap.label)
                if key:
                    flats[(path, key)] = flat
            metrics[path] = flat
    except BadInputError as exc:
        return params, metrics, str(exc)
    return params, metrics, None


class _Loader:
    """Reads baselines and experiments through one reader, one blob process, one tree cache."""

    def __init__(self, root: Root, blobs: BlobReader, policy_file: Path | None) -> None:
        self.root = root
        self.blobs = blobs
        self.policy_file = policy_file
        self.reader = Reader()
        self.trees = _Trees(blobs)
        self.edits = _Edits()
        self.flats: dict[tuple[str, str], dict[str, Any]] = {}  # see _read

    def baseline(self, sha: str) -> _Base:
        """A baseline: its tree, params, metrics, policy and failed experiments."""
        from mlratchet import notes
        from mlratchet.policy import policy_at

        root = self.root
        links: set[str] = set()
        entries = ls_tree(root, sha, links)
        snap = TreeSnapshot(
            root, sha=sha, label=sha[:7], entries=entries, blobs=self.blobs, links=links
        )
        params, metrics, error = _read(self.reader, snap, self.flats)
        if error is not None:
            raise BadInputError(f"baseline {sha[:7]}: {error}")
        policy, _source = policy_at(root.path, sha, self.policy_file)
        record = notes.read(root.git_top, sha).get(NOTE_KEY)
        failed = record.get("failed") if isinstance(record, dict) else None
        return _Base(
            sha=sha,
            snap=snap,
            tree=self.trees.subtree(self.trees.commit(sha)[0], root.prefix),
            entries=entries,
            links=links,
            dvcfiles={p for p in entries if is_dvcfile(p)},
            params=params,
            metrics=metrics,
            policy=policy,
            failed=failed if isinstance(failed, dict) else {},
        )

    def experiments(self, items: Sequence[tuple[_Base, ExpRef]]) -> list[Row]:
        """The rows of ``items`` (an experiment and its baseline), in order. Their git objects
        are read ahead in a few pipelined batches (:meth:`BlobReader.prefetch`): the commits,
        the trees that differ from the baseline's, level by level, then the declared files
        that differ; each row is then made from memory."""
        trees, blobs = self.trees, self.blobs
        blobs.prefetch(exp.sha or "" for _, exp in items)
        pairs = []
        for base, exp in items:
            try:
                pairs.append((trees.commit(base.sha)[0], trees.commit(exp.sha or "")[0]))
            except BadInputError:
                continue  # the row says so
        trees.prefetch((old, new, self.root.prefix) for old, new in pairs)
        snaps: list[TreeSnapshot | BadInputError] = []
        for base, exp in items:
            sha = exp.sha or ""
            try:
                snaps.append(self.snapshot(base, sha, f"experiment {exp.name} ({sha[:7]})"))
            except BadInputError as exc:
                snaps.append(exc)
        blobs.prefetch(
            key
            for (base, _), snap in zip(items, snaps, strict=True)
            if isinstance(snap, TreeSnapshot)
            for key in self.changed_files(base.snap, snap)
        )
        return [
            self.experiment(base, exp, snap) for (base, exp), snap in zip(items, snaps, strict=True)
        ]

    def changed_files(self, base: TreeSnapshot, snap: TreeSnapshot) -> Iterable[str]:
        """The blob ids of the params and metrics files ``snap`` declares that differ from
        ``base``'s and are not parsed yet: what the reader will read."""
        cache = self.reader.cache
        try:
            declared = self.reader.declared(snap)
            for kind, paths in (("params", declared.params), ("metrics", declared.metrics)):
                for path in paths:
                    key = snap.key(path)
                    if key is None or key == base.key(path):
                        continue
                    if (key, suffix(path), kind) not in cache:
                        yield key
        except BadInputError:
            return  # the reader will say so

    def experiment(self, base: _Base, exp: ExpRef, snap: TreeSnapshot | BadInputError) -> Row:
        """One experiment's row from its snapshot (or the error making it), judged against
        ``base``."""
        from mlratchet.metrics.verdict import judge

        sha = exp.sha or ""
        if isinstance(snap, BadInputError):
            return _broken(exp, str(snap))
        self.prime(base.snap, snap)
        params, metrics, error = _read(self.reader, snap, self.flats)
        verdicts = tuple(judge(base.metrics, metrics, base.policy.metrics))
        return Row(
            exp.name, exp.ref, sha, exp.baseline, "success", error, params, metrics, verdicts
        )

    def snapshot(self, base: _Base, sha: str, label: str) -> TreeSnapshot:
        """Commit ``sha``'s snapshot: ``base``'s entries with the ones that differ."""
        trees = self.trees
        tree = trees.subtree(trees.commit(sha)[0], self.root.prefix)
        entries, links, dvcfiles = base.entries, base.links, base.dvcfiles
        changes = list(trees.changes(base.tree, tree))
        if changes:
            entries, links, dvcfiles = dict(entries), set(links), set(dvcfiles)
            for path, blob, is_link in changes:
                (links.add if is_link and blob else links.discard)(path)
                if blob is None:
                    entries.pop(path, None)
                    dvcfiles.discard(path)
                else:
                    entries[path] = blob
                    if is_dvcfile(path):
                        dvcfiles.add(path)
        return TreeSnapshot(
            self.root,
            sha=sha,
            label=label,
            entries=entries,
            blobs=self.blobs,
            dvcfiles=dvcfiles,
            links=links,
        )

    def prime(self, base: TreeSnapshot, snap: TreeSnapshot) -> None:
        """Put the parse of each YAML params file that ``snap`` edited in place (see
        :class:`_Edits`) into the reader's parse cache, so that the reader does not parse it."""
        cache = self.reader.cache
        try:
            files = self.reader.declared(snap).params
        except BadInputError:
            return  # the reader will say so
        for path in files:
            kind = suffix(path)
            new, old = snap.key(path), base.key(path)
            if kind in (".json", ".toml", ".py") or new is None or old is None or new == old:
                continue
            parsed = cache.get((old, kind, "params"))
            slot = (new, kind, "params")
            data = None if parsed is None or slot in cache else self.blobs.read_object(new)
            if data is None:
                continue
            found = self.edits.parse((old, partial(self.blobs.read_object, old), parsed), data)
            if found is not None:
                cache[slot] = found


def _failed_params(base: _Base, record: Any) -> Flat:
    """The baseline's params with a failed point's ``[[file, key, value], ...]`` applied."""
    params = {path: dict(flat) for path, flat in base.params.items()}
    items = record.get("params") if isinstance(record, dict) else None
    for item in items if isinstance(items, list) else ():
        if isinstance(item, list) and len(item) == 3 and all(isinstance(i, str) for i in item[:2]):
            value = str(item[2]) if isinstance(item[2], list) else item[2]  # as flat_view shows
            params.setdefault(item[0], {})[item[1]] = value
    return params


def _branch_name(repo: Path, sha: str) -> str | None:
    """The branch HEAD is on if it is at ``sha``, else a branch, else a tag at ``sha``."""
    current = run(repo, "symbolic-ref", "--quiet", "--short", "HEAD", check=False)
    out = run(
        repo,
        "for-each-ref",
        "--points-at",
        sha,
        "--format=%(refname:short)",
        "refs/heads",
        "refs/tags",
    ).stdout.decode("utf-8", "replace")
    names = out.split()
    mine = current.stdout.decode().strip()
    if mine and mine in names:
        return mine
    return names[0] if names else None


# -- ranking ---------------------------------------------------------------------------------
def primary_of(
    policy: Policy, sort: str | None = None, direction: Direction | None = None
) -> Primary | None:
    """The ranking metric: ``sort`` (its direction: ``direction``, else its rule), else the
    policy's primary. A ``sort`` key without a rule or a direction is :class:`BadInputError`."""
    if sort is not None:
        rule = policy.metrics.get(sort)
        if direction is None and rule is None:
            raise BadInputError(
                f"--sort {sort}: no rule under metrics: in ratchet.yaml gives its direction; "
                f"say it: --sort {sort}:higher or --sort {sort}:lower"
            )
        return Primary(sort, direction or rule.direction)  # type: ignore[union-attr]
    found = policy.primary
    return None if found is None else Primary(found[0], found[1].direction)


def named_metrics(policy: Policy) -> tuple[str, ...]:
    """The flat metric keys ``policy`` names: its primary first, then every rule's key."""
    found = policy.primary
    return tuple(dict.fromkeys([*([found[0]] if found else []), *policy.metrics]))


def select_metrics(
    pairs: Iterable[tuple[str, str]], names: Collection[str] | None
) -> list[tuple[str, str]]:
    """The (path, flat key) ``pairs`` that ``names`` names (by key, or as ``path:key``), in
    order; every pair when ``names`` is None or names none of them."""
    pairs = list(pairs)
    if names is None:
        return pairs
    return [p for p in pairs if p[1] in names or f"{p[0]}:{p[1]}" in names] or pairs


def rank(rows: Sequence[Row], primary: Primary | None) -> list[Row]:
    """``rows`` best first by ``primary`` (ranks 1, 2, 2, 4... for ties), those without a
    number for it last and unranked, each group by name; without a primary, by name."""
    from dataclasses import replace

    def by_name(row: Row) -> tuple[str, str]:
        return (row.name, row.baseline)

    if primary is None:
        return [replace(r, rank=None) for r in sorted(rows, key=by_name)]
    sign = -1.0 if primary.direction == "higher" else 1.0
    scored = [(primary.value(r.metrics) if r.status == "success" else None, r) for r in rows]
    ranked = sorted(
        ((v, r) for v, r in scored if v is not None), key=lambda p: (sign * p[0], by_name(p[1]))
    )
    rest = sorted(
        (r for v, r in scored if v is None), key=lambda r: (r.status != "success", by_name(r))
    )
    out: list[Row] = []
    previous: float | None = None
    place = 0
    for i, (value, row) in enumerate(ranked, start=1):
        if value != previous:
            place, previous = i, value
        out.append(replace(row, rank=place))
    out.extend(replace(r, rank=None) for r in rest)
    return out


def swept(
    baselines: Mapping[str, Baseline | _Base], rows: Iterable[Row]
) -> tuple[tuple[str, str], ...]:
    """The (params file, flat key) pairs whose value differs from the row's baseline in some
    row (a key added or removed counts), in order of first appearance."""
    found: dict[tuple[str, str], None] = {}
    for row in rows:
        base = baselines[row.baseline].params
        for path in dict.fromkeys([*base, *row.params]):
            old, new = base.get(path, {}), row.params.get(path, {})
            for key in dict.fromkeys([*old, *new]):
                if (path, key) not in found and (
                    key not in old or key not in new or old[key] != new[key]
                ):
                    found[(path, key)] = None
    return tuple(found)


def titles(pairs: Sequence[tuple[str, str]], default: str | None = None) -> list[str]:
    """A name per (file, flat key): the key alone, or ``file:key`` when the key is in two
    files (or, with ``default``, in a file other than it). The leaderboard's column titles,
    and the names ``ratchet exp export`` logs into MLflow."""
    count: dict[str, int] = {}
    for _path, key in pairs:
        count[key] = count.get(key, 0) + 1
    return [
        key if count[key] == 1 and (default is None or path == default) else f"{path}:{key}"
        for path, key in pairs
    ]


# -- the calls ---------------------------------------------------------------------------------
def load(
    repo: Path | str = ".",
    *,
    all_baselines: bool = False,
    baseline: str | None = None,
    policy_file: Path | None = None,
    sort: str | None = None,
    direction: Direction | None = None,
) -> Leaderboard:
    """``ratchet exp show``: the experiments of ``baseline`` (default HEAD; every baseline with
    ``all_baselines``), judged and sorted. ``sort``/``direction`` override the primary metric."""
    from mlratchet.experiments.refs import list_refs
    from mlratchet.gitio import head
    from mlratchet.revs import resolve

    root = find_root(repo)
    if baseline is not None:
        shown = resolve(repo, baseline).sha
        if shown is None:
            raise BadInputError("--baseline: give a commit, not the workspace")
    else:
        shown = head(root.git_top)
        if shown is None:
            raise BadInputError(f"{root.git_top}: no commits yet, so no baseline to show")
    refs = list_refs(root.git_top, None if all_baselines else shown)
    bases: dict[str, _Base] = {}
    rows: list[Row] = []
    with BlobReader(root.git_top) as blobs:
        loader = _Loader(root, blobs, policy_file)
        for sha in dict.fromkeys([shown, *(e.baseline for e in refs)]):
            try:
                bases[sha] = loader.baseline(sha)
            except BadInputError as exc:
                if sha == shown:
                    raise
                rows.extend(_broken(e, str(exc)) for e in refs if e.baseline == sha)
        rows.extend(
            loader.experiments(
                [(bases[e.baseline], e) for e in refs if e.baseline in bases and e.sha is not None]
            )
        )
    done = {(r.baseline, r.name) for r in rows}
    for sha, base in bases.items():
        for name, record in sorted(base.failed.items()):
            if (sha, name) in done:
                continue
            error = record.get("error") if isinstance(record, dict) else None
            params = _failed_params(base, record)
            ref = ExpRef(sha, name).ref
            rows.append(Row(name, ref, None, sha, "failed", str(error or "failed"), params, {}))
    primary = primary_of(bases[shown].policy, sort, direction)
    views = {
        sha: Baseline(
            sha, _branch_name(root.git_top, sha) if sha == shown else None, b.params, b.metrics
        )
        for sha, b in bases.items()
    }
    return Leaderboard(
        baseline=views[shown],
        primary=primary,
        swept=swept(views, (r for r in rows if r.baseline in views)),
        experiments=tuple(rank(rows, primary)),
        baselines=views,
        policy_metrics=named_metrics(bases[shown].policy),
    )


def _broken(exp: ExpRef, error: str) -> Row:
    return Row(exp.name, exp.ref, exp.sha, exp.baseline, "success", error, {}, {})


# -- exp diff ---------------------------------------------------------------------------------
@dataclass(frozen=True)
class ExpDiff:
    """Two revisions' params and metrics compared, the metrics judged by the policy at ``a``."""

    params: Comparison
    metrics: Comparison

    def to_json(self) -> dict[str, Any]:
        """``{"params": <params diff --json>, "metrics": <metrics diff --json with status>}``."""
        from mlratchet.metrics.render import diff_json

        result, status = self.metrics.checked()
        return {
            "a": self.params.a.sha,
            "b": self.params.b.sha,
            "params": diff_json(self.params.diff),
            "metrics": diff_json(result, status if self.metrics.verdicts is not None else None),
        }


def diff(
    repo: Path | str,
    a_rev: str,
    b_rev: str,
    *,
    policy_file: Path | None = None,
    with_unchanged: bool = False,
) -> ExpDiff:
    """``ratchet exp diff A B``: params and metrics from ``a_rev`` to ``b_rev`` (experiment
    names or any revisions), the metrics judged by the ``metrics:`` rules at ``a_rev`` (or in
    ``policy_file``); no rules, no verdicts. Shown, not gated: the recorded-bytes check of
    ``ratchet metrics diff --check`` is not made."""
    from mlratchet.metrics.api import compare
    from mlratchet.policy import policy_at
    from mlratchet.revs import resolve

    root = find_root(repo)
    a = resolve(repo, a_rev)
    policy, _source = policy_at(root.path, a.sha, policy_file)
    rules: dict[str, MetricRule] | None = policy.metrics or None
    params = compare(repo, a_rev, b_rev, kind="params", with_unchanged=with_unchanged)
    metrics = compare(
        repo,
        a_rev,
        b_rev,
        kind="metrics",
        with_unchanged=with_unchanged,
        check=rules is not None,
        rules=rules,
        check_records=False,
    )
    return ExpDiff(params, metrics)


__all__ = [
    "Baseline",
    "ExpDiff",
    "Leaderboard",
    "Primary",
    "Row",
    "diff",
    "load",
    "named_metrics",
    "primary_of",
    "rank",
    "select_metrics",
    "titles",
]
