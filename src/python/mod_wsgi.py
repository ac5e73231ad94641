# The `mod_wsgi` module an application imports, as mod_wsgi 4.9.4's C code makes it in every
# interpreter (wsgi_interp.c, wsgi_metrics.c): its constants, subscribe_events/subscribe_shutdown,
# request_data(), active_requests and the metrics functions.
#
# Made on the first `import mod_wsgi` only (the adapter's ModWsgiFinder): an app that never imports it
# pays nothing. This file runs in a private namespace, not as a module: install() fills the module
# the app gets with mod_wsgi's public names and nothing else (dir(mod_wsgi) is the same as under
# Apache), and returns the Tracker the adapter hands each request to from then on.
import os
import sys
import threading
import time

# The mod_wsgi release whose module this one mirrors.
VERSION = (4, 9, 4)

_resource = []  # the resource module, once imported, or None where it cannot be


def resource_module():
    """The resource module (getrusage: peak RSS and a thread's own CPU time, as mod_wsgi reads them),
    imported when first needed: loading its extension takes 0.2 ms, 2.5 ms from a cold disk."""
    if not _resource:
        try:
            import resource
        except ImportError:  # an interpreter that refuses it: the callers' fallbacks
            resource = None
        _resource.append(resource)
    return _resource[0]


def install(module, interpreter, file_wrapper, uncaught):
    """Fills `module` (the one `import mod_wsgi` returns) for `interpreter` (the adapter's Interpreter);
    returns its Tracker. uncaught: exception types an event callback may not swallow (a request timeout)."""
    config = interpreter.config
    tracker = Tracker(interpreter.log, config.get("threads", 1), config.get("started") or time.time(),
                      bool(config.get("process_group")), uncaught)
    module.__dict__.update(
        version=VERSION,
        process_group=config.get("process_group", ""),
        application_group=interpreter.group,
        maximum_processes=config.get("processes", 1),
        threads_per_process=config.get("threads", 1),
        FileWrapper=file_wrapper,
        event_callbacks=tracker.event_callbacks,
        shutdown_callbacks=tracker.shutdown_callbacks,
        active_requests=tracker.active_requests,
        subscribe_events=tracker.event_callbacks.append,
        subscribe_shutdown=tracker.shutdown_callbacks.append,
        request_data=tracker.request_data,
        process_metrics=tracker.process_metrics,
        request_metrics=tracker.request_metrics,
        server_metrics=server_metrics,
    )
    return tracker


def server_metrics():
    """Apache's scoreboard, which wsgi-bin has none of: None, as mod_wsgi answers without
    WSGIServerMetrics On (and in every daemon process that was not given server-metrics=On)."""
    return None


def bucket(duration):
    """mod_wsgi's time buckets: up to 5 ms, then each twice the last, the 15th for anything longer."""
    index, threshold = 0, 0.005
    while index < 14 and duration > threshold:
        threshold *= 2
        index += 1
    return index


class Tracker:
    """What mod_wsgi tracks per process, for the requests of this interpreter since the module was
    imported: requests in progress, their counts and busy time, and the event callbacks."""

    def __init__(self, log, threads, started, daemon, uncaught):
        self.log = log
        self.threads = threads
        self.started = started
        self.daemon = daemon
        self.uncaught = uncaught
        self.event_callbacks = []
        self.shutdown_callbacks = []
        self.active_requests = {}  # request id -> its request_data dict
        self.current = {}  # thread -> (request id, request_data) of the request it runs
        self.lock = threading.Lock()
        # mod_wsgi's wsgi_utilization_time: busy time is the integral of the requests in progress.
        self.busy = 0.0
        self.busy_since = 0.0
        self.in_progress = 0
        self.completed = 0
        self.thread_requests = {}  # environ's mod_wsgi.thread_id -> requests started on that thread
        self.sampling = None  # request_metrics(): the running period's totals, once first called

    def utilization(self, now, adjustment):
        """Brings the busy time up to `now`, then counts `adjustment` requests in (+1) or out (-1). Lock held."""
        if self.busy_since:
            self.busy += self.in_progress * max(now - self.busy_since, 0.0)
        self.busy_since = now
        self.in_progress += adjustment
        if adjustment < 0:
            self.completed -= adjustment
        return self.busy

    def run(self, response, application, environ):
        """Response.run, with the request tracked as mod_wsgi's Adapter_run does (wsgi_start_request,
        the events around the application, wsgi_end_request)."""
        data = {}
        request_id = environ["mod_wsgi.request_id"]
        thread_id = environ["mod_wsgi.thread_id"]
        thread = threading.get_ident()
        start = time.time()
        with self.lock:
            self.utilization(start, 1)
            self.active_requests[request_id] = data
            self.thread_requests[thread_id] = self.thread_requests.get(thread_id, 0) + 1
        self.current[thread] = (request_id, data)
        cpu = None
        try:
            if self.event_callbacks:
                cpu = thread_cpu()
                event = {"request_id": request_id, "thread_id": thread_id}
                if not self.daemon:  # a daemon process's would be the front's hand-over times and retries: not measured
                    event.update(daemon_connects=0, daemon_restarts=0, queue_start=0.0, daemon_start=0.0)
                event.update(request_start=int(environ["mod_wsgi.request_start"]) / 1e6, application_object=application,
                             request_environ=environ, application_start=start, request_data=data)
                self.publish("request_started", event)
                application = event.get("application_object") or application  # a callback may wrap it
                response.start_response = self.announcing(response, request_id, data)
            response.run(application, environ)
        finally:
            finish = time.time()
            try:
                if self.event_callbacks:
                    event = {"request_id": request_id}
                    # As mod_wsgi: only when the thread had used some user CPU time by the start (a
                    # thread's first request may find none: getrusage counts in ticks).
                    if cpu is not None and cpu[0] != 0.0:
                        user, system = thread_cpu()
                        event.update(cpu_user_time=max(user - cpu[0], 0.0), cpu_system_time=max(system - cpu[1], 0.0))
                    event.update(application_finish=finish, application_time=max(finish - start, 0.0), request_data=data)
                    self.publish("request_finished", event)
            finally:  # a request timeout in a callback too: the request is over
                del self.current[thread]
                with self.lock:
                    self.utilization(finish, -1)
                    self.active_requests.pop(request_id, None)
                    if self.sampling is not None:
                        self.sampling.record(int(environ["mod_wsgi.request_start"]) / 1e6, start, finish, thread_id)

    def announcing(self, response, request_id, data):
        """start_response publishing response_started first, where mod_wsgi's does: once its own checks
        passed (a second call without exc_info, or exc_info after the head went out, raises unannounced)."""
        start_response = response.start_response

        def announced(status, headers, exc_info=None):
            if (response.status is None) if exc_info is None else (not response.head_sent and response.pending is None):
                self.publish("response_started", {"request_id": request_id, "response_status": status,
                                                  "response_headers": headers, "exception_info": exc_info,
                                                  "request_data": data})
            return start_response(status, headers, exc_info)
        return announced

    def exception(self, exc_info):
        """The exception of the request this thread runs, once logged: the request_exception event."""
        current = self.current.get(threading.get_ident())
        if self.event_callbacks and current is not None:
            self.publish("request_exception", {"request_id": current[0], "exception_info": exc_info,
                                               "request_data": current[1]})

    def stopping(self, reason=""):
        """The process is stopping: process_stopping to the event callbacks, then the shutdown callbacks."""
        event = {"shutdown_reason": reason}
        self.publish("process_stopping", event)
        self.call(self.shutdown_callbacks, "process_stopping", event)

    def publish(self, name, event):
        self.call(self.event_callbacks, name, event)

    def call(self, callbacks, name, event):
        """Each callback with the event's name and its fields as keyword arguments. A dict returned is
        merged into the event the next callbacks get; one that raises is logged, the others still run."""
        for callback in list(callbacks):
            try:
                result = callback(name, **event)
            except self.uncaught:
                raise
            except BaseException:
                import traceback
                self.log.write("error", "Exception occurred within event callback.\n%s"
                               % traceback.format_exc().rstrip("\n"))
                continue
            if isinstance(result, dict):
                event.update(result)

    def request_data(self):
        current = self.current.get(threading.get_ident())
        if current is None:
            raise RuntimeError("no active request for thread")
        return current[1]

    def process_metrics(self):
        now = time.time()
        with self.lock:
            busy = self.utilization(now, 0)
            completed, active = self.completed, self.in_progress
            threads = [{"thread_id": thread_id, "request_count": count} for thread_id, count in self.thread_requests.items()]
        user, system = process_cpu()
        return {
            "pid": os.getpid(), "request_busy_time": busy, "request_count": completed,
            "memory_max_rss": peak_rss(), "memory_rss": current_rss(), "cpu_user_time": user, "cpu_system_time": system,
            "restart_time": self.started, "current_time": now, "running_time": int(now - self.started),
            "request_threads": len(threads), "active_requests": active, "threads": threads,
        }

    def request_metrics(self):
        """The figures since the previous call, as mod_wsgi's: the first call starts the first period
        and returns {} (requests are timed into buckets only from then on)."""
        now = time.time()
        user, system = process_cpu()
        with self.lock:
            busy = self.utilization(now, 0)
            sampling, self.sampling = self.sampling, Sampling(now, busy, self.completed, user, system, self.threads)
        if sampling is None:
            return {}
        return sampling.report(self.sampling, len(self.thread_requests))


class Sampling:
    """One request_metrics() period: where it started, and the requests that finished in it."""

    def __init__(self, start, busy, completed, user, system, threads):
        self.start, self.busy, self.completed, self.user, self.system = start, busy, completed, user, system
        self.threads = max(threads, 1)
        self.requests = 0
        self.server_time = self.application_time = 0.0
        self.server_buckets = [0] * 16
        self.application_buckets = [0] * 16
        self.thread_buckets = [0] * self.threads
        self.thread_slots = {}  # thread id -> its index in thread_buckets (mod_wsgi's are numbered from 1)

    def record(self, request_start, application_start, application_finish, thread_id):
        """One request finished (lock held)."""
        server = max(application_start - request_start, 0.0)
        application = max(application_finish - application_start, 0.0)
        self.requests += 1
        self.server_time += server
        self.application_time += application
        self.server_buckets[bucket(server)] += 1
        self.application_buckets[bucket(application)] += 1
        slot = self.thread_slots.setdefault(thread_id, len(self.thread_slots))
        if slot < self.threads:
            self.thread_buckets[slot] += 1

    def report(self, stop, threads_started):
        period = stop.start - self.start
        count = stop.completed - self.completed
        requests = self.requests
        return {
            "pid": os.getpid(), "start_time": self.start, "stop_time": stop.start, "sample_period": period,
            "cpu_user_time": (stop.user - self.user) / period if period else 0.0,
            "cpu_system_time": (stop.system - self.system) / period if period else 0.0,
            "memory_max_rss": peak_rss(), "memory_rss": current_rss(),
            "request_threads_maximum": self.threads, "request_threads_started": threads_started,
            "capacity_utilization": (stop.busy - self.busy) / period / self.threads if period else 0.0,
            "request_count": count, "request_throughput": count / period if period else 0.0,
            "server_time_buckets": self.server_buckets, "queue_time_buckets": [0] * 16,
            "daemon_time_buckets": [0] * 16, "application_time_buckets": self.application_buckets,
            "request_threads_buckets": self.thread_buckets,
            "request_threads_active": sum(1 for n in self.thread_buckets if n),
            "server_time": self.server_time / requests if requests else 0.0,
            # Not measured: the time a daemon process's request waited for it (None, as embedded mode's).
            "queue_time": None, "daemon_time": None,
            "application_time": self.application_time / requests if requests else 0.0,
        }


def process_cpu():
    """The process's user and system CPU seconds (mod_wsgi's times())."""
    times = os.times()
    return times.user, times.system


def thread_cpu():
    """This thread's user and system CPU seconds (mod_wsgi's getrusage(RUSAGE_THREAD)); where a platform
    has no per-thread figures, its CPU time as user time."""
    module = resource_module()
    if module is not None and hasattr(module, "RUSAGE_THREAD"):
        usage = module.getrusage(module.RUSAGE_THREAD)
        return usage.ru_utime, usage.ru_stime
    return time.thread_time(), 0.0


def peak_rss():
    module = resource_module()
    if module is not None:
        peak = module.getrusage(module.RUSAGE_SELF).ru_maxrss
        return peak if sys.platform == "darwin" else peak * 1024  # bytes on macOS, KiB elsewhere
    return 0


def current_rss():
    try:
        with open("/proc/self/statm", "rb") as statm:
            return int(statm.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except (OSError, ValueError, IndexError):
        return 0
