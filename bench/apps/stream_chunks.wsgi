# stream: 64 KiB from a generator of 2 KiB chunks, no Content-Length (chunked on HTTP/1.1); soak.
def application(environ, start_response):
    start_response("200 OK", [("Content-Type", "application/octet-stream")])
    chunk = b"s" * 2048
    return (chunk for _ in range(32))
