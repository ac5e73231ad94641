# The adapter's per-request Python on its own: src/python/adapter.py's handle() called in a loop on a
# prepared channel (a hello request, 3 request headers, the script's stat() included), outside the
# server. What docs/performance.md quotes as the adapter's cost; the server's own figure is higher (a
# worker that slept comes back to cold caches).
#
#   /usr/bin/python3 bench/adapter_loop.py [src/python/adapter.py] [--profile] [--pollute KIB] [--split]
#
# --split also times handle()'s parts one by one, each in its own loop on the same request (the time
# budget in docs/performance.md): the head read out of the channel, the script's module (its stat()),
# environ, the app with start_response, and the response written into the channel.
#
# --pollute KIB writes KIB KiB of other memory before each call (timed without it): the data caches
# as a call finds them after the server's own code ran in between (docs/performance.md, session 12).
import cProfile
import ctypes
import importlib.util
import os
import pstats
import sys
import tempfile
import time

ARGS = sys.argv[1:]  # read now: the adapter sets sys.argv as mod_wsgi does
PROFILE = "--profile" in ARGS
SPLIT = "--split" in ARGS
POLLUTE_KIB = int(ARGS[ARGS.index("--pollute") + 1]) if "--pollute" in ARGS else 0
if POLLUTE_KIB:
    del ARGS[ARGS.index("--pollute"):ARGS.index("--pollute") + 2]
ADAPTER = next((arg for arg in ARGS if not arg.startswith("--")), os.path.join(os.path.dirname(__file__), "../src/python/adapter.py"))
spec = importlib.util.spec_from_file_location("adapter", ADAPTER)
adapter = importlib.util.module_from_spec(spec)
spec.loader.exec_module(adapter)

script = os.path.join(tempfile.mkdtemp(prefix="adapter-loop-"), "hello.wsgi")
with open(script, "w") as out:
    out.write('def application(environ, start_response):\n'
              '    start_response("200 OK", [("Content-Type", "text/plain"), ("Content-Length", "12")])\n'
              '    return [b"Hello World!"]\n')

view = memoryview(bytearray(adapter.DATA_OFFSET + 65536))
config = {"log_fd": os.open(os.devnull, os.O_WRONLY), "log_level": 4, "threads": 8, "multiprocess": False,
          "server_software": "wsgi-bin"}
handle = adapter.attach(config, [view], lambda: 0, lambda: 0, lambda: 0, lambda: 0)
sys.stdout, sys.stderr = sys.__stdout__, sys.__stderr__  # the adapter sent them to its log

# The head as src/http/request-head.ts writes it, by the adapter's own field numbers.
fields = [""] * (adapter.F_ENV + 1)
values = {
    "F_SCRIPT": script, "F_CALLABLE": "application", "F_RELOAD": "1", "F_PASS_AUTH": "0", "F_CONTEXT_ID": "1",
    "F_PATH_INFO": "/", "F_METHOD": "GET", "F_PROTOCOL": "HTTP/1.1", "F_REQUEST_URI": "/",
    "F_REMOTE_ADDR": "127.0.0.1", "F_REMOTE_PORT": "40000", "F_SERVER_NAME": "localhost", "F_SERVER_PORT": "8080",
    "F_SERVER_ADDR": "127.0.0.1", "F_PATH_TRANSLATED": "/var/www/html/", "F_SCHEME": "http", "F_REQUEST_ID": "abc123",
    "F_CONTEXT": "\x01".join(["DOCUMENT_ROOT", "/var/www/html", "CONTEXT_DOCUMENT_ROOT", "/var/www/html",
                              "CONTEXT_PREFIX", "", "SERVER_ADMIN", "[no address given]",
                              "mod_wsgi.listener_host", "", "mod_wsgi.listener_port", "8080"]),
}
for name, value in values.items():
    if hasattr(adapter, name):  # an older adapter lacks some
        fields[getattr(adapter, name)] = value
fields += ["Host", "localhost:8080", "User-Agent", "wrk", "Accept", "*/*"]
head = "\0".join(fields).encode("latin-1")
control = view[:adapter.DATA_OFFSET].cast("i")


def once():
    view[adapter.DATA_OFFSET:adapter.DATA_OFFSET + len(head)] = head
    control[adapter.LENGTH] = len(head)
    handle(0)


for _ in range(20000):
    once()
if control[adapter.KIND] != adapter.COMPLETE:
    sys.exit("the adapter did not answer the request whole (message kind %d): see its log" % control[adapter.KIND])
CALLS = 200000


def loop(calls):
    start = time.perf_counter()
    for _ in range(calls):
        once()
    return (time.perf_counter() - start) / calls * 1e6


polluted = bytearray(POLLUTE_KIB * 1024)
polluted_address = ctypes.addressof((ctypes.c_char * len(polluted)).from_buffer(polluted)) if POLLUTE_KIB else 0


def polluted_loop(calls):
    spent = 0.0
    for _ in range(calls):
        ctypes.memset(polluted_address, 1, len(polluted))
        start = time.perf_counter()
        once()
        spent += time.perf_counter() - start
    return spent / calls * 1e6


if POLLUTE_KIB:
    best = min(polluted_loop(CALLS // 4) for _ in range(5))
    print("handle(): %.2f us a call with %d KiB written before each (best of 5 x %d calls, Python %s)"
          % (best, POLLUTE_KIB, CALLS // 4, sys.version.split()[0]))
else:
    best = min(loop(CALLS) for _ in range(5))
    print("handle(): %.2f us a call (best of 5 x %d calls, Python %s)" % (best, CALLS, sys.version.split()[0]))
if PROFILE:
    profile = cProfile.Profile()
    profile.runcall(loop, 100000)
    pstats.Stats(profile).sort_stats("tottime").print_stats(15)

if SPLIT:
    worker = handle.__self__

    def timed(step, calls=CALLS):
        """Best of 5 loops of `calls`, in us a call, less the loop's own cost (an empty step)."""
        def run(fn):
            start = time.perf_counter()
            for _ in range(calls):
                fn()
            return (time.perf_counter() - start) / calls * 1e6
        return min(run(step) for _ in range(5)) - min(run(lambda: None) for _ in range(5))

    once()  # the route's base environ made, the channel's views set
    view[adapter.DATA_OFFSET:adapter.DATA_OFFSET + len(head)] = head  # back in the channel: the reply overwrote it
    request = str(worker.data[:len(head)], "latin-1").split("\0")
    _, base = worker.route_base(request)
    application = worker.interpreter.load(script, True).application
    environ = worker.environ(request, base)

    def respond():
        response = adapter.Response(worker, request)
        response.complete(adapter.joined(application(environ, response.start_response)))

    def start_only():
        response = adapter.Response(worker, request)
        application(environ, response.start_response)

    parts = [
        ("the head read out of the channel (latin-1 decode, split)", lambda: str(worker.data[:len(head)], "latin-1").split("\0")),
        ("the route's base environ looked up", lambda: worker.route_base(request)),
        ("the script's module (its stat(), the reload check)", lambda: worker.interpreter.load(script, True)),
        ("environ built", lambda: worker.environ(request, base)),
        ("the app called, start_response checking status and headers", start_only),
        ("the app again, then the response head encoded and head + body put in the channel", respond),
    ]
    whole = min(loop(CALLS) for _ in range(5))
    print("\nhandle()'s parts, each in its own loop (us a call, best of 5 x %d, less an empty loop's cost):" % CALLS)
    results = [(name, timed(step)) for name, step in parts]
    for name, spent in results:
        print("  %-85s %5.2f" % (name, spent))
    print("  %-85s %5.2f" % ("the response alone (the last less the one before)", results[5][1] - results[4][1]))
    print("  %-85s %5.2f" % ("handle() whole, for comparison", whole))
