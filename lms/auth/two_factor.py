"""Two-factor sign-in for staff: time-based one-time codes (TOTP, RFC 6238, with pyotp)
from an authenticator app, and single-use recovery codes for a lost phone.

Switching it on: ``start`` keeps a new secret on the account (not yet required), the
person scans the QR code and types a code, ``confirm`` then requires it and returns the
recovery codes, shown once and stored hashed. A code is accepted once (the last
accepted time step is kept), one step early or late to allow for clock drift. Wrong
codes are throttled like wrong passwords (lms.auth.throttle).
"""

from __future__ import annotations

import secrets
from datetime import UTC, datetime

import pyotp
import segno
from sqlalchemy import delete, func, select, update

from lms.auth.models import RecoveryCode, User, hash_token, utcnow
from lms.extensions import db

ISSUER = "Cyber Range LMS"
RECOVERY_CODE_COUNT = 10
DRIFT_STEPS = 1  # codes of the previous and next 30 s also pass


def available_to(user: User) -> bool:
    """Staff may switch it on (trainees' accounts reach no one else's data)."""
    return user.is_staff


def is_enabled(user: User) -> bool:
    return user.totp_enabled_at is not None and bool(user.totp_secret)


def start(user: User) -> None:
    """Give the account a new secret to scan (committed); it is required only once
    confirmed."""
    user.totp_secret = pyotp.random_base32()
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.commit()


def provisioning_uri(user: User) -> str:
    return pyotp.TOTP(user.totp_secret).provisioning_uri(name=user.email, issuer_name=ISSUER)


def qr_code_data_uri(user: User) -> str:
    """The provisioning URI as an SVG QR code, as a data: URI (the page allows those)."""
    return segno.make(provisioning_uri(user), error="m").svg_data_uri(scale=5, border=2)


def confirm(user: User, code: str) -> list[str] | None:
    """Require the code from now on if ``code`` is right; returns the new recovery
    codes (plain, to show once), or None for a wrong code."""
    if not user.totp_secret or not _take_totp(user, code):
        return None
    user.totp_enabled_at = utcnow()
    codes = _new_recovery_codes(user)
    db.session.commit()
    return codes


def disable(user: User) -> None:
    """Switch two-factor sign-in off and forget the secret and recovery codes (committed)."""
    user.totp_secret = None
    user.totp_enabled_at = None
    user.totp_last_step = None
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    db.session.commit()


def regenerate_recovery_codes(user: User) -> list[str]:
    codes = _new_recovery_codes(user)
    db.session.commit()
    return codes


def recovery_codes_left(user: User) -> int:
    return db.session.scalar(
        select(func.count())
        .select_from(RecoveryCode)
        .where(RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))
    )


def verify(user: User, code: str) -> str | None:
    """At sign-in: "code" for a right TOTP code, "recovery" for an unused recovery code
    (now used), None otherwise. Commits what it uses up."""
    if not is_enabled(user):
        return None
    if _take_totp(user, code):
        db.session.commit()
        return "code"
    if _take_recovery_code(user, code):
        db.session.commit()
        return "recovery"
    return None


def _digits(code: str) -> str:
    return "".join((code or "").split())


def _take_totp(user: User, code: str) -> bool:
    """Whether ``code`` is the code of a time step near now that was not used before;
    that step is then the last one used (the caller commits)."""
    code = _digits(code)
    if len(code) != 6 or not code.isdigit():
        return False
    totp = pyotp.TOTP(user.totp_secret)
    now_step = totp.timecode(datetime.now(UTC))
    for step in range(now_step - DRIFT_STEPS, now_step + DRIFT_STEPS + 1):
        if step <= (user.totp_last_step or -1):
            continue
        if secrets.compare_digest(totp.generate_otp(step), code):
            # Compare-and-set: two requests with the same code cannot both pass.
            taken = db.session.execute(
                update(User)
                .where(User.id == user.id, func.coalesce(User.totp_last_step, -1) < step)
                .values(totp_last_step=step)
                .execution_options(synchronize_session=False)
            ).rowcount
            if taken:
                user.totp_last_step = step
            return bool(taken)
    return False


def _normalised_recovery_code(code: str) -> str:
    return "".join(ch for ch in (code or "").lower() if ch.isalnum())


def _take_recovery_code(user: User, code: str) -> bool:
    plain = _normalised_recovery_code(code)
    if len(plain) < 10:
        return False
    used = db.session.execute(
        update(RecoveryCode)
        .where(
            RecoveryCode.user_id == user.id,
            RecoveryCode.code_hash == hash_token(plain),
            RecoveryCode.used_at.is_(None),
        )
        .values(used_at=utcnow())
    ).rowcount
    return bool(used)


def _new_recovery_codes(user: User) -> list[str]:
    """Replace the account's recovery codes by new ones (caller commits)."""
    db.session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = []
    for _ in range(RECOVERY_CODE_COUNT):
        raw = secrets.token_hex(5)  # 40 bits each: guessing is hopeless under the throttle
        codes.append(f"{raw[:5]}-{raw[5:]}")
        db.session.add(RecoveryCode(user_id=user.id, code_hash=hash_token(raw)))
    return codes
