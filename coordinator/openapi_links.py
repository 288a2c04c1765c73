"""OpenAPI links: which field of a response names the resource the next call works on.

They document the protocol's chains (a data request -> its assets -> their upload and
download; a lease -> its heartbeat and release; a submission -> its stored answer) and let
schemathesis' stateful phase follow them. A link is added only when both of its operations
are in the spec, so a renamed route drops its link instead of breaking the document.
"""

from __future__ import annotations

from typing import Any

from fastapi import FastAPI

REQUEST = "/v1/requests/{request_id}"
ASSET_TARGETS = [("put", "/v1/uploads/{asset_id}"), ("get", "/v1/uploads/{asset_id}"),
                 ("get", "/v1/assets/{asset_id}"), ("head", "/v1/assets/{asset_id}")]
# (source method, source path, status) -> (target method, target path, parameter, runtime expression)
LINKS: dict[tuple[str, str, str], list[tuple[str, str, str, str]]] = {
    ("post", "/v1/requests", "201"): [
        (method, path, "request_id", "$response.body#/id")
        for method, path in [("get", REQUEST), ("get", f"{REQUEST}/progress"), ("get", f"{REQUEST}/export"),
                             ("post", f"{REQUEST}/close"), ("post", f"{REQUEST}/assets")]],
    ("post", "/v1/requests/{request_id}/assets", "201"): [
        (method, path, "asset_id", "$response.body#/id") for method, path in ASSET_TARGETS],
    ("post", "/v1/requests/{request_id}/assets", "200"): [
        (method, path, "asset_id", "$response.body#/id") for method, path in ASSET_TARGETS],
    ("post", "/v1/leases", "200"): [
        ("post", "/v1/leases/{lease_id}/heartbeat", "lease_id", "$response.body#/tasks/0/lease_id"),
        ("post", "/v1/leases/{lease_id}/release", "lease_id", "$response.body#/tasks/0/lease_id"),
        ("get", "/v1/assets/{asset_id}", "asset_id", "$response.body#/tasks/0/asset/id")],
    ("post", "/v1/submissions", "201"): [
        ("get", "/v1/submissions/{submission_id}", "submission_id", "$response.body#/submission_id")],
    ("get", "/v1/reviews", "200"): [
        ("get", "/v1/reviews/{review_id}", "review_id", "$response.body#/0/review_id"),
        ("post", "/v1/reviews/{review_id}/decision", "review_id", "$response.body#/0/review_id")],
}


def _ref(method: str, path: str) -> str:
    return "#/paths/" + path.replace("~", "~0").replace("/", "~1") + "/" + method


def add_links(spec: dict[str, Any]) -> None:
    paths = spec.get("paths", {})
    for (method, path, status), targets in LINKS.items():
        response = paths.get(path, {}).get(method, {}).get("responses", {}).get(status)
        if response is None:
            continue
        for target_method, target_path, parameter, expression in targets:
            if target_method not in paths.get(target_path, {}):
                continue
            name = f"{target_method.capitalize()}{target_path.replace('{', '').replace('}', '').title()}"
            name = "".join(ch for ch in name if ch.isalnum())
            response.setdefault("links", {})[name] = {"operationRef": _ref(target_method, target_path),
                                                      "parameters": {parameter: expression}}


def document(app: FastAPI) -> None:
    """Add the links to the app's generated spec (after `errors.document`, which it wraps)."""
    generate = app.openapi

    def openapi() -> dict[str, Any]:
        if app.openapi_schema:  # built once, then cached, like FastAPI's own
            return app.openapi_schema
        spec = generate()
        add_links(spec)
        app.openapi_schema = spec
        return spec

    app.openapi = openapi  # type: ignore[method-assign]
