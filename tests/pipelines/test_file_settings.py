"""The settings one inbox file is read with: folder-wide, its format's, its file patterns'."""

from __future__ import annotations

from models.operating_model import SourceSettings
from pipelines.file_settings import file_names, settings_for

FOLDER = SourceSettings.model_validate(
    {
        "format": "auto",
        "ai_draft_tags": ["ai_draft"],
        "category_field": "type",
        "formats": {"zendesk_api": {"category_field": 27642}, "jira_csv": {"encoding": "cp1252"}},
        "files": [
            {"match": "legacy-*.csv", "format": "jira_csv", "date_format": "%d/%m/%Y %H:%M"},
            {"match": "archive/*", "keep_extra_columns": True},
            {"match": "legacy-2024*.csv", "encoding": "utf-8"},
        ],
    }
)


def test_file_names_are_the_name_the_path_inside_the_folder_and_the_path_given() -> None:
    """It matches patterns against the file name and its path inside the source folder."""
    assert file_names("tickets", "tickets/archive/a.csv") == (
        "a.csv",
        "archive/a.csv",
        "tickets/archive/a.csv",
    )
    assert file_names("tickets", "/tmp/x/b.csv") == ("b.csv", "/tmp/x/b.csv")


def test_a_format_s_options_apply_only_to_files_read_as_that_format() -> None:
    """It gives a Zendesk page the account's field id and a Freshdesk file the folder's."""
    zendesk = settings_for(FOLDER, ("page.json",), "zendesk_api")
    freshdesk = settings_for(FOLDER, ("export.csv",), "freshdesk_csv")
    assert zendesk.model_extra["category_field"] == 27642
    assert freshdesk.model_extra["category_field"] == "type"
    assert freshdesk.model_extra["ai_draft_tags"] == ["ai_draft"]
    assert settings_for(FOLDER, ("x.csv",), "jira_csv").encoding == "cp1252"
    assert settings_for(FOLDER, ("x.csv",)).encoding is None


def test_file_entries_win_over_the_format_and_later_entries_over_earlier_ones() -> None:
    """It applies every matching `files` entry in order, over the folder and format options."""
    before_detection = settings_for(FOLDER, ("legacy-2024-01.csv",))
    assert before_detection.format == "jira_csv"
    assert before_detection.encoding == "utf-8"
    resolved = settings_for(FOLDER, ("legacy-2024-01.csv",), "jira_csv")
    assert resolved.encoding == "utf-8"
    assert resolved.model_extra["date_format"] == "%d/%m/%Y %H:%M"
    assert settings_for(FOLDER, ("legacy-2025.csv",), "jira_csv").encoding == "cp1252"
    archived = settings_for(FOLDER, ("a.csv", "archive/a.csv"), "freshdesk_csv")
    assert archived.keep_extra_columns is True
    assert "date_format" not in archived.model_extra
