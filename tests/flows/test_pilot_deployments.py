"""Deployments generated from pilots/: prefect.yaml kept current, `deploy` registering one
deployment per pilot on a real Prefect server, and `serve`/`deploy` refusing what would fail."""

from __future__ import annotations

import asyncio
import os
import sys
from pathlib import Path

import pytest

from tests.conftest import EXAMPLE_PILOT, ROOT, run_process


def write_pilot(folder: Path, pilot: str, timezone: str, run_at: str | None = None) -> Path:
    """A copy of the example operating model under another pilot id and timezone (and weekly
    run time, `report.run_at`, when given)."""
    folder.mkdir(parents=True, exist_ok=True)
    path = folder / f"{pilot}.yaml"
    text = (
        EXAMPLE_PILOT.read_text()
        .replace("pilot: support-reply-drafts", f"pilot: {pilot}")
        .replace("timezone: Europe/Berlin", f"timezone: {timezone}")
    )
    if run_at is not None:
        text = text.replace("\nreport:\n", f"\nreport:\n  run_at: {run_at}\n")
    path.write_text(text)
    return path


def cli(*args: str, env: dict[str, str], cwd: Path = ROOT):
    return run_process([sys.executable, "-m", "flows.cli", *args], env=env, cwd=cwd, timeout=300)


def without_prefect_api(tmp_path: Path) -> dict[str, str]:
    """This environment with no Prefect API configured (nor a profile that sets one)."""
    env = {k: v for k, v in os.environ.items() if k != "PREFECT_API_URL"}
    env["PREFECT_HOME"] = str(tmp_path / "prefect-home")
    return env


def test_prefect_yaml_is_generated_from_pilots(monkeypatch: pytest.MonkeyPatch) -> None:
    """It finds the repository's prefect.yaml equal to the one generated from pilots/ (run
    `uv run pilot-readiness deploy --write-yaml` after changing a pilot)."""
    from flows.deployments import prefect_yaml

    monkeypatch.chdir(ROOT)
    generated = prefect_yaml(Path("pilots"), "var/inbox", "local")
    assert (ROOT / "prefect.yaml").read_text(encoding="utf-8") == generated, (
        "prefect.yaml is stale: run `uv run pilot-readiness deploy --write-yaml`"
    )


def test_each_pilot_file_gives_a_deployment_in_its_own_timezone(tmp_path: Path) -> None:
    """It makes one deployment per operating-model file, named after the pilot, at the pilot's
    `report.run_at` (Monday 07:00 by default) in the pilot's timezone, with its file, its inbox
    under the root and its pilot tag."""
    import yaml

    from flows.deployments import pilot_deployments, prefect_yaml

    pilots = tmp_path / "pilots"
    berlin = write_pilot(pilots, "alpha", "Europe/Berlin")
    tokyo = write_pilot(pilots, "beta", "Asia/Tokyo", run_at="Sunday 22:15")
    (pilots / "notes.txt").write_text("not an operating model")

    found = pilot_deployments(pilots, "s3://bucket/inboxes/", "pool-a")
    assert [(d.name, d.cron, d.timezone) for d in found] == [
        ("alpha", "0 7 * * 1", "Europe/Berlin"),
        ("beta", "15 22 * * 0", "Asia/Tokyo"),
    ]
    assert found[1].parameters == {"pilot": tokyo.as_posix(), "inbox": "s3://bucket/inboxes/beta"}
    assert found[0].tags == ["pilot:alpha"] and found[0].full_name == "weekly-readiness/alpha"

    document = yaml.safe_load(prefect_yaml(pilots, "var/inbox", "pool-a"))
    by_name = {d["name"]: d for d in document["deployments"]}
    assert by_name["alpha"]["parameters"] == {
        "pilot": berlin.as_posix(),
        "inbox": "var/inbox/alpha",
    }
    assert by_name["beta"]["schedules"] == [{"cron": "15 22 * * 0", "timezone": "Asia/Tokyo"}]
    assert "(Sunday 22:15, Asia/Tokyo)" in by_name["beta"]["description"]
    assert by_name["beta"]["work_pool"] == {"name": "pool-a"}
    assert by_name["beta"]["entrypoint"] == "flows/weekly_readiness.py:weekly_readiness"


def test_a_run_time_that_is_not_a_weekday_and_clock_time_is_refused(tmp_path: Path) -> None:
    """It refuses `report.run_at: Mon 7am` naming the file and the key, before any deployment."""
    from flows.deployments import pilot_deployments
    from models.operating_model import OperatingModelError

    path = write_pilot(tmp_path / "pilots", "alpha", "Europe/Berlin", run_at="Mon 7am")
    with pytest.raises(OperatingModelError) as raised:
        pilot_deployments(tmp_path / "pilots", "var/inbox")
    assert str(path) in str(raised.value) and "report.run_at" in str(raised.value)


def test_two_files_with_one_pilot_id_are_refused(tmp_path: Path) -> None:
    """It refuses two operating-model files that share a pilot id, naming both files."""
    from flows.deployments import pilot_deployments

    first = write_pilot(tmp_path / "pilots", "alpha", "Europe/Berlin")
    second = tmp_path / "pilots" / "zz-copy.yaml"
    second.write_text(first.read_text())
    with pytest.raises(ValueError, match="pilot id alpha is also used by") as raised:
        pilot_deployments(tmp_path / "pilots", "var/inbox")
    assert str(second) in str(raised.value) and str(first) in str(raised.value)


def _deployments(names: list[str]):
    from prefect import get_client

    async def read():
        async with get_client() as client:
            return {
                name: await client.read_deployment_by_name(f"weekly-readiness/{name}")
                for name in names
            }

    return asyncio.run(read())


@pytest.mark.usefixtures("prefect_server")
def test_deploy_registers_every_pilot_and_a_second_deploy_updates_them(tmp_path: Path) -> None:
    """It creates the missing work pool and one deployment per pilot with the pilot's schedule,
    timezone, parameters, tags and working folder; deploying again keeps the same ids."""
    from prefect.settings import PREFECT_API_URL

    from flows.deployments import deploy

    pilots = tmp_path / "pilots"
    write_pilot(pilots, "deploy-berlin", "Europe/Berlin")
    write_pilot(pilots, "deploy-chicago", "America/Chicago")
    (tmp_path / "inbox" / "deploy-berlin").mkdir(parents=True)
    env = {**os.environ, "PREFECT_API_URL": PREFECT_API_URL.value()}

    done = cli(
        "deploy", "--pilots", "pilots", "--inbox-root", "inbox", "--work-pool", "deploy-pool",
        env=env, cwd=tmp_path,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "created work pool deploy-pool (type process)" in done.stdout
    assert (
        "weekly-readiness/deploy-chicago: Monday 07:00 America/Chicago (cron 0 7 * * 1)"
        in done.stdout
    )
    # The second pilot's inbox is missing: a warning, since a worker may see it later.
    assert "pilot deploy-chicago: inbox inbox/deploy-chicago does not exist" in done.stderr
    assert "deploy-berlin: inbox" not in done.stderr

    first = _deployments(["deploy-berlin", "deploy-chicago"])
    chicago = first["deploy-chicago"]
    schedule = chicago.schedules[0].schedule
    assert (schedule.cron, schedule.timezone) == ("0 7 * * 1", "America/Chicago")
    assert chicago.schedules[0].active
    assert chicago.parameters == {
        "pilot": "pilots/deploy-chicago.yaml",
        "inbox": "inbox/deploy-chicago",
    }
    assert chicago.tags == ["pilot:deploy-chicago"]
    assert chicago.work_pool_name == "deploy-pool"
    assert chicago.entrypoint == "flows.weekly_readiness.weekly_readiness"
    assert chicago.pull_steps == [
        {"prefect.deployments.steps.set_working_directory": {"directory": str(tmp_path)}}
    ]
    assert first["deploy-berlin"].schedules[0].schedule.timezone == "Europe/Berlin"

    again = deploy(pilots, str(tmp_path / "inbox"), "deploy-pool", working_dir=tmp_path)
    second = _deployments(["deploy-berlin", "deploy-chicago"])
    assert sorted(again) == sorted(d.id for d in first.values())
    assert second["deploy-berlin"].parameters["inbox"] == str(tmp_path / "inbox" / "deploy-berlin")
    assert len(second["deploy-berlin"].schedules) == 1


def test_deploy_and_serve_refuse_a_temporary_server(tmp_path: Path) -> None:
    """Without PREFECT_API_URL, `serve` and `deploy` stop with one line giving the cause and
    the fix instead of scheduling on a server that dies with them."""
    env = without_prefect_api(tmp_path)
    (tmp_path / "inbox" / "support-reply-drafts").mkdir(parents=True)
    for command in ("serve", "deploy"):
        refused = cli(command, "--inbox-root", str(tmp_path / "inbox"), env=env)
        assert refused.returncode == 1
        lines = refused.stderr.strip().splitlines()
        assert len(lines) == 1, refused.stderr
        assert lines[0].startswith(f"{command}: PREFECT_API_URL is not set")
        assert "prefect server start" in lines[0]
        assert ("--temporary" in lines[0]) == (command == "serve")


def test_serve_names_each_pilot_whose_inbox_is_missing(tmp_path: Path) -> None:
    """It checks every pilot's inbox before serving: one line per missing one with the pilot,
    the path and the fix, and exit 1 (also with --temporary, before any server starts)."""
    pilots = tmp_path / "pilots"
    write_pilot(pilots, "has-inbox", "Europe/Berlin")
    write_pilot(pilots, "no-inbox", "Europe/Paris")
    write_pilot(pilots, "no-inbox-either", "Europe/Rome")
    (tmp_path / "inbox" / "has-inbox").mkdir(parents=True)

    refused = cli(
        "serve", "--pilots", str(pilots), "--inbox-root", str(tmp_path / "inbox"), "--temporary",
        env=without_prefect_api(tmp_path),
    )  # fmt: skip
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 2, refused.stderr
    for pilot, line in zip(("no-inbox-either", "no-inbox"), lines, strict=True):  # file order
        assert line.startswith(f"pilot {pilot}: inbox {tmp_path / 'inbox' / pilot} does not exist")
        assert "--inbox-root" in line
    assert "Starting temporary server" not in refused.stdout + refused.stderr


def test_serve_refuses_an_unreadable_pilot_file_by_name(tmp_path: Path) -> None:
    """It names the operating-model file that does not load instead of serving the others."""
    pilots = tmp_path / "pilots"
    write_pilot(pilots, "fine", "Europe/Berlin")
    (pilots / "broken.yaml").write_text("pilot: broken\ntimezone: Mars/Olympus\n")
    refused = cli(
        "serve", "--pilots", str(pilots), "--inbox-root", str(tmp_path), "--temporary",
        env=without_prefect_api(tmp_path),
    )  # fmt: skip
    assert refused.returncode == 1
    assert str(pilots / "broken.yaml") in refused.stderr
    assert "Traceback" not in refused.stderr
