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


@pytest.mark.parametrize(
    ("fields", "given"),
    [
        (["item_ids", "instructions"], {"item_ids": ["1"],
                                        "instructions": [{"id": "1", "text": "Hi."}]}),
        (["judge", "judges"], {"judge": "a", "judges": ["b", "c"]}),
    ],
)  # fmt: skip
def test_two_fields_given_together_are_outside_the_schema(
    fields: list[str], given: dict[str, object]
) -> None:
    schema = ComparisonRequest.model_json_schema()
    excluded = [clause["not"]["required"] for clause in schema["allOf"]]
    assert fields in excluded
    with pytest.raises(ValidationError, match="not both"):
        ComparisonRequest.model_validate({"model_a": "a", "model_b": "b", "language": "es"} | given)


def test_a_panel_says_in_the_schema_what_its_validator_checks() -> None:
    panel = ComparisonRequest.model_json_schema()["properties"]["judges"]["anyOf"][0]
    assert (panel["minItems"], panel["uniqueItems"], panel["maxItems"]) == (2, True, 16)
    base = {"model_a": "a", "model_b": "b", "language": "es"}
    for judges, message in ((["a"], "at least two"), (["a", "b", "a"], "twice"),
                            ([f"j{i}" for i in range(17)], "at most 16")):  # fmt: skip
        with pytest.raises(ValidationError, match=message):
            ComparisonRequest.model_validate(base | {"judges": judges})
