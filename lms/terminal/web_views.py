"""Web access to a lab's services through the platform (the lab's own web pages, proxied)."""

from __future__ import annotations

from urllib.parse import quote

from flask import (
    Response,
    current_app,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_login import current_user

from lms.extensions import csrf, login_manager
from lms.labs.models import LIVE_STATUSES
from lms.labs.runtime.base import LabError
from lms.terminal import services
from lms.terminal.access import (
    lab_session_or_404,
    platform_origin,
    proxy_request_allowed,
    works_in,
)
from lms.terminal.blueprint import bp
from lms.terminal.proxy import ProxyRequest, UpstreamError, forward
from lms.terminal.web_log import record_web_request
from lms.web import error_response, passes_body_through

# -- web access to the lab's services ----------------------------------------------------------------

PROXY_METHODS = ["GET", "HEAD", "POST", "PUT", "PATCH", "DELETE", "OPTIONS"]


@bp.route("/labs/sessions/<int:session_id>/web/<int:port>", methods=PROXY_METHODS)
@csrf.exempt
@passes_body_through
def web_root(session_id: int, port: int):
    """The lab app's root needs the trailing slash, or its relative links break."""
    target = url_for(".web_access", session_id=session_id, port=port, path="")
    if request.query_string:
        target += "?" + request.query_string.decode("latin-1")
    return redirect(target, code=308)


@bp.route(
    "/labs/sessions/<int:session_id>/web/<int:port>/", defaults={"path": ""}, methods=PROXY_METHODS
)
@bp.route("/labs/sessions/<int:session_id>/web/<int:port>/<path:path>", methods=PROXY_METHODS)
@csrf.exempt  # the lab app's forms carry no platform token: the Origin is checked instead
@passes_body_through
def web_access(session_id: int, port: int, path: str):
    """A lab web service, for the lab's owner only (and, in a shared session, its members)."""
    if not proxy_request_allowed():
        return error_response(403, "Lab web services open only from the platform's own pages.")
    if not current_user.is_authenticated:
        if request.method == "GET":
            return login_manager.unauthorized()
        return error_response(403, "Sign in first.")
    lab_session = lab_session_or_404(session_id)
    if not works_in(current_user, lab_session):
        return error_response(403, "Only the trainee running this lab can open its services.")
    if lab_session.status not in LIVE_STATUSES:
        return error_response(409, "This lab has stopped: start it again from its module.")
    prefix = url_for(".web_root", session_id=session_id, port=port)
    try:
        upstream = services.upstream_for(lab_session, port)
    except LabError:
        return _service_down(port, "The lab's container is not running.")
    if upstream is None:
        return error_response(404, f"This lab has no web service on port {port}.")
    proxied = ProxyRequest(
        method=request.method,
        path=_inside_path(prefix, path),
        query=_query(),
        headers=list(request.headers.items()),
        body=_body(),
        prefix=prefix,
        platform_origin=platform_origin(),
    )
    asked = proxied.path + (f"?{proxied.query}" if proxied.query else "")
    try:
        answer = forward(proxied, upstream, current_app.config["LMS_PROXY_TIMEOUT"])
    except UpstreamError as exc:
        services.forget_address(lab_session)
        current_app.logger.info("lab %s port %s did not answer: %s", lab_session.id, port, exc)
        record_web_request(lab_session.id, port, request.method, asked, None, "")
        return _service_down(port, "")
    content_type = next((v for k, v in answer.headers if k.lower() == "content-type"), "")
    # For the session's replay: what the trainee did in the lab's web pages, and when.
    record_web_request(lab_session.id, port, request.method, asked, answer.status, content_type)
    response = Response(answer.body, status=f"{answer.status} {answer.reason}")
    response.headers.clear()
    for name, value in answer.headers:
        response.headers.add(name, value)
    return response


def _inside_path(prefix: str, path: str) -> str:
    """The path as the browser sent it (still %-encoded), without the proxy prefix."""
    raw = request.environ.get("RAW_URI") or request.environ.get("REQUEST_URI") or ""
    raw = raw.split("?", 1)[0]
    if raw.startswith(prefix + "/"):
        return raw[len(prefix) :]
    return "/" + quote(path)


def _query() -> str:
    return request.query_string.decode("latin-1")


def _body() -> bytes | None:
    if request.content_length or request.headers.get("Transfer-Encoding"):
        return request.get_data(cache=False)
    return None


def _service_down(port: int, detail: str):
    message = (
        f"The lab's web service on port {port} is not answering. {detail} "
        "It may still be starting: wait a few seconds, then reload this page."
    )
    return render_template(
        "errors/error.html",
        status=502,
        title="The lab's web service is not answering",
        message=" ".join(message.split()),
    ), 502
