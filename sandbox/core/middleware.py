"""The WSGI layer in front of each face: the request log, the faults and misbehaviour a
request meets (answered in the face's own error shape), and the check of both sides of
the exchange against the face's specification when the sandbox validates.

A face module gives it: KEY, `tenant_of(environ)` (the organisation a request names, for
the log), `error_answer(status, fault)` (the body and extra headers its package answers a
fault with) and `malformed_body()` (a truncated answer),
and `validator` (a module with `target(path)` and `check(...)`, or None)."""
from __future__ import annotations

import io
import json
import socket
import time

SPEC_BODY = "sandbox.spec_body"  # environ key: the answer as the spec checker sees it (without raw records)


class Middleware:
    def __init__(self, wsgi_app, sandbox, face):
        self.wsgi_app = wsgi_app
        self.sandbox = sandbox
        self.face = face

    def __call__(self, environ, start_response):
        sb, face = self.sandbox, self.face
        path = environ.get("PATH_INFO", "")
        entry = {"face": face.KEY, "method": environ.get("REQUEST_METHOD"), "path": path,
                 "query": environ.get("QUERY_STRING", ""), "tenant_id": face.tenant_of(environ),
                 "idempotency_key": environ.get("HTTP_IDEMPOTENCY_KEY"), "status": None}
        sb.requests.append(entry)
        fault = sb.take_fault(path)
        if fault:
            entry["fault"] = fault["kind"]
            answer = self._fault(fault, environ, start_response, entry)
            if answer is not None:
                return answer
        validator = face.validator if sb.validate_spec else None
        if validator is None or validator.target(path) is None or fault:
            def recording_start(status, headers, exc_info=None):
                entry["status"] = int(status.split()[0])
                return start_response(status, headers, exc_info)
            return self.wsgi_app(environ, recording_start)
        return self._validated(environ, start_response, entry, validator)

    def _validated(self, environ, start_response, entry, validator):
        """Buffer both sides to check them against the spec."""
        sb, path = self.sandbox, entry["path"]
        length = int(environ.get("CONTENT_LENGTH") or 0)
        body = environ["wsgi.input"].read(length) if length else b""
        environ["wsgi.input"] = io.BytesIO(body)
        captured = {}

        def buffering_start(status, headers, exc_info=None):
            captured["status"], captured["headers"] = status, headers
            return lambda data: None
        chunks = self.wsgi_app(environ, buffering_start)
        try:
            response_body = b"".join(chunks)
        finally:
            if hasattr(chunks, "close"):
                chunks.close()
        status = int(captured["status"].split()[0])
        entry["status"] = status
        headers = {k[5:].replace("_", "-").title(): v for k, v in environ.items() if k.startswith("HTTP_")}
        if environ.get("CONTENT_TYPE"):
            headers["Content-Type"] = environ["CONTENT_TYPE"]
        response_type = next((v for k, v in captured["headers"] if k.lower() == "content-type"), "")
        if status not in (401, 403, 429):  # rejected before the operation ran: the spec does not cover these
            # an answer holding records stored raw (off-spec on purpose) is checked without them
            checked_body = environ.get(SPEC_BODY, response_body)
            kind = response_type.split(";")[0]
            try:
                found = validator.check(entry["method"], path, entry["query"], headers, body, status, checked_body,
                                        kind)
                if checked_body is not response_body:
                    sb.spec_exempted.extend(m for m in validator.check(
                        entry["method"], path, entry["query"], headers, body, status, response_body, kind)
                        if m not in found)
            except Exception as exc:  # noqa: BLE001 - the checker must never break a response
                found = [f"{entry['method']} {path} checker error: {exc!r}"]
            sb.spec_violations.extend(found)
        start_response(captured["status"], captured["headers"])
        return [response_body]

    def _fault(self, fault, environ, start_response, entry):
        kind = fault["kind"]
        if kind == "timeout":
            time.sleep(float(fault.get("seconds") or 30))
            return None
        if kind == "drop":
            sock = environ.get("werkzeug.socket")
            entry["status"] = 0
            if sock is not None:
                try:
                    sock.shutdown(socket.SHUT_RDWR)
                except OSError:
                    pass
                start_response("500 Dropped", [("Content-Length", "0")])
                return []
            start_response("502 Bad Gateway", [("Content-Type", "text/plain")])
            return [b""]
        if kind == "malformed":
            entry["status"] = 200
            body = self.face.malformed_body()
            start_response("200 OK", [("Content-Type", "application/json; charset=utf-8"),
                                      ("Content-Length", str(len(body)))])
            return [body]
        status = int(kind)
        entry["status"] = status
        body, extra = self.face.error_answer(status, fault)
        headers = [("Content-Type", "application/json; charset=utf-8"), *extra]
        data = json.dumps(body).encode()
        start_response(f"{status} {'Too Many Requests' if status == 429 else 'Error'}",
                       headers + [("Content-Length", str(len(data)))])
        return [data]
