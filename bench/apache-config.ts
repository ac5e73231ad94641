// The peer suite's Apache + mod_wsgi configuration (bench/peers.ts apacheConfig) for one app, for
// scripts outside the suite: writes it under DIR and prints "CONFIG ERRORLOG". The app is at /;
// Listen is given on the command line (-c "Listen 127.0.0.1:PORT").
//
//   node_modules/.bin/bun bench/apache-config.ts APP DIR
import { resolve } from "node:path";
import { apacheConfig } from "./peers.ts";

const [app, dir] = process.argv.slice(2);
if (!app || !dir) {
  process.stderr.write("usage: bun bench/apache-config.ts APP DIR\n");
  process.exit(2);
}
const { file, errorLog } = apacheConfig(resolve(app), { root: resolve(import.meta.dir, ".."), tmp: resolve(dir), python: "", wsgiBin: "" });
process.stdout.write(`${file} ${errorLog}\n`);
