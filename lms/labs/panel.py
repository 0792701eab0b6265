"""What the lab panel of a module page shows. Reads the database only, never the engine."""

from __future__ import annotations

from dataclasses import dataclass

from flask import current_app

from lms.auth.models import User
from lms.catalog.models import Module
from lms.catalog.rendering import render_markdown
from lms.content import lab_library
from lms.content.lab_model import LabSpec
from lms.labs import grading, health, services
from lms.labs.errors import UNAVAILABLE_MESSAGE
from lms.labs.models import LabSession


@dataclass
class PanelState:
    slug: str
    spec: LabSpec | None
    session: LabSession | None
    tasks: list[dict]
    description_html: str
    engine_down: bool

    @property
    def status(self) -> str:
        """none | starting | running | stopped | failed"""
        return self.session.status if self.session else "none"

    @property
    def unavailable_message(self) -> str:
        return (
            health.engine_health().unavailable_message()
            if self.engine_down
            else UNAVAILABLE_MESSAGE
        )

    @property
    def can_extend(self) -> bool:
        return bool(self.session) and services.can_extend(self.session, self.spec)

    @property
    def done(self) -> int:
        return sum(1 for t in self.tasks if t["done"])


def panel_for(user: User, module: Module) -> PanelState:
    slug = module.lab_slug or ""
    spec = lab_library.get_spec(slug)
    if spec is None:
        return PanelState(slug, None, None, [], "", False)
    cache = current_app.extensions.setdefault("lab_descriptions", {})
    key = (slug, spec.content_hash)
    if key not in cache:
        cache[key] = render_markdown(spec.description).html
    return PanelState(
        slug=slug,
        spec=spec,
        session=services.latest_session(user.id, slug),
        tasks=grading.task_states(user.id, spec),
        description_html=cache[key],
        engine_down=health.engine_health().known_down(),
    )
