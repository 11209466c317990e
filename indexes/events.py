"""Does a new index record match an event? Keyword or regular-expression matching.

An event's prompt is read in one of three ways:

- ``re:<pattern>`` or ``/<pattern>/``: a regular expression, searched case-insensitively;
- quoted phrases (``Alert when "quarterly revenue" or "budget" comes up``): any one of the
  phrases, as whole words, case-insensitively;
- otherwise the prompt's content words (instruction words such as "detect", "when", "someone",
  "mentions" left out) must all be there, each as a word or a simple inflection of it
  ("pricing" matches "price" and "prices").

Matching is lexical: "semantic" events are out of reach of the embedded default, as the docs say.
"""

from __future__ import annotations

import re
from functools import lru_cache

_WORD = re.compile(r"[\w']+", re.UNICODE)
_QUOTED = re.compile(r"[\"“”']([^\"“”']{2,})[\"“”']")

# Words that say what to do rather than what to look for.
_INSTRUCTION = frozenset("""
a an the and or of to in on at by for with from into is are was were be been being it its this
that these those there here when whenever if whether someone somebody anyone anybody person people
detect detects notify alert alerts tell me us flag show shows shown appear appears appearing
mention mentions mentioned mentioning say says said saying talk talks talking about discuss
discusses discussing speak speaks speaking any some something thing things event happens
occurs screen frame scene video stream visible see seen please come comes coming up brought
bring brings raise raises raised
""".split())


def _stem(word: str) -> str:
    for suffix in ("ing", "ies", "es", "ed", "s", "e", "y"):
        if word.endswith(suffix) and len(word) - len(suffix) >= 3:
            return word[: -len(suffix)]
    return word


@lru_cache(maxsize=256)
def _compile(prompt: str) -> tuple[str, object]:
    p = prompt.strip()
    if p.startswith("re:"):
        return "regex", re.compile(p[3:].strip(), re.IGNORECASE)
    if len(p) > 2 and p.startswith("/") and p.endswith("/"):
        return "regex", re.compile(p[1:-1], re.IGNORECASE)
    phrases = [q.strip().lower() for q in _QUOTED.findall(p)]
    if phrases:
        return "phrases", [re.compile(r"\b" + r"\s+".join(map(re.escape, q.split())) + r"\b", re.IGNORECASE)
                           for q in phrases]
    words = [w for w in _WORD.findall(p.lower()) if w not in _INSTRUCTION]
    return "words", frozenset(_stem(w) for w in words)


def check_prompt(prompt: str) -> None:
    """Raise ValueError for a prompt that can never match (an invalid expression, no words)."""
    try:
        kind, rule = _compile(prompt)
    except re.error as exc:
        raise ValueError(f"event_prompt is not a valid regular expression: {exc}") from exc
    if kind == "words" and not rule:
        raise ValueError("event_prompt has nothing to look for: give words, \"quoted phrases\" "
                         "or re:<pattern>")


def match(prompt: str, text: str) -> str | None:
    """What in ``text`` matched ``prompt`` (for the alert), or None."""
    kind, rule = _compile(prompt)
    if kind == "regex":
        found = rule.search(text)  # type: ignore[attr-defined]
        return found.group(0) if found else None
    if kind == "phrases":
        for pattern in rule:  # type: ignore[attr-defined]
            found = pattern.search(text)
            if found:
                return found.group(0)
        return None
    if not rule:
        return None
    have = {_stem(w): w for w in _WORD.findall(text.lower())}
    if all(w in have for w in rule):  # type: ignore[attr-defined]
        return " ".join(have[w] for w in sorted(rule))  # type: ignore[arg-type]
    return None
