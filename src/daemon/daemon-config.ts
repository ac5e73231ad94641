// Which process runs what, when the site has daemon process groups: a front process serves the HTTP
// ports and runs the embedded group's routes itself; a daemon process runs its group's routes only,
// with the group's Python, threads and limits, behind its private socket.
import type { DaemonGroupConfig, ServerConfig } from "../config.ts";
import { hasWsgiHandlers } from "../config/resolve.ts";

/** Does (part of) the route run in process group `group`? */
function runsIn(route: { processGroup: string; groupsInside: string[] }, group: string): boolean {
  return route.processGroup === group || route.groupsInside.includes(group);
}

/** Python is loaded in a front only for the embedded group's routes (or parts of routes), handler scripts and import scripts. */
export function frontNeedsPython(config: ServerConfig): boolean {
  const embeddedRoute = config.listeners.some((listener) =>
    listener.hosts.some((host) => host.routes.some((route) => runsIn(route, "%{GLOBAL}"))));
  // A file AddHandler or SetHandler wsgi-script makes a script may run here whatever group it names.
  const handlerScripts = config.listeners.some((listener) => listener.hosts.some((host) => hasWsgiHandlers(host.vhost)));
  // mod_wsgi runs WSGIAuthUserScript and WSGIAuthGroupScript in the process that took the request.
  const authScripts = config.listeners.some((listener) => listener.hosts.some((host) =>
    [host.vhost.settings, ...host.vhost.sections.map((section) => section.settings)].some((settings) => settings.auth?.userScript || settings.auth?.groupScript)));
  return embeddedRoute || handlerScripts || authScripts || config.importScripts.some((script) => !script.processGroup);
}

/** The configuration a process of daemon group `group` serves with. */
export function daemonServerConfig(config: ServerConfig, group: DaemonGroupConfig): ServerConfig {
  // It routes as the front does: its group's routes (and those a section inside gives to its group) in
  // the same order pick the same route for every request the front sends it (others never come).
  const listeners = config.listeners.map((listener) => ({
    ...listener,
    hosts: listener.hosts.map((host) => ({ ...host, routes: host.routes.filter((route) => runsIn(route, group.name)) })),
  }));
  return {
    ...config,
    listeners,
    importScripts: config.importScripts.filter((script) => script.processGroup === group.name).map((script) => ({ ...script, processGroup: undefined })),
    processGroup: group.name,
    daemons: [],
    threads: group.threads,
    processes: group.processes,
    multiprocess: group.multiprocess,
    python: group.python,
    pythonHome: group.pythonHome,
    pythonPath: group.pythonPath,
    gracefulTimeout: group.gracefulTimeout,
    requestTimeout: group.requestTimeout,
    maximumRequests: group.maximumRequests,
    restartInterval: group.restartInterval,
    queueTimeout: group.queueTimeout,
    deadlockTimeout: group.deadlockTimeout,
    queueLimit: group.queueLimit,
    // mod_wsgi: a daemon group's processes run as its user=/group=, else as Apache's User/Group.
    user: group.user ?? config.user,
    // Its processes' own lines go where mod_wsgi's go: the ErrorLog of the host defining the group.
    errorLog: group.errorLog,
    logLevel: group.logLevel,
    group: group.group ?? config.group,
    // The front logs the access (once, as Apache does) and answers the status page; the daemon has the error log only.
    accessLog: undefined,
    serverStatus: undefined,
    // Only the fronts connect, over connections they pool and close when idle; the front's own head
    // passed the limits, plus FRONT_HEADER and an Expect it may add.
    limitRequestFields: config.limitRequestFields + 2,
    keepAliveTimeout: 3600,
    maxKeepAliveRequests: 0,
    maxConnections: 0,
  };
}
