"""Adding trainees to a cohort from a CSV file (email, name, cohort) or one at a time.

Importing is two steps: ``plan_roster`` decides, row by row, what would happen
(created, added, already present, invalid and why) without changing anything;
``apply_roster`` carries the plan out only if no row is invalid. A bad file
therefore changes nothing, and the admin gets the whole report at once.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from sqlalchemy import select

from lms.audit.services import record
from lms.auth.models import Invitation, Role, User, normalise_email, utcnow
from lms.auth.services import look_alike_problems
from lms.centres import invitations, services
from lms.centres.access import managed_centre_ids
from lms.centres.csv_files import CsvRow, read_rows
from lms.centres.models import Cohort, CohortMember
from lms.extensions import db
from lms.mail import mail_enabled

CREATED, ADDED, PRESENT, INVALID = "created", "added", "already present", "invalid"
MAX_NAME = 120


@dataclass
class RosterRow:
    line: int
    email: str
    name: str
    cohort: Cohort | None
    status: str = ""
    reason: str = ""
    link: str = ""  # invitation link, once created
    user: User | None = None
    invitation_id: int | None = None
    mailed: bool = False  # the link was e-mailed to the invitee
    mail_problem: str = ""  # why it was not, when mail is configured


@dataclass
class RosterReport:
    rows: list[RosterRow] = field(default_factory=list)
    applied: bool = False

    @property
    def invalid(self) -> list[RosterRow]:
        return [r for r in self.rows if r.status == INVALID]

    def count(self, status: str) -> int:
        return sum(1 for r in self.rows if r.status == status)

    @property
    def links(self) -> list[RosterRow]:
        return [r for r in self.rows if r.link]


def read_roster(data: bytes, cohort: Cohort, actor: User) -> RosterReport:
    """Plan the import of an uploaded file; raises CsvFileError for an unusable file."""
    return plan_roster(read_rows(data, required=("email",)), cohort, actor)


def plan_roster(rows: list[CsvRow], cohort: Cohort, actor: User) -> RosterReport:
    """Decide every row's fate; changes nothing. A few queries, whatever the file's size."""
    emails = {normalise_email(r.values.get("email", "")) for r in rows} - {""}
    users = (
        {u.email: u for u in db.session.scalars(select(User).where(User.email.in_(emails)))}
        if emails
        else {}
    )
    cohorts_by_name = {
        c.name.casefold(): c
        for c in db.session.scalars(select(Cohort).where(Cohort.centre_id == cohort.centre_id))
    }
    memberships = (
        set(
            db.session.execute(
                select(CohortMember.cohort_id, CohortMember.user_id).where(
                    CohortMember.user_id.in_([u.id for u in users.values()])
                )
            ).all()
        )
        if users
        else set()
    )
    open_invitations = (
        {
            (email, cohort_id): created_at
            for email, cohort_id, created_at in db.session.execute(
                select(Invitation.email, Invitation.cohort_id, Invitation.created_at).where(
                    Invitation.email.in_(emails),
                    Invitation.used_at.is_(None),
                    Invitation.expires_at > utcnow(),
                )
            ).all()
        }
        if emails
        else {}
    )
    allowed_centres = managed_centre_ids(actor)
    # New addresses that read as an existing account's are refused now, not at sign-up.
    look_alikes = look_alike_problems(emails - users.keys())

    report = RosterReport()
    seen: dict[str, int] = {}
    for row in rows:
        email = normalise_email(row.values.get("email", ""))
        name = " ".join(row.values.get("name", "").split())
        cohort_name = row.values.get("cohort", "").strip()
        target = cohorts_by_name.get(cohort_name.casefold()) if cohort_name else cohort
        entry = RosterRow(row.line, email or row.values.get("email", ""), name, target)
        report.rows.append(entry)

        reason = _row_problem(row, email, name, cohort_name, target, cohort, seen)
        if reason:
            entry.status, entry.reason = INVALID, reason
            continue
        seen[email] = row.line
        user = users.get(email)
        if user is None:
            invited_at = open_invitations.get((email, target.id))
            if email in look_alikes:
                entry.status, entry.reason = INVALID, look_alikes[email]
            elif invited_at is not None:
                entry.status = PRESENT
                entry.reason = (
                    f"invited on {invited_at:%Y-%m-%d}, has not accepted yet "
                    "(renew the link from the cohort page)"
                )
            else:
                entry.status, entry.reason = CREATED, "new trainee: an invitation link is made"
            continue
        entry.user = user
        if user.role != Role.TRAINEE.value:
            entry.status = INVALID
            entry.reason = f"{email} is {services.role_phrase(user)}; only trainees join cohorts"
        elif (target.id, user.id) in memberships:
            entry.status, entry.reason = PRESENT, f"already in {target.name}"
        elif (
            user.centre_id is not None
            and user.centre_id != target.centre_id
            and allowed_centres is not None
            and user.centre_id not in allowed_centres
        ):
            entry.status = INVALID
            entry.reason = "this trainee belongs to a centre you do not run"
        else:
            entry.status, entry.reason = ADDED, f"existing account joins {target.name}"
    return report


def _row_problem(row, email, name, cohort_name, target, cohort, seen) -> str:
    if row.problems:
        return "; ".join(row.problems)
    if not email:
        return "no email address"
    if not services.EMAIL_RE.match(email) or len(email) > 254:
        return f"“{row.values.get('email', '')}” is not an email address"
    if len(name) > MAX_NAME:
        return f"the name is longer than {MAX_NAME} characters"
    if target is None:
        return f"{cohort.centre.name} has no cohort called “{cohort_name}”"
    if email in seen:
        return f"the same email as line {seen[email]}"
    return ""


def apply_roster(report: RosterReport, actor: User) -> RosterReport:
    """Carry out a plan without invalid rows, and commit. A plan with any invalid row is
    left unapplied (nothing changes)."""
    if report.invalid:
        return report
    made = []
    for row in report.rows:
        if row.status == CREATED:
            new = invitations.new_invitation(
                row.email, Role.TRAINEE.value, row.cohort, actor, row.name
            )
            row.link, row.invitation_id = invitations.invitation_link(new), new.invitation.id
            made.append((row, new))
        elif row.status == ADDED:
            services.join_cohort(row.user, row.cohort)
            if row.name and not row.user.name:
                row.user.name = row.name
    for cohort in {row.cohort for row in report.rows if row.status in (CREATED, ADDED)}:
        rows = [row for row in report.rows if row.cohort is cohort]
        record(
            "cohort.roster",
            cohort,
            {
                "added": [row.email for row in rows if row.status == ADDED],
                "invited": [row.email for row in rows if row.status == CREATED],
            },
            actor=actor,
            commit=False,
        )
    db.session.commit()
    report.applied = True
    if mail_enabled():  # after the commit: every mailed link works
        for row, new in made:
            row.mail_problem = invitations.mail_link(new) or ""
            row.mailed = not row.mail_problem
    return report


def add_one_trainee(cohort: Cohort, email: str, name: str, actor: User) -> RosterRow:
    """The form on the cohort page: the same rules as a one-row file."""
    row = CsvRow(line=1, values={"email": email or "", "name": name or ""})
    report = apply_roster(plan_roster([row], cohort, actor), actor)
    return report.rows[0]
