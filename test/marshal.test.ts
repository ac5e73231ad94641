// src/pool/marshal.ts: the adapter's configuration as each interpreter reads it. Every supported Python
// found here reads the marshalled value back as the dict json.loads makes of the same value.
import { afterAll, expect, test } from "bun:test";
import { writeFileSync } from "node:fs";
import { join } from "node:path";
import { marshal } from "../src/pool/marshal.ts";
import { discoverPythons } from "./helpers/pythons.ts";
import { cleanupTemps, tempDir } from "./helpers/server.ts";

afterAll(cleanupTemps);

const SAMPLE = {
  log_fd: 2, level: -5, zero: 0, least: -0x8000_0000, most: 0x7fff_ffff, past: 0x8000_0000, timeout: 1.5,
  text: "héllo ☃ 𝄞", empty: "", none: null, yes: true, no: false,
  python_path: ["/a b", "/c"], nested: { absent: undefined, list: [1, [2, "x"], null] }, nothing: [],
};

test("every Python found reads the marshalled configuration as json.loads reads its JSON", () => {
  const dir = tempDir();
  writeFileSync(join(dir, "value.marshal"), marshal(SAMPLE));
  writeFileSync(join(dir, "value.json"), JSON.stringify(SAMPLE));
  const check = `import json, marshal, sys
got = marshal.loads(open(sys.argv[1], "rb").read())
want = json.loads(open(sys.argv[2]).read())
print("equal" if got == want and "absent" not in got["nested"] else "differ: %r" % (got,))`;
  const pythons = discoverPythons();
  expect(pythons.length).toBeGreaterThan(0);
  for (const python of pythons) {
    const result = Bun.spawnSync([python.executable, "-c", check, join(dir, "value.marshal"), join(dir, "value.json")]);
    expect(`${python.version}: ${result.stdout.toString().trim()}${result.stderr.toString()}`).toBe(`${python.version}: equal`);
  }
});
