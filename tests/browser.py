"""Open an HTML file in headless Chromium: its DOM after the scripts ran, its errors, a screenshot.

How errors are caught. Chromium's ``--enable-logging=stderr`` log prints every console message
at the same ``INFO:CONSOLE`` level, so ``console.error`` cannot be told from ``console.log``
there. Instead :func:`open_page` opens a copy of the page with a small probe script at the top of
its ``<head>`` (after ``<meta charset>``). The probe records, from then on:

- ``console.error`` calls, uncaught exceptions and unhandled promise rejections;
- elements whose resource failed to load (an ``error`` event on an ``<img>``, ``<script>`` ...);
- every resource the page fetched (the Resource Timing entries) and every request the page's
  Content-Security-Policy refused (``securitypolicyviolation``): the page's *requests*.

Half a second (of virtual time) after the ``load`` event, so that the page's own load handlers
and short timers ran, it writes them as JSON into a hidden ``<script type="application/json">``
element, and ``--dump-dom`` prints the DOM; we read the record back and drop it from the DOM
we return.
``--virtual-time-budget`` makes Chromium run the page's timers before it dumps. The network is
also closed (``--host-resolver-rules``), so a page that tries a URL fails fast instead of hanging.

:func:`require_chromium` skips the test when Chromium is absent, except in CI (``CI`` set, as
GitHub Actions does, or ``RATCHET_TEST_BROWSER=required``, as ``.ci/run`` does), where a missing
Chromium is a failure.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

_RECORD_ID = "__browser_probe_record"

_PROBE = (
    """<script>(function () {
  var rec = {errors: [], refused: [], ready: false};
  function text(x) {
    if (x && x.stack) return String(x.stack);
    if (x && x.message) return String(x.message);
    try { return typeof x === "string" ? x : JSON.stringify(x); } catch (e) { return String(x); }
  }
  var error = console.error;
  console.error = function () {
    rec.errors.push("console.error: " + Array.prototype.map.call(arguments, text).join(" "));
    return error.apply(console, arguments);
  };
  window.addEventListener("error", function (ev) {
    var t = ev.target;
    if (t && t !== window && t.tagName) {
      rec.errors.push("failed to load <" + t.tagName.toLowerCase() + "> "
        + (t.src || t.href || t.data || ""));
    } else {
      rec.errors.push("uncaught: " + (ev.error ? text(ev.error) : ev.message));
    }
  }, true);
  window.addEventListener("unhandledrejection", function (ev) {
    rec.errors.push("unhandled rejection: " + text(ev.reason));
  });
  document.addEventListener("securitypolicyviolation", function (ev) {
    rec.refused.push(ev.blockedURI + " (" + ev.violatedDirective + ")");
  });
  window.addEventListener("load", function () {
    setTimeout(function () {
      rec.ready = true;
      rec.requests = performance.getEntriesByType("resource").map(function (e) {
        return e.name;
      });
      var el = document.createElement("script");
      el.type = "application/json";
      el.id = """
    + json.dumps(_RECORD_ID)
    + """;
      el.textContent = JSON.stringify(rec).replace(/</g, "\\\\u003c");
      document.body.appendChild(el);
    }, 500);
  });
})();</script>"""
)


@dataclass(frozen=True)
class PageRun:
    """What Chromium saw of one page."""

    dom: str  # the serialised DOM after the scripts ran (the probe's record removed)
    errors: list[str]  # console.error calls, uncaught exceptions, resources that failed to load
    requests: list[str]  # every resource fetched or refused by the page's CSP
    ready: bool  # the load event fired and the probe wrote its record
    stderr: str  # Chromium's own log, for assertion messages


def find_chromium() -> str | None:
    """The Chromium executable on PATH (Debian's ``chromium``, Ubuntu's ``chromium-browser``)."""
    for name in ("chromium", "chromium-browser", "google-chrome", "google-chrome-stable"):
        found = shutil.which(name)
        if found:
            return found
    return None


def require_chromium() -> str:
    """The Chromium executable; skip when absent on a developer machine, fail when absent in CI."""
    found = find_chromium()
    if found:
        return found
    if os.environ.get("CI") or os.environ.get("RATCHET_TEST_BROWSER") == "required":
        pytest.fail("chromium is not on PATH, and CI must run the browser tests (make chromium)")
    pytest.skip("chromium is not installed (apt-get install chromium); the browser tests need it")


def _chromium(args: list[str], *, timeout: float) -> subprocess.CompletedProcess[str]:
    exe = require_chromium()
    with tempfile.TemporaryDirectory(prefix="chromium-profile-") as profile:
        cmd = [
            exe,
            "--headless=new",
            "--no-sandbox",  # CI runs as root, where Chromium's sandbox refuses to start
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--no-default-browser-check",
            "--disable-extensions",
            "--disable-background-networking",
            "--disable-component-update",
            "--host-resolver-rules=MAP * ~NOTFOUND",  # no name resolves: no network at all
            f"--user-data-dir={profile}",
            *args,
        ]
        return subprocess.run(cmd, capture_output=True, text=True, timeout=timeout, check=False)


def _with_probe(page: str, after_load_js: str | None) -> str:
    probe = _PROBE
    if after_load_js:
        probe += (
            "<script>window.addEventListener('load', function () {" + after_load_js + "});</script>"
        )
    lower = page.lower()
    # After <meta charset> (which must come in the first 1024 bytes), else after <head>.
    charset = lower.find("<meta charset")
    if charset >= 0:
        end = lower.find(">", charset) + 1
        return page[:end] + probe + page[end:]
    head = lower.find("<head")
    if head >= 0:
        end = lower.find(">", head) + 1
        return page[:end] + probe + page[end:]
    doctype = lower.find("<!doctype")
    if doctype >= 0:
        end = lower.find(">", doctype) + 1
        return page[:end] + probe + page[end:]
    return probe + page


def open_page(
    path: Path,
    *,
    after_load_js: str | None = None,
    width: int = 1280,
    height: int = 1024,
    budget_ms: int = 3000,
    timeout: float = 60,
) -> PageRun:
    """Load ``path`` (with the probe) and return its DOM and what went wrong in it.

    ``after_load_js`` runs in a ``load`` handler after the page's own scripts (e.g. a click on a
    table header), before the DOM is dumped.
    """
    path = Path(path).resolve()
    probed = path.with_name(f".{path.stem}.probe{path.suffix}")
    probed.write_text(_with_probe(path.read_text(encoding="utf-8"), after_load_js), "utf-8")
    try:
        proc = _chromium(
            [
                f"--window-size={width},{height}",
                f"--virtual-time-budget={budget_ms}",
                "--dump-dom",
                probed.as_uri(),
            ],
            timeout=timeout,
        )
    finally:
        probed.unlink(missing_ok=True)
    dom = proc.stdout
    marker = f'<script type="application/json" id="{_RECORD_ID}">'
    start = dom.find(marker)
    if proc.returncode != 0 or start < 0:
        raise AssertionError(
            f"chromium --dump-dom {path} exited {proc.returncode} without the probe's record"
            f"\nstdout:\n{dom[-2000:]}\nstderr:\n{proc.stderr[-4000:]}"
        )
    end = dom.index("</script>", start)
    record = json.loads(dom[start + len(marker) : end])
    return PageRun(
        dom=dom[:start] + dom[end + len("</script>") :],
        errors=list(record["errors"]),
        requests=list(record.get("requests", [])) + list(record["refused"]),
        ready=bool(record["ready"]),
        stderr=proc.stderr,
    )


def screenshot(
    path: Path, png: Path, *, width: int = 1280, height: int = 1024, timeout: float = 60
) -> Path:
    """A PNG screenshot of ``path`` (the viewport ``width`` x ``height``), written to ``png``."""
    path = Path(path).resolve()
    png = Path(png).resolve()
    png.unlink(missing_ok=True)
    proc = _chromium(
        [
            f"--window-size={width},{height}",
            "--virtual-time-budget=3000",
            "--hide-scrollbars",
            f"--screenshot={png}",
            path.as_uri(),
        ],
        timeout=timeout,
    )
    if proc.returncode != 0 or not png.is_file():
        raise AssertionError(
            f"chromium --screenshot {path} exited {proc.returncode}, no {png}"
            f"\nstderr:\n{proc.stderr[-4000:]}"
        )
    return png
