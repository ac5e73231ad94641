# sleep: sleeps 10 ms per request, releasing the GIL (bench scenario "sleep", 256 connections).
import time


def application(environ, start_response):
    time.sleep(0.010)
    body = b"slept 10 ms"
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
