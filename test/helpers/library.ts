// The library bundle (dist/lib/, what the npm package ships), built once per test run from the
// current sources, for the tests that load it on Node or through the package name.
import { buildLibrary } from "../../build/library.ts";

let built: Promise<void> | null = null;

export function ensureLibrary(): Promise<void> {
  built ??= buildLibrary();
  return built;
}
