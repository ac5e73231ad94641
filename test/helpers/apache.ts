// Debian's Apache, run from a private ServerRoot in a temporary directory (nothing of /etc/apache2),
// to serve the same configuration file as wsgi-bin in comparison tests. As root its children run as
// www-data, so what it serves must be world-readable.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import { connect } from "node:net";
import { join } from "node:path";
import type { Subprocess } from "bun";
import { freePort, type RunningServer, sleep, start, tempDir } from "./server.ts";

const APACHE = "/usr/sbin/apache2";
const MODULES = "/usr/lib/apache2/modules";

export interface RunningApache {
  port: number;
  url: string;
  errorLog(): string;
  stop(): Promise<void>;
}

/** Running Apaches, by the configuration file each runs. */
const live = new Map<Subprocess, string>();
process.on("exit", () => {
  for (const [proc, conf] of live) {
    try {
      proc.kill("SIGKILL");
    } catch {}
    killLeftovers(conf);
  }
});

/**
 * mod_wsgi's daemon processes (WSGIDaemonProcess) outlive an Apache stopped with SIGTERM here,
 * holding its listening socket: every process still running this configuration is killed.
 */
function killLeftovers(conf: string): void {
  for (const pid of readdirSync("/proc")) {
    if (!/^\d+$/.test(pid)) continue;
    try {
      if (readFileSync(`/proc/${pid}/cmdline`, "latin1").split("\0").includes(conf)) process.kill(Number(pid), "SIGKILL");
    } catch {} // gone meanwhile
  }
}

function listening(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect(port, "127.0.0.1");
    socket.once("connect", () => {
      socket.destroy();
      resolve(true);
    });
    socket.once("error", () => resolve(false));
  });
}

/**
 * Starts Apache (event MPM) with `modules` loaded, serving `include` (a configuration file) on a free
 * port, also given to it as the environment variable `portVariable` when named (for <VirtualHost *:${PORT}>).
 */
export async function startApache(include: string, modules: string[], env: Record<string, string>, portVariable?: string): Promise<RunningApache> {
  if (!existsSync(APACHE)) throw new Error(`${APACHE} is missing: apt-get install apache2 (as .ci/run does)`);
  const root = tempDir("wsgi-bin-apache-");
  chmodSync(root, 0o755);
  mkdirSync(join(root, "logs")); // mod_wsgi's daemon sockets: WSGISocketPrefix defaults to logs/wsgi
  const port = await freePort();
  const errorLog = join(root, "error.log");
  const user = process.getuid?.() === 0 ? "User www-data\nGroup www-data\n" : "";
  const conf = join(root, "httpd.conf");
  writeFileSync(conf, `ServerRoot "${root}"
ServerName 127.0.0.1
PidFile "${root}/httpd.pid"
ErrorLog "${errorLog}"
LogLevel info
Mutex file:${root}
DefaultRuntimeDir "${root}"
${user}
LoadModule mpm_event_module ${MODULES}/mod_mpm_event.so
${modules.map((name) => `LoadModule ${name}_module ${MODULES}/mod_${name}.so`).join("\n")}
TypesConfig /etc/mime.types
StartServers 1
Listen 127.0.0.1:${port}
Include "${include}"
`);
  const proc: Subprocess = Bun.spawn([APACHE, "-f", conf, "-DFOREGROUND"], {
    env: { ...process.env, ...env, ...(portVariable ? { [portVariable]: String(port) } : {}) } as Record<string, string>,
    stdin: "ignore",
    stdout: "pipe",
    stderr: "pipe",
  });
  live.set(proc, conf);
  const deadline = Date.now() + 20_000;
  while (!(await listening(port))) {
    if (proc.exitCode !== null || Date.now() > deadline) {
      proc.kill("SIGKILL");
      const stderr = await new Response(proc.stderr as ReadableStream).text();
      throw new Error(`Apache did not start: ${stderr}\n${existsSync(errorLog) ? readFileSync(errorLog, "utf8") : ""}`);
    }
    await sleep(50);
  }
  return {
    port,
    url: `http://127.0.0.1:${port}`,
    errorLog: () => (existsSync(errorLog) ? readFileSync(errorLog, "utf8") : ""),
    async stop() {
      proc.kill("SIGTERM");
      const timer = setTimeout(() => proc.kill("SIGKILL"), 10_000);
      await proc.exited;
      clearTimeout(timer);
      live.delete(proc);
      killLeftovers(conf);
    },
  };
}

export interface BothServers {
  ours: RunningServer;
  apache: RunningApache;
  stop(): Promise<void>;
}

/**
 * The same configuration file served by wsgi-bin and by Apache (with `modules`), for comparison tests:
 * each on its own free port, given to it as ${PORT}; `env` given to both, `ownEnv` to each alone.
 */
export async function startBoth(config: string, modules: string[], env: Record<string, string>,
    ownEnv: { ours?: Record<string, string>; apache?: Record<string, string> } = {}): Promise<BothServers> {
  const port = await freePort();
  const ours = await start({ args: ["--config", config, "--port", String(port)], env: { ...env, ...ownEnv.ours, PORT: String(port) } });
  const apache = await startApache(config, modules, { ...env, ...ownEnv.apache }, "PORT");
  return {
    ours,
    apache,
    async stop() {
      await ours.stop();
      await apache.stop();
    },
  };
}
