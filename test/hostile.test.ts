// Hostile and malformed clients on raw sockets: each case gets the status Apache gives (or a close),
// never a hang, never two requests read out of one; and a well-behaved client on another connection
// is served while they misbehave.
import { afterAll, beforeAll, describe, expect, test } from "bun:test";
import { fixture, type RunningServer, rawRequest, start } from "./helpers/server.ts";
import { request, WireClient } from "./helpers/wire-client.ts";

let server: RunningServer;

beforeAll(async () => {
  server = await start({
    args: [
      "--alias", `/wire=${fixture("wire.wsgi")}`, "--threads", "2",
      "--limit-request-line", "200", "--limit-request-fields", "10", "--limit-request-field-size", "100",
      "--request-read-timeout", "1", "--keep-alive-timeout", "1", "--timeout", "2", "--max-keep-alive-requests", "3",
    ],
  });
});
afterAll(async () => {
  await server.stop();
});

/** The status of the first response to `raw`, and whether the server closed the connection after it. */
async function answer(raw: string): Promise<{ status: number; rest: string; closed: boolean }> {
  const client = new WireClient(server.port);
  await client.send(raw);
  const response = await client.response({ timeoutMs: 5_000 });
  const rest = (await client.rest(3_000)).toString("latin1");
  const closed = await client.closed(0);
  client.close();
  return { status: response.status, rest, closed };
}

/** A well-behaved client, served while the hostile ones are around. */
async function wellBehaved(): Promise<void> {
  const client = new WireClient(server.port);
  await client.send(request("/wire/no-read"));
  const response = await client.response({ timeoutMs: 3_000 });
  client.close();
  expect(response.body.toString()).toBe("did not read");
}

const cases: [string, string, number][] = [
  ["Content-Length with Transfer-Encoding (smuggling)",
    "POST /wire/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\nGET /wire/env HTTP/1.1\r\nHost: t\r\n\r\n", 400],
  ["two different Content-Lengths", "POST /wire/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\nContent-Length: 5\r\n\r\nabcde", 400],
  // Equal ones too, as Apache: CONTENT_LENGTH was "5, 5".
  ["two equal Content-Lengths", "POST /wire/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\nhello", 400],
  ["an invalid Content-Length", "POST /wire/echo HTTP/1.1\r\nHost: t\r\nContent-Length: -1\r\n\r\n", 400],
  ["a Content-Length with a sign", "POST /wire/echo HTTP/1.1\r\nHost: t\r\nContent-Length: +5\r\n\r\nhello", 400],
  ["Transfer-Encoding not ending in chunked", "POST /wire/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip\r\n\r\n", 400],
  ["an unsupported Transfer-Encoding", "POST /wire/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", 501],
  ["Transfer-Encoding in HTTP/1.0", "POST /wire/echo HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n", 400],
  ["a bad chunk size", "POST /wire/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\nhello\r\n0\r\n\r\n", 400],
  ["chunk data longer than its size", "POST /wire/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n2\r\nhello\r\n0\r\n\r\n", 400],
  ["a bare LF in the head", "GET /wire/env HTTP/1.1\nHost: t\n\n", 400],
  ["a bare CR in the head", "GET /wire/env HTTP/1.1\r\nHost: t\rX: y\r\n\r\n", 400],
  ["a NUL in a header", "GET /wire/env HTTP/1.1\r\nHost: t\r\nX-A: a\0b\r\n\r\n", 400],
  ["obs-fold", "GET /wire/env HTTP/1.1\r\nHost: t\r\nX-A: a\r\n  b\r\n\r\n", 400],
  ["whitespace before the colon", "GET /wire/env HTTP/1.1\r\nHost: t\r\nX-A : a\r\n\r\n", 400],
  ["a header without a colon", "GET /wire/env HTTP/1.1\r\nHost: t\r\nnonsense\r\n\r\n", 400],
  ["HTTP/1.1 without Host", "GET /wire/env HTTP/1.1\r\n\r\n", 400],
  ["two Host headers", "GET /wire/env HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", 400],
  // Apache's fix_hostname refuses these; they reached the app as SERVER_NAME or SERVER_PORT.
  ...["t:abc", "t:", "t:99999", "t:0", "a..b", "..", "ex%61mple", "ex;ample", "[::1", "[::1]x", "[fe80::1%25eth0]"].map(
    (host): [string, string, number] => [`Host '${host}'`, `GET /wire/env HTTP/1.1\r\nHost: ${host}\r\n\r\n`, 400]),
  ["an absolute-form target with a bad port", "GET http://t:port/wire/env HTTP/1.1\r\nHost: t\r\n\r\n", 400],
  ["HTTP/0.9", "GET /wire/env\r\n\r\n", 400],
  ["HTTP/2.0 in a request line", "GET /wire/env HTTP/2.0\r\nHost: t\r\n\r\n", 505],
  ["a garbage protocol", "GET /wire/env FOO/1.1\r\nHost: t\r\n\r\n", 400],
  ["two spaces in the request line", "GET  /wire/env HTTP/1.1\r\nHost: t\r\n\r\n", 400],
  ["a control character in the target", "GET /wire/\x01env HTTP/1.1\r\nHost: t\r\n\r\n", 400],
  ["an asterisk-form target on GET", "GET * HTTP/1.1\r\nHost: t\r\n\r\n", 400],
  ["an authority-form target", "CONNECT example.org:443 HTTP/1.1\r\nHost: example.org\r\n\r\n", 400],
  ["an unsupported expectation", "POST /wire/echo HTTP/1.1\r\nHost: t\r\nExpect: magic\r\nContent-Length: 1\r\n\r\nx", 417],
  ["a request line over LimitRequestLine", `GET /wire/${"a".repeat(300)} HTTP/1.1\r\nHost: t\r\n\r\n`, 414],
  ["more fields than LimitRequestFields", `GET /wire/env HTTP/1.1\r\nHost: t\r\n${"X-A: 1\r\n".repeat(12)}\r\n`, 400],
  ["a field over LimitRequestFieldSize", `GET /wire/env HTTP/1.1\r\nHost: t\r\nX-Big: ${"b".repeat(200)}\r\n\r\n`, 400],
];

describe("malformed requests", () => {
  for (const [name, raw, status] of cases) {
    test(`${name}: ${status}, connection closed, nothing else read from it`, async () => {
      const result = await answer(raw);
      expect(result.status).toBe(status);
      expect(result.closed).toBe(true);
      expect(result.rest).toBe(""); // the smuggled second request was never answered
      await wellBehaved();
    });
  }

  test("a refused request whose client keeps sending still gets its answer: a lingering close, never a reset (found by the fuzzer)", async () => {
    for (let i = 0; i < 5; i++) {
      const client = new WireClient(server.port);
      const errors: string[] = [];
      client.socket.on("error", (error: NodeJS.ErrnoException) => errors.push(error.code ?? error.message));
      // Refused from its head (two Host headers), with 1 MiB of body the server never reads behind it.
      await client.send(`POST /wire/echo HTTP/1.1\r\nHost: a\r\nHost: b\r\nContent-Length: ${1 << 20}\r\n\r\n`);
      await client.send(Buffer.alloc(1 << 20, 120));
      const response = await client.response({ timeoutMs: 5_000 });
      expect(response.status).toBe(400);
      expect(await client.closed(4_000)).toBe(true);
      expect(errors).toEqual([]);
      client.close();
    }
  });

  test("each is logged with the client and the problem", async () => {
    await server.waitForLog(/\[client 127\.0\.0\.1:\d+\] 400: both Content-Length and Transfer-Encoding/);
    await server.waitForLog(/414: request line longer than LimitRequestLine \(200\)/);
  });

  test("OPTIONS * is the server's: 200 without Allow (as Apache 2.4), and the connection goes on", async () => {
    const client = new WireClient(server.port);
    await client.send("OPTIONS * HTTP/1.1\r\nHost: t\r\n\r\n" + request("/wire/no-read"));
    const options = await client.response();
    expect(options.status).toBe(200);
    expect(options.header("allow")).toBeUndefined();
    expect(options.header("content-length")).toBe("0");
    expect((await client.response()).body.toString()).toBe("did not read");
    client.close();
  });

  test("a 204 carries no Content-Length, even declared by the app or computed for HEAD (RFC 9110 8.6; found by the fuzzer)", async () => {
    const client = new WireClient(server.port);
    await client.send(request("/wire/no-content-declared") + request("/wire/no-content-declared", "", "HEAD") + request("/wire/no-read"));
    for (let i = 0; i < 2; i++) {
      const response = await client.response({ head: i === 1 });
      expect(response.status).toBe(204);
      expect(response.header("content-length")).toBeUndefined();
    }
    expect((await client.response()).body.toString()).toBe("did not read"); // nothing stray between them
    client.close();
  });

  test("non-ASCII and overlong UTF-8 bytes in a path reach PATH_INFO as latin-1 bytes", async () => {
    const client = new WireClient(server.port);
    await client.send(Buffer.concat([Buffer.from("GET /wire/env/"), Buffer.from([0xc0, 0xaf, 0xe9]), Buffer.from(" HTTP/1.1\r\nHost: t\r\n\r\n")]));
    const response = await client.response();
    client.close();
    expect(JSON.parse(response.body.toString()).PATH_INFO).toBe("/env/\u00c0\u00af\u00e9");
  });
});

describe("slow and vanishing clients", () => {
  test("a slowloris head gets 408 after --request-read-timeout while others are served", async () => {
    const client = new WireClient(server.port);
    await client.send("GET /wire/env HTTP/1.1\r\nHost: t\r\n");
    const started = Date.now();
    const drip = setInterval(() => client.send("X-Drip: 1\r\n").catch(() => {}), 300);
    await wellBehaved();
    const response = await client.response({ timeoutMs: 6_000 });
    clearInterval(drip);
    expect(response.status).toBe(408);
    expect(Date.now() - started).toBeLessThan(4_000);
    expect(await client.closed()).toBe(true);
  });

  test("a connection that never sends anything is closed after --request-read-timeout", async () => {
    const client = new WireClient(server.port);
    await client.send("");
    expect(await client.closed(4_000)).toBe(true);
  });

  test("an idle keep-alive connection is closed after --keep-alive-timeout", async () => {
    const client = new WireClient(server.port);
    await client.send(request("/wire/no-read"));
    await client.response();
    expect(await client.closed(4_000)).toBe(true);
  });

  test("a body that stops arriving: the app's read raises after --timeout; the server goes on", async () => {
    const client = new WireClient(server.port);
    await client.send("POST /wire/read-error HTTP/1.1\r\nHost: t\r\nContent-Length: 100\r\n\r\nonly a little");
    const response = await client.response({ timeoutMs: 8_000 });
    expect(response.body.toString()).toContain("read failed: ClientDisconnected");
    expect(await client.closed()).toBe(true);
    await server.waitForLog(/Timeout \(2 s\) reading the request body/);
    await wellBehaved();
  });

  test("a body dripping in 1- and 2-byte pieces is read whole (found by the fuzzer: a piece's size was taken for an error code)", async () => {
    for (const pieces of [["a", "bc", "de"], ["ab", "c", "d", "e"]]) {
      const client = new WireClient(server.port);
      await client.send("POST /wire/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 5\r\n\r\n");
      for (const piece of pieces) {
        await Bun.sleep(60);
        await client.send(piece);
      }
      const response = await client.response({ timeoutMs: 5_000 });
      client.close();
      expect(`${response.status} ${response.body}`).toBe("200 5:abcde");
    }
    const client = new WireClient(server.port);
    await client.send("POST /wire/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n");
    for (const piece of ["2\r\n", "ab", "\r\n1\r\n", "c", "\r\n0\r\n\r\n"]) {
      await Bun.sleep(60);
      await client.send(piece);
    }
    const response = await client.response({ timeoutMs: 5_000 });
    client.close();
    expect(`${response.status} ${response.body}`).toBe("200 3:abc");
  });

  test("a client that shuts its sending side (FIN) still gets every complete request answered, then the close (found by the fuzzer)", async () => {
    const client = new WireClient(server.port);
    await client.send(request("/wire/no-read") + "POST /wire/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 3\r\n\r\nabc");
    client.socket.end(); // as `printf ... | nc -N` does
    const first = await client.response({ timeoutMs: 5_000 });
    const second = await client.response({ timeoutMs: 5_000 });
    expect([first.body.toString(), second.body.toString()]).toEqual(["did not read", "3:abc"]);
    expect(await client.rest(3_000)).toEqual(Buffer.alloc(0));
    expect(await client.closed(0)).toBe(true);
    client.close();
  });

  test("after a FIN, a head or body that can never complete is dropped and the connection closed at once", async () => {
    for (const partial of ["GET /wire/env HTTP/1.1\r\nHost: t\r\n", "POST /wire/read-error HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc"]) {
      const client = new WireClient(server.port);
      await client.send(partial);
      await Bun.sleep(50);
      client.socket.end();
      const started = Date.now();
      const rest = (await client.rest(5_000)).toString("latin1");
      expect(await client.closed(0)).toBe(true);
      expect(Date.now() - started).toBeLessThan(900); // not after a timeout
      // A body cut by the FIN: the app's read raises (its answer may go out), never a request invented.
      if (rest) expect(rest).toContain("read failed: ClientDisconnected");
      client.close();
    }
    await wellBehaved();
  });

  test("empty lines before a request line are skipped, as Apache skips up to 10 (RFC 9112 2.2; found by the fuzzer)", async () => {
    const client = new WireClient(server.port);
    // An old browser's CRLF after a POST body, then the next pipelined request.
    await client.send("POST /wire/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 2\r\n\r\nhi\r\n" + "\r\n\r\n" + request("/wire/no-read"));
    expect((await client.response()).body.toString()).toBe("2:hi");
    expect((await client.response()).body.toString()).toBe("did not read");
    client.close();
    const idle = new WireClient(server.port);
    await idle.send(request("/wire/no-read"));
    await idle.response();
    await idle.send("\r\n"); // on an idle keep-alive connection: no request, no 400 or 408
    await Bun.sleep(100);
    await idle.send(request("/wire/no-read"));
    expect((await idle.response()).status).toBe(200);
    idle.close();
    expect((await answer(`${"\r\n".repeat(11)}${request("/wire/no-read")}`)).status).toBe(400);
  });

  test("a client that disconnects at every stage of a request leaves the server serving", async () => {
    const stages = [
      "GET /wi", "GET /wire/env HTTP/1.1\r\nHost: t\r\n", "POST /wire/echo HTTP/1.1\r\nHost: t\r\nContent-Length: 10\r\n\r\nabc",
      "POST /wire/echo HTTP/1.1\r\nHost: t\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nab", request("/wire/stream-big"),
    ];
    for (const stage of stages) {
      const client = new WireClient(server.port);
      await client.send(stage);
      await Bun.sleep(50);
      client.close();
    }
    await wellBehaved();
  });

  test("--max-keep-alive-requests: the last allowed response says Connection: close", async () => {
    const client = new WireClient(server.port);
    await client.send(request("/wire/no-read") + request("/wire/no-read") + request("/wire/no-read") + request("/wire/no-read"));
    expect((await client.response()).header("connection")).toBeUndefined();
    expect((await client.response()).header("connection")).toBeUndefined();
    expect((await client.response()).header("connection")).toBe("close");
    expect(await client.closed()).toBe(true);
    client.close();
  });
});

describe("--max-connections", () => {
  test("connections past the cap get 503 at once; the ones inside it are served", async () => {
    const capped = await start({ args: ["--alias", `/wire=${fixture("wire.wsgi")}`, "--max-connections", "2"] });
    try {
      const held = [new WireClient(capped.port), new WireClient(capped.port)];
      for (const client of held) await client.send("");
      await Bun.sleep(100);
      const refused = (await rawRequest(capped.port, request("/wire/no-read"), 3_000)).toString("latin1");
      expect(refused).toStartWith("HTTP/1.1 503 ");
      await held[0]!.send(request("/wire/no-read"));
      expect((await held[0]!.response()).status).toBe(200);
      for (const client of held) client.close();
      await capped.waitForLog(/503: 2 connections open, the most allowed \(--max-connections\)/);
    } finally {
      await capped.stop();
    }
  });

  test("refusals are logged once, then counted (a client retrying at once wrote ~17,000 lines a second)", async () => {
    const capped = await start({ args: ["--alias", `/wire=${fixture("wire.wsgi")}`, "--max-connections", "1"] });
    try {
      const held = new WireClient(capped.port);
      await held.send("");
      await Bun.sleep(100);
      for (let i = 0; i < 6; i++) {
        expect((await rawRequest(capped.port, request("/wire/no-read"), 3_000)).toString("latin1")).toStartWith("HTTP/1.1 503 ");
      }
      held.close();
      const log = await capped.waitForLog(/5 more connections refused with 503 since the last line about them: 1 open, the most allowed \(--max-connections\)/, 15_000);
      expect(log.match(/503: 1 connections open, the most allowed \(--max-connections\)\. Further refusals are counted/g)?.length).toBe(1);
      expect((await fetch(`${capped.url}/wire/no-read`)).status).toBe(200); // and it serves on
    } finally {
      await capped.stop();
    }
  }, 30_000);
});
