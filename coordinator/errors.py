"""Every refusal is an `ErrorOut` body with a stable code and plain words, never a traceback."""

from __future__ import annotations

import logging
from typing import Any

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from starlette.exceptions import HTTPException as StarletteHTTPException

from app.sync.wire import ErrorOut

log = logging.getLogger(__name__)
ERROR_REF = {"$ref": "#/components/schemas/ErrorOut"}
# refusals any route may give, declared on every operation so the published spec is complete
_ANY = {429: "too many requests: wait as Retry-After says"}
_WITH_INPUT = {422: "invalid input: a parameter or the body is malformed or out of bounds"}
_WITH_BODY = {400: "the body could not be read (e.g. not UTF-8)", 413: "the body is over the size limit"}
_SIGNED_IN = {401: "not signed in, or the session expired or was revoked",
              403: "the account lacks the role this needs, or is locked"}
_WITH_PATH_ID = {404: "nothing with that identifier (or not yours to see)"}


_CONTRIBUTOR = {401: "not signed in", 403: "not a contributor, or the account is locked",
                422: "invalid input", 429: "rate limited"}


def refusals(words: dict[int, str]) -> dict[int | str, dict[str, Any]]:
    """A route's OpenAPI `responses` entries for the refusals it can answer (status -> what it
    means there), all with the ErrorOut body."""
    return {code: {"model": ErrorOut, "description": text} for code, text in sorted(words.items())}


def contributor_refusals(words: dict[int, str] | None = None) -> dict[int | str, dict[str, Any]]:
    """`refusals` of a contributor's route: signed in, the role, the input, the rate, and `words`."""
    return refusals(_CONTRIBUTOR | (words or {}))


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> None:
        super().__init__(detail)
        self.status, self.code, self.detail, self.headers = status, code, detail, headers

    def body(self) -> dict[str, str]:
        return {"error": self.code, "detail": self.detail}


def error_response(status: int, code: str, detail: str, headers: dict[str, str] | None = None) -> JSONResponse:
    return JSONResponse({"error": code, "detail": detail}, status_code=status, headers=headers)


def _where(error: dict[str, Any]) -> str:
    return ".".join(str(p) for p in error.get("loc", ()) if p not in ("body",)) or "body"


def _declare_errors(path: str, operation: dict[str, Any]) -> None:
    responses = operation.setdefault("responses", {})
    wanted = dict(_ANY)
    if operation.get("parameters") or operation.get("requestBody"):
        wanted |= _WITH_INPUT
    if operation.get("requestBody"):
        wanted |= _WITH_BODY
    if operation.get("security"):
        wanted |= _SIGNED_IN
    if "{" in path:
        wanted |= _WITH_PATH_ID
    for status, text in wanted.items():
        responses.setdefault(str(status), {"description": text})
    for status, response in responses.items():
        if status[:1] not in "45":
            continue
        media = response.setdefault("content", {}).setdefault("application/json", {})
        if not media.get("schema") or media["schema"].get("$ref", "").endswith("/HTTPValidationError"):
            media["schema"] = ERROR_REF  # what our handlers send, not FastAPI's default 422 body


def document(app: FastAPI) -> None:
    """Post-process the OpenAPI document: every operation lists the refusals it can give, each
    with the `ErrorOut` body, so clients and schemathesis see what the handlers really send."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:
            return app.openapi_schema
        spec = generate()
        schemas = spec.setdefault("components", {}).setdefault("schemas", {})
        schemas.setdefault("ErrorOut", ErrorOut.model_json_schema(ref_template="#/components/schemas/{model}"))
        for path, operations in spec.get("paths", {}).items():
            for operation in operations.values():
                _declare_errors(path, operation)
        for unused in ("HTTPValidationError", "ValidationError"):
            if unused not in str(spec.get("paths")):
                schemas.pop(unused, None)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]


def install(app: FastAPI) -> None:
    document(app)

    @app.exception_handler(ApiError)
    async def _api_error(_request: Request, exc: ApiError) -> JSONResponse:
        return error_response(exc.status, exc.code, exc.detail, exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _invalid(_request: Request, exc: RequestValidationError) -> JSONResponse:
        errors = exc.errors()
        first = errors[0] if errors else {}
        more = f" (and {len(errors) - 1} more)" if len(errors) > 1 else ""
        return error_response(422, "invalid_input", f"{_where(first)}: {first.get('msg', 'invalid')}{more}")

    @app.exception_handler(StarletteHTTPException)
    async def _http(_request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {400: "malformed_body", 404: "not_found", 405: "method_not_allowed", 413: "too_large"}.get(exc.status_code, "http_error")
        return error_response(exc.status_code, code, str(exc.detail), getattr(exc, "headers", None))

    @app.exception_handler(Exception)
    async def _bug(request: Request, exc: Exception) -> JSONResponse:
        log.exception("unhandled error on %s %s", request.method, request.url.path)
        return error_response(500, "internal", "the coordinator hit an internal error; it was logged")
