"""``ratchet registry show|history|audit``, ``ratchet register``, ``ratchet promote``."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

import click

from mlratchet.cli.options import option_json, option_md, option_policy, option_repo
from mlratchet.cli.render import echo_json, fail, note

option_push = click.option(
    "--push",
    is_flag=True,
    help="Push the new tag(s) to the remote in one atomic push; if the remote refuses, "
    "delete them locally again (exit 4).",
)
option_remote = click.option(
    "--remote",
    default="origin",
    show_default=True,
    help="The remote --push pushes to.",
)


def table(headers: Sequence[str], rows: Sequence[Sequence[Any]]) -> str:
    """A plain-text table with aligned columns."""
    cells = [[str(h) for h in headers]] + [["-" if c is None else str(c) for c in r] for r in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(headers))]
    lines = [
        "  ".join(c.ljust(w) for c, w in zip(row, widths, strict=True)).rstrip() for row in cells
    ]
    lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)


@click.group()
def registry() -> None:
    """The model registry: GTO-format git tags (NAME@vX.Y.Z, NAME#STAGE#N).

    `gto show` and `gto history` read the same tags and give the same answers.
    """


@registry.command("show")
@click.argument("ref", required=False)
@option_repo
@option_json
@option_md
def show(ref: str | None, repo: Path, as_json: bool, as_md: bool) -> int:
    """Show the registry, an artifact (NAME), or a version (NAME@vX.Y.Z, NAME#STAGE).

    Without REF: each artifact, its latest version and the version in each stage. With a
    version: its events and the model card of each of its promotions. A stage whose tags the
    audit finds inconsistent (moved, re-dated, future-dated...) is marked, and the exit code is 3;
    NAME#STAGE of such a stage is refused (exit 3).
    """
    from mlratchet.registry.views import show as show_view

    view = show_view(repo, ref)
    if as_json:
        echo_json(view)
    else:
        _render_show(view, as_md)
    return _inconsistent_exit(view)


def _inconsistent_exit(view: Any) -> int:
    """One red line per stage the audit finds unreliable, and exit 3; else 0."""
    from mlratchet.registry.audit import describe_inconsistency

    if view["kind"] == "registry":
        marked = [(a["name"], a["inconsistent"]) for a in view["artifacts"]]
    elif view["kind"] == "artifact":
        marked = [(view["artifact"]["name"], view["artifact"]["inconsistent"])]
    else:
        marked = [(view["artifact"], view["inconsistent"])]
    lines = [describe_inconsistency(n, s, f) for n, stages in marked for s, f in stages.items()]
    for line in lines:
        fail(line)
    return 3 if lines else 0


_MARK = " (inconsistent)"


def _render_show(view: Any, as_md: bool) -> None:
    if view["kind"] == "registry":
        stages: list[str] = []
        for art in view["artifacts"]:
            stages += [s for s in art["stages"] if s not in stages]
        rows = [
            [
                art["name"]
                + (" (deprecated)" if art["deprecated"] else "")
                + (_MARK if art["inconsistent"] else ""),
                art["latest"]["version"] if art["latest"] else None,
                *[
                    _marked(_version_in(art["stages"].get(s)), s in art["inconsistent"])
                    for s in stages
                ],
            ]
            for art in view["artifacts"]
        ]
        _echo_table(["artifact", "latest", *[f"#{s}" for s in stages]], rows, as_md)
        if not rows:
            note("no artifacts: nothing registered and none declared in dvc.yaml")
    elif view["kind"] == "artifact":
        bad = view["artifact"]["inconsistent"]
        rows = [
            [
                v["version"],
                v["commit"][:7],
                v["registered_at"],
                _stage_list(v["stages"], bad),
                _stage_list(v["holds"], bad),
            ]
            for v in view["versions"]
        ]
        _echo_table(["version", "commit", "registered", "in stages", "holds"], rows, as_md)
        if not rows:
            note(f"{view['artifact']['name']}: no version registered yet")
    else:
        version = view["version"]
        bad = view["inconsistent"]
        if not as_md:
            click.echo(
                f"{view['artifact']} {version['version']} at {version['commit']}\n"
                f"in stages: {_stage_list(version['stages'], bad) or '-'}; "
                f"holds: {_stage_list(version['holds'], bad) or '-'}\n"
            )
            rows = [
                [e["timestamp"], e["event"], e["stage"], e["tag"], e["author"]]
                for e in view["events"]
            ]
            click.echo(table(["date", "event", "stage", "tag", "by"], rows) + "\n")
        for card in view["cards"]:
            from mlratchet.registry.card import render_markdown  # cards only: a version's view

            click.echo(render_markdown(card))
        if not view["cards"]:
            note("no model card: this version was never promoted by `ratchet promote`")


def _version_in(ref: Any) -> str | None:
    return ref["version"] if ref else None


def _marked(cell: str | None, inconsistent: bool) -> str | None:
    """A table cell, marked when the audit finds its stage unreliable."""
    return (cell or "?") + _MARK if inconsistent else cell


def _stage_list(stages: Sequence[str], bad: Any) -> str:
    """Stage names, comma-separated, the ones the audit finds unreliable marked."""
    return ", ".join(s + _MARK if s in bad else s for s in stages)


def _echo_table(headers: Sequence[str], rows: Sequence[Sequence[Any]], as_md: bool) -> None:
    if not rows:
        return
    if as_md:
        click.echo("| " + " | ".join(headers) + " |")
        click.echo("|" + "---|" * len(headers))
        for row in rows:
            click.echo("| " + " | ".join("-" if c is None else str(c) for c in row) + " |")
    else:
        click.echo(table(headers, rows))


@registry.command("history")
@click.argument("name", required=False)
@option_repo
@option_json
def history(name: str | None, repo: Path, as_json: bool) -> int:
    """Every registration and stage assignment (of NAME, or of all artifacts), oldest first."""
    from mlratchet.registry.views import history as history_view

    view = history_view(repo, name)
    if as_json:
        echo_json(view)
        return 0
    rows = [
        [
            e["timestamp"],
            e["artifact"],
            e["event"],
            e["version"],
            e["stage"],
            e["commit"][:7],
            e["tag"],
        ]
        for e in view["events"]
    ]
    if rows:
        click.echo(table(["date", "artifact", "event", "version", "stage", "commit", "tag"], rows))
    else:
        note("the registry is empty")
    return 0


@registry.command("audit")
@option_repo
@option_json
def audit(repo: Path, as_json: bool) -> int:
    """Report registry tags that make it unreliable (exit 3 if any).

    Lightweight tags in an artifact's namespace, tags dated out of order with their counters
    (moved, re-dated or future-dated tags), duplicate counters, assignments to unregistered
    versions, renamed tag objects, malformed names.
    """
    from mlratchet.registry.audit import audit as run_audit

    report = run_audit(repo)
    if as_json:
        echo_json(report.to_json())
    else:
        rows = [[f.kind, f.tag, f.detail] for f in report.findings]
        if rows:
            click.echo(table(["finding", "tag", "detail"], rows))
    if report.ok:
        note(f"registry audit: {report.tags} registry tag(s), nothing found")
        return 0
    fail(
        f"registry audit: {len(report.findings)} finding(s) in {report.tags} registry tag(s); "
        "the registry's answers may not be what they seem"
    )
    return 3


@registry.command("get")
@click.argument("ref")
@click.option(
    "-o",
    "--out",
    type=click.Path(dir_okay=False, path_type=Path),
    default=None,
    help="Where to write the model [default: the artifact's file name, here].",
)
@click.option("--remote", default=None, help="The DVC remote to fetch from [default: the default].")
@option_repo
@option_json
def get(ref: str, out: Path | None, remote: str | None, repo: Path, as_json: bool) -> int:
    """Fetch the model REF names (NAME#STAGE or NAME@vX.Y.Z), checked against the registry.

    The bytes come from the DVC cache or remote and are re-hashed first: only a model whose md5
    matches dvc.lock at the version's commit (and the promotion's model card) is written.
    """
    from mlratchet.registry.deliver import get as deliver

    done = deliver(repo, ref, out, remote=remote)
    if as_json:
        echo_json(
            {
                "artifact": done.artifact,
                "version": done.version,
                "stage": done.stage,
                "commit": done.commit,
                "md5": done.md5,
                "source": done.source,
                "out": str(done.out),
                "card_checked": done.card_checked,
            }
        )
    note(
        f"{ref}: {done.artifact} {done.version} ({done.commit[:7]}) -> {done.out}, "
        f"md5 {done.md5} checked ({done.source})"
    )
    return 0


@click.command()
@click.argument("name")
@click.option("--rev", default="HEAD", show_default=True, help="The commit to register.")
@click.option("--version", "version", help="The version to register, e.g. v1.0.0.")
@click.option(
    "--bump",
    type=click.Choice(["major", "minor", "patch"]),
    help="Bump this part of the greatest registered version (default: patch; v0.0.1 first).",
)
@option_push
@option_remote
@option_repo
@option_json
def register(  # noqa: PLR0917 - Click passes each option as an argument
    name: str,
    rev: str,
    version: str | None,
    bump: str | None,
    push: bool,
    remote: str,
    repo: Path,
    as_json: bool,
) -> int:
    """Register a version of artifact NAME (tag NAME@vX.Y.Z, GTO's format).

    Refuses a dirty work tree (exit 4) and a commit whose model does not hash to its dvc.lock
    record (exit 3). Registering the same version at the same commit again is a no-op.
    """
    from mlratchet.registry.promote import register as run_register

    if version is not None and bump is not None:
        raise click.UsageError("give --version or --bump, not both")
    result = run_register(
        repo,
        name,
        rev=rev,
        version=version,
        bump=bump,  # type: ignore[arg-type]  # click.Choice gives one of the three
        push=push,
        remote=remote,
    )
    if as_json:
        echo_json(result.to_json())
    if result.same_bytes:
        note(
            f"{name} {result.version} (commit {result.commit[:7]}, {result.tag}) already holds "
            f"these bytes (md5 {result.model_md5}): nothing registered"
        )
    elif result.created:
        note(f"registered {name} {result.version} at {result.commit[:7]}: tag {result.tag}")
    else:
        note(f"{name} {result.version} is already registered at {result.commit[:7]} ({result.tag})")
    if push:
        note(f"pushed {result.tag} to {remote}")
    return 0


@click.command()
@click.argument("name")
@click.option("--to", "stage", required=True, help="The stage to promote to, e.g. production.")
@click.option("--version", "version", help="The registered version to promote, e.g. v1.0.0.")
@click.option(
    "--rev",
    help="The commit to promote (registered first if needed) [default: HEAD].",
)
@click.option("--dry-run", is_flag=True, help="Evaluate and print the gates; create nothing.")
@click.option("--force", is_flag=True, help="Promote even if gates fail (needs --reason).")
@click.option("--reason", help="Why: recorded in the tag message and the model card.")
@option_push
@option_remote
@option_repo
@option_policy
@option_json
@option_md
def promote(  # noqa: PLR0917 - Click passes each option as an argument
    name: str,
    stage: str,
    version: str | None,
    rev: str | None,
    dry_run: bool,
    force: bool,
    reason: str | None,
    push: bool,
    remote: str,
    repo: Path,
    policy_file: Path | None,
    as_json: bool,
    as_md: bool,
) -> int:
    """Promote a version of NAME to a stage through the gates of ratchet.yaml (registry:).

    Prints the gate table (gate, required, actual, result). Any failing gate: exit 1 and no
    tag. All pass: creates NAME#STAGE#N (registering the version first if needed) with the
    model card in its message.
    """
    from mlratchet.registry.card import gate_table_markdown

    if version is not None and rev is not None:
        raise click.UsageError("give --version or --rev, not both")
    if force and not (reason and reason.strip()):
        raise click.UsageError("--force needs --reason TEXT (it is recorded in the tag)")
    from mlratchet.registry.promote import promote as run_promote

    result = run_promote(
        repo,
        name,
        stage,
        version=version,
        rev=rev,
        dry_run=dry_run,
        push=push,
        force=force,
        reason=reason,
        remote=remote,
        policy_file=policy_file,
    )
    rows = [g.to_json() for g in result.gates]
    if as_json:
        echo_json(result.to_json())
    elif as_md:
        click.echo(gate_table_markdown(rows) if rows else "")
    elif rows:
        click.echo(
            table(
                ["gate", "required", "actual", "result"],
                [[r["gate"], r["required"], r["actual"], r["result"]] for r in rows],
            )
        )
    label = f"{name} {result.version} ({result.commit[:7]})"
    if result.outcome == "already":
        note(f"{label} is already in {stage} ({result.tag}); nothing to do")
        return 0
    if result.outcome == "refused":
        failed = sum(1 for g in result.gates if g.failed)
        fail(f"{label} -> {stage}: {failed} gate(s) failed; no tag created")
        return 1
    if result.outcome == "planned":
        verdict = "would pass" if result.passed else "would fail"
        what = ", ".join(t for t in (result.registration_tag, result.tag) if t)
        note(f"dry run: {label} -> {stage} {verdict}; would create {what}")
        return 0 if result.passed else 1
    if result.registration_tag:
        note(f"registered {name} {result.version}: tag {result.registration_tag}")
    forced = " (forced past failing gates)" if result.forced else ""
    note(f"promoted {label} to {stage}{forced}: tag {result.tag}")
    if result.pushed:
        note(f"pushed to {remote}")
    return 0
