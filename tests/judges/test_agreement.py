import json
from pathlib import Path

import pytest

from common.errors import InputFileError
from judges.agreement import agreement, item_agreement, read_labels
from judges.errors import NothingToCompareError
from judges.results import Label


@pytest.mark.parametrize(
    ("first", "second", "value"),
    [
        (Label.A, Label.A, 1.0),
        (Label.B, Label.B, 1.0),
        (Label.TIE, Label.TIE, 1.0),
        (Label.A, Label.TIE, 0.5),
        (Label.TIE, Label.B, 0.5),
        (Label.A, Label.B, 0.0),
    ],
)
def test_item_agreement_of_appendix_d(first: Label, second: Label, value: float) -> None:
    assert item_agreement(first, second) == value


def write(path: Path, rows: list[dict[str, object]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_agreement_over_common_labelled_ids(tmp_path: Path) -> None:
    judge = write(
        tmp_path / "judge.jsonl",
        [
            {"id": 1, "label": "1"},
            {"id": 2, "label": "tie"},
            {"id": 3, "label": "2"},
            {"id": 4, "label": None},
            {"id": 5, "label": "1"},
        ],
    )
    human = write(
        tmp_path / "human.jsonl",
        [
            {"id": "1", "label": "1"},
            {"id": "2", "label": "2"},
            {"id": "3", "label": "1"},
            {"id": "4", "label": "1"},
            {"id": "6", "label": "2"},
        ],
    )
    result = agreement(read_labels(judge), read_labels(human))
    assert result.percent == pytest.approx(100 * (1 + 0.5 + 0) / 3)
    assert (result.n, result.only_first, result.only_second, result.unlabelled) == (3, 1, 1, 1)


def test_bad_label_files_name_the_line(tmp_path: Path) -> None:
    bad = write(tmp_path / "bad.jsonl", [{"id": 1, "label": "1"}, {"id": 2, "label": "A"}])
    with pytest.raises(InputFileError, match=r"bad.jsonl:2: field 'label'"):
        read_labels(bad)
    twice = write(tmp_path / "twice.jsonl", [{"id": 1, "label": "1"}, {"id": 1, "label": "2"}])
    with pytest.raises(InputFileError, match=r"twice.jsonl:2: id '1' is labelled twice"):
        read_labels(twice)
    with pytest.raises(NothingToCompareError):
        agreement({"1": Label.A}, {"2": Label.A})


def test_agreement_between_pandalm_annotators(tmp_path: Path, shared_data: Path) -> None:
    pandalm = shared_data / "human_judgments" / "pandalm" / "testset-v1.json"
    rows = json.loads(pandalm.read_text(encoding="utf-8"))
    names = {"0": "tie", "1": "1", "2": "2"}
    files = {
        who: write(
            tmp_path / f"{who}.jsonl", [{"id": r["idx"], "label": names[str(r[who])]} for r in rows]
        )
        for who in ("annotator1", "annotator2")
    }
    result = agreement(read_labels(files["annotator1"]), read_labels(files["annotator2"]))
    pairs = [(str(r["annotator1"]), str(r["annotator2"])) for r in rows]
    same = sum(a == b for a, b in pairs)
    one_tie = sum(a != b and "0" in (a, b) for a, b in pairs)
    assert result.n == 999
    assert result.percent == pytest.approx(100 * (same + 0.5 * one_tie) / 999)
    assert same / 999 == pytest.approx(0.913, abs=0.001)  # the figure in shared/data's README


def test_agreement_per_language_with_a_confidence_interval(tmp_path: Path) -> None:
    judge = write(
        tmp_path / "judge.jsonl",
        [
            {"id": "1", "label": "1", "language": "es"},
            {"id": "2", "label": "2", "language": "es"},
            {"id": "3", "label": "tie", "language": "es"},
            {"id": "4", "label": "1", "language": "zh"},
            {"id": "5", "label": "1", "language": "zh"},
        ],
    )
    human = write(  # the human file gives no language: the judge's is used
        tmp_path / "human.jsonl",
        [{"id": str(i), "label": label} for i, label in enumerate("11121", start=1)],
    )
    result = agreement(read_labels(judge), read_labels(human))
    assert result.percent == pytest.approx(100 * (1 + 0 + 0.5 + 0 + 1) / 5)
    assert result.ci_low <= result.percent <= result.ci_high
    assert set(result.by_language) == {"es", "zh"}
    spanish, chinese = result.by_language["es"], result.by_language["zh"]
    assert spanish.percent == pytest.approx(100 * 1.5 / 3) and spanish.n == 3
    assert (chinese.percent, chinese.n) == (50.0, 2)
    assert 0 <= chinese.ci_low <= 50 <= chinese.ci_high <= 100
    assert chinese.ci_low < chinese.ci_high  # one agreement, one not: the interval is wide


def test_files_that_disagree_on_an_items_language_are_refused(tmp_path: Path) -> None:
    first = write(tmp_path / "a.jsonl", [{"id": "1", "label": "1", "language": "es"}])
    second = write(tmp_path / "b.jsonl", [{"id": "1", "label": "1", "language": "fi"}])
    with pytest.raises(NothingToCompareError, match=r"item '1' is in 'es'.*'fi'"):
        agreement(read_labels(first), read_labels(second))


def call(verdict: str | None) -> dict[str, object]:
    return {"raw": verdict or "?", "verdict": verdict}


def test_two_results_files_are_also_compared_order_by_order(tmp_path: Path) -> None:
    teacher = write(
        tmp_path / "teacher.jsonl",
        [
            {"id": "a", "label": "1", "ab": call("1"), "ba": call("2")},
            {"id": "b", "label": "2", "ab": call("2"), "ba": call("1")},
            {"id": "c", "label": "tie", "ab": call("1"), "ba": call("1")},
            {"id": "d", "label": "1", "ab": call("1"), "ba": call("2")},
        ],
    )
    student = write(
        tmp_path / "student.jsonl",
        [
            {"id": "a", "label": "1", "ab": call("1"), "ba": call("2")},  # 2 of 2 orders match
            {"id": "b", "label": "tie", "ab": call("1"), "ba": call("1")},  # 1 of 2
            {"id": "c", "label": "tie", "ab": call("1"), "ba": call("1")},  # 2 of 2
            {"id": "d", "label": None, "ab": call(None), "ba": call("2")},  # 1 of 1 valid
        ],
    )
    result = agreement(read_labels(teacher), read_labels(student))
    assert result.percent == pytest.approx(100 * 2.5 / 3) and result.n == 3
    orders = result.orders
    assert orders is not None
    assert orders.exact_match == pytest.approx(100 * 6 / 7) and orders.orders == 7
    # teacher: verdicts 1,2,2,1,1,1,1,2 → five of eight are '1'; 3 of 4 pairs consistent
    assert orders.first.first_position_preference == pytest.approx(100 * 5 / 8)
    assert orders.first.order_consistency == pytest.approx(75.0)
    assert (orders.first.invalid, orders.first.pairs) == (0, 4)
    # student: 1,2,1,1,1,1,2 → five of seven; of its three valid pairs, one is consistent
    assert orders.second.first_position_preference == pytest.approx(100 * 5 / 7)
    assert orders.second.order_consistency == pytest.approx(100 / 3)
    assert (orders.second.invalid, orders.second.pairs) == (1, 4)


def test_label_files_without_orders_have_no_order_comparison(tmp_path: Path) -> None:
    labels = write(tmp_path / "labels.jsonl", [{"id": 1, "label": "1"}])
    with_orders = write(
        tmp_path / "judged.jsonl", [{"id": 1, "label": "1", "ab": call("1"), "ba": call("2")}]
    )
    assert agreement(read_labels(labels), read_labels(with_orders)).orders is None
