// Which process runs what, when the site has daemon process groups: a front process serves the HTTP
// port and runs the embedded group's routes itself; a daemon process runs its group's routes only,
// with the group's Python, threads and limits, behind its private socket.
import type { DaemonGroupConfig, ServerConfig } from "../config.ts";

/** Python is loaded in a front only for the embedded group's routes and import scripts. */
export function frontNeedsPython(config: ServerConfig): boolean {
  return config.aliases.some((alias) => !alias.processGroup) || config.importScripts.some((script) => !script.processGroup);
}

/** The configuration a process of daemon group `group` serves with. */
export function daemonServerConfig(config: ServerConfig, group: DaemonGroupConfig): ServerConfig {
  const mine = <T extends { processGroup?: string }>(items: T[]) =>
    items.filter((item) => item.processGroup === group.name).map((item) => ({ ...item, processGroup: undefined }));
  return {
    ...config,
    // Its routes run here; it routes as the front does (a subset in the same order picks the same alias).
    aliases: mine(config.aliases),
    importScripts: mine(config.importScripts),
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
    // The front logs the access (once, as Apache does); the daemon has the error log only.
    accessLog: undefined,
    // Only the fronts connect, over connections they pool and close when idle; the front's own head
    // passed the limits, plus FRONT_HEADER and an Expect it may add.
    limitRequestFields: config.limitRequestFields + 2,
    keepAliveTimeout: 3600,
    maxKeepAliveRequests: 0,
    maxConnections: 0,
    trustedProxies: config.trustedProxies,
  };
}
