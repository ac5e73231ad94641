# Runs inside every interpreter (application group) wsgi-bin creates: what mod_wsgi's C code does per
# request (wsgi_execute_script, wsgi_load_source, Adapter_run), in Python.
#
# A request comes in one of the shared-memory channels (src/pool/channel.ts), each seen here as a
# memoryview, which the worker thread that calls in names: the request head arrives in it, the
# response leaves through it. `exchange()` is a builtin written in JavaScript: it hands the channel
# to the HTTP thread and blocks, with the GIL released, until the reply is in the channel.

# No json, no re: with the enum they import, ~5 ms of every new interpreter's start on the project's
# VM. The configuration comes as a dict (marshalled by src/pool/marshal.ts) and the checks below are
# str methods; re is imported only to word an import error (refusal_hint).
import _signal
import io
import os
import site
import stat
import sys
import threading
import time
import types

# Twins of src/pool/channel.ts.
KIND, LENGTH, ARG = 2, 3, 4
PIECES, PUBLISHED, RELEASED, START, FILL, PAYLOAD = 16, 16, 17, 20, 36, 52  # streaming: see Worker.stream
DATA_OFFSET = 320
DIRECT_FD, DIRECT_TIMEOUT_MS, DIRECT_GONE = 68, 69, 70  # a body read here: see Input.recv
DIRECT_TAKEN = 36  # in the control area as doubles (Worker.wide)
TOTAL_REQUESTS, THREAD_REQUESTS = 37, 38  # doubles, written by the worker thread before each request
BODY, CONTINUE, CANCEL = 2, 3, 4
FRAME_CHUNKS = 1  # ARG of the Continue that answers HEAD
BODY_DIRECT = 4  # ARG of a Body: the rest of the body is read from the socket in DIRECT_FD
REQUEST_AUTH = 1 << 18  # ARG of a Request: call a WSGIAuthUserScript or WSGIAuthGroupScript (see authenticate)
AUTH_USER, AUTH_PASSWORD, AUTH_HOST = "\x01user", "\x01password", "\x01host"  # their arguments, among the head's SetEnv pairs
NEED_BODY, COMPLETE, HEAD, END, ABORT, ERROR, FILE, FULL = 11, 12, 13, 15, 16, 17, 18, 19

# Twin of SCRIPT_CHANGED_STATUS in src/daemon/protocol.ts: a daemon process's script changed.
SCRIPT_CHANGED = 1000

# Twin of the field order in src/http/request-head.ts. F_ENV counts the name/value pairs (SetEnv)
# that follow it ("" for none); the request headers come after them. The fields up to F_SCRIPT_NAME are
# a route's key (F_CONTEXT_ID numbers the F_CONTEXT text, read only when a route's base environ is made).
(F_GROUP, F_SCRIPT, F_CALLABLE, F_RELOAD, F_PASS_AUTH, F_CONTEXT_ID, F_SCRIPT_NAME, F_PATH_INFO, F_QUERY,
 F_METHOD, F_PROTOCOL, F_REQUEST_URI, F_REMOTE_ADDR, F_REMOTE_PORT, F_SERVER_NAME, F_SERVER_PORT,
 F_SERVER_ADDR, F_PATH_TRANSLATED, F_SCHEME, F_BODY_LENGTH, F_REQUEST_ID, F_MOUNT_POINT, F_SIGNATURE,
 F_CONTEXT, F_ENV) = range(25)
# Twin of src/http/site/environ-context.ts's separator of F_CONTEXT's names and values.
CONTEXT_SEPARATOR = "\x01"
# The mod_wsgi whose environ wsgi-bin's follows (its mod_wsgi.version).
MOD_WSGI_VERSION = (4, 9, 4)

LEVELS = ["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"]
DAYS = ["Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun"]
MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]

# A name made of these only is what `not name.strip(CHARS)` finds: strip() leaves whatever is not
# one of them (a final "\n" too, which a regex's `$` would have let through).
DIGITS = "0123456789"
LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"
HEADER_NAME_CHARS = LETTERS + DIGITS + "-"  # a request header that becomes an environ key
TOKEN_CHARS = LETTERS + DIGITS + "!#$%&'*+-.^_`|~"  # RFC 9110's tchar: a response header's name
# How extensions word their refusal of sub-interpreters (numpy, PyO3, CPython's own check).
SUBINTERPRETER_REFUSAL = r"interpreter|more than once per process"
# CPython's own refusal (3.12+) of a single-phase init extension in an interpreter that checks for them:
# every interpreter with its own GIL (--parallel-interpreters).
SINGLE_PHASE_REFUSAL = r"module (\S+) does not support loading in subinterpreters"

try:
    # The builtin: hashlib would load OpenSSL's _hashlib (~2 ms an interpreter) for one digest of a path.
    from _md5 import md5
except ImportError:  # a build without it
    from hashlib import md5


def _traceback():
    """The traceback module, for error paths only: its import (linecache, tokenize, textwrap) costs
    ~2 ms an interpreter, on the way to the first response if done up front."""
    import traceback
    return traceback
HOP_BY_HOP = frozenset(("connection", "keep-alive", "proxy-authenticate", "proxy-authorization", "te",
                        "trailer", "trailers", "transfer-encoding", "upgrade"))


class ErrorLog:
    """Apache-format lines, one os.write each, to the log file the HTTP thread also writes."""

    def __init__(self, fd, level):
        self.fd = fd
        self.level = level

    def enabled(self, level):
        return LEVELS.index(level) <= self.level

    def write(self, level, message):
        if not self.enabled(level):
            return
        now = time.time()
        t = time.localtime(now)
        stamp = "%s %s %02d %02d:%02d:%02d.%06d %d" % (
            DAYS[t.tm_wday], MONTHS[t.tm_mon - 1], t.tm_mday, t.tm_hour, t.tm_min, t.tm_sec,
            int((now % 1) * 1e6), t.tm_year)
        prefix = "[%s] [wsgi:%s] [pid %d:tid %d] " % (stamp, level, os.getpid(), threading.get_native_id()
                                                       if hasattr(threading, "get_native_id") else 0)
        text = "".join(prefix + line + "\n" for line in message.rstrip("\n").split("\n"))
        try:
            os.write(self.fd, text.encode("utf-8", "backslashreplace"))
        except OSError:
            pass


# The error log of the requests this worker thread serves (their virtual host's); none in other threads:
# as in mod_wsgi, sys.stdout and sys.stderr write to the request's log while one runs, else to the main one.
_request_log = threading.local()

# The key of the route's error log ("FD LEVEL") in the configuration's values (ROUTE_LOG_KEY in
# src/http/site/environ-context.ts): taken out of environ.
ROUTE_LOG_KEY = "wsgi-bin.error_log"


class LogStream(io.TextIOBase):
    """sys.stdout, sys.stderr and wsgi.errors: whole lines go to the error log, never to a response."""

    def __init__(self, log, name, level="error", prefix="", follows_request=False):
        self.log = log
        self.follows_request = follows_request  # sys.stdout/stderr: the request's log while one runs
        self.name = name
        self.level = level
        self.prefix = prefix  # says whose output it is: "[alias /hello] ", "[group NAME] "
        self.pending = ""
        self.lock = threading.Lock()

    def writable(self):
        return True

    @property
    def encoding(self):
        return "utf-8"

    def write(self, text):
        if isinstance(text, bytes):
            text = text.decode("utf-8", "backslashreplace")
        elif not isinstance(text, str):
            raise TypeError("write() argument must be str, not %s" % type(text).__name__)
        with self.lock:
            self.pending += text
            if "\n" in self.pending:
                lines, self.pending = self.pending.rsplit("\n", 1)
                self.emit(lines)
        return len(text)

    def emit(self, lines):
        prefix = self.prefix
        log = self.log
        if self.follows_request:
            log = getattr(_request_log, "log", None) or log
        log.write(self.level, "\n".join(prefix + line for line in lines.split("\n")) if prefix else lines)

    def writelines(self, lines):
        for line in lines:
            self.write(line)

    def flush(self):
        with self.lock:
            if self.pending:
                pending, self.pending = self.pending, ""
                self.emit(pending)


class ClientDisconnected(OSError):
    pass


class RequestBodyTooLarge(OSError):
    """The body crossed LimitRequestBody while the app read it (a body of undeclared length)."""


class RequestTimeout(BaseException):
    """Raised in a request's thread once it has run longer than --request-timeout: the watchdog thread
    (src/pool/interrupter.ts) injects it with PyThreadState_SetAsyncExc. A BaseException, as
    KeyboardInterrupt is, so that an app's `except Exception:` does not swallow it."""


def settle():
    """Called by the worker thread after a request the watchdog interrupted: a RequestTimeout injected
    after the request's last bytecode fires at this loop's backward jump (or on entry, which the worker
    clears), not at the start of the thread's next request."""
    try:
        for _ in range(2):
            pass
    except RequestTimeout:
        pass


class Input:
    """wsgi.input: the request body, pulled from the HTTP thread as the app reads it. The rest of a
    large body may come as the socket itself (BODY_DIRECT): then it is read here, straight into
    Python, as Apache's request thread reads it."""

    # Set on the instance only once BODY_DIRECT came (most bodies never take that path).
    fd = -1  # the lent socket (a duplicate the HTTP thread closes)
    taken = 0  # bytes read from it
    poller = None

    def __init__(self, worker, length, fields):
        self.worker = worker
        self.remaining = length  # bytes still to come, None when unknown (chunked)
        self.buffer = bytearray()  # appends are amortised O(1), and so are deletes from the front
        self.eof = length == 0
        self.fields = fields  # the request head's, for the client's address in the error log

    def _fill(self, want, greedy=False):
        if self.eof:
            return False
        if self.fd >= 0:
            # read() asks no more than it needs: once the buffer is used up, it takes bytes straight
            # from the socket. readline() takes what comes, so that a long line costs few reads.
            self.buffer += self.recv(max(want, 1 << 16) if greedy else want)
            return True
        # Ask for at least 256 KiB: a 64 KiB read() then costs a quarter of a round trip.
        want = min(max(want, 1 << 18), self.worker.data_size)
        if self.remaining is not None:
            want = min(want, self.remaining)
        if self.worker.send(NEED_BODY, 0, want) == CANCEL:
            raise ClientDisconnected("client closed the connection while the request body was read")
        control = self.worker.control
        length = control[LENGTH]
        if length:
            self.buffer += self.worker.data[:length]
            if self.remaining is not None:
                self.remaining -= length
        if control[ARG] & BODY_DIRECT:
            self.fd = control[DIRECT_FD]
            self.timeout = control[DIRECT_TIMEOUT_MS] / 1000
            return True
        if control[ARG] & 2:
            self.eof = True
            raise RequestBodyTooLarge("request body exceeds the server's LimitRequestBody")
        if control[ARG] & 1 or self.remaining == 0:
            self.eof = True
        return length > 0 or not self.eof

    def recv(self, most):
        """From the lent socket: at least one byte and at most `most` (never past the body, and 64 KiB
        at a time: os.read allocates all it asks for), waiting up to Timeout for them. The waits are a
        second at most each, so that a --request-timeout interrupt lands; the GIL is released meanwhile."""
        self.worker.owned()
        if self.worker.input is not self:  # kept past its request: the descriptor is closed, maybe reused
            raise ClientDisconnected("wsgi.input read after its request ended")
        most = min(most, self.remaining, 1 << 16)
        deadline = 0
        while True:
            try:
                data = os.read(self.fd, most)
            except BlockingIOError:
                data = None
            except OSError as error:
                self.gone()
                raise ClientDisconnected("client connection failed while the request body was read: %s" % error.strerror)
            if data:
                self.taken += len(data)
                self.remaining -= len(data)
                self.worker.wide[DIRECT_TAKEN] = self.taken
                if self.remaining == 0:
                    self.eof = True
                return data
            if data is not None:
                self.gone()
                raise ClientDisconnected("client closed the connection while the request body was read")
            now = time.monotonic()
            if not deadline:
                deadline = now + self.timeout
                if self.poller is None:
                    import select  # here: only bodies read from the socket need it
                    self.poller = select.poll()
                    self.poller.register(self.fd, select.POLLIN)
            elif now >= deadline:
                self.gone()
                self.worker.log.write("warn", "[client %s:%s] Timeout (%g s) reading the request body."
                                      % (self.fields[F_REMOTE_ADDR], self.fields[F_REMOTE_PORT], self.timeout))
                raise ClientDisconnected("timed out reading the request body")
            self.worker.away()
            try:
                self.poller.poll(min(deadline - now, 1.0) * 1000)
            finally:
                self.worker.back()

    def gone(self):
        self.eof = True
        self.worker.control[DIRECT_GONE] = 1

    def read(self, size=-1):
        if size is None or size < 0:
            while self.fd < 0 and self._fill(1 << 20):
                pass
            if self.fd < 0 or self.eof:
                return self._take(len(self.buffer))
            size = len(self.buffer) + self.remaining
        while self.fd < 0 and len(self.buffer) < size and self._fill(size - len(self.buffer)):
            pass
        if self.fd < 0 or self.eof or len(self.buffer) >= size:
            return self._take(size)
        # The rest straight from the lent socket, after what the channel brought: no copy when one
        # read gives it all, one join when it takes several.
        pieces = [self._take(len(self.buffer))] if self.buffer else []
        got = len(pieces[0]) if pieces else 0
        while got < size and not self.eof:
            data = self.recv(size - got)
            pieces.append(data)
            got += len(data)
        return pieces[0] if len(pieces) == 1 else b"".join(pieces)

    def readline(self, size=-1):
        if size is None:
            size = -1
        searched = 0
        while True:
            end = self.buffer.find(b"\n", searched)
            if end >= 0:
                end += 1
                break
            searched = len(self.buffer)
            if 0 <= size <= len(self.buffer) or not self._fill(8192, True):
                end = len(self.buffer)
                break
        if 0 <= size < end:
            end = size
        return self._take(end)

    def _take(self, size):
        buffer = self.buffer
        if size >= len(buffer):
            data = bytes(buffer)
            buffer.clear()
            return data
        with memoryview(buffer) as view:
            data = bytes(view[:size])  # one copy, not a bytearray slice and then bytes
        del buffer[:size]
        return data

    def readlines(self, hint=-1):
        lines, total = [], 0
        while True:
            line = self.readline()
            if not line:
                return lines
            lines.append(line)
            total += len(line)
            if 0 < hint <= total:
                return lines

    def __iter__(self):
        while True:
            line = self.readline()
            if not line:
                return
            yield line

    def close(self):
        pass


class FileWrapper:
    """wsgi.file_wrapper: iterates a file-like object in blocks."""

    def __init__(self, filelike, blksize=8192):
        self.filelike = filelike
        self.blksize = blksize
        if hasattr(filelike, "close"):
            self.close = filelike.close

    def __iter__(self):
        read = self.filelike.read
        while True:
            data = read(self.blksize)
            if not data:
                return
            yield data


_module_names = {}


def module_name(script):
    # As mod_wsgi: a name from the file's path, so two scripts named app.wsgi never collide.
    name = _module_names.get(script)
    if name is None:
        name = _module_names[script] = (
            "_wsgi_bin_" + md5(script.encode("utf-8", "surrogateescape")).hexdigest())
    return name


class ScriptNotFound(Exception):
    pass


class ScriptChanged(Exception):
    """In a daemon process: the script changed since it was loaded. mod_wsgi restarts the process rather
    than reload the script in place; the request goes to a process that loads it fresh."""


class Interpreter:
    """What one interpreter holds once, whichever worker thread set it up first."""

    def __init__(self, config, replicas=1, group="", mod_wsgi_code=None):
        self.config = config
        self.replicas = replicas
        self.group = group  # its application group, as environ's mod_wsgi.application_group names it
        self.mod_wsgi_code = mod_wsgi_code  # src/python/mod_wsgi.py: marshalled code (bytes) or its source (str)
        self.tracker = None  # mod_wsgi.py's Tracker, once the app imported mod_wsgi
        self.log = ErrorLog(config["log_fd"], config["log_level"])
        self.load_lock = threading.RLock()
        self.loaded = {}  # script path -> its module, once executed to the end
        self.restart_on_change = config.get("restart_on_change", False)
        self.changed = set()  # scripts whose change was logged (a daemon process, until it is replaced)
        sys.argv = ["wsgi-bin"]
        if config.get("executable"):
            sys.executable = config["executable"]
        venv = config.get("venv")
        if venv:
            # As WSGIPythonHome naming a virtualenv: its prefix and its path, not the base install's.
            sys.prefix = sys.exec_prefix = venv["prefix"]
            sys.path[:] = venv["path"]
            for directory in venv["site_packages"]:
                site.addsitedir(directory)  # runs its .pth files
        for directory in config.get("python_path", []):
            site.addsitedir(directory)
        if replicas > 1 and sys.version_info[:2] == (3, 12):
            # In 3.12, _datetime and _decimal are single-phase init modules that an interpreter with its
            # own GIL refuses, but only after running their init, which frees their static state: the
            # second interpreter to try aborts the process ("double free or corruption"; reproduced on
            # 3.12.1 with _xxsubinterpreters alone). datetime and decimal fall back to their
            # pure-Python twins when the import fails, and zoneinfo (whose _zoneinfo needs _datetime's
            # C API) to its own: so fail it early, before any init runs. 3.13 loads all three in such
            # interpreters.
            for name in ("_datetime", "_decimal", "_zoneinfo"):
                sys.modules.setdefault(name, None)
        if config.get("unset_pythonhome"):
            os.environ.pop("PYTHONHOME", None)
        sys.stdout = LogStream(self.log, "<stdout>", follows_request=True)
        sys.stderr = LogStream(self.log, "<stderr>", follows_request=True)
        self.route_logs = {}  # "FD LEVEL" -> its ErrorLog (route_log)
        # As under Apache, whose stdin is /dev/null: an app that reads it (input(), a stray
        # sys.stdin.readline()) gets EOF, where it waited on the terminal or pipe wsgi-bin was
        # started from, its request hung.
        sys.stdin = open(os.devnull, "r")
        # WSGIRestrictSignal On, mod_wsgi's default: the process's signals are the server's. signal.signal
        # calls _signal.signal, which on a worker thread raises ValueError: a script registering a
        # handler as it loads would fail to load, where under mod_wsgi it runs.
        _signal.signal = self.ignore_signal
        # `import mod_wsgi` finds its module here first, as under Apache, where it is built in.
        sys.meta_path.insert(0, ModWsgiFinder(self))

    def install_mod_wsgi(self, module):
        """Fills the module `import mod_wsgi` makes: mod_wsgi.py's code, run in a namespace of its own."""
        code = self.mod_wsgi_code
        if code is None:
            raise ImportError("wsgi-bin was given no mod_wsgi module for this interpreter", name="mod_wsgi")
        self.log.write("debug", "Module mod_wsgi for application group '%s': %s." % (
            self.group or "%{GLOBAL}", "precompiled by the build for this Python" if type(code) is bytes else "compiled from its source"))
        if type(code) is bytes:
            import marshal
            code = marshal.loads(code)
        else:
            code = compile(code, MOD_WSGI_FILE, "exec", dont_inherit=True)
        namespace = {"__name__": "_wsgi_bin_mod_wsgi"}
        exec(code, namespace)
        self.tracker = namespace["install"](module, self, FileWrapper, (RequestTimeout,))

    def ignore_signal(self, signalnum, handler):
        """signal.signal from an app: logged with where it was called from, ignored, `handler` returned."""
        traceback = _traceback()
        # The app's frames: not the adapter's, nor signal.py's wrapper around _signal.signal.
        frames = [frame for frame in traceback.extract_stack()[:-1] if frame.filename != ADAPTER_FILE]
        if frames and frames[-1].name == "signal" and os.path.basename(frames[-1].filename) == "signal.py":
            frames.pop()
        self.log.write("warn", "Callback registration for signal %s ignored: the server handles the process's "
                       "signals (mod_wsgi's WSGIRestrictSignal On).\n%s"
                       % (signalnum, "".join(traceback.format_list(frames)).rstrip("\n")))
        return handler

    def name_output(self, group):
        """Prefix what the interpreter prints with its application group, once its name is known."""
        prefix = "[group %s] " % (group or "%{GLOBAL}")
        for stream in (sys.stdout, sys.stderr):
            if isinstance(stream, LogStream):
                stream.prefix = prefix

    def route_log(self, spec):
        """The error log a route's host names ("FD LEVEL", a descriptor the server opened), else the main one."""
        if spec is None:
            return self.log
        log = self.route_logs.get(spec)
        if log is None:
            fd, level = spec.split(" ")
            log = self.route_logs[spec] = ErrorLog(int(fd), int(level))
        return log

    def base_environ(self, route, context):
        """The part of environ that is the same for every request to one alias (route fields), with
        the configuration's values for it (`context`: the F_CONTEXT field); and the route's error log."""
        self.name_output(route[F_GROUP])
        values = dict(zip(*[iter(context.split(CONTEXT_SEPARATOR) if context else [])] * 2))
        log = self.route_log(values.pop(ROUTE_LOG_KEY, None))
        errors = LogStream(log, "<wsgi.errors>", prefix="[alias %s] " % (route[F_SCRIPT_NAME] or "/"))
        return log, {
            "wsgi.version": (1, 0),
            "wsgi.multithread": self.config["threads"] > 1,
            "wsgi.multiprocess": self.config["multiprocess"],
            "wsgi.run_once": False,
            "wsgi.errors": errors,
            "wsgi.file_wrapper": FileWrapper,
            "wsgi.input_terminated": True,
            "GATEWAY_INTERFACE": "CGI/1.1",
            "SERVER_SOFTWARE": self.config["server_software"],
            "mod_wsgi.process_group": self.config.get("process_group", ""),
            "mod_wsgi.application_group": route[F_GROUP],
            "mod_wsgi.callable_object": route[F_CALLABLE],
            "mod_wsgi.script_reloading": route[F_RELOAD],
            "mod_wsgi.script_name": route[F_SCRIPT_NAME],
            # mod_wsgi's directives for these (WSGIHandlerScript, WSGIEnableSendfile, WSGIIgnoreActivity)
            # are not wsgi-bin's: their defaults.
            "mod_wsgi.request_handler": "wsgi-script",
            "mod_wsgi.handler_script": "",
            "mod_wsgi.enable_sendfile": "0",
            "mod_wsgi.ignore_activity": "0",
            "mod_wsgi.version": MOD_WSGI_VERSION,
            "SERVER_SIGNATURE": "",
            **values,
            "SCRIPT_FILENAME": route[F_SCRIPT],
            # What every request sets, in the order it does: copied with room for them, environ() only
            # replaces values (a dict growing past its size is rebuilt, twice per request otherwise).
            **dict.fromkeys(CGI_KEYS + PER_REQUEST_KEYS),
        }

    def request_log(self):
        """The log of the request this thread serves (mod_wsgi logs a script's loading there), else the main one."""
        return getattr(_request_log, "log", None) or self.log

    def load(self, script, reloading):
        """The script's module, executed on first use and again after its file changed."""
        if not reloading:
            module = self.loaded.get(script)
            if module is not None:
                return module  # WSGIScriptReloading Off: no stat() per request
        try:
            mtime = os.stat(script).st_mtime
        except OSError:
            raise ScriptNotFound(script)
        # Only modules whose code has run to the end are in self.loaded: another thread may be
        # executing one right now (it is in sys.modules already, without its application yet).
        module = self.loaded.get(script)
        if module is not None and (not reloading or module.__mtime__ == mtime):
            return module
        with self.load_lock:
            module = self.loaded.get(script)
            if module is not None and (not reloading or module.__mtime__ == mtime):
                return module
            if module is not None and self.restart_on_change:
                if script not in self.changed:
                    self.changed.add(script)
                    self.request_log().write("notice", "WSGI script '%s' changed since it was loaded: restarting daemon process "
                                   "group '%s'." % (script, self.config.get("process_group", "")))
                raise ScriptChanged(script)
            name = module_name(script)
            self.request_log().write("info", "%s WSGI script '%s'." % ("Reloading" if module else "Loading", script))
            self.loaded.pop(script, None)
            module = types.ModuleType(name)
            module.__file__ = script
            module.__mtime__ = mtime
            sys.modules[name] = module
            try:
                with open(script, "rb") as source:
                    code = compile(source.read(), script, "exec", dont_inherit=True)
                exec(code, module.__dict__)
            except BaseException:
                if sys.modules.get(name) is module:
                    del sys.modules[name]
                raise
            self.loaded[script] = module
            return module


class ModWsgiFinder:
    """A meta path finder for `mod_wsgi` alone: its module is made (Interpreter.install_mod_wsgi) on
    the first import, so that an interpreter whose app never imports it pays nothing for it."""

    def __init__(self, interpreter):
        self.interpreter = interpreter

    def find_spec(self, name, path=None, target=None):
        if name != "mod_wsgi":
            return None
        from _frozen_importlib import ModuleSpec  # importlib's own, always loaded
        return ModuleSpec(name, self, origin="wsgi-bin")

    def create_module(self, spec):
        return None  # a plain module

    def exec_module(self, module):
        self.interpreter.install_mod_wsgi(module)


_interpreter = None
_interpreter_lock = threading.Lock()
ADAPTER_FILE = Interpreter.ignore_signal.__code__.co_filename  # "wsgi-bin/adapter.py", the name it is compiled with
MOD_WSGI_FILE = "wsgi-bin/mod_wsgi.py"  # twin of MOD_WSGI_FILENAME in src/pool/adapter-bytecode.ts


def attach(config, views, exchange, publish, away, back, replicas=1, group="", mod_wsgi_code=None):
    """Called once per worker thread per interpreter: returns the function to call per request with
    the index of its channel in `views`. replicas: how many interpreters its group has
    (--parallel-interpreters; 1: this one only); group: its application group's name; mod_wsgi_code:
    the mod_wsgi module's code (see Interpreter.install_mod_wsgi), given with the first attach only."""
    global _interpreter
    with _interpreter_lock:
        if _interpreter is None:
            _interpreter = Interpreter(config, replicas, group, mod_wsgi_code)
    return Worker(_interpreter, views, exchange, publish, away, back).handle


def refusal_hint(error, script, replicas):
    """What to do about an extension refusing this interpreter, or None when `error` is no such refusal.
    Follows the chain of exceptions: a package may catch the ImportError and raise its own."""
    import re

    seen = set()
    while error is not None and id(error) not in seen:
        seen.add(id(error))
        if isinstance(error, ImportError):
            message = str(error)
            refused = re.search(SINGLE_PHASE_REFUSAL, message)
            if refused and replicas > 1:
                return ("The C extension module '%s' (imported by '%s') uses single-phase initialisation and "
                        "refuses to load in an interpreter with its own GIL: this application group runs in %d "
                        "parallel interpreters. Serve it from one interpreter sharing the main GIL: "
                        "parallel-interpreters=1 on its --alias (or --parallel-interpreters 1), with --processes N "
                        "for more cores." % (refused.group(1), script, replicas))
            if re.search(SUBINTERPRETER_REFUSAL, message, re.IGNORECASE):
                return ("A C extension imported by '%s' refuses to run in more than one interpreter (numpy, "
                        "pydantic-core and PyO3 modules do). Serve every alias that uses it from the main "
                        "interpreter: application-group=%%{GLOBAL} (WSGIApplicationGroup %%{GLOBAL})%s."
                        % (script, ", with parallel-interpreters=1" if replicas > 1 else ""))
        error = error.__cause__ or error.__context__
    return None


class Worker:
    """One worker thread's view of this interpreter."""

    def __init__(self, interpreter, views, exchange, publish, away, back):
        self.interpreter = interpreter
        self.log = interpreter.log
        # Per channel, made on its first request here: its control words, as ints and as doubles, and
        # its data area (threads x channels of them per interpreter otherwise, with --threads 100).
        self.views = views
        self.channels = [None] * len(views)
        self.channel = -1  # the one the request in progress came in (handle() sets the three below)
        self.control = self.wide = self.data = None
        self.data_size = len(views[0]) - DATA_OFFSET  # every channel's
        self.most_piece = self.data_size // 4 - 16  # so that half the ring free always has room for one
        self.exchange = exchange
        self.publish = publish
        # Around a wait on the client outside exchange(): the HTTP thread then wakes another worker
        # for the requests queued meanwhile (RunQueue.away in src/pool/run-queue.ts).
        self.away = away
        self.back = back
        self.environs = {}  # per route: its error log and the constant part of environ (see base_environ)
        self.response = None  # the request's Response while it runs, for a timeout outside the app
        self.input = None  # the request's wsgi.input while it runs: one kept past it reads nothing more
        self.thread = threading.get_ident()  # a Worker is made on, and belongs to, its worker thread

    def owned(self):
        """exchange() and publish() from another thread would be queued to the worker's JavaScript
        event loop, which never runs: that thread would wait forever, holding the GIL."""
        if threading.get_ident() != self.thread:
            raise RuntimeError("wsgi.input and write() belong to the request's own thread")

    def send(self, kind, length, arg=0):
        """Hands the channel to the HTTP thread, waits for its reply and returns the reply's kind."""
        self.owned()
        control = self.control
        control[KIND] = kind
        control[LENGTH] = length
        control[ARG] = arg
        return self.exchange()

    def stream(self, data, offset, framed):
        """Puts the next piece of a streamed body, from data[offset:], in the channel's ring and
        publishes it: the HTTP thread sends it while this thread goes on (see channel.ts). Waits only
        when the ring has no room for it. Returns the bytes of data taken. The caller checked owned()."""
        piece = min(len(data) - offset, self.most_piece)
        prefix = b"%x\r\n" % piece if framed else b""  # an HTTP/1.1 chunk, framed here: sent as it is
        size = len(prefix) + piece + (2 if framed else 0)
        start = self.room(size)
        while start is None:
            if self.send(FULL, 0) == CANCEL:
                raise ClientDisconnected("client closed the connection")
            start = self.room(size)
        view, control = self.data, self.control
        body = start + len(prefix)
        view[start:body] = prefix
        view[body:body + piece] = data[offset:offset + piece]
        if framed:
            view[body + piece:body + piece + 2] = b"\r\n"
        index = control[PUBLISHED] & (PIECES - 1)
        control[START + index] = start
        control[FILL + index] = size
        control[PAYLOAD + index] = piece
        self.publish()
        return piece

    def room(self, size):
        """Where a piece of `size` bytes goes in the ring now: right after the newest unsent piece, or
        at the start of the area; None while unsent pieces leave no room. RELEASED is the HTTP
        thread's to bump: an old value read here only makes the room look smaller."""
        control = self.control
        published = control[PUBLISHED]
        unsent = (published - control[RELEASED]) & 0xFFFFFFFF
        if unsent == 0:
            return 0
        if unsent >= PIECES:
            return None
        oldest = control[START + ((published - unsent) & (PIECES - 1))]
        newest = (published - 1) & (PIECES - 1)
        end = control[START + newest] + control[FILL + newest]
        if control[START + newest] >= oldest:  # the unsent pieces lie in [oldest, end)
            if end + size <= self.data_size:
                return end
            return 0 if size <= oldest else None
        return end if end + size <= oldest else None  # they wrap: [oldest, area end) and [0, end)

    def finish(self, kind, length=0, arg=0):
        """Leaves the final message in the channel; the worker thread sends it once the GIL is released."""
        control = self.control
        control[KIND] = kind
        control[LENGTH] = length
        control[ARG] = arg

    def timed_out(self, script):
        """Logs a RequestTimeout being handled, with the stack the app was interrupted in."""
        self.log.write("error", "Request timeout expired for WSGI script '%s': it ran longer than %s s "
                       "(--request-timeout) and was interrupted here:\n%s"
                       % (script, self.interpreter.config.get("request_timeout"), _traceback().format_exc().rstrip("\n")))

    def use(self, channel):
        views = self.channels[channel]
        if views is None:
            view = self.views[channel]
            views = self.channels[channel] = (view[:DATA_OFFSET].cast("i"), view[:DATA_OFFSET].cast("d"), view[DATA_OFFSET:])
        self.channel = channel
        self.control, self.wide, self.data = views

    def handle(self, channel):
        if channel != self.channel:
            self.use(channel)
        fields = str(self.data[:self.control[LENGTH]], "latin-1").split("\0")
        script = fields[F_SCRIPT]
        if not fields[F_CALLABLE]:
            return self.import_script(script) if script else self.run_exit_functions(fields[F_GROUP])
        if self.control[ARG] & REQUEST_AUTH:
            return self.authenticate(fields, script)
        try:
            self.serve(fields, script)
        except RequestTimeout:
            # Fired in the adapter's own code around the app (Response.failed handles the app's).
            self.timed_out(script)
            if self.response is not None and self.response.head_sent:
                self.finish(ABORT)
            else:
                self.finish(ERROR, 0, 504)
        finally:
            self.response = None
            self.input = None  # a lent socket is the HTTP thread's again: Input.recv checks

    def route_base(self, fields):
        """The route's error log and base environ (see Interpreter.base_environ), made on its first request."""
        route = tuple(fields[:F_SCRIPT_NAME + 1])
        known = self.environs.get(route)
        if known is None:
            known = self.environs[route] = self.interpreter.base_environ(route, fields[F_CONTEXT])
        return known

    def serve(self, fields, script):
        log, base = self.route_base(fields)
        if log is not self.log:
            # The route's host's error log takes what the request logs (its lines, the app's output). It
            # stays this thread's until a request of another host: the thread runs nothing in between.
            self.log = _request_log.log = log
        try:
            module = self.interpreter.load(script, fields[F_RELOAD] == "1")
        except RequestTimeout:
            raise  # the script's code ran too long: a timeout, not a broken script
        except ScriptNotFound:
            self.log.write("error", "Target WSGI script not found or unable to stat: %s" % script)
            return self.finish(ERROR, 0, 404)
        except ScriptChanged:
            return self.finish(ERROR, 0, SCRIPT_CHANGED)
        except BaseException as error:
            self.log.write("error", "Failed to exec Python script file '%s'." % script)
            self.log.write("error", "Exception occurred processing WSGI script '%s'.\n%s"
                           % (script, _traceback().format_exc()))
            self.hint(error, script)
            return self.finish(ERROR, 0, 500)
        application = getattr(module, fields[F_CALLABLE], None)
        if application is None:
            self.log.write("error", "Target WSGI script '%s' does not contain WSGI application '%s'."
                           % (script, fields[F_CALLABLE]))
            return self.finish(ERROR, 0, 404)
        self.response = Response(self, fields)
        tracker = self.interpreter.tracker
        if tracker is None:
            self.response.run(application, self.environ(fields, base))
        else:  # the app imported mod_wsgi: its requests are tracked, its event callbacks called
            tracker.run(self.response, application, self.environ(fields, base))

    def hint(self, error, script):
        """Logs what to do when `error` is an extension refusing this interpreter."""
        hint = refusal_hint(error, script, self.interpreter.replicas)
        if hint is not None:
            self.log.write("error", hint)

    def import_script(self, script):
        """WSGIImportScript: load the script into this interpreter now, call nothing (no callable named).
        On failure the channel carries the exception's last line (the library's ScriptLoadError says it)."""
        self.outside_requests()
        try:
            self.interpreter.load(script, True)
        except ScriptNotFound:
            self.log.write("error", "Import script not found or unable to stat: %s" % script)
            return self.finish(ERROR, self.reason("no such file"), 404)
        except BaseException as error:
            self.log.write("error", "Failed to import script '%s'.\n%s" % (script, _traceback().format_exc()))
            self.hint(error, script)
            return self.finish(ERROR, self.reason(_traceback().format_exception_only(type(error), error)[-1].strip()), 500)
        self.finish(END)

    def authenticate(self, fields, script):
        """mod_wsgi's auth hooks: a WSGIAuthUserScript's check_password(environ, user, password), whose
        None (no such user), str (let in as that user, as mod_wsgi takes it), true or false value is
        answered "", "=" and the name, "1" or "0"; or a WSGIAuthGroupScript's
        groups_for_user(environ, user), answered as the groups (str or bytes) joined by NULs; or a
        WSGIAccessScript's allow_access(environ, host), whose True, False or None is answered "1", "0" or ""
        (anything else is logged, as mod_wsgi words it, and is an error: refused). The environ is
        the one mod_wsgi gives them: the CGI variables (SCRIPT_NAME the path, PATH_INFO empty), a few
        mod_wsgi.* keys and wsgi.errors. Anything else is logged and answered as an error (500)."""
        log, base = self.route_base(fields)
        self.log = _request_log.log = log
        full = self.environ(fields, base)
        self.input = None
        environ = {key: value for key, value in full.items() if key in AUTH_KEYS or key.startswith("HTTP_")}
        user = full.get(AUTH_USER, "")
        callable = fields[F_CALLABLE]
        try:
            module = self.interpreter.load(script, True)
        except ScriptNotFound:
            self.log.write("error", "Target WSGI %s script not found or unable to stat: %s" % (AUTH_KINDS[callable], script))
            return self.finish(ERROR, 0, 500)
        except BaseException as error:
            self.log.write("error", "Failed to exec Python script file '%s'." % script)
            self.log.write("error", "Exception occurred processing WSGI script '%s'.\n%s" % (script, _traceback().format_exc()))
            self.hint(error, script)
            return self.finish(ERROR, 0, 500)
        function = getattr(module, callable, None)
        if function is None:
            self.log.write("error", "Target WSGI %s script '%s' does not provide '%s'." % (AUTH_KINDS[callable], script, callable))
            return self.finish(ERROR, 0, 500)
        try:
            if callable == "check_password":
                result = function(environ, user, full.get(AUTH_PASSWORD, ""))
                answer = ("" if result is None else "=" + result if isinstance(result, str)
                          else "1" if result else "0")
            elif callable == "allow_access":
                result = function(environ, full.get(AUTH_HOST, ""))
                if result is not None and not isinstance(result, bool):
                    self.log.write("error", "Indicator of host accessibility returned from '%s' must a boolean or None." % script)
                    return self.finish(ERROR, 0, 500)
                answer = "" if result is None else "1" if result else "0"
            else:
                answer = "\0".join(group.decode("latin-1") if isinstance(group, bytes) else str(group)
                                   for group in function(environ, user) or ())
        except BaseException:
            self.log.write("error", "Exception occurred processing WSGI script '%s'.\n%s" % (script, _traceback().format_exc()))
            return self.finish(ERROR, 0, 500)
        data = answer.encode("latin-1", "replace")
        self.data[:len(data)] = data
        self.finish(COMPLETE, len(data), 0)

    def run_exit_functions(self, group):
        """The process is exiting: this interpreter's atexit functions, as mod_wsgi runs them when it
        destroys its interpreters. One that raises is reported in the log (atexit's own way) and the
        rest still run; atexit forgets them once run."""
        import atexit

        self.outside_requests()
        tracker = self.interpreter.tracker
        if tracker is not None:  # as mod_wsgi: process_stopping first, then the interpreter's end
            tracker.stopping()
        self.log.write("info", "Running the exit functions of application group '%s'." % (group or "%{GLOBAL}"))
        atexit._run_exitfuncs()
        self.finish(END)

    def outside_requests(self):
        """What this thread logs next is no request's: the main server's log takes it."""
        self.log = self.interpreter.log
        _request_log.log = None

    def reason(self, text):
        """Writes a short UTF-8 text into the channel for the final message; returns its length."""
        data = text.encode("utf-8", "backslashreplace")[:4096]
        self.data[:len(data)] = data
        return len(data)

    def environ(self, fields, base):
        """The request's environ: the route's constant part (`base`) with the head's fields."""
        first_header = F_ENV + 1
        if fields[F_ENV]:
            # SetEnv's variables, under what mod_wsgi sets itself (as in its environ: subprocess_env first).
            first_header += 2 * int(fields[F_ENV])
            env = fields[F_ENV + 1:first_header]
            environ = dict(zip(env[::2], env[1::2]))
            environ.update(base)
            # As mod_wsgi's Adapter_environ: an HTTPS variable (SetEnv's; over TLS the scheme already
            # says https) decides wsgi.url_scheme ("on" or "1": https), and is not passed on.
            https = environ.pop("HTTPS", None)
        else:
            environ = base.copy()
            https = None
        (environ["SCRIPT_NAME"], environ["PATH_INFO"], environ["QUERY_STRING"], environ["REQUEST_METHOD"],
         environ["SERVER_PROTOCOL"], environ["REQUEST_URI"], environ["REMOTE_ADDR"], environ["REMOTE_PORT"],
         environ["SERVER_NAME"], environ["SERVER_PORT"], environ["SERVER_ADDR"],
         environ["PATH_TRANSLATED"]) = fields[F_SCRIPT_NAME:F_SCHEME]  # CGI_KEYS
        if not fields[F_PATH_TRANSLATED]:
            del environ["PATH_TRANSLATED"]  # none without PATH_INFO, as in Apache
        scheme = fields[F_SCHEME]
        environ["REQUEST_SCHEME"] = scheme
        environ["wsgi.url_scheme"] = scheme if https is None else "https" if https == "1" or https.lower() == "on" else "http"
        environ["mod_wsgi.request_id"] = fields[F_REQUEST_ID]
        # The environ is made as the app is about to be called: both times are that moment here.
        environ["mod_wsgi.request_start"] = environ["mod_wsgi.script_start"] = str(time.time_ns() // 1000)
        environ["mod_wsgi.thread_id"] = self.thread
        environ["mod_wsgi.path_info"] = environ["PATH_INFO"]
        wide = self.wide
        environ["mod_wsgi.total_requests"] = int(wide[TOTAL_REQUESTS])
        environ["mod_wsgi.thread_requests"] = int(wide[THREAD_REQUESTS])
        if fields[F_MOUNT_POINT]:  # a trusted proxy's X-Script-Name, after "="
            environ["SCRIPT_NAME"] = environ["mod_wsgi.mount_point"] = fields[F_MOUNT_POINT][1:]
        if fields[F_SIGNATURE]:
            environ["SERVER_SIGNATURE"] = fields[F_SIGNATURE]
        keys = _header_keys[fields[F_PASS_AUTH] == "1"]
        # A repeated header has its values joined, as Apache does. A header replaces a SetEnv variable
        # of the same name rather than joining it: so with SetEnv they are gathered apart first.
        headers = environ if first_header == F_ENV + 1 else {}
        values = iter(fields[first_header:])
        for name, value in zip(values, values):
            key = keys.get(name, "")
            if key == "":
                key = header_key(keys, name)
            if key is None:
                continue
            if key in headers:
                headers[key] += ", " + value
            else:
                headers[key] = value
        if headers is not environ:
            environ.update(headers)
        body_length = fields[F_BODY_LENGTH]
        environ["wsgi.input"] = self.input = Input(self, None if body_length == "chunked" else int(body_length or 0), fields)
        return environ


# What mod_wsgi's auth hooks find in environ (besides HTTP_*), and what their scripts are called in its messages.
AUTH_KEYS = frozenset((
    "DOCUMENT_ROOT", "PATH_INFO", "QUERY_STRING", "REMOTE_ADDR", "REMOTE_PORT", "REQUEST_METHOD", "REQUEST_URI",
    "SCRIPT_NAME", "SERVER_ADDR", "SERVER_ADMIN", "SERVER_NAME", "SERVER_PORT", "SERVER_PROTOCOL", "SERVER_SIGNATURE",
    "SERVER_SOFTWARE", "mod_wsgi.application_group", "mod_wsgi.process_group", "mod_wsgi.script_reloading",
    "mod_wsgi.version", "wsgi.errors"))
AUTH_KINDS = {"check_password": "user authentication", "groups_for_user": "group authorisation", "allow_access": "host access"}

# environ keys for the request head's fields F_SCRIPT_NAME .. F_PATH_TRANSLATED, in that order (as environ() sets them).
CGI_KEYS = ("SCRIPT_NAME", "PATH_INFO", "QUERY_STRING", "REQUEST_METHOD", "SERVER_PROTOCOL", "REQUEST_URI",
            "REMOTE_ADDR", "REMOTE_PORT", "SERVER_NAME", "SERVER_PORT", "SERVER_ADDR", "PATH_TRANSLATED")
# The other keys environ() sets on every request, in that order.
PER_REQUEST_KEYS = ("wsgi.url_scheme", "REQUEST_SCHEME", "mod_wsgi.request_id", "mod_wsgi.request_start",
                    "mod_wsgi.script_start", "mod_wsgi.thread_id", "mod_wsgi.path_info", "mod_wsgi.total_requests",
                    "mod_wsgi.thread_requests", "wsgi.input")


# Request header name -> environ key (None: dropped), with Authorization dropped ([False]) or passed
# ([True], WSGIPassAuthorization On). Bounded, so odd names cannot grow them forever.
_header_keys = ({}, {})


def header_key(keys, name):
    """The environ key for a request header not in `keys` yet (one of _header_keys), noted there;
    None for headers mod_wsgi keeps from the app."""
    key = compute_header_key(name)
    if key == "HTTP_AUTHORIZATION" and keys is _header_keys[False]:
        key = None
    if len(keys) < 1024:
        keys[name] = key
    return key


def compute_header_key(name):
    # Only letters, digits and '-': 'X_Foo' must not pose as 'X-Foo' once both become HTTP_X_FOO.
    if not name or name.strip(HEADER_NAME_CHARS):
        return None
    lowered = name.lower()
    if lowered == "proxy":  # httpoxy: HTTP_PROXY would read as a proxy setting
        return None
    if lowered == "proxy-authorization":  # credentials for a proxy: Apache never passes them on
        return None
    if lowered in ("content-type", "content-length"):
        return lowered.upper().replace("-", "_")
    return "HTTP_" + name.upper().replace("-", "_")


class Response:
    """Adapter_run: start_response, write(), iteration of the result and close()."""

    # Until set on the instance (fewer stores per request than setting them all in __init__).
    status = None
    headers = None
    head_sent = False
    framed = 0  # the HTTP thread wants chunks framed (HTTP/1.1 chunked), see write()
    pending = None  # a chunk yielded but held back a moment (see iterate): its head counts as sent

    def __init__(self, worker, fields):
        self.worker = worker
        self.log = worker.log
        self.script = fields[F_SCRIPT]
        self.head_request = fields[F_METHOD] == "HEAD"

    def start_response(self, status, headers, exc_info=None):
        if exc_info is not None:
            try:
                if self.head_sent or self.pending is not None:
                    raise exc_info[1].with_traceback(exc_info[2])
            finally:
                exc_info = None
        elif self.status is not None:
            raise RuntimeError("start_response() was called a second time without exc_info")
        self.status = check_status(status)
        self.headers = check_headers(headers)
        return self.write

    def head_bytes(self):
        if self.status is None:
            raise RuntimeError("the application returned data before calling start_response()")
        parts = [self.status]
        for name, value in self.headers:
            parts.append(name)
            parts.append(value)
        try:
            return "\0".join(parts).encode("latin-1")
        except UnicodeEncodeError as error:
            raise ValueError("response status and headers must be latin-1 strings (PEP 3333): %s" % error)

    def write(self, data):
        """The write() callable, and the path every streamed chunk takes."""
        if type(data) is not bytes and not isinstance(data, bytes):
            raise TypeError("a WSGI body chunk must be bytes, not %s" % type(data).__name__)
        if self.head_request:  # HEAD: no body is sent (see finish_head)
            if self.status is None:
                raise RuntimeError("write() was called before start_response()")
            return
        if self.pending is not None:
            self.send_pending()
        worker = self.worker
        view, size = worker.data, worker.data_size
        if len(data) > worker.most_piece:
            data = memoryview(data)  # its pieces are copied into the channel once, not sliced first
        offset = 0
        if not self.head_sent:
            head = self.head_bytes()
            if len(head) > size:
                raise ValueError("response headers are larger than %d bytes" % size)
            view[:len(head)] = head
            first = min(len(data), size - len(head))
            view[len(head):len(head) + first] = data[:first]
            self.head_sent = True
            if worker.send(HEAD, len(head) + first, len(head)) == CANCEL:
                raise ClientDisconnected("client closed the connection")
            # The HTTP thread says whether the body goes out chunked: then each chunk is framed here,
            # in place, and sent from the channel as it is (no copy, no garbage on the HTTP thread).
            self.framed = worker.control[ARG] & FRAME_CHUNKS
            offset = first
        worker.owned()  # once per write(), not per piece
        while offset < len(data):
            offset += worker.stream(data, offset, self.framed)

    def complete(self, body):
        """The whole response in one message when it fits; else the head and chunks."""
        head = self.head_bytes()
        worker = self.worker
        head_length, length = len(head), len(head) + len(body)
        if length > worker.data_size:
            self.write(body)
            return worker.finish(END)
        view = worker.data
        view[:head_length] = head
        view[head_length:length] = body
        worker.finish(COMPLETE, length, head_length)

    def run(self, application, environ):
        try:
            result = application(environ, self.start_response)
        except BaseException:
            return self.failed()
        try:
            if self.head_request:
                self.finish_head(result)
            elif type(result) is FileWrapper and not self.head_sent and self.send_file(result):
                self.worker.finish(END)
            elif type(result) in (list, tuple) and not self.head_sent:
                self.complete(joined(result))
            elif not self.iterate(result):
                if self.head_sent:
                    self.worker.finish(END)
                else:
                    self.complete(b"")
        except ClientDisconnected as error:
            self.log.write("info", "%s while serving '%s'." % (error, self.script))
            self.worker.finish(END)
        except BaseException:
            self.failed()
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                try:
                    close()
                except BaseException:
                    self.failed()

    def iterate(self, result):
        """Writes an iterable's chunks as they come. One that holds the whole declared Content-Length
        and is the last (a framework's response object, Flask's among them) is sent with its head in
        one message, as a list is: the next chunk is asked for first, which only a body already
        complete waits for. True when the response went out that way."""
        chunks = iter(result)
        for data in chunks:
            if (not self.head_sent and type(data) is bytes and 0 < len(data) <= self.worker.data_size // 2
                    and len(data) == self.declared_length()):
                self.pending = data
                try:
                    following = next(chunks, _END)
                except BaseException:
                    self.send_pending()  # the whole body goes out, as it would have, before the error is handled
                    raise
                if following is _END:
                    if self.pending is None:  # a write() meanwhile sent it
                        return False
                    self.pending = None
                    self.complete(data)
                    return True
                self.send_pending()
                data = following
            if data or not isinstance(data, bytes):
                self.write(data)
        return False

    def send_pending(self):
        if self.pending is not None:
            pending, self.pending = self.pending, None
            self.write(pending)

    def declared_length(self):
        """The app's Content-Length as a number (its last, as the HTTP thread takes it); -1 when it
        gives none (or not a number)."""
        length = -1
        for name, value in self.headers or ():
            if len(name) == 14 and name.lower() == "content-length":
                length = int(value) if value.isascii() and value.isdigit() else -1
        return length

    def send_file(self, wrapper):
        """wsgi.file_wrapper over a regular file: the HTTP thread sends it from the descriptor, from the
        file's current position (a prior seek counts), without the bytes passing through Python. False
        for anything else, which is then iterated in blksize reads."""
        filelike = wrapper.filelike
        if isinstance(filelike, io.TextIOBase):
            return False
        try:
            fd = filelike.fileno()
            info = os.fstat(fd)
            offset = filelike.tell()
        except (AttributeError, OSError, ValueError):
            return False
        if not stat.S_ISREG(info.st_mode):
            return False
        head = self.head_bytes()
        spec = b"%d %d %d" % (fd, offset, max(info.st_size - offset, 0))
        view = self.worker.data
        view[:len(head)] = head
        view[len(head):len(head) + len(spec)] = spec
        self.head_sent = True
        if self.worker.send(FILE, len(head) + len(spec), len(head)) == CANCEL:
            raise ClientDisconnected("client closed the connection")
        return True

    def finish_head(self, result):
        """HEAD: the headers GET would send, no body. Iterate only until the headers are final (the
        first non-empty chunk: start_response may come late), then close() the iterable."""
        length = None
        if type(result) in (list, tuple):
            length = len(joined(result))
        else:
            for data in result:
                if not isinstance(data, bytes):
                    raise TypeError("a WSGI body chunk must be bytes, not %s" % type(data).__name__)
                if data:
                    break
        if length is not None and self.headers is not None and not any(
                name.lower() == "content-length" for name, _ in self.headers):
            self.headers = self.headers + [("Content-Length", str(length))]
        self.complete(b"")

    def failed(self):
        error = sys.exc_info()[1]
        if isinstance(error, RequestTimeout):
            self.worker.timed_out(self.script)
            return self.worker.finish(ABORT) if self.head_sent else self.worker.finish(ERROR, 0, 504)
        if isinstance(error, RequestBodyTooLarge) and not self.head_sent:
            self.log.write("error", "%s: %s." % (self.script, error))
            return self.worker.finish(ERROR, 0, 413)
        self.log.write("error", "Exception occurred processing WSGI script '%s'.\n%s"
                       % (self.script, _traceback().format_exc().rstrip("\n")))
        self.worker.hint(error, self.script)  # an import inside the app, on its first request
        tracker = self.worker.interpreter.tracker
        if tracker is not None:
            tracker.exception(sys.exc_info())
        if self.head_sent:
            self.worker.finish(ABORT)
        else:
            self.worker.finish(ERROR, 0, 500)


_END = object()  # no more chunks (Response.iterate)


def joined(chunks):
    """A list or tuple body as one bytes object, refusing anything that is not bytes."""
    for item in chunks:
        if not isinstance(item, bytes):
            raise TypeError("a WSGI body chunk must be bytes, not %s" % type(item).__name__)
    return b"".join(chunks)


def check_status(status):
    if type(status) is str and status in _valid_statuses:
        return status
    if type(status) is not str:
        raise TypeError("WSGI status must be a str, not %s" % type(status).__name__)
    if not valid_status(status):
        raise ValueError("invalid WSGI status %r: want 'NNN Reason'" % status)
    if status[0] == "1":
        # Sent as it is, the client would take it for an interim response and wait for the real one.
        raise ValueError("WSGI status %r is interim (1xx): a response needs a final status" % status)
    if len(_valid_statuses) < 1024:
        _valid_statuses.add(status)
    return status


_valid_statuses = set()  # statuses already checked; bounded like _header_keys


def valid_status(status):
    """'NNN Reason': three digits, the first not 0, a space, then anything but CR, LF and NUL."""
    return (len(status) >= 4 and status[0] in "123456789" and status[1] in DIGITS and status[2] in DIGITS
            and status[3] == " " and "\r" not in status and "\n" not in status and "\0" not in status)


def check_headers(headers):
    if type(headers) is not list:
        raise TypeError("WSGI response headers must be a list, not %s" % type(headers).__name__)
    for header in headers:
        if type(header) is not tuple or len(header) != 2:
            raise TypeError("WSGI response header %r is not a (name, value) tuple" % (header,))
        name, value = header
        if type(name) is not str or type(value) is not str:
            raise TypeError("WSGI response header %r must be (str, str)" % (header,))
        if name not in _valid_names:
            check_header_name(name)
        if "\r" in value or "\n" in value or "\0" in value:
            raise ValueError("response header %r has a control character in its value" % name)
    return headers


_valid_names = set()  # response header names already checked; bounded like _header_keys


def check_header_name(name):
    if not name or name.strip(TOKEN_CHARS):
        raise ValueError("invalid response header name %r" % name)
    if name.lower() in HOP_BY_HOP:
        raise ValueError("hop-by-hop header %r is the server's to set, not the application's" % name)
    if len(_valid_names) < 1024:
        _valid_names.add(name)
