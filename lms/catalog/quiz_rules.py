"""How a course's quizzes are taken: the ``quiz:`` section of course.yaml.

The defaults are those of self-study: every question, choices in the author's order,
unlimited attempts with no wait, explanations shown after every attempt.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

ALWAYS, AFTER_PASSING = "always", "after_passing"
EXPLANATIONS = (ALWAYS, AFTER_PASSING)
MAX_ATTEMPTS_LIMIT = 100
MAX_COOLDOWN_MINUTES = 7 * 24 * 60


@dataclass(frozen=True)
class QuizRules:
    """``questions_per_attempt`` None: every question; ``max_attempts`` None: unlimited."""

    shuffle_choices: bool = False
    questions_per_attempt: int | None = None
    max_attempts: int | None = None
    cooldown_minutes: int = 0
    explanations: str = ALWAYS

    @property
    def draws(self) -> bool:
        """Whether attempts differ: questions drawn from a bank, or choices shuffled."""
        return self.shuffle_choices or self.questions_per_attempt is not None

    @property
    def needs_paper(self) -> bool:
        """Whether each attempt gets its own stored paper: the questions drawn and their
        choices' order, and the ticket one graded attempt uses up (so two submissions at
        once cannot make one attempt more than the limit)."""
        return (
            self.shuffle_choices
            or self.questions_per_attempt is not None
            or self.max_attempts is not None
            or self.cooldown_minutes > 0
        )

    def questions_asked(self, quiz_size: int) -> int:
        """How many questions one attempt asks of a quiz of ``quiz_size``."""
        if self.questions_per_attempt is None:
            return quiz_size
        return min(self.questions_per_attempt, quiz_size)

    def as_dict(self) -> dict:
        return asdict(self)

    @classmethod
    def from_dict(cls, value: dict | None) -> QuizRules:
        """Rules as stored on a course (None or {} for a course without a ``quiz:``)."""
        known = {k: v for k, v in (value or {}).items() if k in cls.__dataclass_fields__}
        return cls(**known)


DEFAULT_RULES = QuizRules()
