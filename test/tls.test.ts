// HTTPS: --https-port with --ssl-certificate-file/--ssl-certificate-key-file (and the chain file), and
// a configuration's `Listen N https` with a virtual host's SSLEngine on and SSLCertificate*File; the
// app sees wsgi.url_scheme https (and, as under mod_wsgi, no HTTPS variable); what cannot work is
// said before anything starts.
// Certificates are made here with openssl.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { mkdirSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { cleanupTemps, fixture, freePort, run, type RunningServer, start, tempDir } from "./helpers/server.ts";

afterAll(cleanupTemps);

const insecure = { tls: { rejectUnauthorized: false } } as RequestInit;

function certificate(dir: string, name: string): { cert: string; key: string } {
  const cert = join(dir, `${name}.crt`);
  const key = join(dir, `${name}.key`);
  const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", key, "-out", cert, "-days", "2", "-subj", `/CN=${name}`], { stdout: "pipe", stderr: "pipe" });
  if (made.exitCode !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
  return { cert, key };
}

/** The certificates a TLS server presents, as `openssl s_client -showcerts` sees them. */
async function presented(port: number, serverName = "localhost"): Promise<string[]> {
  const proc = Bun.spawn(["openssl", "s_client", "-connect", `127.0.0.1:${port}`, "-servername", serverName, "-showcerts"], { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  proc.stdin.end();
  const out = await new Response(proc.stdout).text();
  await proc.exited;
  return [...out.matchAll(/^ *\d+ s:(.*)$/gm)].map((m) => m[1]!.replace(/\s*=\s*/g, "=").trim());
}

function httpsPort(server: RunningServer): number {
  return Number(/listening on [^\n]*https:\/\/[^\s/]+:(\d+)\//.exec(server.log())![1]);
}

const dir = tempDir("wsgi-bin-tls-");
let site: { cert: string; key: string };
let chain: { cert: string; key: string };
beforeAll(() => {
  site = certificate(dir, "localhost");
  chain = certificate(dir, "intermediate");
});

describe("--https-port", () => {
  let server: RunningServer;
  beforeAll(async () => {
    server = await start({
      args: ["--alias", `/env=${fixture("environ.wsgi")}`, "--https-port", "0", "--ssl-certificate-file", site.cert,
        "--ssl-certificate-key-file", site.key, "--ssl-certificate-chain-file", chain.cert],
    });
  });
  afterAll(() => server?.stop());

  test("serves the same routes over TLS: wsgi.url_scheme https, its own port; plain HTTP stays plain", async () => {
    const port = httpsPort(server);
    expect(port).not.toBe(server.port);
    const secure = await (await fetch(`https://127.0.0.1:${port}/env/x`, insecure)).json();
    expect(secure["wsgi.url_scheme"]).toBe("https");
    expect(secure.REQUEST_SCHEME).toBe("https");
    expect(secure.HTTPS).toBeUndefined(); // mod_wsgi removes it: wsgi.url_scheme says it (checked against Apache + mod_ssl)
    expect(secure.SERVER_PORT).toBe(String(port));
    expect(secure.PATH_INFO).toBe("/x");
    const plain = await (await fetch(`${server.url}/env/x`)).json();
    expect(plain["wsgi.url_scheme"]).toBe("http");
    expect(plain.HTTPS).toBeUndefined();
    // Plain HTTP to the TLS port is no request it can read.
    expect(fetch(`http://127.0.0.1:${port}/env`)).rejects.toThrow();
  });

  test("curl verifies the certificate against itself, and the chain file's certificate follows it", async () => {
    const port = httpsPort(server);
    const curl = Bun.spawnSync(["curl", "-s", "--cacert", site.cert, "--resolve", `localhost:${port}:127.0.0.1`, `https://localhost:${port}/env`], { stdout: "pipe", stderr: "pipe" });
    expect(curl.exitCode).toBe(0);
    expect(JSON.parse(curl.stdout.toString())["wsgi.url_scheme"]).toBe("https");
    expect(await presented(port)).toEqual(["CN=localhost", "CN=intermediate"]);
  });
});

describe("a configuration's Listen ... https and <VirtualHost> with SSLEngine on", () => {
  let server: RunningServer;
  let http: number;
  let https: number;
  let docs: string;
  let conf: string;
  beforeAll(async () => {
    http = await freePort();
    https = await freePort();
    docs = join(dir, "docs");
    mkdirSync(docs, { recursive: true });
    writeFileSync(join(docs, "page.txt"), "over TLS\n");
    conf = join(dir, "site.conf");
    writeFileSync(conf, `Listen 127.0.0.1:${http}
Listen 127.0.0.1:${https} https
<VirtualHost *:${http}>
    ServerName plain.example
    Redirect permanent / https://secure.example:${https}/
</VirtualHost>
<VirtualHost *:${https}>
    ServerName secure.example
    SSLEngine on
    SSLCertificateFile ${site.cert}
    SSLCertificateKeyFile ${site.key}
    DocumentRoot ${docs}
    WSGIScriptAlias /env ${fixture("environ.wsgi")}
</VirtualHost>
`);
    server = await start({ args: ["--config", conf, "--port", String(http)] });
  });
  afterAll(() => server?.stop());

  test("--check-config shows the TLS listener with its certificate and the host's SSLEngine", async () => {
    const r = await run(["--config", conf, "--check-config"]);
    expect(r.code).toBe(0);
    expect(r.stderr).toBe("");
    expect(r.stdout).toContain(`  127.0.0.1:${https} https (certificate ${site.cert}, key ${site.key})`);
    expect(r.stdout).toContain(`  SSLEngine on: certificate ${site.cert}, key ${site.key}`);
    expect(r.stdout).toMatch(new RegExp(`^Served: http 127\\.0\\.0\\.1:${http} \\(plain\\.example\\); https 127\\.0\\.0\\.1:${https} \\(secure\\.example\\);`, "m"));
  });

  test("the https virtual host serves its routes and files over TLS; the http one redirects to it", async () => {
    const env = await (await fetch(`https://127.0.0.1:${https}/env`, insecure)).json();
    expect(env["wsgi.url_scheme"]).toBe("https");
    expect(env.HTTPS).toBeUndefined();
    expect(env["mod_wsgi.application_group"]).toBe(`secure.example:${https}|/env`);
    const page = await fetch(`https://127.0.0.1:${https}/page.txt`, insecure);
    expect(page.headers.get("content-type")).toBe("text/plain");
    expect(await page.text()).toBe("over TLS\n");
    const redirect = await fetch(`http://127.0.0.1:${http}/page.txt`, { redirect: "manual" });
    expect(redirect.status).toBe(301);
    expect(redirect.headers.get("location")).toBe(`https://secure.example:${https}/page.txt`);
  });
});

describe("TLS that cannot work is refused before serving", () => {
  const hello = fixture("hello.wsgi");

  test("--help lists the flags with their directives", async () => {
    const r = await run(["--help"]);
    for (const flag of ["--https-port N", "--ssl-certificate-file FILE", "--ssl-certificate-key-file FILE", "--ssl-certificate-chain-file FILE", "SSLCertificateFile", "SSLCertificateKeyFile", "SSLCertificateChainFile"]) {
      expect(r.stdout).toContain(flag);
    }
  });

  test("--https-port needs both files; the files must exist; the ssl flags need --https-port; not with --config", async () => {
    const cases: [string[], RegExp][] = [
      [["--https-port", "0"], /--https-port needs --ssl-certificate-file FILE and --ssl-certificate-key-file FILE/],
      [["--https-port", "0", "--ssl-certificate-file", site.cert], /--https-port needs/],
      [["--https-port", "0", "--ssl-certificate-file", "/nonexistent.pem", "--ssl-certificate-key-file", site.key], /--ssl-certificate-file: file '\/nonexistent\.pem' does not exist or is empty/],
      [["--ssl-certificate-file", site.cert], /go with --https-port N/],
      [["--https-port", "8000", "--port", "8000", "--ssl-certificate-file", site.cert, "--ssl-certificate-key-file", site.key], /--https-port 8000 is the --port too/],
    ];
    for (const [args, message] of cases) {
      const r = await run(["--alias", `/=${hello}`, ...args]);
      expect(r.code).toBe(2);
      expect(r.stderr).toMatch(message);
    }
    const withConfig = await run(["--config", fixture("config/access.conf"), "--https-port", "0"]);
    expect(withConfig.code).toBe(2);
    expect(withConfig.stderr).toContain("--https-port cannot be combined with --config");
  });

  test("a key that is not the certificate's: exit 1 naming both files", async () => {
    const other = certificate(dir, "other");
    const r = await run(["--alias", `/=${hello}`, "--port", "0", "--https-port", "0", "--ssl-certificate-file", site.cert, "--ssl-certificate-key-file", other.key], { timeoutMs: 30_000 });
    expect(r.code).toBe(1);
    expect(r.stderr).toContain(`wsgi-bin: TLS on 0.0.0.0:0: certificate ${site.cert} with key ${other.key}: `);
    expect(r.stderr).toMatch(/KEY_VALUES_MISMATCH/);
  });

  test("configuration errors: Listen https with no SSLEngine on its port, SSLEngine on without files, a missing file", async () => {
    const write = (text: string) => {
      const path = join(tempDir("wsgi-bin-tls-conf-"), "site.conf");
      writeFileSync(path, text);
      return path;
    };
    const cases: [string, RegExp][] = [
      [`Listen 8443 https\nWSGIScriptAlias / ${hello}\n`, /site\.conf:1: Listen 0\.0\.0\.0:8443 https: the main server, the default host on port 8443, has no SSLEngine on/],
      [`Listen 8443\n<VirtualHost *:8443>\n  SSLEngine on\n  WSGIScriptAlias / ${hello}\n</VirtualHost>\n`, /site\.conf:3: <VirtualHost \*:8443>: SSLEngine on needs SSLCertificateFile and SSLCertificateKeyFile/],
      [`Listen 8443\n<VirtualHost *:8443>\n  SSLEngine on\n  SSLCertificateFile /nonexistent.pem\n</VirtualHost>\n`, /site\.conf:4: SSLCertificateFile: file '\/nonexistent\.pem' does not exist or is empty/],
    ];
    for (const [text, message] of cases) {
      const r = await run(["--config", write(text), "--check-config"]);
      expect(r.code).toBe(1);
      expect(r.stderr).toMatch(message);
    }
  });
});

describe("--https-port 0 with --processes 2", () => {
  test("the supervisor picks the port once: both processes serve TLS on it", async () => {
    const server = await start({
      args: ["--alias", `/env=${fixture("environ.wsgi")}`, "--processes", "2", "--threads", "2", "--https-port", "0",
        "--ssl-certificate-file", site.cert, "--ssl-certificate-key-file", site.key],
      timeoutMs: 60_000,
    });
    try {
      await server.waitForLog(/listening on [^\n]*https[^\n]*\n[^]*listening on [^\n]*https/, 30_000);
      const ports = new Set([...server.log().matchAll(/https:\/\/[^\s/]+:(\d+)\//g)].map((m) => m[1]));
      expect(ports.size).toBe(1);
      const port = [...ports][0];
      for (let i = 0; i < 4; i++) expect((await (await fetch(`https://127.0.0.1:${port}/env`, insecure)).json())["wsgi.url_scheme"]).toBe("https");
    } finally {
      await server.stop();
    }
  }, 90_000);
});

describe("an HTTPS variable from SetEnv (a TLS-terminating proxy in front)", () => {
  test("decides wsgi.url_scheme as mod_wsgi does ('on' or '1': https) and is not passed on; REQUEST_SCHEME stays the connection's", async () => {
    // The same configuration under Apache 2.4 + mod_wsgi 4.9 gave these (session 9, by hand).
    const dir = tempDir();
    const conf = join(dir, "site.conf");
    writeFileSync(conf, `WSGIScriptAlias / ${fixture("environ.wsgi")}
SetEnv HTTPS on
<Location /one>
  SetEnv HTTPS 1
</Location>
<Location /yes>
  SetEnv HTTPS yes
</Location>
<Location /off>
  SetEnv HTTPS off
</Location>
`);
    const server = await start({ args: ["--config", conf] });
    try {
      const seen: Record<string, unknown[]> = {};
      for (const path of ["/", "/one", "/yes", "/off"]) {
        const env = await (await fetch(`${server.url}${path}`)).json();
        seen[path] = [env["wsgi.url_scheme"], env.REQUEST_SCHEME, env.HTTPS];
      }
      expect(seen).toEqual({
        "/": ["https", "http", undefined], "/one": ["https", "http", undefined], "/yes": ["http", "http", undefined], "/off": ["http", "http", undefined],
      });
    } finally {
      await server.stop();
    }
  });
});
