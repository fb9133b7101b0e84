"""Checking the sandbox against Xero's official OpenAPI files (openapi-core).

Every request to, and every response from, the accounting API (/api.xro/2.0/...) and the
identity API (/connections) is validated; each problem becomes one string
"METHOD /path request|response: message" in a list instead of breaking the response.
The token endpoint's JSON is checked against xero-identity.yaml's AccessToken schema.

Policy: responses whose status code the spec does not document for that operation (401,
403, 404, 429 and injected faults) are not validated, since the spec says nothing about them.
The spec files are loaded once per process (the accounting one takes seconds).
"""
from __future__ import annotations

import os
import threading
from dataclasses import dataclass, field
from urllib.parse import parse_qsl

from werkzeug.datastructures import Headers, ImmutableMultiDict

SPEC_DIR = os.environ.get("SANDBOX_SPEC_DIR", "/work/shared/specs/xero")
ACCOUNTING_SERVER = "https://api.xero.com/api.xro/2.0"
IDENTITY_SERVER = "https://api.xero.com"

_cache: dict[str, object] = {}
_cache_lock = threading.Lock()


def _factory():
    from openapi_core.security.factories import SecurityProviderFactory
    from openapi_core.security.providers import BaseProvider, HttpProvider
    from openapi_core.security.exceptions import SecurityProviderError

    class BearerProvider(BaseProvider):
        """OAuth2 in the spec: the request must carry a Bearer token."""

        def __call__(self, parameters):
            value = parameters.header.get("Authorization", "")
            if not value.lower().startswith("bearer "):
                raise SecurityProviderError("Missing bearer token.")
            return value[7:]

    class Factory(SecurityProviderFactory):
        PROVIDERS = {"apiKey": SecurityProviderFactory.PROVIDERS["apiKey"], "http": HttpProvider,
                     "oauth2": BearerProvider, "openIdConnect": BearerProvider}
    return Factory()


def load(name: str):
    """OpenAPI object for one of Xero's files, cached for the process."""
    with _cache_lock:
        if name not in _cache:
            from openapi_core import Config, OpenAPI
            from openapi_core.validation.request.validators import V30RequestValidator
            from openapi_core.validation.response.validators import V30ResponseValidator

            factory = _factory()

            class RequestValidator(V30RequestValidator):
                def __init__(self, *args, **kwargs):
                    kwargs["security_provider_factory"] = factory
                    super().__init__(*args, **kwargs)

            config = Config(spec_validator_cls=None, request_validator_cls=RequestValidator,
                            response_validator_cls=V30ResponseValidator)
            _cache[name] = OpenAPI.from_file_path(os.path.join(SPEC_DIR, name), config=config)
        return _cache[name]


@dataclass
class SpecRequest:
    host_url: str
    path: str
    method: str
    body: bytes | None
    content_type: str
    headers: dict
    query: list

    def __post_init__(self):
        from openapi_core.datatypes import RequestParameters
        self.parameters = RequestParameters(query=ImmutableMultiDict(self.query), header=Headers(self.headers),
                                            cookie=ImmutableMultiDict())

    @property
    def full_url_pattern(self):
        return self.host_url + self.path


@dataclass
class SpecResponse:
    status_code: int
    data: bytes | None
    content_type: str
    headers: Headers = field(default_factory=Headers)


def target(path: str) -> tuple[str, str, str] | None:
    """(spec file, server url, spec path) for a sandbox path that the specs describe."""
    if path.startswith("/api.xro/2.0/"):
        return "xero_accounting.yaml", ACCOUNTING_SERVER, path[len("/api.xro/2.0"):]
    lower = path.lower()
    if lower == "/connections" or lower.startswith("/connections/"):
        return "xero-identity.yaml", IDENTITY_SERVER, "/Connections" + path[len("/connections"):]
    return None


def _documented(openapi, spec_path: str, method: str, status: int) -> bool:
    from openapi_core.templating.paths.finders import APICallPathFinder
    try:
        finder = APICallPathFinder(openapi.spec)
        result = finder.find(method.lower(), openapi.spec["servers"][0]["url"] + spec_path)
    except Exception:  # noqa: BLE001 - an unknown path is reported by the request check
        return False
    responses = result.operation / "responses"
    return str(status) in responses or "default" in responses


def messages(errors) -> list[str]:
    out = []
    for error in errors:
        text = str(error)
        cause = error.__cause__
        details = getattr(cause, "schema_errors", None) or getattr(error, "schema_errors", None)
        if details:
            text += " (" + "; ".join(f"{'/'.join(map(str, e.path))}: {e.message}" for e in details) + ")"
        elif cause is not None:
            text += f" ({cause})"
        out.append(text)
    return out


def check(method: str, path: str, query: str, headers: dict, body: bytes, status: int, response_body: bytes,
          response_type: str) -> list[str]:
    """Validate one exchange; the list of violations (empty when it conforms)."""
    found = target(path)
    if found is None:
        return []
    name, server, spec_path = found
    openapi = load(name)
    request = SpecRequest(host_url=server.rsplit("/api.xro", 1)[0] if "/api.xro" in server else server,
                          path=(server.split("api.xero.com", 1)[1] + spec_path), method=method.lower(),
                          body=body or None, content_type=(headers.get("Content-Type") or "application/json").lower(),
                          headers=headers, query=parse_qsl(query, keep_blank_values=True))
    problems = []
    where = f"{method} {path}"
    problems += [f"{where} request: {m}" for m in messages(openapi.validator.iter_errors_request(request)
                                                           if hasattr(openapi, "validator") else
                                                           _request_errors(openapi, request))]
    if _documented(openapi, spec_path, method, status):
        response = SpecResponse(status_code=status, data=response_body or None,
                                content_type=(response_type or "application/json").lower())
        problems += [f"{where} response: {m}" for m in messages(_response_errors(openapi, request, response))]
    return problems


def _request_errors(openapi, request):
    try:
        openapi.validate_request(request)
    except Exception as exc:  # noqa: BLE001 - collected
        errors = getattr(exc, "errors", None) or getattr(getattr(exc, "__context__", None), "errors", None)
        return list(errors) if errors else [exc]
    return []


def _response_errors(openapi, request, response):
    try:
        openapi.validate_response(request, response)
    except Exception as exc:  # noqa: BLE001 - collected
        errors = getattr(exc, "errors", None)
        return list(errors) if errors else [exc]
    return []


def check_schema(file_name: str, schema_name: str, value) -> list[str]:
    """Validate a JSON value against one component schema (e.g. AccessToken)."""
    from openapi_schema_validator import OAS30Validator
    openapi = load(file_name)
    schema = (openapi.spec / "components" / "schemas" / schema_name).read_value() \
        if hasattr(openapi.spec / "components", "read_value") else None
    if schema is None:
        with (openapi.spec / "components" / "schemas" / schema_name).open() as opened:
            schema = dict(opened)
    validator = OAS30Validator(schema)
    return [f"{schema_name}: {'/'.join(map(str, e.path))}: {e.message}" for e in validator.iter_errors(value)]
