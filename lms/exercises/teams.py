"""Creating an exercise and forming its teams: by hand, from a CSV file, or mixed
automatically across centres. Every change is one committed transaction with an audit
record; a refused change raises ``TeamError`` with a message and writes nothing.
"""

from __future__ import annotations

import csv
import io
import math
from collections import defaultdict
from dataclasses import dataclass

from flask import has_request_context
from flask_babel import gettext
from sqlalchemy import delete, or_, select

from lms.audit.services import record
from lms.auth.models import Role, User, normalise_email
from lms.centres.access import managed_centre_ids
from lms.centres.csv_files import CsvFileError, decode_upload
from lms.centres.models import Cohort, CohortMember, centre_partners
from lms.content.lab_library import get_spec, lab_slugs
from lms.content.lab_model import LabSpec
from lms.exercises.access import can_run_for_cohort
from lms.exercises.models import (
    DRAFT,
    ENDED,
    SCOREBOARD_CHOICES,
    Exercise,
    Team,
    TeamMember,
)
from lms.extensions import db

MAX_TEAM_NAME = 80
MAX_TITLE = 160
MAX_TEAM_SIZE = 8 * 4  # four people per role of the largest team lab
MAX_CSV_BYTES = 512 * 1024
MAX_CSV_LINES = 2000
MAX_DURATION_MINUTES = 24 * 60


def _(text: str, **values) -> str:
    """In the reader's language within a request; English outside one (commands, sweeps)."""
    if has_request_context():
        return gettext(text, **values)
    return text % values if values else text


class TeamError(Exception):
    """A change refused: the message says why (nothing was written)."""

    def __init__(self, message: str):
        super().__init__(message)
        self.message = message


# -- the labs and cohorts an exercise may use ---------------------------------------------------


def team_labs() -> list[LabSpec]:
    """The platform's valid team labs (lab.yaml ``mode: team``), by title."""
    specs = (get_spec(slug) for slug in lab_slugs())
    return sorted((s for s in specs if s is not None and s.is_team), key=lambda s: s.title)


def lab_roles(exercise: Exercise) -> list[str]:
    """The names of the exercise lab's roles, in the lab's order."""
    spec = get_spec(exercise.lab_slug)
    return [role.name for role in spec.roles] if spec is not None else []


def role_titles(exercise: Exercise) -> dict[str, str]:
    spec = get_spec(exercise.lab_slug)
    return {role.name: role.title for role in spec.roles} if spec is not None else {}


def eligible_cohorts(user: User) -> list[Cohort]:
    """The cohorts ``user`` may put into an exercise: those they run exercises for
    (``can_run_for_cohort``) and the cohorts of their centres' partner centres (a
    partnership in either direction)."""
    if not user.is_authenticated or not user.is_staff:
        return []
    everyone = list(db.session.scalars(select(Cohort).order_by(Cohort.name)))
    if user.is_platform_admin:
        return sorted(everyone, key=lambda c: (c.centre.name, c.name))
    own = [cohort for cohort in everyone if can_run_for_cohort(user, cohort)]
    centres = {cohort.centre_id for cohort in own} | (managed_centre_ids(user) or set())
    partners = set()
    if centres:
        for centre_id, partner_id in db.session.execute(
            select(centre_partners.c.centre_id, centre_partners.c.partner_id).where(
                or_(
                    centre_partners.c.centre_id.in_(centres),
                    centre_partners.c.partner_id.in_(centres),
                )
            )
        ):
            partners.update({centre_id, partner_id})
    own_ids = {cohort.id for cohort in own}
    chosen = [c for c in everyone if c.id in own_ids or c.centre_id in partners]
    return sorted(chosen, key=lambda c: (c.centre.name, c.name))


# -- creating ------------------------------------------------------------------------------------


def create_exercise(
    by: User,
    title: str,
    lab_slug: str,
    cohort_ids: list[int],
    duration_minutes: int | None = None,
    scoreboard: str = "live",
) -> Exercise:
    """A draft exercise of a team lab for cohorts ``by`` may choose (``eligible_cohorts``),
    at least one of them their own."""
    title = (title or "").strip()
    if not title or len(title) > MAX_TITLE:
        raise TeamError(_("Give the exercise a title of at most %(n)d characters.", n=MAX_TITLE))
    spec = get_spec(lab_slug)
    if spec is None or not spec.is_team:
        raise TeamError(_("Choose a team lab of this platform."))
    allowed = {cohort.id: cohort for cohort in eligible_cohorts(by)}
    wanted = set(cohort_ids)
    if not wanted:
        raise TeamError(_("Choose at least one cohort."))
    if wanted - set(allowed):
        raise TeamError(_("You may choose only your cohorts and your partner centres' cohorts."))
    cohorts = [allowed[cohort_id] for cohort_id in sorted(wanted)]
    if not any(can_run_for_cohort(by, cohort) for cohort in cohorts):
        raise TeamError(_("Choose at least one cohort of your own."))
    if scoreboard not in SCOREBOARD_CHOICES:
        raise TeamError(_("Choose who sees the scoreboard."))
    minutes = duration_minutes or spec.ttl_minutes
    if not 1 <= minutes <= MAX_DURATION_MINUTES:
        raise TeamError(_("The exercise lasts 1 to %(n)d minutes.", n=MAX_DURATION_MINUTES))
    exercise = Exercise(
        title=title,
        lab_slug=spec.slug,
        created_by_id=by.id,
        duration_minutes=minutes,
        scoreboard=scoreboard,
        status=DRAFT,
    )
    exercise.cohorts = cohorts
    db.session.add(exercise)
    db.session.flush()
    audit(
        "exercise.create",
        exercise,
        by,
        {"lab": spec.slug, "cohorts": [c.label for c in cohorts], "minutes": minutes},
    )
    db.session.commit()
    return exercise


# -- who may be in a team ------------------------------------------------------------------------


@dataclass
class Participant:
    user: User
    cohort: Cohort  # the first participating cohort they are in

    @property
    def centre_name(self) -> str:
        return self.cohort.centre.name


def participants(exercise: Exercise) -> list[Participant]:
    """The trainees of the exercise's cohorts (once each), by name."""
    cohort_ids = [cohort.id for cohort in exercise.cohorts]
    if not cohort_ids:
        return []
    rows = db.session.execute(
        select(User, Cohort)
        .join(CohortMember, CohortMember.user_id == User.id)
        .join(Cohort, Cohort.id == CohortMember.cohort_id)
        .where(CohortMember.cohort_id.in_(cohort_ids), User.role == Role.TRAINEE.value)
        .order_by(Cohort.name, Cohort.id)
    ).all()
    found: dict[int, Participant] = {}
    for user, cohort in rows:
        found.setdefault(user.id, Participant(user, cohort))
    return sorted(found.values(), key=lambda p: (p.user.display_name.casefold(), p.user.id))


def _participant_ids(exercise: Exercise) -> set[int]:
    return {p.user.id for p in participants(exercise)}


def _members_by_user(exercise: Exercise) -> dict[int, TeamMember]:
    return {
        m.user_id: m
        for m in db.session.scalars(select(TeamMember).where(TeamMember.exercise_id == exercise.id))
    }


# -- teams by hand ----------------------------------------------------------------------------------


def _check_changeable(exercise: Exercise) -> None:
    if exercise.status == ENDED:
        raise TeamError(_("This exercise has ended: its teams can no longer change."))


def _team_name(exercise: Exercise, name: str, team: Team | None = None) -> str:
    name = " ".join((name or "").split())
    if not name or len(name) > MAX_TEAM_NAME:
        raise TeamError(_("A team's name has 1 to %(n)d characters.", n=MAX_TEAM_NAME))
    for other in exercise.teams:
        if other is not team and other.name.casefold() == name.casefold():
            raise TeamError(_("There is already a team called “%(name)s”.", name=other.name))
    return name


def add_team(exercise: Exercise, name: str, by: User) -> Team:
    _check_changeable(exercise)
    team = Team(exercise=exercise, name=_team_name(exercise, name))
    db.session.add(team)
    db.session.flush()
    audit("exercise.team.add", exercise, by, {"team": team.name})
    db.session.commit()
    return team


def rename_team(team: Team, name: str, by: User) -> None:
    exercise = team.exercise
    _check_changeable(exercise)
    old, team.name = team.name, _team_name(exercise, name, team)
    audit("exercise.team.rename", exercise, by, {"team": old, "name": team.name})
    db.session.commit()


def remove_team(team: Team, by: User) -> None:
    """Remove a team and its members (only before the start: a started team has work)."""
    exercise = team.exercise
    if exercise.status != DRAFT:
        raise TeamError(_("Teams can be removed only before the exercise starts."))
    audit(
        "exercise.team.remove",
        exercise,
        by,
        {"team": team.name, "members": [m.user.email for m in team.members]},
    )
    exercise.teams.remove(team)
    db.session.delete(team)
    db.session.commit()


def _check_role(exercise: Exercise, role: str) -> str:
    roles = lab_roles(exercise)
    if role not in roles:
        raise TeamError(
            _(
                "“%(role)s” is not a role of this lab (its roles: %(roles)s).",
                role=role,
                roles=", ".join(roles),
            )
        )
    return role


def _check_not_anchor(member: TeamMember) -> None:
    """The member whose account owns the team's running lab stays in the team while it
    runs (leaving would keep them in that lab as its owner)."""
    session = member.team.lab_session
    if session is not None and session.is_live and session.user_id == member.user_id:
        raise TeamError(
            _(
                "%(name)s owns team “%(team)s”'s running lab: they stay in it until the "
                "exercise ends.",
                name=member.user.display_name,
                team=member.team.name,
            )
        )


def put_member(exercise: Exercise, team: Team, user: User, role: str, by: User) -> TeamMember:
    """Put a trainee of the exercise's cohorts into ``team`` in ``role``; a trainee in
    another team of the exercise moves (one team per exercise)."""
    _check_changeable(exercise)
    if team.exercise_id != exercise.id:
        raise TeamError(_("There is no such team in this exercise."))
    if user.id not in _participant_ids(exercise):
        raise TeamError(_("Only trainees of the exercise's cohorts can be in its teams."))
    role = _check_role(exercise, role)
    member = _members_by_user(exercise).get(user.id)
    if member is not None and member.team_id != team.id:
        _check_not_anchor(member)
    moved_from = None
    if member is None:
        member = TeamMember(team_id=team.id, exercise_id=exercise.id, user_id=user.id, role=role)
        db.session.add(member)
    else:
        moved_from = member.team.name if member.team_id != team.id else None
        member.team_id, member.role = team.id, role
    details = {"team": team.name, "role": role}
    if moved_from:
        details["from"] = moved_from
    audit("exercise.member.put", exercise, by, details, subject=user)
    db.session.commit()
    db.session.expire_all()
    return member


def remove_member(member: TeamMember, by: User) -> None:
    exercise = db.session.get(Exercise, member.exercise_id)
    _check_changeable(exercise)
    _check_not_anchor(member)
    audit("exercise.member.remove", exercise, by, {"team": member.team.name}, subject=member.user)
    db.session.delete(member)
    db.session.commit()
    db.session.expire_all()


# -- teams from a CSV file -------------------------------------------------------------------------


@dataclass
class CsvProblem:
    line: int
    reason: str


@dataclass
class CsvPlacement:
    line: int
    user: User
    team: str
    role: str


def plan_csv(exercise: Exercise, data: bytes) -> tuple[list[CsvPlacement], list[CsvProblem]]:
    """Read ``email,team,role`` lines (a header line is optional; an empty role: the next
    role of the lab in that team); changes nothing. Raises TeamError for an unusable file."""
    if len(data) > MAX_CSV_BYTES:
        raise TeamError(_("The file is larger than %(n)d KB.", n=MAX_CSV_BYTES // 1024))
    try:
        text = decode_upload(data).lstrip("\ufeff")
    except CsvFileError:
        raise TeamError(
            _("The file is not UTF-8 text: save it as “CSV UTF-8” and try again.")
        ) from None
    first = text.splitlines()[0] if text.strip() else ""
    delimiter = max((",", ";", "\t"), key=first.count) if first else ","
    try:
        records = list(_numbered(csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)))
    except csv.Error as exc:
        raise TeamError(_("The file is not valid CSV (%(error)s).", error=str(exc))) from None
    records = [(line, cells) for line, cells in records if any(c.strip() for c in cells)]
    if records and records[0][1] and records[0][1][0].strip().casefold() in ("email", "e-mail"):
        records = records[1:]
    if not records:
        raise TeamError(_("The file has no lines of the form email,team,role."))
    if len(records) > MAX_CSV_LINES:
        raise TeamError(_("The file has more than %(n)d lines.", n=MAX_CSV_LINES))

    eligible = {p.user.email: p.user for p in participants(exercise)}
    roles = lab_roles(exercise)
    placements, problems, seen = [], [], {}
    next_role: dict[str, int] = defaultdict(int)
    for line, cells in records:
        cells = [c.strip() for c in cells]
        if len(cells) < 2 or len(cells) > 3:
            problems.append(
                CsvProblem(
                    line,
                    _(
                        "expected the 3 fields email,team,role; this line has %(count)d",
                        count=len(cells),
                    ),
                )
            )
            continue
        email, team, role = normalise_email(cells[0]), " ".join(cells[1].split()), ""
        if len(cells) == 3:
            role = cells[2]
        user = eligible.get(email)
        if user is None:
            problems.append(
                CsvProblem(
                    line,
                    _(
                        "no trainee of the exercise's cohorts has the address %(email)s",
                        email=cells[0],
                    ),
                )
            )
            continue
        if email in seen:
            problems.append(
                CsvProblem(
                    line,
                    _("%(email)s is already on line %(line)d", email=cells[0], line=seen[email]),
                )
            )
            continue
        seen[email] = line
        if not team or len(team) > MAX_TEAM_NAME:
            problems.append(
                CsvProblem(line, _("a team's name has 1 to %(n)d characters", n=MAX_TEAM_NAME))
            )
            continue
        if not role:
            role = roles[next_role[team.casefold()] % len(roles)] if roles else ""
            next_role[team.casefold()] += 1
        elif role not in roles:
            problems.append(
                CsvProblem(
                    line,
                    _(
                        "“%(role)s” is not a role of this lab (its roles: %(roles)s)",
                        role=role,
                        roles=", ".join(roles),
                    ),
                )
            )
            continue
        placements.append(CsvPlacement(line, user, team, role))
    return placements, problems


def _numbered(reader):
    start = 1
    for cells in reader:
        yield start, cells
        start = reader.line_num + 1


def import_csv(exercise: Exercise, data: bytes, by: User) -> tuple[int, list[CsvProblem]]:
    """Apply a CSV of teams if every line is good: (people placed, problems). With any
    problem nothing changes. Teams named in the file are created when missing; people not
    in the file stay where they are."""
    _check_changeable(exercise)
    placements, problems = plan_csv(exercise, data)
    teams = {team.name.casefold(): team for team in exercise.teams}
    members = _members_by_user(exercise)
    for placement in placements:
        member = members.get(placement.user.id)
        if member is not None and member.team.name.casefold() != placement.team.casefold():
            try:
                _check_not_anchor(member)
            except TeamError as exc:
                problems.append(CsvProblem(placement.line, exc.message))
    if problems:
        return 0, sorted(problems, key=lambda problem: problem.line)
    for placement in placements:
        team = teams.get(placement.team.casefold())
        if team is None:
            team = teams[placement.team.casefold()] = Team(exercise=exercise, name=placement.team)
            db.session.add(team)
            db.session.flush()
        member = members.get(placement.user.id)
        if member is None:
            member = members[placement.user.id] = TeamMember(
                team_id=team.id, exercise_id=exercise.id, user_id=placement.user.id
            )
            db.session.add(member)
        member.team_id, member.role = team.id, placement.role
    audit("exercise.teams.import", exercise, by, {"lines": len(placements)})
    db.session.commit()
    db.session.expire_all()
    return len(placements), []


# -- teams mixed automatically ------------------------------------------------------------------------


def mix_teams(exercise: Exercise, team_size: int, by: User) -> list[Team]:
    """Replace the teams with teams of at most ``team_size`` trainees, each mixing the
    centres as far as their numbers allow, roles given in the lab's order. Only before the
    start (it replaces every team)."""
    if exercise.status != DRAFT:
        raise TeamError(_("Teams can be mixed automatically only before the exercise starts."))
    if not 1 <= team_size <= MAX_TEAM_SIZE:
        raise TeamError(_("A team has 1 to %(n)d members.", n=MAX_TEAM_SIZE))
    people = participants(exercise)
    if not people:
        raise TeamError(_("The exercise's cohorts have no trainees yet."))
    roles = lab_roles(exercise) or ["member"]
    count = math.ceil(len(people) / team_size)
    # By centre, the largest first; dealing them round the teams in that order gives each
    # team members of every centre while there are enough, and sizes that differ by one.
    by_centre: dict[int, list[Participant]] = defaultdict(list)
    for person in people:
        by_centre[person.cohort.centre_id].append(person)
    dealt = [p for group in sorted(by_centre.values(), key=len, reverse=True) for p in group]
    db.session.execute(delete(TeamMember).where(TeamMember.exercise_id == exercise.id))
    db.session.execute(delete(Team).where(Team.exercise_id == exercise.id))
    db.session.expire(exercise, ["teams"])
    teams = [Team(exercise=exercise, name=_("Team %(n)d", n=n + 1)) for n in range(count)]
    db.session.add_all(teams)
    db.session.flush()
    for position, person in enumerate(dealt):
        team = teams[position % count]
        seat = position // count
        db.session.add(
            TeamMember(
                team_id=team.id,
                exercise_id=exercise.id,
                user_id=person.user.id,
                role=roles[seat % len(roles)],
            )
        )
    audit(
        "exercise.teams.mix",
        exercise,
        by,
        {"team_size": team_size, "teams": count, "trainees": len(people)},
    )
    db.session.commit()
    db.session.expire_all()
    return teams


# -- the audit log ---------------------------------------------------------------------------------------


def audit(
    action: str, exercise: Exercise, by: User | None, details=None, subject: User | None = None
) -> None:
    """An audit record about the exercise, the caller commits. It belongs to the centre of
    whoever acted when that centre takes part (a partner centre's admins read what their
    staff did), else to the first cohort's centre."""
    centres = [cohort.centre_id for cohort in exercise.cohorts]
    actor_centre = by.centre_id if by is not None else None
    centre_id = actor_centre if actor_centre in centres else (centres[0] if centres else None)
    record(
        action,
        f"exercise {exercise.id} {exercise.title}",
        details,
        centre_id=centre_id,
        subject=subject,
        actor=by,
        commit=False,
    )
