// Large request bodies read by the worker from the socket itself (RequestBody.handOver): the bytes that
// came with the head go through the channel, the rest straight from a duplicate of the socket into
// Python. These check that nothing is lost, reordered or over-read: pipelined requests after such a
// body, every way of reading wsgi.input, reads that stop early, a client that leaves or stalls, Expect:
// 100-continue, TLS (where the body stays on the channel) and a daemon group.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { createHash, randomBytes } from "node:crypto";
import { mkdtempSync, rmSync } from "node:fs";
import { connect } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fixture, getJson, type RunningServer, sleep, start } from "./helpers/server.ts";
import { WireClient } from "./helpers/wire-client.ts";

const APP = fixture("direct-body.wsgi");
const md5 = (bytes: Uint8Array) => createHash("md5").update(bytes).digest("hex");

/** Random bytes with a few newlines, so that readline() has lines to find. */
function body(size: number): Uint8Array<ArrayBuffer> {
  const bytes = new Uint8Array(randomBytes(size));
  for (let i = 1000; i < size; i += 7919) bytes[i] = 0x0a;
  return bytes;
}

function post(path: string, length: number, extra = ""): string {
  return `POST ${path} HTTP/1.1\r\nHost: t\r\nContent-Length: ${length}\r\n${extra}\r\n`;
}

let server: RunningServer;
beforeAll(async () => {
  server = await start({ args: ["--alias", `/=${APP}`, "--threads", "4"] });
});
afterAll(() => server?.stop());

describe("a large body read by the worker from the socket", () => {
  test("pipelined: two large bodies and a GET on one connection, each answered from its own bytes", async () => {
    const first = body(1_500_000);
    const second = body(700_001);
    const client = new WireClient(server.port);
    await client.send(Buffer.concat([
      Buffer.from(post("/digest?read64k", first.length)), first,
      Buffer.from(post("/digest?mixed", second.length)), second,
      Buffer.from("GET /digest?all HTTP/1.1\r\nHost: t\r\n\r\n"),
    ]));
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await client.response());
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.map((a) => JSON.parse(a.body.toString()))).toEqual([
      { bytes: first.length, md5: md5(first) },
      { bytes: second.length, md5: md5(second) },
      { bytes: 0, md5: md5(new Uint8Array(0)) },
    ]);
    expect(answers.every((a) => a.header("connection") !== "close")).toBe(true);
    expect(await client.closed(300)).toBe(false); // still open for more
    client.close();
  });

  test("heads longer than the first 16 KiB looked at, and one whose blank line straddles it, sent with their bodies in one write", async () => {
    // The connection looks for a head's end in the first 16 KiB before decoding more (connection.ts headText).
    const padded = (length: number, size: number) => {
      const bare = post("/digest?read64k", length);
      const left = size - bare.length;
      const lines = Math.ceil(left / 6000); // each under LimitRequestFieldSize
      const pads = Array.from({ length: lines }, (_, i) => {
        const name = `X-Pad-${i}: `;
        const line = Math.floor(left / lines) + (i === 0 ? left % lines : 0);
        return name + "p".repeat(line - name.length - 2) + "\r\n";
      });
      const head = post("/digest?read64k", length, pads.join(""));
      expect(head.length).toBe(size);
      return head;
    };
    const bodies = [body(900_000), body(600_000), body(300_000)];
    const heads = [padded(bodies[0]!.length, 20_000), padded(bodies[1]!.length, 16_386), padded(bodies[2]!.length, 16_384)];
    expect(heads[1]!.slice(16_382, 16_386)).toBe("\r\n\r\n");
    const client = new WireClient(server.port);
    await client.send(Buffer.concat(heads.flatMap((head, i) => [Buffer.from(head), bodies[i]!])));
    const answers = [];
    for (let i = 0; i < 3; i++) answers.push(await client.response());
    expect(answers.map((a) => a.status)).toEqual([200, 200, 200]);
    expect(answers.map((a) => JSON.parse(a.body.toString()))).toEqual(bodies.map((b) => ({ bytes: b.length, md5: md5(b) })));
    client.close();
  });

  test("every way of reading wsgi.input gets the whole body: read(), iteration by lines, mixed sizes, 64 KiB reads", async () => {
    const bytes = body(2_000_003);
    for (const how of ["all", "lines", "mixed", "read64k"]) {
      const answer = await getJson(`${server.url}/digest?${how}`, { method: "POST", body: bytes });
      expect({ how, ...answer }).toEqual({ how, bytes: bytes.length, md5: md5(bytes) });
    }
  });

  test("four large uploads at once each arrive whole", async () => {
    const bodies = [0, 1, 2, 3].map((i) => body(6_000_000 + i));
    const answers = await Promise.all(bodies.map((b) => getJson(`${server.url}/digest?read64k`, { method: "POST", body: b })));
    expect(answers).toEqual(bodies.map((b) => ({ bytes: b.length, md5: md5(b) })));
  });

  test("an app that reads part of the body: little left is dropped and the connection kept, much left closes it; an ignored 1 MiB body keeps it", async () => {
    const bytes = body(1 << 20);
    const client = new WireClient(server.port);
    await client.send(Buffer.concat([Buffer.from(post(`/partial?${bytes.length - 10_000}`, bytes.length)), bytes]));
    const kept = await client.response();
    expect(JSON.parse(kept.body.toString())).toEqual({ bytes: bytes.length - 10_000 });
    expect(kept.header("connection")).not.toBe("close");
    await client.send("GET /digest?all HTTP/1.1\r\nHost: t\r\n\r\n"); // after the dropped 10,000 bytes
    expect(JSON.parse((await client.response()).body.toString())).toEqual({ bytes: 0, md5: md5(new Uint8Array(0)) });
    client.close();

    const large = body(4 << 20); // more than the HTTP thread reads ahead (1 MiB): most is never read
    const early = new WireClient(server.port);
    await early.send(Buffer.concat([Buffer.from(post("/partial?100000", large.length)), large]));
    const closing = await early.response();
    expect(JSON.parse(closing.body.toString())).toEqual({ bytes: 100_000 });
    expect(closing.header("connection")).toBe("close");
    expect(await early.closed()).toBe(true);

    const ignored = new WireClient(server.port);
    await ignored.send(Buffer.concat([Buffer.from(post("/ignore", bytes.length)), bytes]));
    const answer = await ignored.response();
    expect(answer.status).toBe(200);
    await ignored.send("GET /digest?all HTTP/1.1\r\nHost: t\r\n\r\n"); // read on and dropped while the app ran, as before
    expect(JSON.parse((await ignored.response()).body.toString())).toEqual({ bytes: 0, md5: md5(new Uint8Array(0)) });
    ignored.close();
    expect(await getJson(`${server.url}/digest?all`)).toEqual({ bytes: 0, md5: md5(new Uint8Array(0)) });
  });

  test("a client leaving mid-body: the app's read raises, the server serves on", async () => {
    const from = server.log().length;
    const socket = connect(server.port, "127.0.0.1");
    await new Promise((resolve) => socket.once("connect", resolve));
    socket.write(post("/catch", 4 << 20));
    socket.write(body(600_000));
    await sleep(500); // the app is reading from the socket by now
    socket.destroy();
    await server.waitForLog(/./, 100, from).catch(() => {}); // nothing is logged for a read the app catches
    let last = null;
    for (let i = 0; i < 50 && !last; i++) {
      last = (await getJson(`${server.url}/last`)).error;
      if (!last) await sleep(100);
    }
    expect(last).toMatch(/^ClientDisconnected: client (closed the connection|connection failed) while the request body was read/);
    const bytes = body(300_000);
    expect(await getJson(`${server.url}/digest?read64k`, { method: "POST", body: bytes })).toEqual({ bytes: bytes.length, md5: md5(bytes) });
  });

  test("a client that stops sending short of its Content-Length: the read raises and the response says Connection: close", async () => {
    const client = new WireClient(server.port);
    await client.send(Buffer.concat([Buffer.from(post("/catch", 2 << 20)), body((2 << 20) - 1000)]));
    client.socket.end(); // FIN: the last 1,000 bytes never come
    const answer = await client.response();
    expect(JSON.parse(answer.body.toString()).error).toBe("ClientDisconnected: client closed the connection while the request body was read");
    expect(answer.header("connection")).toBe("close");
  });

  test("Expect: 100-continue: answered before the body is sent, then the body arrives whole", async () => {
    const bytes = body(3_000_000);
    const client = new WireClient(server.port);
    await client.send(post("/digest?read64k", bytes.length, "Expect: 100-continue\r\n"));
    expect((await client.response()).status).toBe(100);
    await client.send(bytes);
    const answer = await client.response();
    expect(JSON.parse(answer.body.toString())).toEqual({ bytes: bytes.length, md5: md5(bytes) });
    client.close();
  });
});

describe("--timeout 1: a client that stalls mid-body", () => {
  let slow: RunningServer;
  beforeAll(async () => {
    slow = await start({ args: ["--alias", `/=${APP}`, "--timeout", "1"] });
  });
  afterAll(() => slow?.stop());

  test("the app's read raises after about a second, the log says why, the connection closes", async () => {
    const client = new WireClient(slow.port);
    const started = Date.now();
    await client.send(Buffer.concat([Buffer.from(post("/catch", 2 << 20)), body(600_000)]));
    const answer = await client.response({ timeoutMs: 5_000 });
    const waited = Date.now() - started;
    expect(JSON.parse(answer.body.toString()).error).toBe("ClientDisconnected: timed out reading the request body");
    expect(waited).toBeGreaterThanOrEqual(900);
    expect(answer.header("connection")).toBe("close");
    expect(await client.closed()).toBe(true);
    await slow.waitForLog(/\[client 127\.0\.0\.1:\d+\] Timeout \(1 s\) reading the request body\./);
  });
});

describe("where the socket is not lent", () => {
  const dir = mkdtempSync(join(tmpdir(), "wsgi-bin-direct-"));
  let tls: RunningServer;
  let daemon: RunningServer;
  beforeAll(async () => {
    const [cert, key] = [join(dir, "t.crt"), join(dir, "t.key")];
    const made = Bun.spawnSync(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes",
      "-keyout", key, "-out", cert, "-days", "2", "-subj", "/CN=localhost"], { stdout: "pipe", stderr: "pipe" });
    if (made.exitCode !== 0) throw new Error(`openssl req failed: ${made.stderr}`);
    [tls, daemon] = await Promise.all([
      start({ args: ["--alias", `/=${APP}`, "--https-port", "0", "--ssl-certificate-file", cert, "--ssl-certificate-key-file", key] }),
      start({ args: ["--daemon-process", "g,threads=2", "--alias", `/=${APP},process-group=g`] }),
    ]);
  });
  afterAll(async () => {
    await Promise.all([tls?.stop(), daemon?.stop()]);
    rmSync(dir, { recursive: true, force: true });
  });

  test("over TLS the body goes through the channel and arrives whole", async () => {
    const port = Number(/listening on [^\n]*https:\/\/[^\s/]+:(\d+)\//.exec(tls.log())![1]);
    const bytes = body(3_000_000);
    const answer = await getJson(`https://127.0.0.1:${port}/digest?mixed`, { method: "POST", body: bytes, tls: { rejectUnauthorized: false } } as RequestInit);
    expect(answer).toEqual({ bytes: bytes.length, md5: md5(bytes) });
  });

  test("a daemon group's process reads the body the front relays to it (its own socket lent there)", async () => {
    const bytes = body(5_000_000);
    expect(await getJson(`${daemon.url}/digest?read64k`, { method: "POST", body: bytes })).toEqual({ bytes: bytes.length, md5: md5(bytes) });
    expect(await getJson(`${daemon.url}/digest?lines`, { method: "POST", body: bytes })).toEqual({ bytes: bytes.length, md5: md5(bytes) });
  });
});
