export const VERSION = "0.1.0";
export const SERVER_SOFTWARE = `wsgi-bin/${VERSION}`;

/** ServerTokens: how much of the version the Server header and SERVER_SOFTWARE tell. */
export type ServerTokens = "Full" | "OS" | "Minimal" | "Minor" | "Major" | "Prod";

/**
 * The Server header and SERVER_SOFTWARE as ServerTokens words them (Apache's ap_get_server_banner).
 * wsgi-bin adds no module components or OS to its name, so Full, OS and Minimal are alike.
 */
export function serverBanner(tokens: ServerTokens = "Full"): string {
  const [major, minor] = VERSION.split(".");
  if (tokens === "Prod") return "wsgi-bin";
  if (tokens === "Major") return `wsgi-bin/${major}`;
  if (tokens === "Minor") return `wsgi-bin/${major}.${minor}`;
  return SERVER_SOFTWARE;
}
