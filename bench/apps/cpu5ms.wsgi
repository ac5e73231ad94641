# cpu: pure-Python work, about 5 ms of one core per request on the project's VM (Python 3.12/3.13), the
# same work whatever the load: bench/parallel-interpreters.ts measures how many of these one process
# does per second with one interpreter and with two, each with its own GIL. ?n=N changes the work.
from urllib.parse import parse_qs

N = 72_000


def work(n):
    total = 0
    for i in range(n):
        total += (i * i) % 7
    return total


def application(environ, start_response):
    query = parse_qs(environ.get("QUERY_STRING", ""))
    n = int(query["n"][0]) if "n" in query else N
    body = b"%d\n" % work(n)
    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", str(len(body)))])
    return [body]
