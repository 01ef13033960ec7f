"""Experiments made fast: many DVC experiment commits in one ``git fast-import``.

An experiment is a commit whose parent is its baseline, its tree the baseline's with a few files
replaced or added, under ``refs/exps/<baseline[:2]>/<baseline[2:]>/<name>`` (DVC's layout, so
``dvc exp show`` reads them as its own). :func:`make_experiments` writes any number of them in
one process (1,000 in about a second); :func:`experiment_files` makes the bytes of one: the
baseline's params file with some keys set (as ``ratchet exp run -S`` writes it) and metrics JSON.

Used by the tests and by ``benchmarks/bench_exp_show.py`` (which puts ``tests/`` on its path).
"""

from __future__ import annotations

import json
import subprocess
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from mlratchet.experiments.points import Assignment, apply
from mlratchet.experiments.refs import ExpRef

#: (name, {path relative to the git top level: bytes})
Experiment = tuple[str, Mapping[str, bytes]]


def _git(repo: Path, *args: str, data: bytes | None = None) -> bytes:
    proc = subprocess.run(
        ["git", "-C", str(repo), *args], input=data, capture_output=True, check=False
    )
    if proc.returncode != 0:
        raise AssertionError(f"git {' '.join(args)}: {proc.stderr.decode(errors='replace')}")
    return proc.stdout


def make_experiments(
    repo: Path | str,
    baseline_sha: str,
    experiments: Sequence[Experiment],
    *,
    when: int = 1_700_000_000,
) -> dict[str, str]:
    """Create one experiment commit per ``(name, files)`` on ``baseline_sha``; return name -> sha.

    Every commit and ref is written by one ``git fast-import``; give names that are new (an
    existing ref would be moved, or refused by fast-import as not a fast-forward).
    """
    repo = Path(repo).resolve()
    baseline = _git(repo, "rev-parse", "--verify", f"{baseline_sha}^{{commit}}").decode().strip()
    stream = bytearray()
    for mark, (name, files) in enumerate(experiments, start=1):
        ref = ExpRef(baseline, name).ref
        message = f"ratchet exp: {name}".encode()
        stream += b"commit %s\nmark :%d\n" % (ref.encode(), mark)
        stream += b"committer Ratchet Test <test@example.com> %d +0000\n" % (when + mark)
        stream += b"data %d\n%s\n" % (len(message), message)
        stream += b"from %s\n" % baseline.encode()
        for path, content in sorted(files.items()):
            stream += b"M 100644 inline %s\ndata %d\n%s\n" % (path.encode(), len(content), content)
        stream += b"\n"
    marks = repo / ".git" / "expfixture-marks"
    _git(
        repo,
        "fast-import",
        "--quiet",
        "--done",
        f"--export-marks={marks}",
        data=bytes(stream) + b"done\n",
    )
    shas = dict(line.split(" ") for line in marks.read_text().split("\n") if line)
    marks.unlink()
    return {name: shas[f":{i}"] for i, (name, _files) in enumerate(experiments, start=1)}


def experiment_files(
    params_text: str,
    overrides: Mapping[str, Any],
    metrics: Mapping[str, Mapping[str, Any]],
    *,
    params_file: str = "params.yaml",
    prefix: str = "",
) -> dict[str, bytes]:
    """The files of one experiment: ``params_file`` (its baseline text ``params_text`` with the
    dotted ``overrides`` set) and each metrics file as JSON; paths under ``prefix`` (the DVC
    root relative to the git top level, e.g. ``"ml/"``)."""
    out: dict[str, bytes] = {}
    if overrides:
        assignments = [Assignment(params_file, key, value) for key, value in overrides.items()]
        out[prefix + params_file] = apply(params_text, assignments, params_file).encode()
    for path, values in metrics.items():
        out[prefix + path] = (json.dumps(values, indent=2, sort_keys=True) + "\n").encode()
    return out


#: A one-stage pipeline whose stage sleeps ``train.seconds`` (for stopping a sweep mid-run).
SLOW_STAGE: dict[str, str] = {
    "params.yaml": "train:\n  seconds: 1\n",
    "dvc.yaml": (
        "stages:\n  train:\n    cmd: python train.py\n    deps: [train.py]\n"
        "    params: [train.seconds]\n    metrics:\n      - metrics.json: {cache: false}\n"
    ),
    "train.py": (
        "import json, time, yaml\n"
        "s = yaml.safe_load(open('params.yaml'))['train']['seconds']\n"
        "time.sleep(s)\njson.dump({'score': s}, open('metrics.json', 'w'))\n"
    ),
}
