"""python -m sandbox --port 5055 [--host 127.0.0.1] [--data sandbox.db] [--client-id ID --client-secret SECRET]
[--redirect-uri URI ...] [--webhook-url URL --webhook-key KEY] [--test-controls] [--validate-spec]
[--face KEY ...]: every face by default, each at /<key>"""
from __future__ import annotations

import argparse
import signal
import sys
import threading

from werkzeug.serving import make_server

from . import FACES, create_app

DEMO_CLIENT_ID = "factory-demo"
DEMO_CLIENT_SECRET = "factory-demo-secret-not-for-production"


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(prog="python -m sandbox", description="A local server that speaks the accounting packages' APIs over one set of books.")
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--data", default="sandbox.db", help="SQLite file (created and seeded on first use)")
    parser.add_argument("--client-id")
    parser.add_argument("--client-secret")
    parser.add_argument("--redirect-uri", action="append", help="registered redirect URI (repeatable; default any)")
    parser.add_argument("--webhook-url", help='where webhooks go; "{face}" in it is the sending face\'s key')
    parser.add_argument("--webhook-key")
    parser.add_argument("--test-controls", action="store_true", help="serve /__sandbox/ controls")
    parser.add_argument("--validate-spec", action="store_true", help="check traffic against the packages' OpenAPI files")
    parser.add_argument("--face", action="append", choices=FACES, help="a face to serve (repeatable; default all)")
    args = parser.parse_args(argv)
    if bool(args.client_id) != bool(args.client_secret):
        parser.error("--client-id and --client-secret go together")
    client_id = args.client_id or DEMO_CLIENT_ID
    client_secret = args.client_secret or DEMO_CLIENT_SECRET
    app = create_app(args.data, client_id, client_secret, webhook_url=args.webhook_url,
                     webhook_key=args.webhook_key, test_controls=args.test_controls,
                     validate_spec=args.validate_spec, redirect_uris=args.redirect_uri,
                     faces=tuple(args.face or FACES))
    server = make_server(args.host, args.port, app, threaded=True)
    base = f"http://{args.host}:{server.server_port}"
    if not args.client_id:
        print(f"sandbox: demo client id {client_id} / client secret {client_secret}")
    for face in app.config["SANDBOX"].faces:
        print(f"sandbox: {face.DISPLAY_NAME:<10} {base}{face.PREFIX}  ({face.ENDPOINTS})")
    print(f"sandbox: ledger     {base}/ledger")
    sys.stdout.flush()

    def stop(signum, frame):
        threading.Thread(target=server.shutdown, daemon=True).start()
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    try:
        server.serve_forever()
    finally:
        server.server_close()
        app.config["SANDBOX"].close()
    print("sandbox: stopped")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
