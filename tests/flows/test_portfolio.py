"""The portfolio flow: every pilot's week in parallel, one index page, failures listed not fatal."""

from __future__ import annotations

import asyncio
import json
import re
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_PILOT

WEEK = "2026-W46"  # the newest week generate_inbox writes by default


@pytest.mark.usefixtures("prefect_server")
def test_portfolio_runs_pilots_in_parallel_and_lists_the_failed_one(tmp_path: Path, sqlite_url):
    """It writes the good pilot's report, lists the broken one with error and re-run command, and completes."""
    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentTaskRunId

    from flows.portfolio import portfolio_readiness
    from pipelines.demo.canonical import generate_inbox

    pilots, inbox_root, out = tmp_path / "pilots", tmp_path / "inbox", tmp_path / "reports"
    pilots.mkdir()
    good = pilots / "support-reply-drafts.yaml"
    good.write_text(EXAMPLE_PILOT.read_text())
    broken = pilots / "second-pilot.yaml"
    broken.write_text(
        EXAMPLE_PILOT.read_text()
        .replace("pilot: support-reply-drafts", "pilot: second-pilot")
        .replace("title: Support first-reply drafts", "title: Second pilot")
    )
    generate_inbox(inbox_root / "support-reply-drafts", weeks=2, seed=3)
    # The second pilot's exports land in a misspelt folder: <inbox_root>/second-pilot is missing.
    generate_inbox(inbox_root / "second_pilot", weeks=2, seed=4)

    state = portfolio_readiness(
        pilots=pilots,
        inbox_root=inbox_root,
        week=WEEK,
        out_dir=out,
        db_url=sqlite_url,
        send_email=False,
        return_state=True,
    )
    assert state.is_completed()
    result = state.result()
    assert result.completed == ["support-reply-drafts"]
    assert set(result.failed) == {"second-pilot"}
    assert result.index_html == out / "index.html"

    assert (out / "support-reply-drafts" / WEEK / "readiness.html").is_file()
    assert not (out / "second-pilot" / WEEK / "readiness.html").exists()

    doc = json.loads((out / "portfolio.json").read_text())
    assert (doc["completed"], doc["failed"]) == (1, 1)
    by_id = {p["pilot"]: p for p in doc["pilots"]}
    ok, bad = by_id["support-reply-drafts"], by_id["second-pilot"]
    verdict = json.loads((out / "support-reply-drafts" / WEEK / "readiness.json").read_text())[
        "verdict"
    ]
    assert ok["status"] == "completed" and ok["verdict"] == verdict
    assert ok["report"] == f"support-reply-drafts/{WEEK}/readiness.html"
    assert (out / ok["report"]).is_file()
    assert bad["status"] == "failed" and bad["title"] == "Second pilot"
    assert bad["error"].startswith("InboxMissing: inbox ") and "fix: create it" in bad["error"]
    assert str(inbox_root / "second-pilot") in bad["error"]
    assert bad["rerun"].startswith(
        f"pilot-readiness run --pilot {broken} --inbox {inbox_root / 'second-pilot'} --week {WEEK}"
    )
    assert result.failed["second-pilot"] == bad["error"]

    html = (out / "index.html").read_text()
    assert f'<a href="support-reply-drafts/{WEEK}/readiness.html">' in html
    words = {
        "ready": "READY TO EXPAND",
        "pause_expansion": "PAUSE EXPANSION",
        "pause_pilot": "PAUSE PILOT",
    }
    assert re.search(rf'class="verdict {verdict}">{words[verdict]}<', html)
    assert "Second pilot" in html and "InboxMissing: inbox " in html
    assert bad["rerun"] in html  # plain paths: nothing to escape
    assert "<script" not in html.lower()

    async def child_states() -> dict[str, str]:
        async with get_client() as client:
            tasks = await client.read_task_runs()
            ids = [t.id for t in tasks if t.flow_run_id == state.state_details.flow_run_id]
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    parent_task_run_id=FlowRunFilterParentTaskRunId(any_=ids)
                )
            )
            return {r.name: r.state.type.value for r in runs}

    assert asyncio.run(child_states()) == {
        f"support-reply-drafts-{WEEK}": "COMPLETED",
        f"second-pilot-{WEEK}": "FAILED",
    }


def test_index_escapes_hostile_titles_and_errors():
    """It escapes pilot titles, errors and commands so nothing from an operating model can run."""
    from reports.portfolio import portfolio_document, render_portfolio_html

    hostile = '<script>alert("x")</script><img src=x onerror=alert(1)>'
    doc = portfolio_document(
        [
            {
                "pilot": "a",
                "title": hostile,
                "week": WEEK,
                "status": "completed",
                "verdict": "pause_pilot",
                "report": f"a/{WEEK}/readiness.html",
            },
            {
                "pilot": "b",
                "title": f"B {hostile}",
                "week": WEEK,
                "status": "failed",
                "verdict": None,
                "report": None,
                "error": f"ValueError: {hostile}",
                "rerun": f"pilot-readiness run --pilot '{hostile}'",
            },
        ],
        WEEK,
    )
    html = render_portfolio_html(doc)
    assert "<script" not in html and "<img" not in html
    assert "&lt;script&gt;alert(&#34;x&#34;)&lt;/script&gt;" in html
    assert 'class="verdict pause_pilot">PAUSE PILOT<' in html
    assert "ValueError: &lt;script&gt;" in html


def _comparable(out: Path, db_url: str) -> tuple[list[dict], str]:
    """portfolio.json's entries and index.html with this run's folder and warehouse blanked."""
    doc = json.loads((out / "portfolio.json").read_text())
    text = json.dumps(doc["pilots"]).replace(db_url, "<db>").replace(str(out), "<out>")
    html = (out / "index.html").read_text().replace(db_url, "<db>").replace(str(out), "<out>")
    html = re.sub(r"\d{4}-\d\d-\d\dT[\d:.]+(Z|[+-]\d\d:\d\d)?", "<time>", html)
    return json.loads(text), html


@pytest.mark.usefixtures("prefect_server")
def test_portfolio_fans_out_to_deployment_runs_on_a_work_pool(tmp_path: Path):
    """With each pilot deployed on a work pool that a worker polls, it runs every pilot as a
    deployment run in the worker's own processes, and writes the same index and portfolio.json
    as the in-process portfolio does; once the worker is gone, a run nobody starts is cancelled
    and listed with the cause and the fix instead of waiting for ever."""
    import os
    import signal
    import subprocess
    import sys
    import time

    from prefect import get_client
    from prefect.client.schemas.filters import FlowRunFilter, FlowRunFilterParentTaskRunId
    from prefect.settings import PREFECT_API_URL

    from flows.deployments import deploy, ensure_work_pool
    from flows.portfolio import polled_deployments, portfolio_readiness
    from pipelines.demo.canonical import generate_inbox
    from tests.conftest import ROOT

    pilots, inbox_root = tmp_path / "pilots", tmp_path / "inbox"
    pilots.mkdir()
    for pilot in ("fan-a", "fan-b"):
        (pilots / f"{pilot}.yaml").write_text(
            EXAMPLE_PILOT.read_text().replace("pilot: support-reply-drafts", f"pilot: {pilot}")
        )
    generate_inbox(inbox_root / "fan-a", weeks=2, seed=5)  # fan-b's inbox is missing: it fails

    local_out, local_db = tmp_path / "local", f"sqlite:///{tmp_path / 'local.db'}"
    local = portfolio_readiness(
        pilots=pilots, inbox_root=inbox_root, week=WEEK, out_dir=local_out, db_url=local_db,
        send_email=False, use_deployments=False,
    )  # fmt: skip
    assert (local.completed, set(local.failed)) == (["fan-a"], {"fan-b"})

    ensure_work_pool("fan-pool")
    deploy(pilots, str(inbox_root), "fan-pool", working_dir=tmp_path)
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value(),
           "PREFECT_WORKER_QUERY_SECONDS": "1"}  # fmt: skip
    worker = subprocess.Popen(
        [sys.executable, "-m", "prefect", "worker", "start", "--pool", "fan-pool",
         "--type", "process", "--limit", "2"],
        env=env, cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        start_new_session=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 120
        while len(polled_deployments(["fan-a", "fan-b"])) < 2:
            assert time.monotonic() < deadline, "the worker never polled the pool"
            time.sleep(1)
        pooled_out, pooled_db = tmp_path / "pooled", f"sqlite:///{tmp_path / 'pooled.db'}"
        state = portfolio_readiness(
            pilots=pilots, inbox_root=inbox_root, week=WEEK, out_dir=pooled_out,
            db_url=pooled_db, send_email=False, return_state=True,
        )  # fmt: skip
    finally:
        os.killpg(worker.pid, signal.SIGTERM)
        worker.wait(timeout=30)
    assert state.is_completed()
    pooled = state.result()
    assert (pooled.completed, set(pooled.failed)) == (["fan-a"], {"fan-b"})
    assert pooled.failed["fan-b"].startswith("InboxMissing: inbox ")
    assert _comparable(pooled_out, pooled_db) == _comparable(local_out, local_db)

    async def children():
        async with get_client() as client:
            tasks = await client.read_task_runs()
            ids = [t.id for t in tasks if t.flow_run_id == state.state_details.flow_run_id]
            return await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    parent_task_run_id=FlowRunFilterParentTaskRunId(any_=ids)
                )
            )

    runs = asyncio.run(children())
    assert {r.name: r.state.type.value for r in runs} == {
        f"fan-a-{WEEK}": "COMPLETED",
        f"fan-b-{WEEK}": "FAILED",
    }
    assert all(r.deployment_id is not None and r.work_pool_name == "fan-pool" for r in runs)

    # The worker stopped moments ago: the server still counts the deployments as polled.
    assert len(polled_deployments(["fan-a", "fan-b"])) == 2
    stranded = portfolio_readiness(
        pilots=pilots, inbox_root=inbox_root, week=WEEK, out_dir=tmp_path / "stranded",
        db_url=pooled_db, send_email=False, worker_start_seconds=3,
    )  # fmt: skip
    assert stranded.completed == [] and set(stranded.failed) == {"fan-a", "fan-b"}
    assert stranded.failed["fan-a"].startswith(
        "no worker of work pool fan-pool started the run within 3 s: start one"
    )
