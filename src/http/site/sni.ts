// A certificate per name-based virtual host on one TLS port (Server Name Indication), chosen as
// mod_ssl chooses it, and mod_ssl's check that a request's Host stays with the virtual host whose
// certificate the handshake presented (ssl_hook_ReadReq: 421 Misdirected Request).
import type * as NodeTls from "node:tls";
import { componentMatcher } from "../../config/apache/include.ts";
import { vhostNames } from "../../config/resolve.ts";
import type { PlannedHost } from "../../config/serve-plan.ts";
import type { SslSettings, TlsFiles } from "../../config/site.ts";
import { logItem } from "../../log/log-item.ts";
import { hostName } from "../host-header.ts";
import type { HostRuntime } from "./host-runtime.ts";
import type { HostTable } from "./host-table.ts";
import { TlsError, tlsOptions } from "./tls.ts";

/** The native secure context for the name a client sent, or undefined for the listener's own certificate. */
export type SniSelect = (name: string) => object | undefined;

/** A host's own certificate files: SSLEngine on with SSLCertificateFile and SSLCertificateKeyFile. */
export function ownFiles(ssl: SslSettings | undefined): TlsFiles | null {
  if (!ssl?.engine || !ssl.certificateFile || !ssl.keyFile) return null;
  return { certificateFile: ssl.certificateFile, keyFile: ssl.keyFile, chainFile: ssl.chainFile };
}

function sameFiles(a: TlsFiles | null, b: TlsFiles | null): boolean {
  return a === b || (a !== null && b !== null && a.certificateFile === b.certificateFile && a.keyFile === b.keyFile && a.chainFile === b.chainFile);
}

/**
 * What the handshake presents for each name (mod_ssl's ssl_find_vhost): the first host on the port,
 * in declaration order, whose ServerName or ServerAlias (wildcards allowed) is the name; its
 * certificate, or the default host's where it has none. Undefined when every host presents the
 * default's: no callback, so the handshake pays nothing for it. Certificates are read now (a file
 * Bun refuses is said so before serving, as the default's is).
 */
export function sniSelector(hosts: PlannedHost[], where: string): SniSelect | undefined {
  const fallback = ownFiles(hosts[0]?.vhost.ssl);
  const contexts = new Map<string, object>(); // one per certificate, however many hosts share it
  const entries = hosts.map((host) => {
    const files = ownFiles(host.vhost.ssl);
    let context: object | undefined;
    if (files && !sameFiles(files, fallback)) {
      const key = `${files.certificateFile}\0${files.keyFile}\0${files.chainFile ?? ""}`;
      context = contexts.get(key);
      if (!context) contexts.set(key, (context = secureContext(files, where)));
    }
    return { names: vhostNames(host.vhost).map((name) => componentMatcher(name.toLowerCase())), context };
  });
  if (!contexts.size) return undefined;
  return (name) => {
    const lower = name.toLowerCase();
    return entries.find((entry) => entry.names.some((matches) => matches(lower)))?.context;
  };
}

function secureContext(files: TlsFiles, where: string): object {
  const { cert, key } = tlsOptions(files, where);
  // Loaded here, not at start: node:tls costs every start ~1.6 ms, and only SNI needs it.
  const { createSecureContext } = process.getBuiltinModule("node:tls") as typeof NodeTls;
  try {
    // Bun's node:tls gives the native context its Bun.listen SNI hook takes (see WireServer).
    return (createSecureContext({ cert: cert as string, key: key as string }) as unknown as { context: object }).context;
  } catch (error) {
    throw new TlsError(`TLS on ${where}: certificate ${files.certificateFile} with key ${files.keyFile}: ${(error as Error).message}`);
  }
}

/** Can a request move from the handshake's host to this one? mod_ssl compares their SSL setup; here, the certificate. */
function compatible(a: HostRuntime, b: HostRuntime): boolean {
  return a.sslEngine === b.sslEngine && sameFiles(a.certificate, b.certificate);
}

export interface Misdirection {
  status: 400 | 403 | 421;
  /** Apache's error log line (after the client), and its level. */
  message: string;
  level: "error" | "info";
  /** What the error page says beside its usual text (Apache's error-notes). */
  notes?: string;
}

/** SSLStrictSNIVHostCheck's refusal, as mod_ssl words it. */
const NO_SNI: Misdirection = {
  status: 403,
  message: "AH02033: No hostname was provided via SNI for a name based virtual host",
  level: "info",
  notes: "Reason: The client software did not provide a hostname using Server Name Indication (SNI), which is required to access this server.<br />\n",
};

/**
 * mod_ssl's check on a TLS connection's request: a client that sent a name (`sni`) must send a Host;
 * one that sent none is refused where SSLStrictSNIVHostCheck is on (in the Host's virtual host or in
 * the default host it shook hands with) and the port has name-based hosts (more than one); a Host
 * whose virtual host has another certificate than the handshake's (chosen by `sni`, else the port's
 * default host) is 421, so that no client is served by a host whose certificate it never saw.
 */
export function misdirection(sni: string | null, hosts: HostTable, requested: HostRuntime, requestHost: string | null): Misdirection | null {
  if (sni !== null && requestHost === null) {
    return { status: 400, message: `AH02031: Hostname ${logItem(sni)} provided via SNI, but no hostname provided in HTTP request`, level: "error" };
  }
  const handshake = sni === null ? hosts.hosts[0]! : hosts.select(sni);
  if (sni === null && hosts.hosts.length > 1 && (requested.vhost.ssl?.strictSni || handshake.vhost.ssl?.strictSni)) return NO_SNI;
  if (handshake === requested || compatible(handshake, requested)) return null;
  const chosen = sni === null ? `${handshake.serverName} (default host as no SNI was provided)` : `${logItem(sni)} provided via SNI`;
  return {
    status: 421,
    message: `AH02032: Hostname ${chosen} and hostname ${logItem(hostName(requestHost ?? ""))} provided via HTTP have no compatible SSL setup for policy 'secure'`,
    level: "error",
  };
}
