"""Lab endpoints of the JSON API (/api/v1/labs/...), on the ``api`` blueprint.

A trainee may act only on their own sessions (404 for anyone else's); staff
may read a trainee's session; a platform admin may also stop it.
"""

from __future__ import annotations

from flask import jsonify, request, url_for
from flask_login import current_user, login_required

from lms.api import bp, openapi
from lms.audit.services import record
from lms.content import lab_library
from lms.labs import flags, grading, overview, services
from lms.labs.errors import (
    BadLabRequest,
    LabActionError,
    SessionNotFound,
    TooManyAttempts,
    refuse_team_lab,
)
from lms.labs.models import STARTING, LabSession
from lms.web import error_response, wants_json


def lab_error_response(exc: LabActionError):
    """A lab error as JSON (with its extra fields) for the API, as a page otherwise."""
    if wants_json():
        response = jsonify({"error": exc.error, "message": exc.message, **exc.extra})
        response.status_code = exc.status
    else:
        response = error_response(exc.status, exc.message, exc.error)
        response = response[0] if isinstance(response, tuple) else response
        response.status_code = exc.status
    if isinstance(exc, TooManyAttempts):
        response.headers["Retry-After"] = str(exc.retry_after)
    return response


def _body() -> dict:
    data = request.get_json(silent=True)
    return data if isinstance(data, dict) else {}


def _text(body: dict, key: str) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not value.strip():
        raise BadLabRequest(f"Send “{key}” as text in a JSON body.")
    return value


def _session(session_id: int, allow_staff: bool = False) -> LabSession:
    session = services.get_session_for(current_user, session_id, allow_staff=allow_staff)
    if session is None:
        raise SessionNotFound(f"You have no lab session {session_id}.")
    return session


def session_json(session: LabSession) -> dict:
    """A session with its tasks and the trainee's state in each."""
    body = overview.session_summary(session)
    spec = lab_library.get_spec(session.lab_slug)
    body["tasks"] = grading.task_states(session.user_id, spec) if spec else []
    body["url"] = url_for("api.labs_session", session_id=session.id)
    return body


def _started(result: services.StartResult):
    session = result.session
    body = {
        "id": session.id,
        "status": session.status,
        "expires_at": overview.iso(session.expires_at),
        "created": result.created,
        "url": url_for("api.labs_session", session_id=session.id),
    }
    # 202 for a start this request made, even when a fast worker finished it before this
    # reply was written; 200 for the trainee's session that was already there.
    return jsonify(body), 202 if result.created or session.status == STARTING else 200


@bp.post("/labs/<slug>/start")
@login_required
def labs_start(slug: str):
    module = _body().get("module")
    module_id = module if isinstance(module, int) else None
    return _started(services.start_lab(current_user, slug, module_id))


@bp.get("/labs/<slug>")
@login_required
def labs_lab(slug: str):
    spec = services.require_spec(slug)
    latest = services.latest_session(current_user.id, slug)
    return jsonify(
        {
            "slug": spec.slug,
            "title": spec.title,
            "ttl_minutes": spec.ttl_minutes,
            "max_minutes": spec.max_minutes,
            "workstation": spec.workstation,
            "tasks": grading.task_states(current_user.id, spec),
            "session": session_json(latest) if latest else None,
        }
    )


@bp.post("/labs/<slug>/hint")
@login_required
def labs_hint(slug: str):
    spec = services.require_spec(slug)
    task_id = _text(_body(), "task")
    live = services.live_session(current_user.id, slug)
    accepted = _body().get("accept_penalty") is True
    hint = grading.reveal_hint(current_user, spec, task_id, live.id if live else None, accepted)
    return jsonify({"task": task_id, "hint_html": hint})


@bp.get("/labs/sessions/<int:session_id>")
@login_required
def labs_session(session_id: int):
    return jsonify(session_json(_session(session_id, allow_staff=True)))


@bp.post("/labs/sessions/<int:session_id>/flag")
@login_required
def labs_flag(session_id: int):
    session = _session(session_id)
    body = _body()
    task_id, flag = _text(body, "task"), _text(body, "flag")
    outcome = flags.submit_flag(session, services.require_spec(session.lab_slug), task_id, flag)
    return jsonify(
        {
            "correct": outcome.correct,
            "message": outcome.message,
            "task": _task_state(session, task_id),
        }
    )


@bp.post("/labs/sessions/<int:session_id>/check")
@login_required
def labs_check(session_id: int):
    session = _session(session_id)
    task_id = _text(_body(), "task")
    outcome = grading.run_check(session, services.require_spec(session.lab_slug), task_id)
    return jsonify(
        {"passed": outcome.passed, "output": outcome.output, "task": _task_state(session, task_id)}
    )


@bp.post("/labs/sessions/<int:session_id>/extend")
@login_required
def labs_extend(session_id: int):
    return jsonify(session_json(services.extend_lab(_session(session_id))))


@bp.post("/labs/sessions/<int:session_id>/stop")
@login_required
def labs_stop(session_id: int):
    session = services.get_session_for(current_user, session_id)
    if session is None and current_user.is_platform_admin:
        session = _session(session_id, allow_staff=True)
    if session is None:
        raise SessionNotFound(f"You have no lab session {session_id}.")
    reason = "stopped" if session.user_id == current_user.id else "admin"
    if reason == "stopped":
        refuse_team_lab(lab_library.get_spec(session.lab_slug))  # the white cell ends it
    was_live = session.is_live
    stopped = services.stop_lab(session, reason)
    if reason == "admin" and was_live:
        record(
            "lab.stop",
            f"lab session {session.id}",
            {"lab": session.lab_slug, "via": "api"},
            lab_session=session,
        )
    return jsonify(session_json(stopped))


@bp.post("/labs/sessions/<int:session_id>/restart")
@login_required
def labs_restart(session_id: int):
    return _started(services.restart_lab(current_user, _session(session_id)))


def _task_state(session: LabSession, task_id: str) -> dict | None:
    spec = lab_library.get_spec(session.lab_slug)
    states = grading.task_states(session.user_id, spec) if spec else []
    return next((t for t in states if t["id"] == task_id), None)


# -- OpenAPI ----------------------------------------------------------------------------------

_TASK = {
    "type": "object",
    "properties": {
        "id": {"type": "string"},
        "title": {"type": "string"},
        "title_html": {"type": "string"},
        "type": {"type": "string", "enum": ["flag", "check"]},
        "points": {"type": "integer"},
        "done": {"type": "boolean"},
        "has_hint": {"type": "boolean"},
        "hint_penalty": {"type": "integer"},
        "hint_html": {"type": ["string", "null"]},
        "last_result": {"type": ["object", "null"]},
    },
}
_SESSION = {
    "type": "object",
    "properties": {
        "id": {"type": "integer"},
        "lab": {"type": "string"},
        "status": {"type": "string", "enum": ["starting", "running", "stopped", "failed"]},
        "error": {"type": ["string", "null"], "description": "why a start failed"},
        "end_reason": {"type": ["string", "null"]},
        "created_at": {"type": "string"},
        "started_at": {"type": ["string", "null"]},
        "expires_at": {"type": ["string", "null"]},
        "seconds_left": {"type": "integer"},
        "can_extend": {"type": "boolean"},
        "max_until": {"type": ["string", "null"]},
        "workstation": {"type": ["string", "null"]},
        "tasks": {"type": "array", "items": {"$ref": "#/components/schemas/LabTask"}},
    },
}
_STARTED = {
    "type": "object",
    "required": ["id", "status", "expires_at"],
    "properties": {
        "id": {"type": "integer"},
        "status": {"type": "string"},
        "expires_at": {"type": "string"},
        "created": {"type": "boolean"},
        "url": {"type": "string"},
    },
}
_ID = [{"name": "session_id", "in": "path", "required": True, "schema": {"type": "integer"}}]
_SLUG = [{"name": "slug", "in": "path", "required": True, "schema": {"type": "string"}}]
_SESSION_REF = {"$ref": "#/components/schemas/LabSession"}
_ERRORS = openapi.error_responses(401, 404)


def _json_body(properties: dict, required: list[str]) -> dict:
    return {
        "required": True,
        "content": {
            "application/json": {
                "schema": {"type": "object", "required": required, "properties": properties}
            }
        },
    }


openapi.add_paths(
    {
        "/labs/{slug}/start": {
            "post": {
                "summary": "Start a lab, or return the live session of it",
                "description": "Returns at once: poll the session until it is running.",
                "parameters": _SLUG,
                "requestBody": {
                    "required": False,
                    "content": {
                        "application/json": {
                            "schema": {
                                "type": "object",
                                "properties": {"module": {"type": "integer"}},
                            }
                        }
                    },
                },
                "responses": {
                    "202": openapi.json_response(
                        "Start accepted (status says whether it is already running)", _STARTED
                    ),
                    "200": openapi.json_response("Already starting or running", _STARTED),
                    **openapi.error_responses(401, 404, 409, 503),
                },
            }
        },
        "/labs/{slug}": {
            "get": {
                "summary": "A lab, its tasks with this user's state, and their latest session",
                "parameters": _SLUG,
                "responses": {
                    "200": openapi.json_response("The lab", {"type": "object"}),
                    **_ERRORS,
                },
            }
        },
        "/labs/{slug}/hint": {
            "post": {
                "summary": "Reveal a task's hint (recorded); a hint with a penalty (the "
                "task's hint_penalty, in points) needs accept_penalty: true, or 409",
                "parameters": _SLUG,
                "requestBody": _json_body(
                    {"task": {"type": "string"}, "accept_penalty": {"type": "boolean"}}, ["task"]
                ),
                "responses": {
                    "200": openapi.json_response("The hint", {"type": "object"}),
                    **openapi.error_responses(400, 401, 404, 409),
                },
            }
        },
        "/labs/sessions/{session_id}": {
            "get": {
                "summary": "Status, time left and tasks of a lab session",
                "parameters": _ID,
                "responses": {"200": openapi.json_response("The session", _SESSION_REF), **_ERRORS},
            }
        },
        "/labs/sessions/{session_id}/flag": {
            "post": {
                "summary": "Submit a flag for a flag task",
                "parameters": _ID,
                "requestBody": _json_body(
                    {"task": {"type": "string"}, "flag": {"type": "string"}}, ["task", "flag"]
                ),
                "responses": {
                    "200": openapi.json_response(
                        "Graded",
                        {
                            "type": "object",
                            "properties": {
                                "correct": {"type": "boolean"},
                                "message": {"type": "string"},
                                "task": {"$ref": "#/components/schemas/LabTask"},
                            },
                        },
                    ),
                    **openapi.error_responses(400, 401, 404, 429),
                },
            }
        },
        "/labs/sessions/{session_id}/check": {
            "post": {
                "summary": "Run a check task in the running lab",
                "parameters": _ID,
                "requestBody": _json_body({"task": {"type": "string"}}, ["task"]),
                "responses": {
                    "200": openapi.json_response(
                        "Checked",
                        {
                            "type": "object",
                            "properties": {
                                "passed": {"type": "boolean"},
                                "output": {"type": "string"},
                                "task": {"$ref": "#/components/schemas/LabTask"},
                            },
                        },
                    ),
                    **openapi.error_responses(400, 401, 404, 409, 429, 503),
                },
            }
        },
        "/labs/sessions/{session_id}/extend": {
            "post": {
                "summary": "Add the lab's time-to-live, up to its maximum",
                "parameters": _ID,
                "responses": {
                    "200": openapi.json_response("Extended", _SESSION_REF),
                    **openapi.error_responses(401, 404, 409),
                },
            }
        },
        "/labs/sessions/{session_id}/stop": {
            "post": {
                "summary": "Stop the lab (its containers are removed)",
                "parameters": _ID,
                "responses": {"200": openapi.json_response("Stopped", _SESSION_REF), **_ERRORS},
            }
        },
        "/labs/sessions/{session_id}/restart": {
            "post": {
                "summary": "Stop the lab and start it afresh",
                "parameters": _ID,
                "responses": {
                    "202": openapi.json_response("Starting", _STARTED),
                    **openapi.error_responses(401, 404, 409, 503),
                },
            }
        },
    },
    {"LabSession": _SESSION, "LabTask": _TASK},
)
