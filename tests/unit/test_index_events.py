"""Event prompts matched against index records, and OCR output cleaned of texture noise."""

from __future__ import annotations

import pytest

from indexes.events import check_prompt, match
from indexes.scenes import clean_ocr

pytestmark = pytest.mark.unit


@pytest.mark.parametrize(("prompt", "text", "found"), [
    ("Detect when someone mentions pricing", "we changed the price yesterday", "price"),
    ("Detect when someone mentions pricing", "nothing about it", None),
    ("budget", "The BUDGETS for next year", "budgets"),
    ("Alert when the budget and the deadline come up", "the deadline moved", None),
    ("Alert when the budget and the deadline come up", "budget deadline", "budget deadline"),
    ('Alert when "quarterly revenue" is shown', "Text on screen: QUARTERLY REVENUE", "QUARTERLY REVENUE"),
    ('"quarterly revenue" or "q3 results"', "see the Q3   results now", "Q3   results"),
    ('"quarterly revenue"', "quarterly report, revenue up", None),
    (r"re:\bpay(roll)?\b", "the payroll run", "payroll"),
    (r"/\d{3}-\d{4}/", "call 555-1234 now", "555-1234"),
    (r"re:\bpayroll\b", "payrolls", None),
])
def test_prompts_match_what_they_say(prompt: str, text: str, found: str | None) -> None:
    assert match(prompt, text) == found


def test_prompts_that_can_never_match_are_refused() -> None:
    with pytest.raises(ValueError, match="regular expression"):
        check_prompt("re:([unclosed")
    with pytest.raises(ValueError, match="nothing to look for"):
        check_prompt("detect when someone mentions it")
    check_prompt("budget")


def test_ocr_noise_is_dropped_and_text_kept() -> None:
    raw = "of FA\n\nQUARTERLY  REVENUE\n\n=\n| _ ~~ |\nQ3 2026: up 12%\n"
    assert clean_ocr(raw) == "QUARTERLY REVENUE Q3 2026: up 12%"
