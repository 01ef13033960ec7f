# ruff: noqa: E501 - the workflow templates keep one YAML line per string, as GitHub shows them
"""``ratchet init``: draft ``ratchet.yaml`` and the GitHub workflows for an existing DVC project.

Everything is read from the project itself: the ``artifacts:`` of ``dvc.yaml`` become registry
entries, the keys of the metrics files it declares (read from the work tree through
:mod:`mlratchet.metrics`, flattened as DVC flattens them) become metric rules with a direction
guessed from the name. Each guess carries a YAML comment asking for review. The workflows live
at the git top level; when the DVC project is a subfolder their ``run:`` steps work there.

Nothing is overwritten without ``force``: every target is checked before any file is written,
and a conflict names the files (:class:`~mlratchet.errors.ConflictError`, exit 4).
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from mlratchet.errors import BadInputError, ConflictError
from mlratchet.policy import POLICY_FILE

#: Name tokens and the direction they suggest, in order of preference for the primary metric
#: (the one the ``compare`` gates use): ranking metrics first, then losses.
HIGHER = ("auc", "roc", "ap", "f1", "accuracy", "acc", "r2", "precision", "recall", "score",
          "skill", "lift")  # fmt: skip
LOWER = ("logloss", "loss", "rmse", "mse", "mae", "error", "brier", "mape")
_RANK = {token: index for index, token in enumerate(HIGHER + LOWER)}

#: The actions the workflows use, pinned by commit SHA (the same pins as mlratchet's own).
CHECKOUT = "actions/checkout@08c6903cd8c0fde910a37f88322edcfb5dd907a8 # v5.0.0"
SETUP_PYTHON = "actions/setup-python@e797f83bcb11b83ae66e0230d6156d7c80228e7c # v6.0.0"
UPLOAD = "actions/upload-artifact@ea165f8d65b6e75b540449e92b4886f43607fa02 # v4.6.2"

#: What the install step installs when the project's requirements do not name mlratchet.
PLACEHOLDER_SPEC = "mlratchet[all]"
WORKFLOWS = ("ci.yml", "ct.yml", "monitor.yml")
_REQUIREMENTS = ("requirements.txt", "requirements/*.txt", "requirements-*.txt")
_MLRATCHET_LINE = re.compile(r"^\s*mlratchet\b[^#]*", re.IGNORECASE)
_PLAIN_KEY = re.compile(r"^[A-Za-z_][\w.\-/]*$")


@dataclass(frozen=True)
class DraftFile:
    """One file ``ratchet init`` drafts: where (relative to the git top level) and its text."""

    path: str
    text: str
    existed: bool  # a file was there before (overwritten only with force)


@dataclass(frozen=True)
class InitResult:
    """What ``ratchet init`` found and drafted, and whether it wrote the files."""

    dvc_root: str  # relative to the git top level: "." or "sub/dir"
    artifacts: tuple[str, ...]
    metrics: dict[str, str | None]  # flattened key -> guessed direction (None: unknown)
    primary: tuple[str, ...]  # the keys the compare gates use
    contract: str | None
    install: str
    files: tuple[DraftFile, ...]
    written: bool

    def to_json(self) -> dict[str, Any]:
        """The result as JSON data (``ratchet init --json``)."""
        return {
            "dvc_root": self.dvc_root,
            "artifacts": list(self.artifacts),
            "metrics": dict(self.metrics),
            "primary": list(self.primary),
            "contract": self.contract,
            "install": self.install,
            "written": self.written,
            "files": [{"path": f.path, "existed": f.existed, "text": f.text} for f in self.files],
        }


def guess_direction(key: str) -> str | None:
    """``higher``/``lower`` from the rightmost name token that suggests one (None: unknown)."""
    for token in reversed(re.split(r"[^a-z0-9]+", key.lower())):
        if token in HIGHER:
            return "higher"
        if token in LOWER:
            return "lower"
    return None


#: Which split a key is measured on, best first for a promotion gate: validation, unnamed,
#: test (judging on the held-out test rows would tune to them), train.
_SPLITS = {"val": 0, "valid": 0, "validation": 0, "eval": 0, "dev": 0, "test": 2, "train": 3}


def _rank(key: str) -> tuple[int, int]:
    """How good a primary metric ``key`` makes: by its metric token, then by its split."""
    words = re.split(r"[^a-z0-9]+", key.lower())
    tokens = [t for t in words if t in _RANK]
    split = min((_SPLITS[w] for w in words if w in _SPLITS), default=1)
    return (_RANK[tokens[-1]] if tokens else len(_RANK), split)


def _metrics(root: Path) -> tuple[dict[str, str | None], str | None, tuple[str, ...], str | None]:
    """Guessed rules, a contract record, the declared files, and why keys are missing."""
    from mlratchet.metrics import read_metrics

    try:
        files = read_metrics(root, "workspace")
    except BadInputError as exc:
        problem = " ".join(str(exc).split())  # one line: it becomes a YAML comment
        return {}, None, (), f"metrics not read ({problem}); run `dvc repro` and rerun init"
    rules: dict[str, str | None] = {}
    contract = None
    for path, flat in files.items():
        if isinstance(flat.get("valid"), bool):
            contract = contract or path  # a data-contract record ({"valid": true|false})
            continue
        for key, value in flat.items():
            if isinstance(value, bool) or not isinstance(value, int | float):
                continue
            rules.setdefault(key, guess_direction(key))
    return rules, contract, tuple(files), None


def _artifacts(root: Path) -> tuple[str, ...]:
    from mlratchet.registry.artifacts import DVC_YAML, declared_artifacts

    if not (root / DVC_YAML).is_file():
        return ()
    declared = declared_artifacts(root)
    models = [a.name for a in declared.values() if a.type == "model"]
    untyped = [a.name for a in declared.values() if a.type is None]
    return tuple(models or untyped)  # type model; or, with none, those of no type (all)


def _install_spec(root: Path) -> tuple[str, str | None]:
    """The pip spec of mlratchet in the project's own requirements, and the file naming it."""
    for pattern in _REQUIREMENTS:
        for path in sorted(root.glob(pattern)):
            for line in path.read_text(encoding="utf-8", errors="replace").splitlines():
                found = _MLRATCHET_LINE.match(line)
                if found:
                    return found.group(0).strip(), path.relative_to(root).as_posix()
    return PLACEHOLDER_SPEC, None


def _key(text: str) -> str:
    return text if _PLAIN_KEY.match(text) else json.dumps(text)


def _shell(text: str) -> str:
    return text if re.match(r"^[\w@%+=:,./-]+$", text) else "'" + text.replace("'", "") + "'"


# -- ratchet.yaml --------------------------------------------------------------------------
def policy_text(
    artifacts: tuple[str, ...],
    rules: dict[str, str | None],
    primary: tuple[str, ...],
    contract: str | None,
    notes: tuple[str, ...],
) -> str:
    """The drafted ``ratchet.yaml``, with a comment on every guess."""
    out = [
        "# mlratchet's policy for this project, drafted by `ratchet init`: review every line",
        "# marked `review`, then commit it. No stage reads it; checks read it at the revision",
        "# they judge from (docs/init.md, docs/policy.md).",
        *(f"# note: {n}" for n in notes),
    ]
    known = {k: d for k, d in rules.items() if d is not None}
    unknown = [k for k, d in rules.items() if d is None]
    if known:
        out.append("metrics:   # `ratchet metrics diff --check` fails on a move the wrong way")
        for key, direction in known.items():
            out.append(
                f"  {_key(key)}: {{direction: {direction}, tolerance: 0.0}}"
                "   # guessed from the name: review"
            )
    else:
        out.append("metrics: {}   # no metric with a name that suggests a direction")
    if unknown:
        out.append("  # direction unknown from the name, so no rule (add one if it matters):")
        out += [f"  #   {_key(key)}: {{direction: higher|lower}}" for key in unknown]
    if not artifacts:
        out += [
            "registry: {}   # dvc.yaml declares no artifacts: add one (artifacts: NAME: {path:",
            "               # ..., type: model}) and rerun init, or write its stages here",
        ]
    else:
        out.append("registry:   # per artifact of dvc.yaml: its stages, in order, and their gates")
        for name in artifacts:
            out.append(f"  {_key(name)}:")
            if contract:
                out.append(
                    f"    contract: {_key(contract)}   # found a record with `valid`: review"
                )
            else:
                out += [
                    '    # contract: PATH   # a record {"valid": true|false} (ratchet validate',
                    "    #                  # --out) that gates promotion; none found",
                ]
            out += [
                "    # evaluation_data: [PATH, ...]   # the rows (and files) the metrics are measured on",
                "    # evaluate: module:function      # score the holder and the candidate on them",
                "    stages:",
                "      - name: staging",
                "        verified: false   # `ratchet verify` is required for production only",
                "        finite_metrics: true",
            ]
            for stage in ("staging", "production"):
                if stage == "production":
                    out += ["      - name: production   # requires staging first",
                            "        verified: true", "        finite_metrics: true"]  # fmt: skip
                if primary:
                    out.append(
                        f"        compare:   # no regression against the version now in {stage}"
                    )
                    out += [f"          {_key(k)}: {{}}   # the guessed primary metric: review"
                            for k in primary]  # fmt: skip
    out += [
        "# monitor:   # `ratchet monitor` (docs/monitoring.md): uncomment and name your data",
        "#   reference: data/train.parquet   # the rows the model was trained on (a dvc.lock out)",
        "#   drift_share: 0.5                # dataset drift: this share of features drift",
        "# ct:        # `ratchet ct` (docs/continuous.md): how new data comes in",
        '#   refresh: ["dvc update --recursive ."]   # commands run in the DVC root, in order',
        "#   stage: staging                  # where continuous training promotes",
    ]
    return "\n".join(out) + "\n"


# -- workflows -------------------------------------------------------------------------------
def _header(workdir: str | None, extra_env: tuple[str, ...] = ()) -> list[str]:
    lines = [
        "permissions: {}",
        "",
        "env:",
        '  DVC_NO_ANALYTICS: "1"',
        '  PIP_DISABLE_PIP_VERSION_CHECK: "1"',
        *extra_env,
        "  # Your DVC remote's credentials, as repository secrets, e.g.:",
        "  # AWS_ACCESS_KEY_ID: ${{ secrets.AWS_ACCESS_KEY_ID }}",
    ]
    if workdir:
        lines += ["", "defaults:", "  run:", f"    working-directory: {workdir}   # the DVC root"]
    return lines


def _setup(install: str, source: str | None, push: bool) -> list[str]:
    why = (
        "this job pushes its commit, notes and tags; it uploads no .git"
        if push
        else "credentials are not kept"
    )
    keep = (
        f"          persist-credentials: true # zizmor: ignore[artipacked] {why}"
        if push
        else "          persist-credentials: false"
    )
    pin = (
        f"        # mlratchet as {source} names it"
        if source
        else "        # pin mlratchet, e.g. 'mlratchet[all] @ git+https://github.com/OWNER/mlratchet@vX.Y.Z'"
    )
    return [
        f"      - uses: {CHECKOUT}",
        "        with:",
        "          fetch-depth: 0 # history and tags are inputs: the base, the registry",
        keep,
        f"      - uses: {SETUP_PYTHON}",
        "        with:",
        '          python-version: "3.11"',
        pin,
        f"      - run: pip install {_shell(install)}",
    ]


def _upload(name: str, paths: list[str]) -> list[str]:
    return [
        f"      - uses: {UPLOAD}",
        "        if: always()",
        "        with:",
        f"          name: {name}",
        "          path: |",
        *(f"            {p}" for p in paths),
        "          if-no-files-found: ignore",
    ]


def ci_text(install: str, source: str | None, workdir: str | None) -> str:
    """``.github/workflows/ci.yml``: reproduce, verify, check metrics, report."""
    prefix = f"{workdir}/" if workdir else ""
    return "\n".join(
        [
            "# Continuous integration (drafted by `ratchet init`): every push and pull request is",
            "# reproduced and verified, and its metrics are checked against the base by the base's",
            "# ratchet.yaml; the report goes to the job summary and the run's artifacts.",
            "name: ci",
            "",
            "on:",
            "  push:",
            "    branches: [main]",
            "  pull_request:",
            "  workflow_dispatch:",
            "",
            *_header(workdir),
            "",
            "concurrency:",
            "  group: ci-${{ github.ref }}",
            "  cancel-in-progress: ${{ github.event_name == 'pull_request' }}",
            "",
            "jobs:",
            "  check:",
            "    name: reproduce, verify, check metrics, report",
            "    runs-on: ubuntu-latest",
            "    timeout-minutes: 90",
            "    permissions:",
            "      contents: read",
            "    env:",
            "      # The base a change is judged against: the PR's base, or the commit before the push.",
            "      BASE: ${{ github.event.pull_request.base.sha || github.event.before || 'HEAD~1' }}",
            "    steps:",
            *_setup(install, source, push=False),
            "      - run: ratchet repro --pull",
            "      - run: ratchet verify",
            '      - run: ratchet metrics diff "$BASE" workspace --check --md',
            "      - if: always()",
            '        run: ratchet report --base "$BASE" --out report.md --summary "$GITHUB_STEP_SUMMARY"',
            *_upload("report", [f"{prefix}report.md"]),
            "",
        ]
    )


_CT_IDENTITY = (
    "  GIT_AUTHOR_NAME: mlratchet-ct",
    "  GIT_AUTHOR_EMAIL: mlratchet-ct@users.noreply.github.com",
    "  GIT_COMMITTER_NAME: mlratchet-ct",
    "  GIT_COMMITTER_EMAIL: mlratchet-ct@users.noreply.github.com",
)


def ct_text(install: str, source: str | None, workdir: str | None) -> str:
    """``.github/workflows/ct.yml``: continuous training on a schedule or by hand."""
    return "\n".join(
        [
            "# Continuous training (drafted by `ratchet init`): on a schedule or by hand, `ratchet ct`",
            "# brings new data in as `ct:` in ratchet.yaml says, retrains, verifies, commits, pushes and",
            "# promotes through the gates. Uncomment `ct:` in ratchet.yaml first.",
            "name: ct",
            "",
            "on:",
            "  schedule:",
            '    - cron: "17 3 1 * *" # monthly',
            "  workflow_dispatch:",
            "",
            *_header(workdir, _CT_IDENTITY),
            "",
            "concurrency:",
            "  group: ct",
            "  cancel-in-progress: false # never interrupt a run half-way through a push",
            "",
            "jobs:",
            "  train:",
            "    name: refresh, retrain, verify, promote",
            "    runs-on: ubuntu-latest",
            "    timeout-minutes: 90",
            "    permissions:",
            "      contents: write # push the retrained commit, its notes and tags",
            "    steps:",
            *_setup(install, source, push=True),
            "      - run: ratchet ct --pull",
            "",
        ]
    )


def monitor_text(
    install: str, source: str | None, workdir: str | None, artifact: str | None
) -> str:
    """``.github/workflows/monitor.yml``: the newest batch against the production model."""
    prefix = f"{workdir}/" if workdir else ""
    model = f"{artifact}#production" if artifact else "MODEL#production"
    return "\n".join(
        [
            "# Continuous monitoring (drafted by `ratchet init`): daily, the newest batch is compared",
            "# with the data the production model was trained on; an alert fails the job, and the",
            "# report is uploaded. Set BATCH to where your newest batch lands (add the step that",
            "# fetches it before the monitor step), and `monitor:` in ratchet.yaml.",
            "name: monitor",
            "",
            "on:",
            "  schedule:",
            '    - cron: "23 6 * * *" # daily',
            "  workflow_dispatch:",
            "",
            *_header(workdir),
            "",
            "concurrency:",
            "  group: monitor",
            "  cancel-in-progress: true",
            "",
            "jobs:",
            "  monitor:",
            "    name: newest batch against the production model",
            "    runs-on: ubuntu-latest",
            "    timeout-minutes: 30",
            "    permissions:",
            "      contents: read",
            "    env:",
            "      BATCH: data/batches/latest.parquet # the newest batch (relative to the DVC root)",
            "    steps:",
            *_setup(install, source, push=False),
            "      - run: ratchet repro --pull",
            f'      - run: ratchet monitor "$BATCH" --model {_shell(model)} --out reports/monitor --md',
            *_upload("monitor-report", [f"{prefix}reports/monitor/"]),
            "",
        ]
    )


# -- the entry point -----------------------------------------------------------------------
def init(
    repo: Path | str = ".",
    *,
    force: bool = False,
    dry_run: bool = False,
    install: str | None = None,
) -> InitResult:
    """Draft ``ratchet.yaml`` and the workflows for the DVC project at ``repo``; write them.

    ``install``: the pip spec the workflows install mlratchet from (default: the mlratchet line
    of the project's requirements, else :data:`PLACEHOLDER_SPEC`). ``dry_run``: draft only.
    An existing file is a :class:`ConflictError` unless ``force``; nothing is written then.
    """
    from mlratchet.dvcroot import find_root
    from mlratchet.fsio import write_text
    from mlratchet.reproduce.engine import find_dvc_root

    root = find_root(find_dvc_root(repo))  # DVC's own finder: bad input outside a project
    workdir = root.prefix.rstrip("/") or None
    artifacts = _artifacts(root.path)
    rules, contract, declared, missing = _metrics(root.path)
    ranked = sorted((k for k, d in rules.items() if d), key=_rank)
    primary = tuple(ranked[:1])
    notes = []
    if missing:
        notes.append(missing)
    elif not declared:
        notes.append("dvc.yaml declares no metrics files: no metric rules or compare gates")
    spec, source = (install, None) if install else _install_spec(root.path)
    if install:
        source = "--install"
    first = artifacts[0] if artifacts else None
    texts = {
        f"{root.prefix}{POLICY_FILE}": policy_text(
            artifacts, rules, primary, contract, tuple(notes)
        ),
        ".github/workflows/ci.yml": ci_text(spec, source, workdir),
        ".github/workflows/ct.yml": ct_text(spec, source, workdir),
        ".github/workflows/monitor.yml": monitor_text(spec, source, workdir, first),
    }
    files = tuple(
        DraftFile(path=rel, text=text, existed=(root.git_top / rel).exists())
        for rel, text in texts.items()
    )
    existing = [f.path for f in files if f.existed]
    if existing and not force and not dry_run:
        raise ConflictError(
            f"{', '.join(existing)}: already {'exists' if len(existing) == 1 else 'exist'}; "
            "nothing written (rerun with --force to overwrite)"
        )
    if not dry_run:
        for f in files:
            write_text(root.git_top / f.path, f.text)
    return InitResult(
        dvc_root=workdir or ".",
        artifacts=artifacts,
        metrics=rules,
        primary=primary,
        contract=contract,
        install=spec,
        files=files,
        written=not dry_run,
    )
