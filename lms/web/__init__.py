"""Site-wide web concerns: security headers, error pages, template helpers."""

from __future__ import annotations

from flask import (
    Flask,
    current_app,
    g,
    jsonify,
    make_response,
    redirect,
    render_template,
    request,
    session,
    url_for,
)
from flask_babel import gettext
from flask_wtf.csrf import generate_csrf
from sqlalchemy.exc import DBAPIError
from werkzeug.exceptions import HTTPException, MethodNotAllowed

from lms.database import unavailable_reason
from lms.extensions import db

CONTENT_SECURITY_POLICY = "; ".join(
    [
        "default-src 'self'",
        "script-src 'self'",  # no inline script, ever
        # xterm.js and the replay player set styles from script
        "style-src 'self' 'unsafe-inline'",
        "img-src 'self' data:",
        "connect-src 'self'",
        "font-src 'self' data:",
        "worker-src 'self' blob:",
        "frame-ancestors 'none'",
        "base-uri 'self'",
        "form-action 'self'",
        "object-src 'none'",
    ]
)


def N_(text: str) -> str:
    """Marks a message for the catalogue (pybabel extract -k N_) where it is defined; it
    is translated where it is shown to a person (the API answers in English)."""
    return text


ERROR_TITLES = {
    400: N_("That request could not be understood"),
    401: N_("Please sign in"),
    403: N_("You do not have access to this page"),
    404: N_("Page not found"),
    405: N_("That action is not allowed here"),
    409: N_("That conflicts with the current state"),
    413: N_("That upload is too large"),
    415: N_("That kind of content is not accepted here"),
    429: N_("Too many attempts"),
    500: N_("Something went wrong on our side"),
    503: N_("A service is unavailable"),
}


def wants_json() -> bool:
    return request.path.startswith("/api/") or request.accept_mimetypes.best == "application/json"


def error_response(status: int, message: str, error: str | None = None):
    """An error as JSON for the API, as a friendly page for people."""
    if wants_json():
        body = {"error": error or ERROR_TITLES.get(status, "error").lower(), "message": message}
        return jsonify(body), status
    return (
        render_template(
            "errors/error.html",
            status=status,
            title=gettext(ERROR_TITLES.get(status, N_("Error"))),
            message=gettext(message) if message else message,
        ),
        status,
    )


def form_page(endpoint: str):
    """Mark a POST-only view whose form lives on the page ``endpoint`` (which takes the
    same URL arguments): a GET of the form's address, such as Enter in the address bar
    after submitting, is sent to that page instead of an error."""

    def mark(view):
        view.form_page = endpoint
        return view

    return mark


def _form_page_url() -> str | None:
    """Where the form that posts to this address lives, if its view says so."""
    adapter = current_app.create_url_adapter(request)
    try:
        endpoint, arguments = adapter.match(method="POST")
    except HTTPException:
        return None
    page = getattr(current_app.view_functions.get(endpoint), "form_page", None)
    return url_for(page, **arguments) if page else None


def _method_not_allowed(exc: MethodNotAllowed):
    if request.method in {"GET", "HEAD"} and not wants_json():
        target = _form_page_url()
        if target:
            return redirect(target, 303)
    allowed = sorted(exc.valid_methods or [])
    shown = [m for m in allowed if m not in {"HEAD", "OPTIONS"}] or allowed
    response = make_response(
        error_response(
            405,
            f"This address does not take {request.method} requests "
            f"(it takes {', '.join(shown)}). Use the page's links and buttons.",
            error="method_not_allowed",
        )
    )
    response.headers["Allow"] = ", ".join(allowed)
    return response


def _handle_http_error(exc: HTTPException):
    if isinstance(exc, MethodNotAllowed):
        return _method_not_allowed(exc)
    status = exc.code or 500
    message = exc.description or ERROR_TITLES.get(status, "")
    if status == 429:
        message = N_("You tried too many times in a short while. Wait a minute, then try again.")
    return error_response(status, message, error=exc.name.lower().replace(" ", "_"))


RETRY_AFTER_SECONDS = 5


def _database_unavailable(exc: Exception):
    """Busy or briefly unreachable database: roll back what this request began, so nothing
    is half-written, and ask the person to retry. Anything else is a bug (500)."""
    reason = unavailable_reason(exc)
    if reason is None:
        return _handle_unexpected(exc)
    current_app.logger.warning(
        "database unavailable on %s %s: %s", request.method, request.path, exc.orig
    )
    try:
        db.session.rollback()
    except DBAPIError:  # the connection is gone; the pool discards it
        current_app.logger.warning("rollback failed after a database error", exc_info=True)
    response = make_response(error_response(503, reason, error="database_busy"))
    response.headers["Retry-After"] = str(RETRY_AFTER_SECONDS)
    return response


def _handle_unexpected(exc: Exception):
    if isinstance(exc, HTTPException):
        return _handle_http_error(exc)
    current_app.logger.exception("unhandled error on %s %s", request.method, request.path)
    return error_response(
        500,
        N_("The error has been logged. Try again, and tell your administrator if it persists."),
        error="internal_error",
    )


SECURITY_HEADERS = {
    "Content-Security-Policy": CONTENT_SECURITY_POLICY,
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Referrer-Policy": "same-origin",
    "Permissions-Policy": "camera=(), microphone=(), geolocation=()",
    "Cross-Origin-Opener-Policy": "same-origin",
}


def _security_headers(response):
    """Each header unless the view set its own (one pass over the headers, not six)."""
    present = {name.lower() for name, _value in response.headers}
    response.headers.extend(
        (name, value) for name, value in SECURITY_HEADERS.items() if name.lower() not in present
    )
    return response


def passes_body_through(view):
    """Mark a view that forwards the request body untouched (the lab web proxy): the
    site-wide checks must not read or judge its body."""
    view.passes_body_through = True
    return view


def _current_view():
    return current_app.view_functions.get(request.endpoint)


def accepts_json(view):
    """Mark a page view (outside /api/) that takes a JSON body."""
    view.accepts_json = True
    return view


def _json_bodies_are_objects():
    """JSON goes to the API and to views marked ``accepts_json``, and is always an object;
    anything else is a 4xx here, not a crash deep in a form library."""
    view = _current_view()
    if request.method not in {"POST", "PUT", "PATCH"} or not request.is_json:
        return None
    if getattr(view, "passes_body_through", False):
        return None
    if not request.path.startswith("/api/") and not getattr(view, "accepts_json", False):
        return error_response(
            415, N_("This page takes a form, not JSON."), "unsupported_media_type"
        )
    if not isinstance(request.get_json(silent=True), dict):
        return error_response(400, 'Send a JSON object, like {"task": "..."}.', "bad_request")
    return None


def _no_nul_characters():
    """A NUL character is never valid input; PostgreSQL refuses it in text, so stop it here."""
    values = [request.path, *request.args.values()]
    body_is_ours = not getattr(_current_view(), "passes_body_through", False)
    if request.method in {"POST", "PUT", "PATCH"} and body_is_ours:
        values.extend(request.form.values())
        if request.is_json and b"\\u0000" in request.get_data():
            values.append("\x00")
    if any("\x00" in value for value in values):
        return error_response(400, N_("The request contains a NUL character."), "bad_request")
    return None


MAX_CACHED = 4096  # entries of each per-process cache below; past it, it starts over


def fixed_url(endpoint: str, **values) -> str:
    """``url_for`` for the addresses every page links to (static files, menus): the same
    for every request under one script root, so built once per process, not per page."""
    cache = current_app.extensions.setdefault("lms_fixed_urls", {})
    key = (request.script_root, endpoint, *sorted(values.items()))
    url = cache.get(key)
    if url is None:
        if len(cache) >= MAX_CACHED:
            cache.clear()
        url = cache[key] = url_for(endpoint, **values)
    return url


def csrf_token() -> str:
    """Flask-WTF's CSRF token for the session, signed once per process rather than on
    every page: with no time limit (WTF_CSRF_TIME_LIMIT = None) a signed token stays
    valid as long as the session's own token, which is what it is checked against."""
    config = current_app.config
    field = config.get("WTF_CSRF_FIELD_NAME", "csrf_token")
    raw = session.get(field)
    # Flask-WTF keeps the request's signed token in g: one made earlier in this request
    # is returned as it is (the session's token may have changed since).
    if config.get("WTF_CSRF_TIME_LIMIT") is not None or not isinstance(raw, str) or field in g:
        return generate_csrf()
    cache = current_app.extensions.setdefault("lms_signed_csrf", {})
    key = (current_app.secret_key, config.get("WTF_CSRF_SECRET_KEY"), raw)
    token = cache.get(key)
    if token is None:
        if len(cache) >= MAX_CACHED:
            cache.clear()
        token = cache[key] = generate_csrf()
    return token


def init_app(app: Flask) -> None:
    app.before_request(_no_nul_characters)
    app.before_request(_json_bodies_are_objects)
    app.register_error_handler(HTTPException, _handle_http_error)
    app.register_error_handler(Exception, _handle_unexpected)
    app.register_error_handler(DBAPIError, _database_unavailable)
    app.after_request(_security_headers)

    from flask_wtf.csrf import CSRFError

    @app.errorhandler(CSRFError)
    def _csrf_error(exc):
        return error_response(
            400,
            N_("Your form expired or was sent from elsewhere. Reload the page and try again."),
            error="csrf_failed",
        )

    # Flask-WTF offers csrf_token both ways; this one, registered after it, wins.
    app.jinja_env.globals["csrf_token"] = csrf_token
    app.context_processor(lambda: {"csrf_token": csrf_token})
    app.jinja_env.globals["fixed_url"] = fixed_url

    @app.template_filter("minutes")
    def _minutes(value):
        if not value:
            return ""
        hours, minutes = divmod(int(value), 60)
        return f"{hours} h {minutes} min" if hours else f"{minutes} min"
