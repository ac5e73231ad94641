// A certificate per name-based virtual host on one TLS port (SNI): the same configuration
// (fixtures/site/sni.conf) served by Apache 2.4 + mod_ssl + mod_wsgi and by wsgi-bin, the same
// handshakes and requests sent to both with `openssl s_client`, and what each answered compared:
// the certificate presented, the status, the host that served, SSL_TLS_SNI, mod_ssl's 421 and 400.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { chmodSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { type RunningApache, startApache } from "./helpers/apache.ts";
import { cleanupTemps, fixture, freePort, run, type RunningServer, start, tempDir } from "./helpers/server.ts";

afterAll(cleanupTemps);

const FIXTURES = fixture(".");

function certificate(dir: string, name: string): void {
  const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
    "-keyout", join(dir, `${name}.key`), "-out", join(dir, `${name}.crt`), "-days", "2", "-subj", `/CN=${name}`], { stdout: "pipe", stderr: "pipe" });
  if (made.exitCode !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
}

interface Answer {
  /** The CN of the certificate the handshake presented. */
  certificate: string | undefined;
  /** Each response's status line, in order (pipelined requests: several). */
  statuses: string[];
  /** The first response, whole (its head and body). */
  raw: string;
  /** The app's environ, where a request reached environ.wsgi. */
  environ: Record<string, unknown> | null;
}

/** A TLS connection to 127.0.0.1:port sending `name` as SNI (none if null), then `requests` as they are. */
async function ask(port: number, name: string | null, requests: string): Promise<Answer> {
  const proc = Bun.spawn(["openssl", "s_client", "-brief", "-ign_eof", "-connect", `127.0.0.1:${port}`, ...(name ? ["-servername", name] : ["-noservername"])],
    { stdin: "pipe", stdout: "pipe", stderr: "pipe" });
  proc.stdin.write(requests);
  proc.stdin.end();
  const timer = setTimeout(() => proc.kill(), 10_000);
  const [raw, summary] = await Promise.all([new Response(proc.stdout).text(), new Response(proc.stderr).text()]);
  clearTimeout(timer);
  await proc.exited;
  const certificate = /^Peer certificate: .*CN ?= ?([\w.-]+)/m.exec(summary)?.[1];
  // Not only at a line's start: a status line follows a JSON body that ends without a newline.
  const statuses = [...raw.matchAll(/HTTP\/1\.\d (\d{3}[^\r\n]*)\r\n/g)].map((m) => m[1]!);
  const json = /\r\n\r\n(\{.*\})/s.exec(raw)?.[1];
  return { certificate, statuses, raw, environ: json ? JSON.parse(json.slice(0, json.indexOf("}}") + 2)) : null };
}

const get = (host: string | null, path = "/env", protocol = "HTTP/1.1", close = true) =>
  `GET ${path} ${protocol}\r\n${host === null ? "" : `Host: ${host}\r\n`}${close ? "Connection: close\r\n" : ""}\r\n`;

/** [SNI, request(s), what it shows]. */
const CASES: [string | null, string, string][] = [
  ["a.test", get("a.test"), "the default host's name: its certificate and routes"],
  ["b.test", get("b.test"), "another host's name: that host's certificate"],
  ["x.b.test", get("x.b.test"), "a name matching a host's wildcard ServerAlias"],
  ["B.TEST", get("b.test"), "names compared without case"],
  ["c.test", get("c.test"), "a host sharing the default's certificate"],
  ["unknown.test", get("unknown.test"), "a name no host has: the default host's certificate and routes"],
  [null, get("a.test"), "no SNI: the default host"],
  [null, get(null, "/env", "HTTP/1.0"), "no SNI and no Host (HTTP/1.0): the default host"],
  [null, get("b.test"), "no SNI, and a Host whose certificate the handshake did not present: 421"],
  ["b.test", get("a.test"), "SNI and Host naming hosts with different certificates: 421"],
  ["a.test", get("b.test:443"), "the same, the Host with a port: 421"],
  ["a.test", get("c.test"), "SNI and Host naming two hosts of one certificate: served by the Host's"],
  ["c.test", get("a.test"), "the same the other way"],
  ["b.test", get(null, "/env", "HTTP/1.0"), "SNI, then a request without Host: 400"],
  ["b.test", get("B.test:443"), "SNI and a Host naming the same host in other case, with a port"],
  ["d.test", get("d.test"), "a host without SSLEngine on, named in SNI: served, with the default certificate"],
  [null, get("d.test"), "a host without SSLEngine on, not named in SNI: 421"],
  ["b.test", get("b.test", "/env", "HTTP/1.1", false) + get("a.test", "/env", "HTTP/1.1", false) + get("b.test"), "pipelined: a 421 ends the connection"],
  ["b.test", get("b.test", "/nowhere", "HTTP/1.1", false) + get("b.test"), "pipelined, the same host: the connection goes on"],
  ["x.b.test", get("x.b.test", "/daemon"), "a daemon process group's request gets SSL_TLS_SNI too"],
];

describe("a certificate per virtual host (SNI), through Apache + mod_ssl and through wsgi-bin", () => {
  let ours: RunningServer;
  let apache: RunningApache;
  let ports: { ours: number; apache: number };
  const answers = new Map<number, [Answer, Answer]>();

  beforeAll(async () => {
    const certs = tempDir("wsgi-bin-sni-");
    chmodSync(certs, 0o755);
    certificate(certs, "a.test");
    certificate(certs, "b.test");
    ports = { ours: await freePort(), apache: await freePort() };
    // Each on its own TLS port: the configuration's one Listen (ours: --port names it, as it must).
    const conf = fixture("site/sni.conf");
    ours = await start({ args: ["--config", conf, "--port", String(ports.ours)], env: { FIXTURES, CERTS: certs, HTTPS_PORT: String(ports.ours) } });
    apache = await startApache(conf, ["authz_core", "alias", "env", "mime", "socache_shmcb", "ssl", "wsgi"], { FIXTURES, CERTS: certs, HTTPS_PORT: String(ports.apache) });
    for (const [index, [name, requests]] of CASES.entries()) {
      answers.set(index, [await ask(ports.apache, name, requests), await ask(ports.ours, name, requests)]);
    }
  }, 120_000);
  afterAll(async () => {
    await ours?.stop();
    await apache?.stop();
  }, 30_000);

  for (const [index, [name, , what]] of CASES.entries()) {
    test(`SNI ${name ?? "(none)"}: ${what}`, () => {
      const [theirs, mine] = answers.get(index)!;
      expect(theirs.statuses.length).toBeGreaterThan(0); // Apache answered: the comparison means something
      expect(mine.certificate).toBe(theirs.certificate!);
      expect({ index, statuses: mine.statuses }).toEqual({ index, statuses: theirs.statuses });
      const shown = (environ: Record<string, unknown> | null) =>
        environ && { WHICH: environ.WHICH, SSL_TLS_SNI: environ.SSL_TLS_SNI, SERVER_NAME: environ.SERVER_NAME, HTTPS: environ.HTTPS, scheme: environ["wsgi.url_scheme"] };
      expect(shown(mine.environ)).toEqual(shown(theirs.environ));
    });
  }

  test("the expected answers, as Apache gave them", () => {
    const mine = (index: number) => answers.get(index)![1];
    expect(mine(1).certificate).toBe("b.test");
    expect(mine(2).environ?.WHICH).toBe("b");
    expect(mine(2).environ?.SSL_TLS_SNI).toBe("x.b.test");
    expect(mine(5).certificate).toBe("a.test");
    expect(mine(8).statuses).toEqual(["421 Misdirected Request"]);
    expect(mine(11).environ?.WHICH).toBe("c");
    expect(mine(13).statuses).toEqual(["400 Bad Request"]);
    expect(mine(17).statuses).toEqual(["200 OK", "421 Misdirected Request"]);
    expect(mine(18).statuses).toEqual(["404 Not Found", "200 OK"]);
    expect(mine(19).environ?.SSL_TLS_SNI).toBe("x.b.test");
  });

  test("421 and 400 are Apache's pages", () => {
    const page = (answer: Answer) => answer.raw.split("\r\n\r\n")[1];
    // The header lines as a set (the order of Apache's own is not kept by wsgi-bin's error pages), Connection: close among them.
    const head = (answer: Answer) => answer.raw.split("\r\n\r\n")[0]!.split("\r\n").filter((line) => !/^(Date|Server):/.test(line)).sort();
    for (const index of [8, 13]) {
      const [theirs, mine] = answers.get(index)!;
      expect(page(mine)).toBe(page(theirs)!);
      expect(head(mine)).toEqual(head(theirs));
    }
  });

  test("the error log says why, as mod_ssl's does", () => {
    const log = ours.log();
    const apacheLog = apache.errorLog();
    for (const message of [
      "AH02032: Hostname a.test (default host as no SNI was provided) and hostname b.test provided via HTTP have no compatible SSL setup for policy 'secure'",
      "AH02032: Hostname b.test provided via SNI and hostname a.test provided via HTTP have no compatible SSL setup for policy 'secure'",
      "AH02031: Hostname b.test provided via SNI, but no hostname provided in HTTP request",
    ]) {
      expect(apacheLog).toContain(message);
      expect(log).toContain(message);
    }
    expect(log).toMatch(/\[wsgi:error\] \[pid \d+:tid \d+\] \[client 127\.0\.0\.1:\d+\] AH02032: Hostname a\.test provided via SNI and hostname b\.test provided/);
  });
});

/** [the configuration, the default host's SSLStrictSNIVHostCheck, SNI, the Host (null: HTTP/1.0 without one), what it shows]. */
const STRICT_CASES: [conf: string, defaultStrict: "on" | "off", sni: string | null, host: string | null, what: string][] = [
  ["sni-strict.conf", "off", null, "s1.test", "no SNI, the default host (off): served"],
  ["sni-strict.conf", "off", null, "s4.test", "no SNI, a host with it on (the default's certificate): 403"],
  ["sni-strict.conf", "off", null, "s2.test", "no SNI, a host with it on and its own certificate: 403, before the 421"],
  ["sni-strict.conf", "off", null, "s3.test", "no SNI, a host with it off: served"],
  ["sni-strict.conf", "off", "s4.test", "s4.test", "SNI naming the host with it on: served"],
  ["sni-strict.conf", "off", "s1.test", "s4.test", "SNI naming another host of the same certificate: served"],
  ["sni-strict.conf", "off", null, null, "no SNI, no Host: the default host, served"],
  ["sni-strict.conf", "on", null, "s1.test", "on in the default host: no SNI is refused for it"],
  ["sni-strict.conf", "on", null, "s3.test", "on in the default host: no SNI is refused for a host with it off too"],
  ["sni-strict.conf", "on", null, null, "on in the default host: no SNI and no Host, refused"],
  ["sni-strict.conf", "on", "s3.test", "s3.test", "on in the default host, SNI naming another host: served"],
  ["sni-strict-one.conf", "on", null, "s1.test", "the only host of its port (no name-based hosts): no SNI is served"],
];

describe("SSLStrictSNIVHostCheck, through Apache + mod_ssl and through wsgi-bin", () => {
  const answers = new Map<number, [Answer, Answer]>();
  const logs: [string, string][] = [];

  beforeAll(async () => {
    const certs = tempDir("wsgi-bin-sni-strict-");
    chmodSync(certs, 0o755);
    certificate(certs, "a.test");
    certificate(certs, "b.test");
    const settings = [...new Set(STRICT_CASES.map(([conf, strict]) => `${conf} ${strict}`))];
    for (const setting of settings) {
      const [conf, strict] = setting.split(" ") as [string, string];
      const ports = { ours: await freePort(), apache: await freePort() };
      const env = { FIXTURES, CERTS: certs, DEFAULT_STRICT: strict };
      const ours = await start({ args: ["--config", fixture(`site/${conf}`), "--port", String(ports.ours), "--log-level", "info"], env: { ...env, HTTPS_PORT: String(ports.ours) } });
      const apache = await startApache(fixture(`site/${conf}`), ["authz_core", "alias", "env", "mime", "socache_shmcb", "ssl", "wsgi"], { ...env, HTTPS_PORT: String(ports.apache) });
      try {
        for (const [index, [caseConf, caseStrict, name, host]] of STRICT_CASES.entries()) {
          if (caseConf !== conf || caseStrict !== strict) continue;
          const request = get(host, "/env", host === null ? "HTTP/1.0" : "HTTP/1.1");
          answers.set(index, [await ask(ports.apache, name, request), await ask(ports.ours, name, request)]);
        }
        logs.push([apache.errorLog(), ours.log()]);
      } finally {
        await ours.stop();
        await apache.stop();
      }
    }
  }, 120_000);

  for (const [index, [conf, strict, name, host, what]] of STRICT_CASES.entries()) {
    test(`${conf}, default ${strict}, SNI ${name ?? "(none)"}, Host ${host ?? "(none)"}: ${what}`, () => {
      const [theirs, mine] = answers.get(index)!;
      expect(theirs.statuses.length).toBeGreaterThan(0);
      expect({ index, statuses: mine.statuses }).toEqual({ index, statuses: theirs.statuses });
      expect(mine.statuses[0]).toBe(what.includes("403") || what.includes("refused") ? "403 Forbidden" : "200 OK");
      expect(mine.environ?.WHICH).toBe(theirs.environ?.WHICH as string | undefined);
    });
  }

  test("the 403 is Apache's page, with mod_ssl's reason", () => {
    const [theirs, mine] = answers.get(1)!;
    const page = (answer: Answer) => answer.raw.split("\r\n\r\n")[1];
    const head = (answer: Answer) => answer.raw.split("\r\n\r\n")[0]!.split("\r\n").filter((line) => !/^(Date|Server):/.test(line)).sort();
    expect(page(mine)).toContain("Reason: The client software did not provide a hostname using Server Name Indication (SNI)");
    expect(page(mine)).toBe(page(theirs)!);
    expect(head(mine)).toEqual(head(theirs));
  });

  test("the error log says why, at info, as mod_ssl does", () => {
    const line = /\[(ssl|wsgi):info\] \[pid \d+:tid \d+\] \[client 127\.0\.0\.1:\d+\] AH02033: No hostname was provided via SNI for a name based virtual host/g;
    for (const [theirs, mine] of logs) expect((mine.match(line) ?? []).length).toBe((theirs.match(line) ?? []).length);
    expect(logs.map(([, mine]) => (mine.match(line) ?? []).length)).toEqual([2, 3, 0]);
  });
});

describe("certificates per name that cannot work are refused before serving", () => {
  test("a virtual host with SSLEngine on but no certificate; a certificate whose key is another's", async () => {
    const dir = tempDir("wsgi-bin-sni-bad-");
    certificate(dir, "a.test");
    certificate(dir, "b.test");
    const port = await freePort();
    const host = (name: string, cert: string, key: string) =>
      `<VirtualHost *:${port}>\n  ServerName ${name}\n  DocumentRoot ${dir}\n  SSLEngine on\n${cert ? `  SSLCertificateFile ${join(dir, cert)}\n` : ""}${key ? `  SSLCertificateKeyFile ${join(dir, key)}\n` : ""}</VirtualHost>\n`;
    const noFiles = join(dir, "no-files.conf");
    writeFileSync(noFiles, `Listen 127.0.0.1:${port} https\n${host("a.test", "a.test.crt", "a.test.key")}${host("b.test", "", "")}`);
    const refused = await run(["--config", noFiles, "--check-config"]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("b.test");
    expect(refused.stderr).toContain("SSLEngine on needs SSLCertificateFile and SSLCertificateKeyFile");

    const wrongKey = join(dir, "wrong-key.conf");
    writeFileSync(wrongKey, `Listen 127.0.0.1:${port} https\n${host("a.test", "a.test.crt", "a.test.key")}${host("b.test", "b.test.crt", "a.test.key")}`);
    const failed = await run(["--config", wrongKey]);
    expect(failed.code).toBe(1);
    expect(failed.stderr).toContain(`certificate ${join(dir, "b.test.crt")} with key ${join(dir, "a.test.key")}`);
  });

  test("--check-config no longer warns that a second certificate on a port is left out", async () => {
    const dir = tempDir("wsgi-bin-sni-check-");
    certificate(dir, "a.test");
    certificate(dir, "b.test");
    const conf = join(dir, "two.conf");
    const port = await freePort();
    writeFileSync(conf, `Listen 127.0.0.1:${port} https\n` + ["a.test", "b.test"].map((name) =>
      `<VirtualHost *:${port}>\n  ServerName ${name}\n  SSLEngine on\n  SSLCertificateFile ${join(dir, `${name}.crt`)}\n  SSLCertificateKeyFile ${join(dir, `${name}.key`)}\n</VirtualHost>\n`).join(""));
    const checked = await run(["--config", conf, "--check-config"]);
    expect(checked.code).toBe(0);
    expect(checked.stderr).toBe("");
  });
});
