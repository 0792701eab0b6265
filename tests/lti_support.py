"""An LTI 1.3 platform emulator for the tests: a small Flask app on a free port, in a
thread, with its own RSA key. It plays the LMS's part of a launch and of grading:

- ``/jwks``: its public key set (the tool checks launches against it);
- ``/auth``: the OIDC authentication endpoint. It answers the tool's redirect with the
  auto-submitting form an LMS sends, carrying an id_token signed with its key for the
  launch the test set (``platform.launch``), with the tool's ``nonce`` and ``state``;
- ``/token``: client_credentials with a signed JWT assertion, checked against the tool's
  JWKS (fetched from the tool's URL), answering a bearer token;
- ``/lineitems/<id>/scores``: records the scores posted with that token.

``platform.forge = True`` signs the next id_tokens with another key (same ``kid``).
"""

from __future__ import annotations

import html
import re
import secrets
import threading
import time
import uuid

import jwt
import requests
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa
from flask import Flask, abort, jsonify, request
from werkzeug.serving import make_server

CLIENT_ID = "tool-client-1"
DEPLOYMENT_ID = "deployment-1"
KID = "platform-key-1"
LTI = "https://purl.imsglobal.org/spec/lti/claim/"
AGS_SCOPES = [
    "https://purl.imsglobal.org/spec/lti-ags/scope/lineitem",
    "https://purl.imsglobal.org/spec/lti-ags/scope/score",
]


def _new_key():
    return rsa.generate_private_key(public_exponent=65537, key_size=2048)


def _pem(key) -> bytes:
    return key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )


class PlatformEmulator:
    def __init__(self):
        self.key = _new_key()
        self.other_key = _new_key()  # a forger's
        self.forge = False
        self.launch: dict = {}  # claims of the next id_token (sub, email, roles, ...)
        self.target = ""  # the link's target (an LMS keeps it with the link)
        self.tool_jwks_url = ""
        self.scores: list[dict] = []
        self.token_requests: list[dict] = []
        self._tokens: set[str] = set()
        self.app = self._make_app()

    # -- what the tool is registered with -------------------------------------------------

    @property
    def issuer(self) -> str:
        return self.base_url

    def registration(self) -> dict:
        return {
            "issuer": self.issuer,
            "client_id": CLIENT_ID,
            "auth_login_url": f"{self.base_url}/auth",
            "auth_token_url": f"{self.base_url}/token",
            "key_set_url": f"{self.base_url}/jwks",
            "deployment_ids": DEPLOYMENT_ID,
        }

    def lineitem_url(self, item: str = "1") -> str:
        return f"{self.base_url}/lineitems/{item}"

    # -- the app --------------------------------------------------------------------------

    def _make_app(self) -> Flask:
        app = Flask("lti_platform_emulator")
        app.add_url_rule("/jwks", view_func=self._jwks)
        app.add_url_rule("/auth", view_func=self._auth)
        app.add_url_rule("/token", view_func=self._token, methods=["POST"])
        app.add_url_rule("/lineitems/<item>/scores", view_func=self._scores, methods=["POST"])
        return app

    def _jwks(self):
        jwk = jwt.algorithms.RSAAlgorithm.to_jwk(self.key.public_key(), as_dict=True)
        return jsonify({"keys": [jwk | {"kid": KID, "alg": "RS256", "use": "sig"}]})

    def _auth(self):
        """The LMS checks the login (here: always the launch the test set) and posts the
        id_token back to the tool's redirect URI."""
        args = request.args
        if args.get("client_id") != CLIENT_ID or args.get("response_type") != "id_token":
            abort(400)
        now = int(time.time())
        claims = {
            "iss": self.issuer,
            "aud": CLIENT_ID,
            "azp": CLIENT_ID,
            "iat": now,
            "exp": now + 300,
            "nonce": args["nonce"],
            LTI + "deployment_id": DEPLOYMENT_ID,
            LTI + "message_type": "LtiResourceLinkRequest",
            LTI + "version": "1.3.0",
            LTI + "resource_link": {"id": "link-1"},
            LTI + "target_link_uri": self.target,
        } | self.launch
        key = self.other_key if self.forge else self.key
        id_token = jwt.encode(claims, _pem(key), algorithm="RS256", headers={"kid": KID})
        return (
            f'<form method="post" action="{html.escape(args["redirect_uri"])}" id="f">'
            f'<input type="hidden" name="id_token" value="{id_token}">'
            f'<input type="hidden" name="state" value="{html.escape(args["state"])}">'
            "</form><script>document.getElementById('f').submit()</script>"
        )

    def _token(self):
        form = request.form
        self.token_requests.append(dict(form))
        if form.get("grant_type") != "client_credentials":
            return jsonify(error="unsupported_grant_type"), 400
        assertion = form.get("client_assertion", "")
        try:
            keys = jwt.PyJWKSet.from_dict(requests.get(self.tool_jwks_url, timeout=5).json())
            kid = jwt.get_unverified_header(assertion).get("kid")
            key = next(k for k in keys.keys if k.key_id == kid)
            claims = jwt.decode(
                assertion, key.key, algorithms=["RS256"], audience=f"{self.base_url}/token"
            )
        except (jwt.PyJWTError, StopIteration):
            return jsonify(error="invalid_client"), 401
        if claims.get("iss") != CLIENT_ID or claims.get("sub") != CLIENT_ID:
            return jsonify(error="invalid_client"), 401
        token = secrets.token_urlsafe(16)
        self._tokens.add(token)
        return jsonify(access_token=token, token_type="bearer", expires_in=3600)

    def _scores(self, item):
        token = request.headers.get("Authorization", "").removeprefix("Bearer ")
        if token not in self._tokens:
            return jsonify(error="unauthorized"), 401
        if request.content_type != "application/vnd.ims.lis.v1.score+json":
            return jsonify(error="wrong content type"), 415
        self.scores.append({"lineitem": item} | request.get_json(force=True))
        return "", 204

    # -- serving --------------------------------------------------------------------------

    def start(self) -> PlatformEmulator:
        self._server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.base_url = f"http://127.0.0.1:{self._server.server_port}"
        threading.Thread(target=self._server.serve_forever, daemon=True).start()
        return self

    def stop(self) -> None:
        self._server.shutdown()


def launch(browser: requests.Session, tool_url: str, platform: PlatformEmulator, target: str):
    """What the LMS and a browser do when a learner clicks the link: the login initiation,
    the LMS's authentication answer (its form), the form posted to the tool. Returns the
    tool's answer and the form posted (to replay it)."""
    platform.target = target
    start = browser.post(
        f"{tool_url}/lti/login",
        data={
            "iss": platform.issuer,
            "client_id": CLIENT_ID,
            "login_hint": str(uuid.uuid4()),
            "target_link_uri": target,
            "lti_deployment_id": DEPLOYMENT_ID,
        },
        allow_redirects=False,
    )
    assert start.status_code == 302, start.text
    page = browser.get(start.headers["Location"])
    assert page.status_code == 200, page.text
    action = html.unescape(re.search(r'action="([^"]+)"', page.text).group(1))
    form = dict(re.findall(r'name="(id_token|state)" value="([^"]*)"', page.text))
    return browser.post(action, data=form, allow_redirects=False), action, form
