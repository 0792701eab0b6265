"""Quiz rules in course.yaml, free-text questions, hint penalties in lab.yaml: their parsers,
and the scoring (matching typed answers, quiz points, the trainee's standing)."""

from __future__ import annotations

from datetime import timedelta

import pytest

from lms.auth.models import utcnow
from lms.catalog.loader import load_course
from lms.catalog.quiz_rules import QuizRules
from lms.content import ContentError
from lms.progress import quizzes
from lms.progress.points import CoursePoints
from tests.unit.test_course_loader import write
from tests.unit.test_lab_spec import errors_of, find, make_lab

MODULE = """
---
title: A
---
Body

```quiz
- question: Which address?
  answer: "10.0.0.5"
- question: Which tool?
  answer: [Nmap, zenmap]
  match: ignore_case
- question: Which port?
  answer: 22
- question: Pick one
  choices: [a, b]
  answer: 1
```
"""


def course_with(tmp_path, course_yaml: str, module: str = MODULE):
    folder = tmp_path / "c"
    write(folder, "course.yaml", "title: C\nsummary: S\n" + course_yaml)
    write(folder, "01-a.md", module)
    return folder


def issues_of(folder) -> str:
    with pytest.raises(ContentError) as err:
        load_course(folder)
    return "\n".join(str(i) for i in err.value.issues)


def test_without_quiz_rules_a_course_keeps_self_study_defaults(tmp_path):
    course = load_course(course_with(tmp_path, ""))
    assert course.quiz_rules == QuizRules()
    assert not course.quiz_rules.needs_paper


def test_quiz_rules_are_read(tmp_path):
    course = load_course(
        course_with(
            tmp_path,
            "quiz:\n  shuffle_choices: true\n  questions_per_attempt: 2\n  max_attempts: 3\n"
            "  cooldown_minutes: 10\n  explanations: after_passing\n",
        )
    )
    rules = course.quiz_rules
    assert rules == QuizRules(True, 2, 3, 10, "after_passing")
    assert rules.needs_paper and rules.questions_asked(4) == 2 and rules.questions_asked(1) == 1
    assert QuizRules.from_dict(rules.as_dict()) == rules


def test_bad_quiz_rules_get_a_message_at_the_quiz_line(tmp_path):
    text = issues_of(
        course_with(
            tmp_path,
            "quiz:\n  shuffle_choices: yes please\n  max_attempts: 0\n  cooldown_minutes: -5\n"
            "  explanations: never\n  questions_per_attempt: two\n  retries: 3\n",
        )
    )
    assert "course.yaml:3: quiz: shuffle_choices must be true or false" in text
    assert "quiz: max_attempts must be a whole number from 1 to 100" in text
    assert "quiz: cooldown_minutes must be a whole number from 0 to 10080" in text
    assert "quiz: explanations must be one of always, after_passing" in text
    assert "quiz: questions_per_attempt must be a whole number from 1 to 1000" in text
    assert "quiz: unknown key 'retries'" in text
    assert "course.yaml:3: quiz: must be a mapping" in issues_of(
        course_with(tmp_path / "x", "quiz: strict\n")
    )


def test_free_text_questions_are_read(tmp_path):
    quiz = load_course(course_with(tmp_path, "")).modules[0].quiz
    assert [q.free_text for q in quiz] == [True, True, True, False]
    assert quiz[0].accepted == ["10.0.0.5"] and quiz[0].match == "exact"
    assert quiz[1].accepted == ["Nmap", "zenmap"] and quiz[1].match == "ignore_case"
    assert quiz[2].accepted == ["22"]  # a number in YAML is the text typed
    stored = quiz[0].as_dict()
    assert stored["kind"] == "text" and stored["choices"] == []


def test_bad_free_text_questions_are_refused_with_their_line(tmp_path):
    module = """
    ---
    title: A
    ---
    ```quiz
    - question: Which?
      answer: "(unclosed"
      match: pattern
    - question: Which?
      answer: x
      match: fuzzy
    - question: Which?
      answer: [1, 2]
    - question: Pick
      choices: [a, b]
      answer: 1
      match: exact
    ```
    """
    text = issues_of(course_with(tmp_path, "", module))
    assert "01-a.md:5: quiz question: 'answer' '(unclosed' is not a valid pattern" in text
    assert "01-a.md:8: quiz question: 'match' must be one of exact, ignore_case, pattern" in text
    assert "01-a.md:11: quiz question: 'answer' of a free-text question is a text" in text
    assert "01-a.md:13: quiz question: 'match' is only for free-text questions" in text


@pytest.mark.parametrize(
    ("match", "accepted", "typed", "right"),
    [
        ("exact", ["10.0.0.5"], " 10.0.0.5 ", True),
        ("exact", ["10.0.0.5"], "10.0.0.50", False),
        ("exact", ["Alice"], "alice", False),
        ("ignore_case", ["Alice"], "ALICE", True),
        ("pattern", [r"(\|\s*)?uniq\s+(-c|--count)"], "| uniq  -c", True),
        ("pattern", [r"(\|\s*)?uniq\s+(-c|--count)"], "uniq -c; rm -rf /", False),  # whole
        ("pattern", ["a", "b+"], "bbb", True),
    ],
)
def test_typed_answers_are_matched(match, accepted, typed, right):
    question = {"kind": "text", "accepted": accepted, "match": match}
    assert quizzes.text_matches(question, typed) is right


def test_grading_and_quiz_points_count_only_the_questions_asked():
    module = type("M", (), {})()
    module.quiz = [
        {"kind": "text", "accepted": ["x"], "match": "exact", "choices": []},
        {"choices": ["a", "b"], "answer": [2]},
        {"choices": ["a", "b", "c"], "answer": [1, 3]},
    ]
    asked = [a for a in quizzes.all_questions(module) if a.index in (0, 2)]
    result = quizzes.grade(asked, {0: "x", 2: [3, 1]})
    assert result.score == 1.0 and result.passed and set(result.by_index) == {0, 2}
    assert quizzes.grade(asked, {0: "y", 2: [1]}).score == 0
    two_of_three = QuizRules(questions_per_attempt=2)
    assert quizzes.quiz_max_points(module, two_of_three) == 2 * quizzes.QUESTION_POINTS
    assert quizzes.quiz_points(module, 0.5, two_of_three) == 10
    assert quizzes.quiz_points(module, 1.0, QuizRules()) == 30


def test_the_standing_follows_attempts_cooldown_and_explanations():
    now = utcnow()
    rules = QuizRules(max_attempts=3, cooldown_minutes=10, explanations="after_passing")
    failed = quizzes.QuizState(
        rules, attempts=1, last_attempt_at=now - timedelta(minutes=4), now=now
    )
    assert failed.wait_until == failed.last_attempt_at + timedelta(minutes=10)
    refusal = failed.refusal()
    assert refusal.retry_after == 6 * 60 and "6 minutes" in refusal.message
    assert not failed.show_explanations and not failed.requirement_met
    later = quizzes.QuizState(rules, attempts=1, last_attempt_at=now - timedelta(minutes=11))
    assert later.refusal() is None
    used_up = quizzes.QuizState(rules, attempts=3, last_attempt_at=now - timedelta(hours=1))
    assert used_up.closed and used_up.show_explanations and used_up.requirement_met
    passed = quizzes.QuizState(rules, attempts=1, passed=True, last_attempt_at=now, now=now)
    assert passed.closed and passed.show_explanations and passed.wait_until is None
    self_study = quizzes.QuizState(QuizRules(), attempts=50, last_attempt_at=now)
    assert self_study.refusal() is None and self_study.show_explanations


def test_course_points_never_go_below_zero():
    assert CoursePoints(None, quiz=10, lab_tasks=20, hint_penalties=4).total == 26
    assert CoursePoints(None, quiz=0, lab_tasks=0, hint_penalties=5).total == 0


def test_hint_penalty_is_read_and_checked(tmp_path):
    head = "title: L\nflag: {path: /flag}\ntasks:\n"
    spec_folder = make_lab(
        tmp_path,
        head + "  - {id: a, title: A, points: 10, hint: Look, penalty: 3}\n"
        "  - {id: b, title: B, hint: Look}\n",
    )
    from lms.content.lab_parser import load_lab

    spec = load_lab(spec_folder)
    assert [t.penalty for t in spec.tasks] == [3, 0]
    errors = errors_of(
        make_lab(
            tmp_path,
            head + "  - {id: a, title: A, points: 5, hint: Look, penalty: 6}\n"
            "  - {id: b, title: B, penalty: 1}\n"
            "  - {id: c, title: C, hint: Look, penalty: lots}\n",
            slug="bad-lab",
        )
    )
    assert find(errors, "task a: penalty must be a whole number from 0 to the task's points (5)")
    assert find(errors, "task b: penalty: needs a hint: to cost").line == 5
    assert find(errors, "task c: penalty must be a whole number")


def test_the_shipped_content_uses_the_new_options():
    from lms.content.lab_parser import load_lab
    from tests.conftest import ROOT

    course = load_course(ROOT / "courses" / "incident-response")
    assert course.quiz_rules.shuffle_choices and course.quiz_rules.explanations == "after_passing"
    assert any(q.free_text and q.match == "pattern" for m in course.modules for q in m.quiz)
    assert any(t.penalty for t in load_lab(ROOT / "labs" / "log-triage").tasks)
