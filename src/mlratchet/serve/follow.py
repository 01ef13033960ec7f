"""``ratchet serve --follow``: the stage watched, a newly promoted version swapped in.

Every ``interval`` seconds a :class:`Follower` (a thread of the server process; each worker
process has its own):

1. with a git remote, lists its tags and fetches the artifact's tags this clone lacks
   (:func:`mlratchet.registry.tags.fetch_new_tags`: new refs only, so a local tag is never
   moved nor deleted); a remote tag of the same name as a local one but naming another
   object is a registry inconsistency: reported, not fetched. Without a remote the local
   repository's tags are followed (a local ``ratchet promote`` is picked up);
2. resolves the stage's version as every ``NAME#STAGE`` is resolved
   (:func:`mlratchet.registry.state.find_shortcut`, with the audit's consistency check);
3. when it is another version, loads it through the start-up path
   (:func:`mlratchet.serve.loading.load`: registry record, hash, trusted types), scores a
   few rows (:func:`smoke`: the training rows at its commit, else a row made from its
   contract; the scores must be finite, one per row), then swaps it in.

A failure leaves the old model serving; it is reported once (a log line, a count in
``ratchet_follow_failures_total{reason}``) and a version that failed is not retried.
Reasons: ``fetch`` (the remote could not be listed or fetched), ``registry`` (a conflicting
remote tag, an inconsistent stage, a version that cannot be resolved or read), ``integrity``
(bytes or records that do not match), ``untrusted`` (a type off the allow-list), ``smoke``.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING

from mlratchet.errors import BadInputError

if TYPE_CHECKING:
    import pyarrow as pa

    from mlratchet.serve.loading import LoadedModel

logger = logging.getLogger(__name__)

#: Default seconds between two looks at the registry (``--follow-interval``).
INTERVAL_SECONDS = 30.0
#: Rows the smoke check scores.
SMOKE_ROWS = 5


@dataclass(frozen=True)
class FollowSettings:
    """What to follow, and how often."""

    repo: str
    reference: str  # NAME#STAGE
    interval: float = INTERVAL_SECONDS
    remote: str | None = None  # the git remote to fetch tags from; None: local tags
    contract: str | None = None  # --contract, applied to every version
    dvc_remote: str | None = None  # where a new version's bytes are fetched from


@dataclass(frozen=True)
class Failure:
    """Why a look at the registry did not end with the stage's version served."""

    reason: str  # fetch, registry, integrity, untrusted, smoke
    message: str


def followable(reference: str) -> str:
    """``reference`` if it names a stage (``NAME#STAGE``); bad input (exit 2) otherwise."""
    from mlratchet.registry.state import parse_shortcut

    shortcut = parse_shortcut(reference)
    if shortcut is None or not shortcut.stage:
        raise BadInputError(
            f"--follow watches a stage, and {reference!r} names a fixed version or revision; "
            "give NAME#STAGE (or no reference: the artifact's last stage)"
        )
    return reference


def follow_remote(repo: Path | str, name: str | None) -> str | None:
    """The git remote to fetch tags from: ``name`` (which must exist), else ``origin`` if it
    exists, else None (the local tags are followed)."""
    from mlratchet.gitio import git

    remotes = git(repo, "remote").split()
    if name is None:
        return "origin" if "origin" in remotes else None
    if name not in remotes:
        raise BadInputError(
            f"--follow-remote {name}: no such git remote (this clone has "
            f"{', '.join(remotes) or 'none'}); add it with `git remote add`"
        )
    return name


def _sample(root: Path, loaded: LoadedModel) -> pa.Table:
    """A few rows to score: the training rows at the version's commit, else one made up
    from the contract (a column's lower bound or first category; 0 or "" when it has none)."""
    import pyarrow as pa
    import pyarrow.parquet as pq

    from mlratchet.serve.loading import training_rows

    inputs = list(loaded.inputs)
    found = training_rows(root, loaded.verified.commit)
    if found is not None and set(inputs) <= set(pq.read_schema(found[0]).names):
        return pq.read_table(found[0], columns=inputs).slice(0, SMOKE_ROWS)
    columns = loaded.contract.columns if loaded.contract is not None else {}
    row: dict[str, list[object]] = {}
    for name in inputs:
        rules = columns.get(name)
        value: object = 0.0
        if rules is not None and rules.categories:
            value = rules.categories[0]
        elif rules is not None and rules.type == "string":
            value = ""
        elif rules is not None and rules.type == "boolean":
            value = False
        elif rules is not None and rules.min is not None:
            value = rules.min
        elif rules is not None and rules.max is not None:
            value = min(rules.max, 0.0)
        row[name] = [value]
    return pa.table(row)


def smoke(root: Path, loaded: LoadedModel) -> str | None:
    """Score a few rows with ``loaded``; None, or what was wrong (raised, shape, non-finite)."""
    import numpy as np

    try:
        table = _sample(root, loaded)
        view = loaded.view
        scores = np.asarray(view.score(view.features(table.to_pandas()))[0], dtype=float)
    except Exception as exc:  # whatever the model raises is the check's answer
        return f"scoring {SMOKE_ROWS} sample rows raised {type(exc).__name__}: {exc}"
    if scores.shape != (table.num_rows,):
        return f"{table.num_rows} sample rows gave scores of shape {scores.shape}"
    if not np.isfinite(scores).all():
        return (
            f"{int((~np.isfinite(scores)).sum())} of {table.num_rows} sample scores are not finite"
        )
    return None


def _reason(exc: Exception) -> str:
    from mlratchet.errors import IntegrityError, RefusedError
    from mlratchet.registry.audit import StageInconsistentError

    if isinstance(exc, RefusedError):
        return "untrusted"
    if isinstance(exc, StageInconsistentError):
        return "registry"
    if isinstance(exc, IntegrityError):
        return "integrity"
    return "registry"


class Follower:
    """Looks at the stage every ``interval`` and swaps in its new version (module docstring).

    ``current`` gives the model served, ``swap`` serves another, ``count`` adds one to a
    counter (``ratchet_follow_swaps_total`` or ``ratchet_follow_failures_total`` with its
    reason).
    """

    def __init__(
        self,
        settings: FollowSettings,
        current: Callable[[], LoadedModel],
        swap: Callable[[LoadedModel], None],
        count: Callable[[str, str | None], None],
    ) -> None:
        from mlratchet.dvcroot import find_root

        self.settings = settings
        self.root = find_root(settings.repo).path
        self.current = current
        self.swap = swap
        self.count = count
        self._reported: set[Failure] = set()
        self._refused: set[tuple[str, str]] = set()  # (version, commit) that failed to load
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _fail(self, failure: Failure) -> None:
        if failure not in self._reported:
            self._reported.add(failure)
            self.count("ratchet_follow_failures_total", failure.reason)
            logger.warning(
                "follow: %s (%s); still serving %s",
                failure.message,
                failure.reason,
                self.current().verified.version,
            )

    def fetch(self) -> list[Failure]:
        """Fetch the artifact's new tags from the remote; the problems met."""
        from mlratchet.errors import RatchetError
        from mlratchet.registry.state import parse_shortcut, read_tags
        from mlratchet.registry.tags import fetch_new_tags, parse_tag_name, remote_tags

        remote = self.settings.remote
        shortcut = parse_shortcut(self.settings.reference)
        if remote is None or shortcut is None:
            return []
        try:
            listed = remote_tags(self.root, remote)
        except RatchetError as exc:
            return [Failure("fetch", str(exc))]
        local = {t.name: t.object for t in read_tags(self.root)}
        ours = {
            name: sha
            for name, sha in listed.items()
            if (parsed := parse_tag_name(name)) is not None and parsed.artifact == shortcut.artifact
        }
        problems = [
            Failure(
                "registry",
                f"{remote} has tag {name} naming {sha[:12]}, but the local tag names "
                f"{local[name][:12]}; the registry is inconsistent (ratchet registry audit), "
                "the local tag is kept",
            )
            for name, sha in sorted(ours.items())
            if name in local and local[name] != sha
        ]
        try:
            fetch_new_tags(self.root, remote, sorted(n for n in ours if n not in local))
        except RatchetError as exc:
            problems.append(Failure("fetch", str(exc)))
        return problems

    def step(self) -> str | None:
        """One look: fetch, resolve, and load, check and swap a new version; the version
        swapped in, or None."""
        from mlratchet.errors import RatchetError
        from mlratchet.registry.state import find_shortcut, load_state, parse_shortcut
        from mlratchet.serve.loading import load

        for failure in self.fetch():
            self._fail(failure)
        shortcut = parse_shortcut(self.settings.reference)
        if shortcut is None:  # followable() let only NAME#STAGE through
            raise RuntimeError(f"not a stage: {self.settings.reference}")
        try:
            found = find_shortcut(load_state(self.root), shortcut)
        except RatchetError as exc:
            self._fail(Failure(_reason(exc), str(exc)))
            return None
        served = self.current().verified
        key = (found.version, found.commit)
        if key == (served.version, served.commit) or key in self._refused:
            return None
        contract = Path(self.settings.contract) if self.settings.contract else None
        try:
            new = load(
                self.root,
                self.settings.reference,
                contract_path=contract,
                remote=self.settings.dvc_remote,
            )
        except RatchetError as exc:
            self._refused.add(key)
            self._fail(Failure(_reason(exc), str(exc)))
            return None
        problem = smoke(self.root, new)
        if problem is not None:
            self._refused.add(key)
            self._fail(Failure("smoke", f"{self.settings.reference} {found.version}: {problem}"))
            return None
        old = served.version
        self.swap(new)
        self.count("ratchet_follow_swaps_total", None)
        logger.warning(
            "follow: %s now serves %s (%s, md5 %s), was %s",
            self.settings.reference,
            new.verified.version,
            new.verified.commit[:7],
            new.verified.md5,
            old,
        )
        return new.verified.version

    def _run(self) -> None:
        while not self._stop.wait(self.settings.interval):
            try:
                self.step()
            except Exception:  # a bug must not stop the service; it is logged in full
                logger.exception("follow: an internal error; still serving, will look again")

    def start(self) -> None:
        """Look at the registry every ``interval`` seconds, in a thread."""
        self._thread = threading.Thread(target=self._run, name="follow", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        """Stop looking (a load in progress finishes first)."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join()
