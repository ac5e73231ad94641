// A Host header (or an absolute-form target's authority): checked as Apache's fix_hostname checks it,
// and its two parts as SERVER_NAME and SERVER_PORT have them (an IPv6 literal keeps its brackets).

const NAME = /^[A-Za-z0-9_-]+(\.[A-Za-z0-9_-]+)*\.?$/;
const IPV6 = /^\[[0-9A-Fa-f:.]+\]$/;

/**
 * Whether Apache would take this Host: a name of letters, digits, `-`, `_` and single dots (a trailing
 * one allowed), an IPv6 literal in brackets, or a bare number; a port, if any, 1 to 65535. Anything
 * else (`%`, `;`, `..`, an empty or non-numeric port) is Apache's 400, and would otherwise reach the
 * app as SERVER_NAME or SERVER_PORT. An empty Host is allowed, as in Apache.
 */
export function validHost(host: string): boolean {
  if (host === "" || /^\d+$/.test(host)) return true;
  const colon = host.lastIndexOf(":");
  const hasPort = colon > host.lastIndexOf("]");
  const name = hasPort ? host.slice(0, colon) : host;
  if (hasPort) {
    const port = host.slice(colon + 1);
    if (!/^\d{1,5}$/.test(port) || Number(port) < 1 || Number(port) > 65535) return false;
  }
  return name.startsWith("[") ? IPV6.test(name) : NAME.test(name);
}

/** "Example.COM.:8000" -> "example.com" (SERVER_NAME, as Apache lowers it and drops a final dot), "[::1]:80" -> "[::1]". */
export function hostName(host: string): string {
  const colon = host.lastIndexOf(":");
  const name = colon > host.lastIndexOf("]") ? host.slice(0, colon) : host;
  return name.toLowerCase().replace(/\.$/, "");
}

/** "example.com:08000" -> "8000"; null without a port: "[::1]", "example.com". */
export function hostPort(host: string): string | null {
  const colon = host.lastIndexOf(":");
  if (colon <= host.lastIndexOf("]") || colon === host.length - 1) return null;
  const port = host.slice(colon + 1);
  return /^\d+$/.test(port) ? String(Number(port)) : port;
}
