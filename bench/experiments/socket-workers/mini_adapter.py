# The spike's stand-in for src/python/adapter.py: reads a raw HTTP/1.1 request head from a buffer
# shared with its thread, builds a small environ, runs the app and writes the whole response back
# into the buffer. No bodies, no streaming, no checks: a ceiling, not a server.
import sys


def make_handler(view, application):
    base = {
        "wsgi.version": (1, 0), "wsgi.url_scheme": "http", "wsgi.multithread": True,
        "wsgi.multiprocess": False, "wsgi.run_once": False, "wsgi.errors": sys.stderr,
        "SERVER_NAME": "127.0.0.1", "SERVER_PORT": "80", "SCRIPT_NAME": "",
    }

    def handle(length):
        lines = bytes(view[:length]).decode("latin-1").split("\r\n")
        method, target, protocol = lines[0].split(" ")
        path, _, query = target.partition("?")
        environ = base.copy()
        environ["REQUEST_METHOD"] = method
        environ["PATH_INFO"] = path
        environ["QUERY_STRING"] = query
        environ["SERVER_PROTOCOL"] = protocol
        for line in lines[1:]:
            if not line:
                break
            name, _, value = line.partition(":")
            environ["HTTP_" + name.upper().replace("-", "_")] = value.strip()
        started = []

        def start_response(status, headers, exc_info=None):
            started[:] = [status, headers]

        body = b"".join(application(environ, start_response))
        status, headers = started
        head = "HTTP/1.1 " + status + "\r\n" + "".join(k + ": " + v + "\r\n" for k, v in headers)
        if not any(k.lower() == "content-length" for k, _ in headers):
            head += "Content-Length: %d\r\n" % len(body)
        response = head.encode("latin-1") + b"\r\n" + body
        view[:len(response)] = response
        return len(response)

    return handle
