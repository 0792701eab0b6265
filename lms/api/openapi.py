"""The OpenAPI document of /api/v1. Domains add their paths with ``add_paths``."""

from __future__ import annotations

ERROR = {"$ref": "#/components/schemas/Error"}


def error_responses(*codes: int) -> dict:
    return {
        str(code): {"description": text, "content": {"application/json": {"schema": ERROR}}}
        for code, text in {
            400: "Bad request",
            401: "Not signed in",
            403: "Forbidden",
            404: "Not found",
            409: "Conflict",
            429: "Too many requests",
            503: "Service unavailable",
        }.items()
        if code in codes
    }


def json_response(description: str, schema: dict) -> dict:
    return {"description": description, "content": {"application/json": {"schema": schema}}}


PATHS: dict[str, dict] = {}
SCHEMAS: dict[str, dict] = {
    "Error": {
        "type": "object",
        "required": ["error", "message"],
        "properties": {"error": {"type": "string"}, "message": {"type": "string"}},
    },
}


def add_paths(paths: dict, schemas: dict | None = None) -> None:
    PATHS.update(paths)
    SCHEMAS.update(schemas or {})


def document() -> dict:
    return {
        "openapi": "3.1.0",
        "info": {"title": "Cyber Range LMS API", "version": "1.0.0"},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}, {"session": []}],
        "components": {
            "securitySchemes": {
                "bearer": {"type": "http", "scheme": "bearer"},
                "session": {"type": "apiKey", "in": "cookie", "name": "session"},
            },
            "schemas": SCHEMAS,
        },
        "paths": PATHS,
    }
