"""Champion/challenger in the model card: the rows' identity and both sides' scores."""

from __future__ import annotations

import hashlib
import math

from mlratchet.registry.champion import Comparison, Scored, rows_md5


def test_rows_md5_is_md5sum_lines_sorted_by_path() -> None:
    """The rows' identity is the md5 of md5sum's lines for the files, sorted by path; it does
    not depend on the order the files were listed in."""
    data = {"b.parquet": "2" * 32, "a.parquet": "1" * 32}
    text = f"{'1' * 32}  a.parquet\n{'2' * 32}  b.parquet\n"
    assert rows_md5(data) == hashlib.md5(text.encode()).hexdigest()  # noqa: S324
    assert rows_md5(dict(reversed(list(data.items())))) == rows_md5(data)


def test_comparison_json_is_strict_and_sorted() -> None:
    """Scores are sorted by key and a non-finite score is a string (the card is strict JSON)."""
    comparison = Comparison(
        rows_md5="f" * 32,
        data={"z": "1" * 32, "a": "2" * 32},
        evaluate="m:f",
        champion=Scored("v1", "c" * 40, "3" * 32, {"b": 1.0, "a": math.nan}),
        challenger=Scored("v2", "d" * 40, "4" * 32, None, "failed"),
    )
    out = comparison.to_json()
    assert list(out["data"]) == ["a", "z"]
    assert out["champion"]["scores"] == {"a": "NaN", "b": 1.0}
    assert out["challenger"] == {
        "version": "v2",
        "commit": "d" * 40,
        "model_md5": "4" * 32,
        "scores": None,
        "error": "failed",
    }


def test_card_markdown_shows_the_comparison() -> None:
    """The Markdown card says which rows and both sides' scores (or why one is missing)."""
    from mlratchet.registry.card import render_markdown

    card = {
        "artifact": "a",
        "version": "v2",
        "stage": "staging",
        "tag": "a#staging#2",
        "commit": "c" * 40,
        "path": "m.skops",
        "model_md5": "x" * 32,
        "model_checked_in": "cache",
        "promoted_by": {"name": "n", "email": "e"},
        "promoted_at": "2026-01-01T00:00:00Z",
        "compared_with": {"version": "v1", "commit": "d" * 40},
        "comparison": {
            "rows_md5": "r" * 32,
            "data": {},
            "evaluate": "proj:evaluate",
            "champion": {"version": "v1", "scores": None, "error": "gone"},
            "challenger": {"version": "v2", "scores": {"auc": 0.7}, "error": None},
        },
        "forced": False,
        "reason": None,
        "gates": [],
        "outputs": {},
        "params": {},
        "metrics": None,
        "environment": {},
    }
    text = render_markdown(card)  # type: ignore[arg-type]
    assert f"scored on the same rows (md5 `{'r' * 32}`) by `proj:evaluate`" in text
    assert "champion v1 (not scored: gone); challenger v2 auc 0.7" in text
