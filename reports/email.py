"""The readiness email and the failure alert; the only module that talks SMTP.

The readiness email has the report as HTML body (CSS inlined, the chart as an inline CID image),
a plain-text alternative with the verdict and reasons, and `readiness.html` attached. It is
always written to `email.eml` beside the report and sent only when `PILOT_SMTP_HOST` is set.
"""

from __future__ import annotations

import smtplib
import ssl
from email.message import EmailMessage
from email.utils import formatdate, make_msgid
from pathlib import Path
from typing import Any

import css_inline

from models.operating_model import OperatingModel
from models.settings import Settings
from reports.render import VERDICT_WORDS, write_atomic

CHART_CID = "cost-trend@pilot-readiness"


class EmailDeliveryError(RuntimeError):
    """Sending failed; the message never contains credentials."""


def subject(doc: dict[str, Any]) -> str:
    draft = "[DRAFT] " if doc.get("draft") else ""
    return f"{draft}[{VERDICT_WORDS[doc['verdict']][0]}] {doc['pilot']} {doc['week']}"


def plain_text(doc: dict[str, Any], actions: list[dict[str, Any]] | None = None) -> str:
    """The email's plain-text part: the verdict, then every action most urgent first with who
    does it and by when (the same lines as the report's "What to do next")."""
    title, sentence = VERDICT_WORDS[doc["verdict"]]
    lines = [f"{title}: {doc['pilot']} {doc['week']}", "", sentence, ""]
    if actions:
        lines.append("What to do, most urgent first:")
        for a in actions:
            mark = " [decides the verdict]" if a["decides_verdict"] else ""
            who = a["person"] or "nobody named"
            backup = f"; backup {a['backup']}" if a["backup"] else ""
            lines.append(f"- {a['id']} ({a['status']}){mark}: {a['message']}")
            lines.append(f"  Do: {a['action']}")
            if a.get("detail"):
                lines.append(f"  Row to add: {a['detail']}")
            lines.append(
                f"  Who: {who} ({a['role'].replace('_', ' ')}{backup}); due {a['due_text']}"
            )
    else:
        lines.append("Nothing is blocking. Keep the weekly review going.")
    m = doc["metrics"]
    lines += [
        "",
        f"Cost per AI task: {_figure(m.get('cost_per_task'), ' USD')}; AI tasks: {m['ai_tasks']}; "
        f"error rate: {_figure(m.get('error_rate'))}",
        "",
        "The full report is attached (readiness.html).",
    ]
    return "\n".join(lines) + "\n"


def _figure(value: Any, unit: str = "") -> str:
    return "unknown" if value is None else f"{value:g}{unit}"


def recipients(operating_model: OperatingModel, actions: list[dict[str, Any]]) -> list[str]:
    """The report's recipients, then each person who owns an action and their backup."""
    found = list(operating_model.report.recipients)
    for a in actions:
        found += [e for e in (a.get("email"), a.get("backup_email")) if e]
    return list(dict.fromkeys(str(e) for e in found))


def email_html(html: str, chart_data_uri: str | None) -> str:
    """The report as mail clients need it: CSS inlined, the chart referenced by Content-ID."""
    if chart_data_uri:
        html = html.replace(chart_data_uri, f"cid:{CHART_CID}")
    inliner = css_inline.CSSInliner(keep_at_rules=True, load_remote_stylesheets=False)
    return inliner.inline(html)


def build_message(
    doc: dict[str, Any],
    html: str,
    operating_model: OperatingModel,
    chart_png: bytes | None,
    actions: list[dict[str, Any]] | None = None,
) -> EmailMessage:
    """The readiness email of one week, to the recipients and every action's owner and backup."""
    import base64

    data_uri = (
        f"data:image/png;base64,{base64.b64encode(chart_png).decode()}" if chart_png else None
    )
    actions = actions or []
    message = _envelope(operating_model, subject(doc), recipients(operating_model, actions))
    message.set_content(plain_text(doc, actions))
    message.add_alternative(email_html(html, data_uri), subtype="html")
    if chart_png:
        body = message.get_payload()[1]
        body.add_related(chart_png, maintype="image", subtype="png", cid=f"<{CHART_CID}>")
    message.add_attachment(
        html.encode("utf-8"), maintype="text", subtype="html", filename="readiness.html"
    )
    return message


def _envelope(operating_model: OperatingModel, title: str, recipients: list[str]) -> EmailMessage:
    message = EmailMessage()
    message["Subject"] = title
    message["From"] = operating_model.report.sender or "pilot-readiness@localhost"
    message["To"] = ", ".join(recipients)
    message["Date"] = formatdate(localtime=False)
    message["Message-ID"] = make_msgid(domain="pilot-readiness")
    return message


def failure_alert(
    operating_model: OperatingModel, week: str, stage: str, error: str, rerun_command: str
) -> EmailMessage:
    """A short alert to the technical owner and backup that a weekly run failed."""
    owner = operating_model.roles.technical_owner
    recipients = [p.email for p in (owner, owner.backup if owner else None) if p and p.email]
    message = _envelope(
        operating_model,
        f"[RUN FAILED] {operating_model.pilot} {week} at stage {stage}",
        recipients or list(operating_model.report.recipients),
    )
    message.set_content(
        f"The weekly readiness run of {operating_model.pilot} for {week} failed at stage '{stage}'.\n\n"
        f"Error: {error}\n\nFix the cause, then re-run the week:\n\n    {rerun_command}\n"
    )
    return message


def send(message: EmailMessage, settings: Settings) -> None:
    """Send over SMTP with the configured security; raise EmailDeliveryError on failure."""
    if not settings.smtp_host:
        raise EmailDeliveryError("no SMTP host configured (PILOT_SMTP_HOST)")
    if not message["To"]:
        raise EmailDeliveryError("no recipients (report.recipients in the operating model)")
    password = settings.smtp_password.get_secret_value() if settings.smtp_password else None
    try:
        context = ssl.create_default_context(
            cafile=str(settings.smtp_ca_file) if settings.smtp_ca_file else None
        )
        if settings.smtp_security == "ssl":
            smtp: smtplib.SMTP = smtplib.SMTP_SSL(
                settings.smtp_host, settings.smtp_port, timeout=30, context=context
            )
        else:
            smtp = smtplib.SMTP(settings.smtp_host, settings.smtp_port, timeout=30)
        with smtp:
            if settings.smtp_security == "starttls":
                smtp.starttls(context=context)
            if settings.smtp_username and password:
                smtp.login(settings.smtp_username, password)
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        text = f"{type(exc).__name__}: {exc}"
        if password:
            text = text.replace(password, "***")
        raise EmailDeliveryError(text) from None


def write_eml(message: EmailMessage, path: Path) -> Path:
    write_atomic(path, message.as_bytes())
    return path
