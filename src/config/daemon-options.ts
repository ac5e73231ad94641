// WSGIDaemonProcess's options, read the same way from a configuration file and from --daemon-process
// (only how an error is reported and a relative path resolved differ).
import { DEFAULTS } from "../config.ts";
import { defaultProcessSettings } from "./apache/context.ts";
import type { ProcessSettings } from "./site.ts";
import { wholeNumber } from "./whole-number.ts";

/** Every WSGIDaemonProcess option mod_wsgi documents. */
export const DAEMON_OPTIONS = new Set([
  "processes", "threads", "display-name", "home", "user", "group", "supplementary-groups", "umask", "lang", "locale",
  "chroot", "script-user", "script-group", "python-home", "python-path", "python-eggs", "switch-interval",
  "restart-interval", "maximum-requests", "inactivity-timeout", "request-timeout", "interrupt-timeout",
  "deadlock-timeout", "startup-timeout", "graceful-timeout", "eviction-timeout", "shutdown-timeout", "connect-timeout",
  "socket-timeout", "queue-timeout", "listen-backlog", "socket-user", "cpu-time-limit", "cpu-priority", "memory-limit",
  "virtual-memory-limit", "stack-size", "receive-buffer-size", "send-buffer-size", "header-buffer-size",
  "response-buffer-size", "response-socket-timeout", "server-metrics",
]);

/** The ones wsgi-bin acts on; the others are kept in the model and warned about. */
export const IMPLEMENTED_DAEMON_OPTIONS = new Set([
  "processes", "threads", "request-timeout", "maximum-requests", "restart-interval", "queue-timeout", "graceful-timeout",
  "python-home", "python-path", "home", "display-name", "user", "group", "connect-timeout", "deadlock-timeout",
  "listen-backlog",
]);

/** How the caller reports a bad value, resolves a relative path and warns. */
export interface OptionContext {
  fail(message: string): never;
  path(value: string): string;
  warn(message: string): void;
}

/** user= and group=: a name, or #id as in mod_wsgi. */
const ACCOUNT = /^(#\d+|[A-Za-z_][A-Za-z0-9_.-]*\$?)$/;

export function daemonSettings(name: string, options: Map<string, string>, context: OptionContext): ProcessSettings {
  const settings = defaultProcessSettings();
  settings.threads = DEFAULTS.daemonThreads;
  const what = (key: string) => `WSGIDaemonProcess ${name} ${key}=`;
  const number = (key: string, min: number, max: number) => wholeNumber(what(key), options.get(key)!, min, max, context.fail);
  if (options.has("processes")) {
    settings.processes = number("processes", 1, 64);
    settings.processesGiven = true;
  }
  if (options.has("threads")) {
    if (options.get("threads") === "0") {
      context.warn(`WSGIDaemonProcess ${name} threads=0 (a process running only WSGIImportScript) is not implemented by wsgi-bin: ${DEFAULTS.daemonThreads} threads`);
    } else settings.threads = number("threads", 1, 1024);
  }
  if (options.has("request-timeout")) settings.requestTimeout = number("request-timeout", 0, 86400);
  if (options.has("maximum-requests")) settings.maximumRequests = number("maximum-requests", 0, Number.MAX_SAFE_INTEGER);
  if (options.has("restart-interval")) settings.restartInterval = number("restart-interval", 0, 31_536_000);
  if (options.has("queue-timeout")) settings.queueTimeout = number("queue-timeout", 0, 86400);
  if (options.has("graceful-timeout")) settings.gracefulTimeout = number("graceful-timeout", 0, 86400);
  if (options.has("connect-timeout")) settings.connectTimeout = number("connect-timeout", 1, 86400);
  // The bounds of the flags they match, --deadlock-timeout and --queue-limit.
  if (options.has("deadlock-timeout")) settings.deadlockTimeout = number("deadlock-timeout", 0, 86400);
  if (options.has("listen-backlog")) settings.listenBacklog = number("listen-backlog", 0, 1_000_000);
  if (options.has("python-home")) settings.pythonHome = context.path(options.get("python-home")!);
  if (options.has("python-path")) settings.pythonPath = splitPythonPath(options.get("python-path")!, context.path);
  if (options.has("home")) settings.home = context.path(options.get("home")!);
  if (options.has("display-name")) {
    const display = options.get("display-name")!;
    if (display === "") context.fail(`${what("display-name")} is empty`);
    settings.displayName = display;
  }
  for (const key of ["user", "group"] as const) {
    if (!options.has(key)) continue;
    const value = options.get(key)!;
    if (!ACCOUNT.test(value)) context.fail(`${what(key)} wants a name or #id, got '${value}'`);
    settings[key] = value;
  }
  // As mod_wsgi: a web application is never run as root.
  if (settings.user === "root" || settings.user === "#0") context.fail(`${what("user")}${settings.user}: a daemon process group may not run as root`);
  return settings;
}

/** What `ps` shows for the group's processes: display-name=%{GROUP} is mod_wsgi's "(wsgi:NAME)". */
export function displayName(group: string, value: string | undefined): string | undefined {
  return value?.replaceAll("%{GROUP}", `(wsgi:${group})`);
}

/** python-path= and WSGIPythonPath: DIR[:DIR...], each resolved by the caller. */
export function splitPythonPath(value: string, path: (dir: string) => string): string[] {
  return value.split(":").filter((dir) => dir !== "").map(path);
}
