from pathlib import Path

import pytest

from judges.errors import TemplateError
from judges.pairs import Pair
from judges.prompts import PAPER_TEMPLATE, JudgeTemplate
from judges.sxs import presentations
from judges.verdicts import Order

FIGURE_9 = """Below is an instruction and two answers. Choose your preferred answer, which can be subjective.
The instruction:
INSTR
Answer1:
FIRST
Answer2:
SECOND
Which one is better, Answer1 or Answer2?
Only write a single digit as your answer, '1' for Answer1 or '2' for Answer2. Do not add any explanation."""  # noqa: E501


def test_default_template_is_the_papers_figure_9_verbatim() -> None:
    assert PAPER_TEMPLATE.render("INSTR", "FIRST", "SECOND") == FIGURE_9


def test_default_template_hash_is_pinned() -> None:
    # Changing the default prompt must be a visible, deliberate change of this test.
    assert PAPER_TEMPLATE.hash == "b9b41a14ff71286e"


def test_each_template_text_has_its_own_hash() -> None:
    other = JudgeTemplate("other", PAPER_TEMPLATE.text + " Be brief.")
    assert other.hash != PAPER_TEMPLATE.hash
    assert JudgeTemplate("renamed", PAPER_TEMPLATE.text).hash == PAPER_TEMPLATE.hash


def test_both_orders_are_rendered_with_the_responses_swapped() -> None:
    pair = Pair(id="p", instruction="Say hi", response_a="AAA", response_b="BBB")
    ab, ba = presentations(pair, PAPER_TEMPLATE)
    assert (ab.order, ab.first, ab.second) == (Order.AB, "AAA", "BBB")
    assert (ba.order, ba.first, ba.second) == (Order.BA, "BBB", "AAA")
    assert "Answer1:\nAAA\nAnswer2:\nBBB\n" in ab.prompt
    assert "Answer1:\nBBB\nAnswer2:\nAAA\n" in ba.prompt


def test_braces_in_responses_are_kept_literally() -> None:
    rendered = PAPER_TEMPLATE.render("{instruction}", "{response_2}", "x{0}y")
    assert "The instruction:\n{instruction}\nAnswer1:\n{response_2}\nAnswer2:\nx{0}y\n" in rendered


@pytest.mark.parametrize(
    ("text", "complaint"),
    [
        ("{instruction} {response_1}", "missing: ['response_2']"),
        ("{instruction} {response_1} {response_2} {answer}", "unknown: ['answer']"),
        ("{instruction {response_1} {response_2}", "not a valid format string"),
    ],
)
def test_bad_templates_are_rejected_with_the_reason(text: str, complaint: str) -> None:
    with pytest.raises(TemplateError, match=complaint.replace("[", r"\[").replace("]", r"\]")):
        JudgeTemplate("bad", text)


def test_template_from_file(tmp_path: Path) -> None:
    path = tmp_path / "terse.txt"
    path.write_text("Q: {instruction}\n1) {response_1}\n2) {response_2}\nBest:\n", encoding="utf-8")
    template = JudgeTemplate.from_file(path)
    assert template.name == "terse"
    assert template.render("q", "a", "b") == "Q: q\n1) a\n2) b\nBest:"
    with pytest.raises(TemplateError, match="cannot read template"):
        JudgeTemplate.from_file(tmp_path / "absent.txt")
