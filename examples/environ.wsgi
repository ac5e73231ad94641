# Shows the WSGI environ, as mod_wsgi's documentation suggests for checking a deployment.
import json
import sys


def application(environ, start_response):
    shown = {key: value if isinstance(value, (str, int, float, bool, tuple)) else repr(value)
             for key, value in sorted(environ.items())}
    shown["sys.version"] = sys.version
    body = json.dumps(shown, indent=2).encode()
    start_response("200 OK", [("Content-Type", "application/json"), ("Content-Length", str(len(body)))])
    return [body]
