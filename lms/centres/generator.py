"""Synthetic cohorts with realistic progress, for benchmarks and load tests.

``generate_cohort`` makes a centre (if needed), a course of N modules (some
with a quiz, some with a lab), a cohort of M trainees and their history: module
progress that thins out along the course, quiz attempts (some failed), lab
sessions, failed and successful flags and checks, a few possible flag shares,
and some trainees who stopped weeks ago. Rows are written with bulk inserts,
so 1,000 × 30 takes seconds.
"""

from __future__ import annotations

import random
from dataclasses import dataclass
from datetime import timedelta

from sqlalchemy import insert, select

from lms.auth.models import Role, User, utcnow
from lms.catalog.models import Course, Module
from lms.centres import services
from lms.centres.models import Centre, Cohort, CohortCourse, CohortMember
from lms.extensions import db
from lms.labs.models import FlagShare, LabSession, TaskAttempt, TaskCompletion
from lms.progress.models import DONE, IN_PROGRESS, Enrolment, ModuleProgress, QuizAttempt

LAB_EVERY = 5  # every fifth module has a lab
LAB_TASKS = ("task-1", "task-2")
QUIZ = [{"question": "Generated question?", "choices": ["yes", "no"], "answer": [1]}]


@dataclass
class GeneratedCohort:
    cohort_id: int
    course_id: int
    trainees: int
    modules: int
    rows: dict[str, int]


def _course(modules: int) -> Course:
    slug = f"generated-{modules}-modules"
    course = db.session.scalar(select(Course).where(Course.slug == slug))
    if course is None:
        course = Course(
            slug=slug,
            title=f"Generated course ({modules} modules)",
            is_published=False,
            summary="Made by `lms centres generate-demo-cohort` for benchmarks.",
        )
        for i in range(modules):
            course.modules.append(
                Module(
                    slug=f"module-{i + 1:02d}",
                    position=i,
                    title=f"Module {i + 1}",
                    quiz=QUIZ if i % 3 != 2 else [],
                    lab_slug=f"generated-lab-{i + 1:02d}" if (i + 1) % LAB_EVERY == 0 else None,
                    body_html="<p>Generated.</p>",
                )
            )
        db.session.add(course)
        db.session.flush()
    return course


def generate_cohort(
    trainees: int = 1000,
    modules: int = 30,
    seed: int = 1,
    centre_slug: str = "benchmark-centre",
    cohort_name: str | None = None,
) -> GeneratedCohort:
    """Create a cohort of ``trainees`` following a course of ``modules`` modules, and commit."""
    rng = random.Random(seed)
    now = utcnow()
    centre = db.session.scalar(
        select(Centre).where(Centre.slug == centre_slug)
    ) or services.create_centre("Benchmark Centre", "Nowhere", slug=centre_slug)
    course = _course(modules)
    name = cohort_name or f"Generated {trainees}×{modules} #{seed}"
    existing = db.session.scalar(
        select(Cohort).where(Cohort.centre_id == centre.id, Cohort.name == name)
    )
    if existing is not None:
        raise services.CentreError(f"{centre.name} has a cohort called “{name}” already.")
    cohort = services.create_cohort(
        centre, name, (now - timedelta(days=60)).date(), (now + timedelta(days=30)).date()
    )
    db.session.add(
        CohortCourse(cohort=cohort, course_id=course.id, due_on=(now - timedelta(days=3)).date())
    )
    db.session.flush()

    prefix = f"gen{cohort.id}-"
    db.session.execute(
        insert(User),
        [
            {
                "email": f"{prefix}{i:05d}@example.org",
                "name": f"Trainee {i:05d}",
                "role": Role.TRAINEE.value,
                "centre_id": centre.id,
                "is_active_account": True,
                "created_at": now - timedelta(days=60),
            }
            for i in range(trainees)
        ],
    )
    user_ids = list(
        db.session.scalars(select(User.id).where(User.email.like(f"{prefix}%")).order_by(User.id))
    )
    db.session.execute(
        insert(CohortMember),
        [
            {"cohort_id": cohort.id, "user_id": uid, "joined_at": now - timedelta(days=60)}
            for uid in user_ids
        ],
    )
    module_rows = sorted(course.live_modules, key=lambda m: m.position)
    rows = _history(rng, now, user_ids, course, module_rows)
    db.session.commit()
    return GeneratedCohort(cohort.id, course.id, len(user_ids), len(module_rows), rows)


def _history(rng, now, user_ids, course, module_rows) -> dict[str, int]:
    enrolments, progress, attempts, sessions, completions = [], [], [], [], []
    task_attempts: list[dict] = []
    for uid in user_ids:
        # How far this trainee got: most are mid-way, some finished, some barely started.
        reached = min(len(module_rows), int(rng.betavariate(2.0, 1.6) * (len(module_rows) + 1)))
        stalled = rng.random() < 0.12  # stopped weeks ago
        last = now - timedelta(days=rng.uniform(15, 40) if stalled else rng.uniform(0, 5))
        if reached == 0:
            continue
        start = last - timedelta(days=rng.uniform(5, 20))
        enrolments.append(
            {
                "user_id": uid,
                "course_id": course.id,
                "started_at": start,
                "last_seen_at": last,
                "last_module_id": module_rows[reached - 1].id,
            }
        )
        step = (last - start) / reached
        for index, module in enumerate(module_rows[:reached]):
            at = start + step * (index + 1)
            done = index < reached - 1 or rng.random() < 0.3
            score = None
            if module.quiz:
                tries = 1 + (rng.random() < 0.25) + (rng.random() < 0.08) * 3
                for t in range(tries):
                    passed = done and t == tries - 1
                    s = rng.choice((0.8, 1.0)) if passed else rng.choice((0.0, 0.4, 0.6))
                    score = max(score or 0.0, s)
                    attempts.append(
                        {
                            "user_id": uid,
                            "module_id": module.id,
                            "answers": {},
                            "score": s,
                            "passed": passed,
                            "created_at": at - timedelta(minutes=10 * (tries - t)),
                        }
                    )
            progress.append(
                {
                    "user_id": uid,
                    "module_id": module.id,
                    "status": DONE if done else IN_PROGRESS,
                    "quiz_score": score,
                    "quiz_passed": bool(done and module.quiz),
                    "first_seen_at": at - timedelta(hours=2),
                    "updated_at": at,
                    "completed_at": at if done else None,
                }
            )
            if module.lab_slug:
                minutes = rng.randint(15, 75)
                sessions.append(
                    {
                        "key": f"g{uid}-{module.id}",
                        "user_id": uid,
                        "lab_slug": module.lab_slug,
                        "module_id": module.id,
                        "status": "stopped",
                        "created_at": at - timedelta(hours=1),
                        "started_at": at - timedelta(hours=1),
                        "expires_at": at,
                        "ended_at": at - timedelta(hours=1, minutes=-minutes),
                        "end_reason": "stopped",
                    }
                )
                for task in LAB_TASKS:
                    failures = rng.choice((0, 0, 0, 1, 2, 4))
                    for f in range(failures):
                        task_attempts.append(
                            {
                                "user_id": uid,
                                "lab_slug": module.lab_slug,
                                "task_id": task,
                                "kind": "flag" if task == "task-1" else "check",
                                "success": False,
                                "output": "",
                                "created_at": at - timedelta(minutes=40 - f),
                            }
                        )
                    if (done or failures < 4) and rng.random() < 0.85:
                        task_attempts.append(
                            {
                                "user_id": uid,
                                "lab_slug": module.lab_slug,
                                "task_id": task,
                                "kind": "check",
                                "success": True,
                                "output": "",
                                "created_at": at - timedelta(minutes=5),
                            }
                        )
                        completions.append(
                            {
                                "user_id": uid,
                                "lab_slug": module.lab_slug,
                                "task_id": task,
                                "points": 10,
                                "completed_at": at - timedelta(minutes=5),
                            }
                        )
    for table, values in (
        (Enrolment, enrolments),
        (ModuleProgress, progress),
        (QuizAttempt, attempts),
        (LabSession, sessions),
        (TaskAttempt, task_attempts),
        (TaskCompletion, completions),
    ):
        for chunk in range(0, len(values), 5000):
            db.session.execute(insert(table), values[chunk : chunk + 5000])
    shares = []
    lab_modules = [m for m in module_rows if m.lab_slug]
    if lab_modules and len(user_ids) > 10:
        for _ in range(max(1, len(user_ids) // 200)):
            a, b = rng.sample(user_ids, 2)
            shares.append(
                {
                    "submitter_id": a,
                    "owner_id": b,
                    "lab_slug": lab_modules[0].lab_slug,
                    "created_at": now - timedelta(days=rng.uniform(1, 20)),
                }
            )
        db.session.execute(insert(FlagShare), shares)
    return {
        "module_progress": len(progress),
        "quiz_attempts": len(attempts),
        "lab_sessions": len(sessions),
        "task_attempts": len(task_attempts),
        "task_completions": len(completions),
        "flag_shares": len(shares),
    }
