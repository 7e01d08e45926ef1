"""The readiness email against real SMTP servers (aiosmtpd on loopback), inside whole runs
under the session's Prefect server; and the run as the Prefect UI shows it."""

from __future__ import annotations

import asyncio
import datetime as dt
import ipaddress
import json
import shutil
import socket
import ssl
from email import message_from_bytes
from email.policy import default
from pathlib import Path

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult, LoginPassword

from tests.conftest import EXAMPLE_PILOT

PASSWORD = "pw-Zq81-never-shown"


def free_port() -> int:
    # aiosmtpd checks its own port after start, so port 0 cannot be used.
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it receives."""

    def __init__(self) -> None:
        self.messages: list = []
        self.envelopes: list[list[str]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append(message_from_bytes(envelope.content, policy=default))
        self.envelopes.append(list(envelope.rcpt_tos))
        return "250 OK"


class Login:
    """Accepts one user and password, records attempts."""

    def __init__(self) -> None:
        self.logins: list[str] = []

    def __call__(self, server, session, envelope, mechanism, auth_data):
        ok = isinstance(auth_data, LoginPassword) and (
            auth_data.login == b"mailer" and auth_data.password == PASSWORD.encode()
        )
        self.logins.append(auth_data.login.decode() if ok else "refused")
        return AuthResult(success=ok)


@pytest.fixture(scope="module")
def certificate(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, Path]:
    """A self-signed certificate for 127.0.0.1 and localhost."""
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes, serialization
    from cryptography.hazmat.primitives.asymmetric import ec
    from cryptography.x509.oid import NameOID

    key = ec.generate_private_key(ec.SECP256R1())
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "localhost")])
    now = dt.datetime.now(dt.UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - dt.timedelta(days=1))
        .not_valid_after(now + dt.timedelta(days=2))
        .add_extension(
            x509.SubjectAlternativeName(
                [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))]
            ),
            critical=False,
        )
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .sign(key, hashes.SHA256())
    )
    folder = tmp_path_factory.mktemp("tls")
    cert_path, key_path = folder / "cert.pem", folder / "key.pem"
    cert_path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    key_path.write_bytes(
        key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        )
    )
    return cert_path, key_path


@pytest.fixture
def plain_server():
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


@pytest.fixture
def tls_server(certificate):
    cert_path, key_path = certificate
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(cert_path, key_path)
    inbox, login = Inbox(), Login()
    controller = Controller(
        inbox,
        hostname="127.0.0.1",
        port=free_port(),
        tls_context=context,
        require_starttls=True,
        auth_required=True,
        auth_require_tls=True,
        authenticator=login,
    )
    controller.start()
    yield controller, inbox, login
    controller.stop()


@pytest.fixture(scope="module")
def exports(tmp_path_factory: pytest.TempPathFactory):
    from pipelines.demo.canonical import generate_inbox

    return generate_inbox(tmp_path_factory.mktemp("mail-exports"), weeks=2, seed=21)


def run_week(exports, folder: Path, db_url: str, **options):
    from flows.weekly_readiness import weekly_readiness

    inbox = folder / "inbox"
    if not inbox.exists():
        shutil.copytree(exports.root, inbox, copy_function=shutil.copy2)
    return weekly_readiness(
        pilot=EXAMPLE_PILOT,
        inbox=inbox,
        week=exports.weeks[-1],
        out_dir=folder / "reports",
        db_url=db_url,
        **options,
    )


def smtp_env(monkeypatch: pytest.MonkeyPatch, port: int, **extra: str) -> None:
    monkeypatch.setenv("PILOT_SMTP_HOST", "127.0.0.1")
    monkeypatch.setenv("PILOT_SMTP_PORT", str(port))
    monkeypatch.setenv("PILOT_SMTP_RETRIES", "1")
    monkeypatch.setenv("PILOT_SMTP_RETRY_DELAY_SECONDS", "0.2")
    for key, value in extra.items():
        monkeypatch.setenv(key, value)


def email_status(result) -> dict:
    return json.loads(result.report_json.read_text())["email"]


@pytest.mark.usefixtures("prefect_server")
def test_readiness_email_arrives_whole_and_is_sent_once(
    exports, plain_server, tmp_path, sqlite_url, monkeypatch
):
    """It delivers subject, text, inlined HTML, the chart as CID image and the attached report,
    once per week unless --resend."""
    controller, inbox = plain_server
    smtp_env(monkeypatch, controller.port)
    result = run_week(exports, tmp_path, sqlite_url)
    assert email_status(result) == {"status": "sent", "error": None}
    assert len(inbox.messages) == 1
    message = inbox.messages[0]
    words = {"ready": "READY TO EXPAND", "pause_expansion": "PAUSE EXPANSION"}
    words["pause_pilot"] = "PAUSE PILOT"
    assert message["Subject"] == f"[{words[result.verdict]}] support-reply-drafts {result.week}"
    # The recipients, then the owner and backup of each role with an action, each delivered.
    doc = json.loads(result.report_json.read_text())
    roles = {r["owner_role"] for r in doc["rules"] if r["due"]}
    to = message["To"].split(", ")
    assert to[:2] == ["ana@example.com", "sam@example.com"] and len(to) == len(set(to))
    if "reviewer" in roles:
        assert {"dana@example.com", "max@example.com"} <= set(to)
    assert inbox.envelopes[0] == to
    assert message["From"] == "readiness@example.com"
    text = message.get_body(preferencelist=("plain",)).get_content()
    assert words[result.verdict] in text
    for rule in doc["rules"]:
        if rule["due"]:
            assert rule["id"] in text and "due " in text
    html = message.get_body(preferencelist=("html",)).get_content()
    assert 'src="cid:cost-trend@pilot-readiness"' in html
    assert 'style="' in html  # CSS inlined for mail clients
    images = [p for p in message.walk() if p.get_content_type() == "image/png"]
    assert [p["Content-ID"] for p in images] == ["<cost-trend@pilot-readiness>"]
    attachments = [p.get_filename() for p in message.iter_attachments()]
    assert attachments == ["readiness.html"]

    again = run_week(exports, tmp_path, sqlite_url)
    assert len(inbox.messages) == 1 and email_status(again)["status"] == "sent"
    run_week(exports, tmp_path, sqlite_url, resend=True)
    assert len(inbox.messages) == 2


def test_starttls_with_login(tls_server, tmp_path, certificate, example_model):
    """It upgrades to TLS, trusts the configured CA, logs in and delivers."""
    from models.settings import Settings
    from reports.email import failure_alert, send

    controller, inbox, login = tls_server
    settings = Settings(
        smtp_host="127.0.0.1",
        smtp_port=controller.port,
        smtp_security="starttls",
        smtp_username="mailer",
        smtp_password=PASSWORD,
        smtp_ca_file=certificate[0],
    )
    send(
        failure_alert(example_model, "2026-W47", "ingest", "boom", "pilot-readiness run"), settings
    )
    assert login.logins == ["mailer"]
    assert inbox.messages[0]["To"] == "sam@example.com, jo@example.com"
    assert "pilot-readiness run" in inbox.messages[0].get_content()


@pytest.mark.usefixtures("prefect_server")
def test_smtp_down_then_rerun_sends_exactly_once(exports, tmp_path, sqlite_url, monkeypatch):
    """It completes the run with email failed when the server is down, shows the failed email
    task, and a later re-run of the week sends the email exactly once."""
    from prefect import get_client

    port = free_port()
    smtp_env(monkeypatch, port, PILOT_SMTP_USERNAME="mailer", PILOT_SMTP_PASSWORD=PASSWORD)
    result = run_week(exports, tmp_path, sqlite_url)
    status = email_status(result)
    assert status["status"] == "failed" and "Connection" in status["error"]
    assert PASSWORD not in status["error"]
    assert result.report_html.is_file()

    async def email_task_states() -> list[str]:
        async with get_client() as client:
            runs = await client.read_task_runs()
            return [r.state.type.value for r in runs if r.name.startswith("email")]

    assert "FAILED" in asyncio.run(email_task_states())

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.delenv("PILOT_SMTP_USERNAME")
        monkeypatch.delenv("PILOT_SMTP_PASSWORD")
        assert email_status(run_week(exports, tmp_path, sqlite_url))["status"] == "sent"
        run_week(exports, tmp_path, sqlite_url)
    finally:
        controller.stop()
    assert len(inbox.messages) == 1


@pytest.mark.usefixtures("prefect_server")
def test_artifacts_and_tags_reach_the_prefect_api_without_secrets(
    exports, tls_server, certificate, tmp_path, sqlite_url, monkeypatch
):
    """It publishes the summary, rule table and report link under the pilot's keys, tags the
    run, and the password appears in no log, artifact, report, email or warehouse row."""
    from prefect import get_client
    from prefect.client.schemas.filters import (
        ArtifactFilter,
        ArtifactFilterKey,
        FlowRunFilter,
        FlowRunFilterName,
        LogFilter,
        LogFilterFlowRunId,
    )
    from sqlalchemy import text

    from pipelines.warehouse.engine import transaction

    controller, inbox, login = tls_server
    smtp_env(
        monkeypatch,
        controller.port,
        PILOT_SMTP_SECURITY="starttls",
        PILOT_SMTP_USERNAME="mailer",
        PILOT_SMTP_PASSWORD=PASSWORD,
        PILOT_SMTP_CA_FILE=str(certificate[0]),
    )
    result = run_week(exports, tmp_path, sqlite_url)
    assert email_status(result)["status"] == "sent" and login.logins == ["mailer"]
    doc = json.loads(result.report_json.read_text())

    async def read_back():
        async with get_client() as client:
            keys = [
                "readiness-support-reply-drafts",
                "readiness-support-reply-drafts-rules",
                "readiness-support-reply-drafts-report",
            ]
            artifacts = await client.read_artifacts(
                artifact_filter=ArtifactFilter(key=ArtifactFilterKey(any_=keys))
            )
            runs = await client.read_flow_runs(
                flow_run_filter=FlowRunFilter(
                    name=FlowRunFilterName(any_=[f"support-reply-drafts-{result.week}"])
                )
            )
            newest = max(runs, key=lambda r: r.created)  # earlier tests ran the same week
            logs = await client.read_logs(
                log_filter=LogFilter(flow_run_id=LogFilterFlowRunId(any_=[newest.id])), limit=200
            )
            return artifacts, runs, logs

    from prefect.logging.handlers import APILogWorker

    APILogWorker.drain_all(timeout=10)  # logs reach the API in batches
    artifacts, runs, logs = asyncio.run(read_back())
    newest = max(runs, key=lambda r: r.created)  # earlier tests ran the same week
    by_key = {a.key: a for a in artifacts if a.flow_run_id == newest.id}
    summary = by_key["readiness-support-reply-drafts"]
    title = {"ready": "READY TO EXPAND", "pause_expansion": "PAUSE EXPANSION"}.get(
        doc["verdict"], "PAUSE PILOT"
    )
    assert f"# {title}: support-reply-drafts {doc['week']}" in summary.data
    table = by_key["readiness-support-reply-drafts-rules"]
    assert table.type == "table"
    rows = json.loads(table.data) if isinstance(table.data, str) else table.data
    assert {row["rule"] for row in rows} == {r["id"] for r in doc["rules"]}
    link = by_key["readiness-support-reply-drafts-report"]
    assert result.report_html.resolve().as_uri() in link.data
    assert all(a.description for a in by_key.values())
    assert {f"pilot:{doc['pilot']}", f"week:{doc['week']}", f"verdict:{doc['verdict']}"} <= set(
        newest.tags
    )
    assert any("usage:" in log.message and "read" in log.message for log in logs)

    haystacks = [log.message for log in logs]
    haystacks += [json.dumps(a.data) if not isinstance(a.data, str) else a.data for a in artifacts]
    haystacks += [p.read_text(errors="replace") for p in result.report_html.parent.rglob("*.*")]
    haystacks += [m.as_string() for m in inbox.messages]
    with transaction(sqlite_url) as conn:
        for table_name in ("run", "email_delivery"):
            haystacks += [str(tuple(r)) for r in conn.execute(text(f"SELECT * FROM {table_name}"))]
    assert haystacks and not [h for h in haystacks if PASSWORD in h]


@pytest.mark.usefixtures("prefect_server")
def test_failed_run_alerts_the_technical_owner_with_the_rerun_command(
    exports, plain_server, tmp_path, sqlite_url, monkeypatch
):
    """It emails the technical owner and backup the error, the failed stage (the report folder,
    checked before ingest) and the command that re-runs the week, and the run still fails."""
    controller, inbox = plain_server
    smtp_env(monkeypatch, controller.port)
    (tmp_path / "reports").write_text("a file where the report folder should be")
    with pytest.raises(Exception):  # noqa: B017 - the run must fail; the alert is the point
        run_week(exports, tmp_path, sqlite_url)
    assert len(inbox.messages) == 1
    alert = inbox.messages[0]
    assert (
        alert["Subject"] == f"[RUN FAILED] support-reply-drafts {exports.weeks[-1]} at stage output"
    )
    assert alert["To"] == "sam@example.com, jo@example.com"
    body = alert.get_content()
    assert f"--week {exports.weeks[-1]}" in body and "pilot-readiness run --pilot" in body
