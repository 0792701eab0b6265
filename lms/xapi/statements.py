"""xAPI statements of the platform's learning events: verbs, activities, the actor.

Every verb is one of the ADL vocabulary (https://w3id.org/xapi/adl), under the IRIs the
xAPI specification's ADL verbs keep (``http://adlnet.gov/expapi/verbs/...``); activity
types are ADL's too (``http://adlnet.gov/expapi/activities/...``). Activity ids are the
platform's own addresses (``LMS_XAPI_PLATFORM_URL``): the pages of courses, modules and
quizzes, and ``/labs/<slug>`` (``/tasks/<id>``, ``/tasks/<id>/hint``) for labs.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from datetime import datetime
from urllib.parse import urlsplit

from flask import current_app

PLATFORM_NAME = "cyberrange-lms"  # context.platform of every statement
LANGUAGE = "en"  # of the names in activity definitions (titles as their authors wrote them)
ACCOUNT, MBOX = "account", "mbox"  # LMS_XAPI_ACTOR: how a trainee is named


@dataclass(frozen=True)
class Verb:
    iri: str
    display: str

    def as_dict(self) -> dict:
        return {"id": self.iri, "display": {"en-US": self.display}}


_ADL_VERB = "http://adlnet.gov/expapi/verbs/"
EXPERIENCED = Verb(_ADL_VERB + "experienced", "experienced")  # read a module
ANSWERED = Verb(_ADL_VERB + "answered", "answered")  # a quiz attempt, graded
COMPLETED = Verb(_ADL_VERB + "completed", "completed")  # a module, a course, a lab task
LAUNCHED = Verb(_ADL_VERB + "launched", "launched")  # asked for a lab to start
ASKED = Verb(_ADL_VERB + "asked", "asked")  # revealed a lab task's hint

_ADL_TYPE = "http://adlnet.gov/expapi/activities/"
COURSE_TYPE = _ADL_TYPE + "course"
MODULE_TYPE = _ADL_TYPE + "module"
QUIZ_TYPE = _ADL_TYPE + "assessment"
LAB_TYPE = _ADL_TYPE + "simulation"
TASK_TYPE = _ADL_TYPE + "performance"
HINT_TYPE = _ADL_TYPE + "interaction"


class NotConfigured(RuntimeError):
    """xAPI is on (an endpoint is set) but the platform's own address is not."""


def configuration_problems(config) -> list[str]:
    """What is wrong with the xAPI settings, in words an administrator can act on."""
    if not config.get("LMS_XAPI_ENDPOINT"):
        return []
    problems = []
    if not (config.get("LMS_XAPI_PLATFORM_URL") or "").strip():
        problems.append(
            "LMS_XAPI_PLATFORM_URL is not set: no statement is recorded until it names the "
            "platform's public address (https://lms.example.org)"
        )
    if str(config.get("LMS_XAPI_ACTOR") or ACCOUNT).lower() not in (ACCOUNT, MBOX):
        problems.append(
            f"LMS_XAPI_ACTOR={config.get('LMS_XAPI_ACTOR')!r} is neither 'account' nor "
            "'mbox': trainees are named by account"
        )
    return problems


# -- addresses ------------------------------------------------------------------------------


def platform_url() -> str:
    """The platform's public address without a trailing slash (the actor's homePage)."""
    configured = (current_app.config.get("LMS_XAPI_PLATFORM_URL") or "").strip()
    if not configured:
        raise NotConfigured(
            "LMS_XAPI_PLATFORM_URL is not set: statements need the platform's public "
            "address (https://lms.example.org) for their activity ids"
        )
    return configured.rstrip("/")


def page_url(endpoint: str, **values) -> str:
    """The public address of a page of the platform, outside a request too (lab checks
    complete tasks on a lab worker)."""
    base = urlsplit(platform_url())
    adapter = current_app.url_map.bind(
        base.netloc, script_name=base.path or "/", url_scheme=base.scheme or "https"
    )
    return adapter.build(endpoint, values, force_external=True)


def lab_url(lab_slug: str) -> str:
    return f"{platform_url()}/labs/{lab_slug}"


# -- parts of a statement -------------------------------------------------------------------


def activity(iri: str, name: str, activity_type: str | None = None) -> dict:
    definition: dict = {"name": {LANGUAGE: name or iri}}
    if activity_type:
        definition["type"] = activity_type
    return {"objectType": "Activity", "id": iri, "definition": definition}


def course_activity(course) -> dict:
    return activity(page_url("catalog.course", slug=course.slug), course.title, COURSE_TYPE)


def module_activity(module) -> dict:
    iri = page_url("catalog.module", slug=module.course.slug, module_slug=module.slug)
    return activity(iri, module.title, MODULE_TYPE)


def quiz_activity(module) -> dict:
    iri = page_url("progress.submit_quiz", slug=module.course.slug, module_slug=module.slug)
    return activity(iri, f"Quiz: {module.title}", QUIZ_TYPE)


def lab_activity(spec) -> dict:
    return activity(lab_url(spec.slug), spec.title, LAB_TYPE)


def task_activity(spec, task) -> dict:
    return activity(f"{lab_url(spec.slug)}/tasks/{task.id}", task.title, TASK_TYPE)


def hint_activity(spec, task) -> dict:
    iri = f"{lab_url(spec.slug)}/tasks/{task.id}/hint"
    return activity(iri, f"Hint: {task.title}", HINT_TYPE)


def actor_of(user) -> dict:
    """The trainee as an Agent: by account (``homePage`` the platform, ``name`` the user
    id: no name or address leaves the platform) or, with LMS_XAPI_ACTOR=mbox, by e-mail."""
    if str(current_app.config.get("LMS_XAPI_ACTOR") or ACCOUNT).lower() == MBOX:
        agent = {"objectType": "Agent", "mbox": f"mailto:{user.email}"}
        if user.name:
            agent["name"] = user.name
        return agent
    return {"objectType": "Agent", "account": {"homePage": platform_url(), "name": str(user.id)}}


def timestamp(moment: datetime) -> str:
    """ISO 8601 in UTC (the platform's times are naive UTC)."""
    return moment.isoformat(timespec="milliseconds") + "Z"


def statement(
    actor: dict,
    verb: Verb,
    obj: dict,
    when: datetime,
    *,
    result: dict | None = None,
    parents: list[dict] | None = None,
    grouping: list[dict] | None = None,
) -> dict:
    """A complete statement with a fresh id: a resend after a lost answer is the same
    statement, which the LRS stores once."""
    context: dict = {"platform": PLATFORM_NAME}
    activities = {}
    if parents:
        activities["parent"] = parents
    if grouping:
        activities["grouping"] = grouping
    if activities:
        context["contextActivities"] = activities
    built = {
        "id": str(uuid.uuid4()),
        "actor": actor,
        "verb": verb.as_dict(),
        "object": obj,
        "context": context,
        "timestamp": timestamp(when),
    }
    if result:
        built["result"] = result
    return built


def score(raw: float, maximum: float) -> dict:
    """A result's score of ``raw`` out of ``maximum`` (xAPI wants max above min)."""
    return {
        "scaled": round(raw / maximum, 4),
        "raw": raw,
        "min": 0,
        "max": maximum,
    }
