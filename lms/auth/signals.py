"""What the auth domain announces, so that it depends on no other domain.

Other domains connect to these (lms.centres joins invited people to their cohort).
"""

from __future__ import annotations

from blinker import Namespace

_signals = Namespace()

# Sent with the new User as sender and ``invitation=`` the Invitation, inside the
# transaction that creates the account: what receivers change is committed with it.
invitation_accepted = _signals.signal("invitation-accepted")
