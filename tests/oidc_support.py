"""A real OpenID Connect provider for the SSO tests: a small Flask app on Authlib's
authorization server (authorization code flow with PKCE and nonce, RS256 ID tokens from a
key made here, discovery and JWKS), served on a free port in a thread.

The test chooses who signs in (``provider.person``) and may spoil the next ID tokens
(``provider.token_overrides``: a wrong ``aud``, an ``exp`` in the past)."""

from __future__ import annotations

import html
import secrets
import threading
import time
from dataclasses import dataclass, field

from authlib.integrations.flask_oauth2 import AuthorizationServer
from authlib.oauth2.rfc6749 import ClientMixin, grants
from authlib.oauth2.rfc7636 import CodeChallenge
from authlib.oidc.core import UserInfo
from authlib.oidc.core.grants import OpenIDCode
from flask import Flask, request
from joserfc.jwk import RSAKey
from werkzeug.serving import make_server

CLIENT_ID = "lms-test-client"
CLIENT_SECRET = "provider-issued-secret-" + "x" * 12


@dataclass
class Client(ClientMixin):
    client_id: str
    client_secret: str

    def get_client_id(self):
        return self.client_id

    def get_default_redirect_uri(self):
        return None

    def get_allowed_scope(self, scope):
        return " ".join(s for s in scope.split() if s in {"openid", "email", "profile"})

    def check_redirect_uri(self, redirect_uri):
        return "/sso/" in redirect_uri and redirect_uri.endswith("/callback")

    def check_client_secret(self, client_secret):
        return secrets.compare_digest(client_secret, self.client_secret)

    def check_endpoint_auth_method(self, method, endpoint):
        return method in ("client_secret_basic", "client_secret_post")

    def check_response_type(self, response_type):
        return response_type == "code"

    def check_grant_type(self, grant_type):
        return grant_type == "authorization_code"


@dataclass
class Code:
    code: str
    client_id: str
    redirect_uri: str
    scope: str
    nonce: str | None
    code_challenge: str | None
    code_challenge_method: str | None
    person: dict
    auth_time: int = field(default_factory=lambda: int(time.time()))

    def get_redirect_uri(self):
        return self.redirect_uri

    def get_scope(self):
        return self.scope

    def get_nonce(self):
        return self.nonce

    def get_auth_time(self):
        return self.auth_time

    def get_acr(self):
        return None

    def get_amr(self):
        return None


class OidcProvider:
    def __init__(self):
        self.key = RSAKey.generate_key(2048, parameters={"kid": "test-key", "use": "sig"})
        self.clients = {CLIENT_ID: Client(CLIENT_ID, CLIENT_SECRET)}
        self.codes: dict[str, Code] = {}
        self.person = self.new_person()
        self.token_overrides: dict = {}
        self.app = self._make_app()
        self.server = make_server("127.0.0.1", 0, self.app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.discovery_url = f"{self.url}/.well-known/openid-configuration"
        self._thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    @staticmethod
    def new_person(**claims) -> dict:
        number = secrets.token_hex(4)
        person = {
            "sub": f"idp-{number}",
            "email": f"sso-{number}@idp.example.org",
            "email_verified": True,
            "name": f"Person {number}",
        }
        person.update(claims)
        return person

    def start(self):
        self._thread.start()
        return self

    def stop(self):
        self.server.shutdown()

    def _make_app(self) -> Flask:
        app = Flask("test_oidc_provider")
        provider = self

        class OpenIDCodeForTests(OpenIDCode):
            def exists_nonce(self, nonce, req):
                return any(c.nonce == nonce for c in provider.codes.values())

            def resolve_client_private_key(self, client):
                return provider.key

            def get_client_claims(self, client):
                claims = {"iss": provider.url, "aud": [client.get_client_id()]}
                claims.update(provider.token_overrides)
                return claims

            def generate_user_info(self, user, scope):
                return UserInfo(user)

        class CodeGrant(grants.AuthorizationCodeGrant):
            def save_authorization_code(self, code, req):
                provider.codes[code] = Code(
                    code=code,
                    client_id=req.client.client_id,
                    redirect_uri=req.payload.redirect_uri,
                    scope=req.scope,
                    nonce=req.payload.data.get("nonce"),
                    code_challenge=req.payload.data.get("code_challenge"),
                    code_challenge_method=req.payload.data.get("code_challenge_method"),
                    person=dict(req.user),
                )

            def query_authorization_code(self, code, client):
                found = provider.codes.get(code)
                return found if found and found.client_id == client.client_id else None

            def delete_authorization_code(self, authorization_code):
                provider.codes.pop(authorization_code.code, None)

            def authenticate_user(self, authorization_code):
                return authorization_code.person

        server = AuthorizationServer(
            app, query_client=self.clients.get, save_token=lambda token, req: None
        )
        server.register_grant(
            CodeGrant, [OpenIDCodeForTests(require_nonce=True), CodeChallenge(required=True)]
        )

        @app.get("/.well-known/openid-configuration")
        def discovery():
            return {
                "issuer": provider.url,
                "authorization_endpoint": f"{provider.url}/authorize",
                "token_endpoint": f"{provider.url}/token",
                "jwks_uri": f"{provider.url}/jwks",
                "response_types_supported": ["code"],
                "subject_types_supported": ["public"],
                "id_token_signing_alg_values_supported": ["RS256"],
                "code_challenge_methods_supported": ["S256"],
                "scopes_supported": ["openid", "email", "profile"],
            }

        @app.get("/jwks")
        def jwks():
            return {"keys": [provider.key.as_dict(private=False)]}

        @app.route("/authorize", methods=["GET", "POST"])
        def authorize():
            person = provider.person
            grant = server.get_consent_grant(end_user=person)  # refuses a bad request
            if request.method == "GET":
                return (
                    "<!doctype html><title>Test IdP</title><h1>Test identity provider</h1>"
                    f"<p>Sign in as {html.escape(person['email'])}?</p>"
                    '<form method="post"><button name="allow" value="yes">Allow</button></form>'
                )
            return server.create_authorization_response(grant_user=person, grant=grant)

        @app.post("/token")
        def token():
            return server.create_token_response()

        return app
