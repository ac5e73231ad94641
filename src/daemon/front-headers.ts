// A daemon process's side of FRONT_HEADER: the client's address and port and the front's scheme and
// port, as the front saw them, so environ is the one the embedded path would build. The header (and an
// `Expect: 100-continue` the front added on its own) never reaches the app.
import { FRONT_HEADER_LOWER } from "./protocol.ts";

export interface FrontView {
  remoteAddr: string;
  remotePort: string;
  scheme: string;
  serverPort: string;
  headers: string[];
}

/** `fallback` stands when the header is missing (a request that did not come through a front). */
export function fromFront(headers: string[], fallback: FrontView): FrontView {
  let value: string | null = null;
  for (let i = 0; i < headers.length; i += 2) {
    const name = headers[i]!;
    if (name.length === FRONT_HEADER_LOWER.length && name.toLowerCase() === FRONT_HEADER_LOWER) value = headers[i + 1]!;
  }
  if (value === null) return fallback;
  const [remoteAddr = "", remotePort = "", scheme = "", serverPort = "", flag] = value.split(" ");
  const expectAdded = flag === "expect";
  const kept: string[] = [];
  for (let i = 0; i < headers.length; i += 2) {
    const lower = headers[i]!.toLowerCase();
    if (lower === FRONT_HEADER_LOWER || (expectAdded && lower === "expect")) continue;
    kept.push(headers[i]!, headers[i + 1]!);
  }
  return { remoteAddr, remotePort, scheme, serverPort, headers: kept };
}
