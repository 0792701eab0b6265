"""Web access to a lab's declared ports through the platform, for the lab's owner only.

``/labs/sessions/<id>/web/<port>/<path>`` is forwarded to the container that
declares ``port`` in lab.yaml, on the lab's private network. The lab's web
application runs under that prefix, so what it sends is adapted on the way:

- the platform's cookies never reach the lab: only cookies the lab set (kept
  in the browser under a ``lab_`` name prefix, so a lab cookie called
  ``session`` cannot shadow the platform's) are forwarded, without the prefix;
- ``Set-Cookie`` gets that name prefix, a ``Path`` inside the proxy prefix and
  no ``Domain``, so a lab cannot set a cookie on the platform's own paths;
- redirects (``Location``) to the lab's own absolute URLs or paths stay inside
  the prefix;
- in HTML and CSS, absolute-path links (``href="/x"``, ``url(/x)``) are moved
  into the prefix; relative links work as they are (the prefix ends in ``/``);
- headers that could act on the whole platform origin (HSTS, Clear-Site-Data,
  Service-Worker-Allowed...) are dropped.

The pure functions here are unit-tested; ``forward`` does the I/O.
"""

from __future__ import annotations

import http.client
import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from urllib.parse import urlsplit

LAB_COOKIE_PREFIX = "lab_"
CONNECT_TIMEOUT = 3.0  # lab networks are local bridges: a live service answers at once
MAX_REWRITE_BYTES = 8 * 1024 * 1024  # larger HTML or CSS is passed through unchanged
CHUNK = 64 * 1024

HOP_BY_HOP = {
    "connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "trailers",
    "transfer-encoding",
    "upgrade",
    "proxy-connection",
}
# Request headers the platform sets itself or never forwards.
DROPPED_REQUEST = HOP_BY_HOP | {
    "host",
    "cookie",
    "content-length",
    "accept-encoding",
    "origin",
    "referer",
    "x-forwarded-for",
    "x-forwarded-host",
    "x-forwarded-proto",
    "x-forwarded-prefix",
    "x-csrftoken",
    "x-csrf-token",
    "expect",
}
# Response headers that would act on the platform's whole origin, or that the
# platform recomputes.
DROPPED_RESPONSE = HOP_BY_HOP | {
    "content-length",
    "strict-transport-security",
    "clear-site-data",
    "service-worker-allowed",
    "public-key-pins",
    "public-key-pins-report-only",
    "alt-svc",
    "set-cookie",
    "location",
    "content-security-policy",
    "content-security-policy-report-only",
    "x-frame-options",
}
# What proxied pages may do: the lab's own scripts and styles (inline too: lab
# apps are often small and old-fashioned), nothing from elsewhere, no framing.
LAB_CSP = "; ".join(
    [
        "default-src 'self' data: blob: 'unsafe-inline' 'unsafe-eval'",
        "img-src 'self' data: blob:",
        "frame-ancestors 'self'",
        "form-action 'self'",
        "base-uri 'self'",
        "object-src 'none'",
    ]
)

_LINK_ATTR = re.compile(
    rb"""(?P<lead>\s(?:href|src|action|formaction|poster|data)\s*=\s*(?P<q>["']?))/(?!/)""",
    re.IGNORECASE,
)
_CSS_URL = re.compile(rb"""(?P<lead>url\(\s*(?P<q>["']?))/(?!/)""", re.IGNORECASE)
_COOKIE_ATTR_SPLIT = re.compile(r"\s*;\s*")


@dataclass(frozen=True)
class Upstream:
    """Where a proxied request goes: the endpoint the lab runtime answered for the port
    (the container's address on the lab network, or a gateway's)."""

    address: str
    port: int
    container: str  # its name on the lab network, which the lab app knows itself by
    lab_port: int | None = None  # the port the app serves in the lab (default: port)

    @property
    def netlocs(self) -> set[str]:
        """The host[:port] forms by which the app may name itself in its answers."""
        lab_port = self.lab_port or self.port
        names = {self.container, "localhost", "127.0.0.1"}
        found = {f"{name}:{lab_port}" for name in names} | {f"{self.address}:{self.port}"}
        if lab_port == 80:
            found |= names
        if self.port == 80:
            found.add(self.address)
        return found


@dataclass
class ProxyRequest:
    """What the platform received, reduced to what the forwarding needs."""

    method: str
    path: str  # the path inside the lab app, starting with "/"
    query: str
    headers: list[tuple[str, str]]
    body: bytes | None
    prefix: str  # "/labs/sessions/<id>/web/<port>" (no trailing slash)
    platform_origin: str  # "http://host:port"


# -- requests ------------------------------------------------------------------------


def lab_cookie_header(value: str) -> str | None:
    """The Cookie header for the lab: only cookies the lab set, with their real names."""
    kept = []
    for part in value.split(";"):
        name, sep, cookie_value = part.strip().partition("=")
        if sep and name.startswith(LAB_COOKIE_PREFIX) and len(name) > len(LAB_COOKIE_PREFIX):
            kept.append(f"{name[len(LAB_COOKIE_PREFIX) :]}={cookie_value}")
    return "; ".join(kept) or None


def upstream_headers(request: ProxyRequest, upstream: Upstream) -> list[tuple[str, str]]:
    """Headers to send to the lab app."""
    host = upstream.container if upstream.port == 80 else f"{upstream.container}:{upstream.port}"
    own_origin = f"http://{host}"
    headers: list[tuple[str, str]] = [("Host", host), ("Accept-Encoding", "identity")]
    for name, value in request.headers:
        lower = name.lower()
        if lower == "cookie":
            cookie = lab_cookie_header(value)
            if cookie:
                headers.append(("Cookie", cookie))
        elif lower == "authorization" and value.startswith("Bearer lms_"):
            continue  # a platform API token is not the lab's business
        elif lower == "origin" and value == request.platform_origin:
            headers.append(("Origin", own_origin))
        elif lower == "referer" and value.startswith(request.platform_origin + request.prefix):
            inside = value[len(request.platform_origin + request.prefix) :] or "/"
            headers.append(("Referer", own_origin + inside))
        elif lower not in DROPPED_REQUEST:
            headers.append((name, value))
    headers += [
        ("X-Forwarded-Prefix", request.prefix),
        ("X-Forwarded-Host", urlsplit(request.platform_origin).netloc),
        ("X-Forwarded-Proto", urlsplit(request.platform_origin).scheme),
    ]
    return headers


# -- responses -----------------------------------------------------------------------


def rewrite_set_cookie(value: str, prefix: str) -> str | None:
    """A lab's Set-Cookie, renamed and confined to the proxy prefix (None: unusable)."""
    parts = _COOKIE_ATTR_SPLIT.split(value.strip())
    name, sep, cookie_value = parts[0].partition("=")
    name = name.strip()
    if not sep or not name:
        return None
    attributes = [f"{LAB_COOKIE_PREFIX}{name}={cookie_value}"]
    path = None
    for attribute in parts[1:]:
        key, _, attr_value = attribute.partition("=")
        lower = key.strip().lower()
        if lower == "domain" or not lower:
            continue
        if lower == "path":
            path = attr_value.strip()
            continue
        attributes.append(attribute)
    if not path or not path.startswith("/"):
        path = "/"
    attributes.append(f"Path={prefix}{path}")
    return "; ".join(attributes)


def rewrite_location(value: str, prefix: str, upstream: Upstream, platform_origin: str) -> str:
    """A redirect target, kept inside the proxy prefix when it points at the lab app."""
    parts = urlsplit(value)
    if parts.scheme and parts.scheme not in ("http", "https"):
        return value
    if parts.netloc:
        if parts.netloc.lower() not in {n.lower() for n in upstream.netlocs}:
            return value  # somewhere else entirely: leave it
        rest = value[value.find(parts.netloc) + len(parts.netloc) :] or "/"
        if not rest.startswith("/"):
            rest = "/" + rest
        return platform_origin + prefix + rest
    if value.startswith("/") and not value.startswith("//"):
        if value == prefix or value.startswith(prefix + "/"):
            return value
        return prefix + value
    return value  # relative: the browser resolves it inside the prefix


def rewrite_links(body: bytes, prefix: str, css_only: bool = False) -> bytes:
    """Absolute-path links and CSS urls moved into the prefix; relative ones untouched."""
    target = prefix.encode()

    def rewrite(pattern: re.Pattern, text: bytes) -> bytes:
        def move(match: re.Match) -> bytes:
            slash = match.end() - 1
            if text[slash : slash + len(target) + 1] == target + b"/":
                return match.group(0)  # already inside the prefix
            return match.group("lead") + target + b"/"

        return pattern.sub(move, text)

    if not css_only:
        body = rewrite(_LINK_ATTR, body)
    return rewrite(_CSS_URL, body)


def needs_rewrite(content_type: str) -> str | None:
    """ "html" or "css" when a response body gets its links rewritten."""
    kind = content_type.split(";")[0].strip().lower()
    if kind in ("text/html", "application/xhtml+xml"):
        return "html"
    if kind == "text/css":
        return "css"
    return None


def response_headers(
    headers: Iterable[tuple[str, str]], request: ProxyRequest, upstream: Upstream
) -> list[tuple[str, str]]:
    """Headers to send back to the browser."""
    result: list[tuple[str, str]] = []
    for name, value in headers:
        lower = name.lower()
        if lower == "set-cookie":
            cookie = rewrite_set_cookie(value, request.prefix)
            if cookie:
                result.append(("Set-Cookie", cookie))
        elif lower == "location":
            result.append(
                (
                    "Location",
                    rewrite_location(value, request.prefix, upstream, request.platform_origin),
                )
            )
        elif lower not in DROPPED_RESPONSE:
            result.append((name, value))
    result.append(("Content-Security-Policy", LAB_CSP))
    return result


# -- forwarding ----------------------------------------------------------------------


class UpstreamError(Exception):
    """The lab's web service did not answer (refused, timed out, broke off)."""


@dataclass
class ProxyResponse:
    status: int
    reason: str
    headers: list[tuple[str, str]]
    body: Iterator[bytes] | bytes


def forward(request: ProxyRequest, upstream: Upstream, timeout: float) -> ProxyResponse:
    """Send the request to the lab app and adapt its answer. Raises UpstreamError."""
    connection = http.client.HTTPConnection(
        upstream.address, upstream.port, timeout=CONNECT_TIMEOUT
    )
    target = request.path + (f"?{request.query}" if request.query else "")
    try:
        connection.connect()
        connection.sock.settimeout(timeout)
        connection.request(
            request.method,
            target,
            body=request.body,
            headers=dict(_merge(upstream_headers(request, upstream))),
        )
        answer = connection.getresponse()
    except (OSError, http.client.HTTPException) as exc:
        connection.close()
        raise UpstreamError(str(exc) or exc.__class__.__name__) from exc
    headers = response_headers(answer.getheaders(), request, upstream)
    kind = needs_rewrite(answer.getheader("Content-Type", ""))
    if answer.getheader("Content-Encoding", "identity").lower() != "identity":
        kind = None  # compressed although asked not to be: passed through as it is
    length = answer.getheader("Content-Length")
    small = length is None or (length.isdigit() and int(length) <= MAX_REWRITE_BYTES)
    if request.method == "HEAD":
        connection.close()
        return ProxyResponse(answer.status, answer.reason, headers, b"")
    if kind and small:
        try:
            body = answer.read(MAX_REWRITE_BYTES + 1)
        except (OSError, http.client.HTTPException) as exc:
            raise UpstreamError(str(exc) or exc.__class__.__name__) from exc
        finally:
            connection.close()
        if len(body) <= MAX_REWRITE_BYTES:
            body = rewrite_links(body, request.prefix, css_only=kind == "css")
        return ProxyResponse(answer.status, answer.reason, headers, body)
    return ProxyResponse(answer.status, answer.reason, headers, _stream(answer, connection))


def _stream(answer: http.client.HTTPResponse, connection: http.client.HTTPConnection):
    try:
        while True:
            try:
                chunk = answer.read1(CHUNK)
            except (TimeoutError, OSError, http.client.HTTPException):
                return
            if not chunk:
                return
            yield chunk
    finally:
        connection.close()


def _merge(headers: list[tuple[str, str]]) -> list[tuple[str, str]]:
    """http.client takes a dict: join repeated request headers the HTTP way."""
    merged: dict[str, tuple[str, str]] = {}
    for name, value in headers:
        key = name.lower()
        if key in merged:
            joiner = "; " if key == "cookie" else ", "
            merged[key] = (merged[key][0], merged[key][1] + joiner + value)
        else:
            merged[key] = (name, value)
    return list(merged.values())
