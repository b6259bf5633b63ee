"""The request models say in their JSON schema exactly what their validators accept."""

from __future__ import annotations

import re

import pytest
from pydantic import ValidationError

from service.jobs.requests import NOT_BLANK, ComparisonRequest, InstructionIn


def test_blank_means_the_same_to_the_schema_and_the_validator() -> None:
    white = [chr(c) for c in range(0x110000) if chr(c).isspace()] + ["\ufeff"]
    assert all(re.search(NOT_BLANK, c) is None for c in white)
    for text in ("\u00a0\u0085", "\ufeff ", "\u2028\t"):  # blank to one engine or the other
        with pytest.raises(ValidationError, match="is blank"):
            InstructionIn(id="1", text=text)
    assert InstructionIn(id="1", text="\u00a0a").text == "\u00a0a"
    schema = ComparisonRequest.model_json_schema()
    assert schema["$defs"]["InstructionIn"]["properties"]["text"]["pattern"] == NOT_BLANK


def test_item_ids_and_instructions_together_are_outside_the_schema() -> None:
    schema = ComparisonRequest.model_json_schema()
    assert schema["not"]["required"] == ["item_ids", "instructions"]
    with pytest.raises(ValidationError, match="not both"):
        ComparisonRequest.model_validate(
            {"model_a": "a", "model_b": "b", "language": "es", "item_ids": ["1"],
             "instructions": [{"id": "1", "text": "Hi."}]}
        )  # fmt: skip
