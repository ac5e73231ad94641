// The servers under test: how each one is configured and started to serve one .wsgi file at "/".
// Every command line holds `{port}` (replaced at start, as scripts/cold-start.ts does) and listens on
// 127.0.0.1 only. All of them run Debian's /usr/bin/python3 (mod_wsgi and uWSGI's python3 plugin link
// its libpython3.11; gunicorn and waitress run under it; wsgi-bin embeds it through --python).
import { mkdirSync, writeFileSync } from "node:fs";
import { basename, dirname, join } from "node:path";

export interface PeerContext {
  /** Repository root. */
  root: string;
  /** Private scratch directory (configs, logs), readable by www-data. */
  tmp: string;
  python: string;
  wsgiBin: string;
}

export interface PeerCommand {
  argv: string[];
  env?: Record<string, string>;
  cwd?: string;
  /** Where the server writes its own error log, if not to stderr (shown when it fails). */
  errorLog?: string;
}

export interface Peer {
  name: string;
  /** The exact settings, printed with the results and in bench/README.md. */
  settings: string;
  /** The Debian packages it needs. */
  packages: string[];
  /** The command serving `app` (an absolute path to a .wsgi file) at "/". May write config files. */
  command(app: string, ctx: PeerContext): PeerCommand;
  /** One line naming the versions in use. */
  version(ctx: PeerContext): Promise<string>;
  /** Not in the default run: only when --peers names it. */
  optional?: boolean;
}

const APACHE_MODULES = "/usr/lib/apache2/modules";

/** A private Apache ServerRoot in ctx.tmp: nothing from /etc/apache2. The port comes from `-c Listen`. */
/** Apache + mod_wsgi embedded mode for one app at /, in a private ServerRoot (also bench/apache-config.ts). */
export function apacheConfig(app: string, ctx: PeerContext): { file: string; errorLog: string } {
  const dir = join(ctx.tmp, `apache-${basename(app, ".wsgi")}`);
  mkdirSync(dir, { recursive: true, mode: 0o755 });
  const errorLog = join(dir, "error.log");
  // Apache refuses to run its children as root: as root, they run as www-data (which must be able to
  // read the apps; the repository is world-readable).
  const user = process.getuid?.() === 0 ? "User www-data\nGroup www-data\n" : "";
  const config = `ServerRoot "${dir}"
ServerName 127.0.0.1
PidFile "${dir}/httpd.pid"
ErrorLog "${errorLog}"
LogLevel warn
Mutex file:${dir}
DefaultRuntimeDir "${dir}"
${user}
# (mod_unixd, for User/Group, is compiled into Debian's httpd.)
LoadModule mpm_event_module ${APACHE_MODULES}/mod_mpm_event.so
LoadModule authz_core_module ${APACHE_MODULES}/mod_authz_core.so
LoadModule wsgi_module ${APACHE_MODULES}/mod_wsgi.so

# event MPM, 2 children x 25 threads, all started up front so no process spawning happens mid-run.
StartServers 2
ServerLimit 2
ThreadsPerChild 25
MaxRequestWorkers 50
MinSpareThreads 50
MaxSpareThreads 50
MaxConnectionsPerChild 0
KeepAlive On
MaxKeepAliveRequests 0
# 1 GiB uploads/downloads must not hit the default 60 s I/O timeout on a loaded machine.
Timeout 300

# Embedded mode: no WSGIDaemonProcess, so the app runs inside the Apache children.
WSGIScriptAlias / "${app}"
<Directory "${dirname(app)}">
  Require all granted
</Directory>
`;
  const file = join(dir, "httpd.conf");
  writeFileSync(file, config);
  return { file, errorLog };
}

function apache(): Peer {
  return {
    name: "apache",
    settings:
      "Apache 2.4 event MPM + mod_wsgi embedded mode: StartServers 2, ServerLimit 2, ThreadsPerChild 25, " +
      "MaxRequestWorkers 50, Min/MaxSpareThreads 50, KeepAlive On, MaxKeepAliveRequests 0, Timeout 300, " +
      "WSGIScriptAlias / APP (default application group: a sub-interpreter per app), LogLevel warn, no access log",
    packages: ["apache2", "libapache2-mod-wsgi-py3"],
    command(app, ctx) {
      const { file, errorLog } = apacheConfig(app, ctx);
      return { argv: ["/usr/sbin/apache2", "-f", file, "-c", "Listen 127.0.0.1:{port}", "-DFOREGROUND"], errorLog };
    },
    async version() {
      return `${await firstLine(["/usr/sbin/apache2", "-v"])} mod_wsgi ${await debVersion("libapache2-mod-wsgi-py3")}`;
    },
  };
}

function uwsgi(): Peer {
  // --http-socket keeps no connection alive yet sends no "Connection: close": without the header, wrk
  // reuses the closed connection and counts a read error per request.
  const flags = ["--master", "--processes", "2", "--threads", "2", "--listen", "1024", "--add-header", "Connection: close", "--die-on-term", "--need-app", "--disable-logging"];
  return {
    name: "uwsgi",
    settings: `uWSGI 2.0 (python3 plugin): --http-socket 127.0.0.1:PORT --wsgi-file APP ${flags.map((f) => (f.includes(" ") ? `"${f}"` : f)).join(" ")}`,
    packages: ["uwsgi", "uwsgi-plugin-python3"],
    command(app) {
      return { argv: ["uwsgi", "--plugin", "python3", "--http-socket", "127.0.0.1:{port}", "--wsgi-file", app, ...flags] };
    },
    async version() {
      return `uWSGI ${await firstLine(["uwsgi", "--version"])} (uwsgi-plugin-python3 ${await debVersion("uwsgi-plugin-python3")})`;
    },
  };
}

/** gunicorn and waitress import a module: bench/apps/wsgi_loader.py executes $BENCH_WSGI_FILE. */
function loaderCommand(app: string, ctx: PeerContext, argv: string[]): PeerCommand {
  return { argv, cwd: join(ctx.root, "bench", "apps"), env: { ...(process.env as Record<string, string>), BENCH_WSGI_FILE: app } };
}

function gunicorn(): Peer {
  const flags = ["--workers", "2", "--worker-class", "sync"];
  return {
    name: "gunicorn",
    settings: `gunicorn: python3 -m gunicorn ${flags.join(" ")} --bind 127.0.0.1:PORT wsgi_loader:application (other settings default: timeout 30, no access log)`,
    packages: ["gunicorn"],
    command(app, ctx) {
      return loaderCommand(app, ctx, [ctx.python, "-m", "gunicorn", ...flags, "--bind", "127.0.0.1:{port}", "wsgi_loader:application"]);
    },
    async version(ctx) {
      return `gunicorn ${await pythonPackageVersion(ctx, "gunicorn")}`;
    },
  };
}

function waitress(): Peer {
  // waitress refuses a body of max-request-body-size (1 GiB by default) or more with 413: the suite's
  // 1 GiB upload needs a larger limit, as a user accepting such uploads would set.
  const flags = ["--threads=4", "--max-request-body-size=2147483648"];
  return {
    name: "waitress",
    settings: `waitress: python3 -m waitress ${flags.join(" ")} --listen=127.0.0.1:PORT wsgi_loader:application (other settings default)`,
    packages: ["python3-waitress"],
    command(app, ctx) {
      return loaderCommand(app, ctx, [ctx.python, "-m", "waitress", ...flags, "--listen=127.0.0.1:{port}", "wsgi_loader:application"]);
    },
    async version(ctx) {
      return `waitress ${await pythonPackageVersion(ctx, "waitress")}`;
    },
  };
}

/**
 * wsgi-bin with its defaults; with `--processes N`, as a user of a GIL-bound app on N cores would pass;
 * with `--threads N`, as a user of an app that waits on I/O would (Apache's ThreadsPerChild, mod_wsgi's
 * threads=); or both, as that user would on N cores (Apache's children times ThreadsPerChild).
 */
function wsgiBin(variant: { processes?: number; threads?: number } = {}): Peer {
  const { processes = 1, threads } = variant;
  const flags = [...(processes > 1 ? ["--processes", String(processes)] : []), ...(threads ? ["--threads", String(threads)] : [])];
  const command = `./wsgi-bin --alias /=APP --host 127.0.0.1 --port PORT --python /usr/bin/python3${flags.length ? ` ${flags.join(" ")}` : ""}`;
  const name = ["wsgi-bin", ...(processes > 1 ? [`p${processes}`] : []), ...(threads ? [`t${threads}`] : [])].join("-");
  return {
    name,
    settings: threads
      ? `wsgi-bin with ${flags.join(" ")} (the documented flags for an app that waits on I/O; each thread is a JavaScript worker, ~4.3 MiB of RSS): ${command}`
      : processes > 1
        ? `wsgi-bin with --processes ${processes} (the documented flag; every peer here runs 2 processes): ${command} (8 threads each)`
        : `wsgi-bin with its defaults: ${command} (one process, 8 threads, log level notice, no access log)`,
    packages: [],
    optional: threads !== undefined,
    command(app, ctx) {
      return { argv: [ctx.wsgiBin, "--alias", `/=${app}`, "--host", "127.0.0.1", "--port", "{port}", "--python", ctx.python, ...flags] };
    },
    async version(ctx) {
      return await firstLine([ctx.wsgiBin, "--version"]);
    },
  };
}

/** Every server the suite knows; those `optional` run only when --peers names them. */
export const PEERS: Peer[] = [apache(), uwsgi(), gunicorn(), waitress(), wsgiBin(), wsgiBin({ processes: 2 }), wsgiBin({ threads: 128 }), wsgiBin({ processes: 2, threads: 64 })];

async function firstLine(argv: string[]): Promise<string> {
  const child = Bun.spawn(argv, { stdout: "pipe", stderr: "pipe" });
  const [out, err] = await Promise.all([new Response(child.stdout).text(), new Response(child.stderr).text(), child.exited]);
  return (out || err).trim().split("\n")[0]!.replace(/^Server version: /, "");
}

async function debVersion(pkg: string): Promise<string> {
  return firstLine(["dpkg-query", "-W", "-f", "${Version}", pkg]);
}

async function pythonPackageVersion(ctx: PeerContext, pkg: string): Promise<string> {
  return firstLine([ctx.python, "-c", `import importlib.metadata as m; print(m.version("${pkg}"))`]);
}
