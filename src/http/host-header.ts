// A Host header's two parts (an IPv6 literal keeps its brackets and colons).

/** "example.com:8000" -> "example.com", "[::1]:80" -> "[::1]". */
export function hostName(host: string): string {
  const colon = host.lastIndexOf(":");
  return colon > host.lastIndexOf("]") ? host.slice(0, colon) : host;
}

/** "example.com:8000" -> "8000"; null without a port: "[::1]", "example.com:". */
export function hostPort(host: string): string | null {
  const colon = host.lastIndexOf(":");
  return colon > host.lastIndexOf("]") && colon < host.length - 1 ? host.slice(colon + 1) : null;
}
