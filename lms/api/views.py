"""Course and progress endpoints of /api/v1 (labs and cohorts add theirs in their domains)."""

from __future__ import annotations

from flask import abort, jsonify
from flask_login import current_user, login_required

from lms.api import openapi
from lms.api.blueprint import bp
from lms.catalog import services as catalog
from lms.progress import services as progress


def course_summary(course) -> dict:
    return {
        "slug": course.slug,
        "title": course.title,
        "summary": course.summary,
        "level": course.level,
        "estimated_hours": course.estimated_hours,
        "tags": course.tags or [],
        "requires": course.requires or [],
        "modules": len(course.live_modules),
    }


def course_progress_json(course_progress) -> dict:
    return {
        "course": course_progress.course.slug,
        "title": course_progress.course.title,
        "percent": course_progress.percent,
        "done": course_progress.done,
        "total": course_progress.total,
        "started_at": course_progress.enrolment.started_at.isoformat() + "Z"
        if course_progress.enrolment
        else None,
        "completed_at": course_progress.enrolment.completed_at.isoformat() + "Z"
        if course_progress.enrolment and course_progress.enrolment.completed_at
        else None,
        "next_module": course_progress.next_module.slug if course_progress.next_module else None,
    }


@bp.get("/openapi.json", endpoint="openapi")
def openapi_document():
    return jsonify(openapi.document())


@bp.get("/courses")
@login_required
def list_courses():
    return jsonify({"courses": [course_summary(c) for c in catalog.visible_courses(current_user)]})


@bp.get("/courses/<slug>")
@login_required
def get_course(slug: str):
    course = catalog.get_course(slug)
    if course is None:
        abort(404, description=f"No course '{slug}'.")
    p = progress.course_progress(current_user, course)
    body = course_summary(course) | {"progress": course_progress_json(p)}
    body["modules"] = [
        {
            "slug": m.slug,
            "title": m.title,
            "duration": m.duration,
            "lab": m.lab_slug,
            "questions": len(m.quiz or []),
            "status": p.status(m),
        }
        for m in course.live_modules
    ]
    return jsonify(body)


@bp.get("/me/progress")
@login_required
def my_progress():
    return jsonify(
        {
            "user": {
                "email": current_user.email,
                "name": current_user.name,
                "role": current_user.role,
            },
            "courses": [course_progress_json(p) for p in progress.enrolled_progress(current_user)],
        }
    )


_COURSE = {
    "type": "object",
    "properties": {
        "slug": {"type": "string"},
        "title": {"type": "string"},
        "summary": {"type": "string"},
        "level": {"type": "string"},
        "estimated_hours": {"type": ["number", "null"]},
        "tags": {"type": "array", "items": {"type": "string"}},
        "requires": {
            "type": "array",
            "items": {"type": "string"},
            "description": "slugs of the courses to take first",
        },
        "modules": {},
    },
}
_PROGRESS = {
    "type": "object",
    "properties": {
        "course": {"type": "string"},
        "percent": {"type": "integer"},
        "done": {"type": "integer"},
        "total": {"type": "integer"},
        "next_module": {"type": ["string", "null"]},
    },
}
openapi.add_paths(
    {
        "/courses": {
            "get": {
                "summary": "The courses this user can see",
                "responses": {
                    "200": openapi.json_response(
                        "Courses",
                        {
                            "type": "object",
                            "properties": {
                                "courses": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/Course"},
                                }
                            },
                        },
                    )
                }
                | openapi.error_responses(401),
            }
        },
        "/courses/{slug}": {
            "get": {
                "summary": "A course with its modules and this user's status in each",
                "parameters": [
                    {"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}
                ],
                "responses": {
                    "200": openapi.json_response("Course", {"$ref": "#/components/schemas/Course"})
                }
                | openapi.error_responses(401, 404),
            }
        },
        "/me/progress": {
            "get": {
                "summary": "This user's progress in every enrolled course",
                "responses": {
                    "200": openapi.json_response(
                        "Progress",
                        {
                            "type": "object",
                            "properties": {
                                "courses": {
                                    "type": "array",
                                    "items": {"$ref": "#/components/schemas/CourseProgress"},
                                }
                            },
                        },
                    )
                }
                | openapi.error_responses(401),
            }
        },
    },
    {"Course": _COURSE, "CourseProgress": _PROGRESS},
)
