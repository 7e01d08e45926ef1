"""The options each export format declares: described, optional, and strict about their keys."""

from __future__ import annotations

import pytest
from pydantic import ValidationError

from pipelines.adapters import ADAPTERS
from pipelines.adapters.base import Adapter
from pipelines.adapters.tickets_common import DatedTicketOptions
from pipelines.adapters.usage_litellm import SpendLogOptions

EVERY_ADAPTER = sorted(ADAPTERS.values(), key=lambda a: a.name)


@pytest.mark.parametrize("adapter", EVERY_ADAPTER, ids=lambda a: a.name)
def test_every_option_has_a_default_and_a_one_line_description(adapter: Adapter) -> None:
    """It declares each option with a default (none is required) and a one-line description."""
    for name, field in adapter.options.model_fields.items():
        assert not field.is_required(), name
        assert field.description and "\n" not in field.description, name


@pytest.mark.parametrize("adapter", EVERY_ADAPTER, ids=lambda a: a.name)
def test_an_options_model_refuses_a_key_it_does_not_declare(adapter: Adapter) -> None:
    """It refuses a key its format does not read."""
    with pytest.raises(ValidationError):
        adapter.options.model_validate({"no_such_option": "x"})


def test_numbers_and_single_words_read_as_the_text_the_adapters_expect() -> None:
    """It reads a numeric field id as text and one word where a list is expected as a list."""
    options = DatedTicketOptions.model_validate(
        {"category_field": 27642, "ai_draft_tags": "ai_draft", "date_format": "dd/MMM/yy"}
    )
    assert options.category_field == "27642"
    assert options.ai_draft_tags == ["ai_draft"]
    assert options.date_format == ["dd/MMM/yy"]
    assert SpendLogOptions.model_validate({"task_id_tag_prefix": None}).task_id_tag_prefix == []
