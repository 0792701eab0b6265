"""``GET /api/v1/cohorts/<id>/progress``: a cohort's progress for scripts and integrations."""

from __future__ import annotations

from flask import jsonify, request
from flask_login import current_user, login_required

from lms.api import bp, openapi
from lms.centres.access import cohort_or_abort
from lms.centres.reports import DEFAULT_STUCK_DAYS, CohortProgress, cohort_progress


def _iso(value) -> str | None:
    if value is None:
        return None
    text = value.isoformat()
    return text + "Z" if hasattr(value, "hour") else text


def _score(value: float | None) -> float | None:
    return None if value is None else round(value, 4)


def progress_json(progress: CohortProgress) -> dict:
    return {
        "cohort": {
            "id": progress.cohort.id,
            "name": progress.cohort.name,
            "centre": {"slug": progress.cohort.centre.slug, "name": progress.cohort.centre.name},
            "starts_on": _iso(progress.cohort.starts_on),
            "ends_on": _iso(progress.cohort.ends_on),
        },
        "generated_at": _iso(progress.generated_at),
        "stuck_days": progress.stuck_days,
        "courses": [
            {"slug": c.slug, "title": c.title, "due_on": _iso(c.due_on)} for c in progress.courses
        ],
        "modules": [
            {
                "key": m.key,
                "course": m.course_slug,
                "slug": m.slug,
                "title": m.title,
                "lab": m.lab_slug,
                "lab_tasks": m.lab_tasks,
                "has_quiz": m.has_quiz,
                "done": s.done,
                "in_progress": s.in_progress,
                "not_started": s.not_started,
                "completion": s.completion,
                "average_score": _score(s.average_score),
            }
            for m, s in zip(progress.modules, progress.module_stats, strict=True)
        ],
        "trainees": [
            {
                "id": t.id,
                "email": t.email,
                "name": t.name,
                "done": t.done,
                "percent": t.percent,
                "average_score": _score(t.average_score),
                "lab_tasks_done": t.tasks_done,
                "lab_minutes": t.lab_minutes,
                "last_activity": _iso(t.last_activity),
                "stuck": t.stuck,
                "modules": {
                    m.key: {
                        "status": c.status,
                        "quiz_score": _score(c.quiz_score),
                        "lab_tasks_done": c.tasks_done,
                    }
                    for m, c in zip(progress.modules, t.cells, strict=True)
                },
            }
            for t in progress.trainees
        ],
        "flag_shares": [
            {
                "at": _iso(s.at),
                "lab": s.lab_slug,
                "submitter_id": s.submitter_id,
                "owner_id": s.owner_id,
            }
            for s in progress.flag_shares
        ],
    }


@bp.get("/cohorts/<int:cohort_id>/progress")
@login_required
def cohort_progress_api(cohort_id: int):
    cohort = cohort_or_abort(cohort_id, current_user)
    days = request.args.get("days", DEFAULT_STUCK_DAYS, type=int)
    return jsonify(progress_json(cohort_progress(cohort, stuck_days=min(max(days, 1), 365))))


_SCORE = {"type": ["number", "null"], "minimum": 0, "maximum": 1}
openapi.add_paths(
    {
        "/cohorts/{id}/progress": {
            "get": {
                "summary": "Per trainee and module progress of a cohort",
                "description": (
                    "For the cohort's centre admins, its instructors and platform admins. "
                    "Modules are those of the courses assigned to the cohort; scores are 0..1."
                ),
                "parameters": [
                    {"name": "id", "in": "path", "required": True, "schema": {"type": "integer"}},
                    {
                        "name": "days",
                        "in": "query",
                        "required": False,
                        "description": "A trainee with no progress for this many days is stuck.",
                        "schema": {"type": "integer", "minimum": 1, "maximum": 365, "default": 7},
                    },
                ],
                "responses": {
                    "200": openapi.json_response(
                        "The cohort's progress", {"$ref": "#/components/schemas/CohortProgress"}
                    ),
                    **openapi.error_responses(401, 403, 404),
                },
            }
        }
    },
    {
        "CohortProgress": {
            "type": "object",
            "required": ["cohort", "courses", "modules", "trainees"],
            "properties": {
                "cohort": {
                    "type": "object",
                    "properties": {
                        "id": {"type": "integer"},
                        "name": {"type": "string"},
                        "centre": {"type": "object"},
                        "starts_on": {"type": ["string", "null"], "format": "date"},
                        "ends_on": {"type": ["string", "null"], "format": "date"},
                    },
                },
                "generated_at": {"type": "string", "format": "date-time"},
                "stuck_days": {"type": "integer"},
                "courses": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "slug": {"type": "string"},
                            "title": {"type": "string"},
                            "due_on": {"type": ["string", "null"], "format": "date"},
                        },
                    },
                },
                "modules": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "key": {"type": "string", "description": "course-slug/module-slug"},
                            "title": {"type": "string"},
                            "lab": {"type": ["string", "null"]},
                            "completion": {
                                "type": "integer",
                                "description": "percent of trainees done",
                            },
                            "average_score": _SCORE,
                        },
                    },
                },
                "trainees": {
                    "type": "array",
                    "items": {
                        "type": "object",
                        "properties": {
                            "id": {"type": "integer"},
                            "email": {"type": "string"},
                            "name": {"type": "string"},
                            "done": {"type": "integer"},
                            "percent": {"type": "integer"},
                            "average_score": _SCORE,
                            "lab_tasks_done": {"type": "integer"},
                            "lab_minutes": {"type": "integer"},
                            "last_activity": {"type": ["string", "null"], "format": "date-time"},
                            "stuck": {"type": "array", "items": {"type": "string"}},
                            "modules": {
                                "type": "object",
                                "additionalProperties": {
                                    "type": "object",
                                    "properties": {
                                        "status": {"enum": ["not_started", "in_progress", "done"]},
                                        "quiz_score": _SCORE,
                                        "lab_tasks_done": {"type": "integer"},
                                    },
                                },
                            },
                        },
                    },
                },
                "flag_shares": {"type": "array", "items": {"type": "object"}},
            },
        }
    },
)
