# stream: 1 GiB from a generator yielding 64 KiB chunks, no Content-Length (bench scenario "stream").
# ?chunks=N yields N chunks instead of 16384 (the readiness probe asks for 1).
CHUNK = b"x" * 65536


def application(environ, start_response):
    chunks = 16384
    for part in environ.get("QUERY_STRING", "").split("&"):
        if part.startswith("chunks="):
            chunks = int(part[len("chunks="):])
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    return (CHUNK for _ in range(chunks))
