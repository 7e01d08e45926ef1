"""Every known vendor export format, by its `sources.<source>.format` name."""

from __future__ import annotations

from pipelines.adapters import (
    bills_anthropic,
    bills_openai,
    custom_mapping,
    tickets_freshdesk,
    tickets_intercom,
    tickets_jira,
    tickets_zendesk,
    timesheets_clockify,
    timesheets_harvest,
    timesheets_toggl,
    usage_bedrock,
    usage_langfuse,
    usage_litellm,
)
from pipelines.adapters.base import Adapter

_MODULES = (
    usage_litellm,
    usage_langfuse,
    usage_bedrock,
    bills_openai,
    bills_anthropic,
    tickets_zendesk,
    tickets_freshdesk,
    tickets_jira,
    tickets_intercom,
    timesheets_toggl,
    timesheets_harvest,
    timesheets_clockify,
    custom_mapping,
)

ADAPTERS: dict[str, Adapter] = {a.name: a for m in _MODULES for a in m.ADAPTERS}


def adapters_for(source: str) -> list[Adapter]:
    """The adapters that read files of one inbox folder."""
    return [a for a in ADAPTERS.values() if a.source == source]
