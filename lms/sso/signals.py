"""What single sign-on announces. The platform's audit log listens to it: an SSO
configuration change is a privileged action (who, what, when, from where)."""

from blinker import Namespace

_signals = Namespace()

# Sent with the app as sender and: actor (User), centre (Centre), action ("created",
# "changed", "enabled", "disabled", "removed"), changes (the names of the fields changed;
# the client secret is named, never its value), address (the client's address).
configuration_changed = _signals.signal("sso-configuration-changed")
