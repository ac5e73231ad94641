// A listener's TLS material for Bun.listen: the certificate with its chain after it (what
// SSLCertificateChainFile adds), and the key. Read when the server starts, as mod_ssl does.
import { readFileSync } from "node:fs";
import type { TLSOptions } from "bun";
import type { TlsFiles } from "../../config/site.ts";

/** Thrown for a certificate or key that cannot be used: the message says which file and why. */
export class TlsError extends Error {}

function read(what: string, path: string, where: string): string {
  let text: string;
  try {
    text = readFileSync(path, "utf8");
  } catch (error) {
    throw new TlsError(`TLS on ${where}: cannot read the ${what} ${path}: ${(error as Error).message}`);
  }
  if (!text.includes("-----BEGIN ")) throw new TlsError(`TLS on ${where}: the ${what} ${path} is not PEM (no -----BEGIN line)`);
  return text;
}

export function tlsOptions(files: TlsFiles, where: string): TLSOptions {
  const certificate = read("certificate", files.certificateFile, where);
  const chain = files.chainFile ? read("certificate chain", files.chainFile, where) : "";
  return {
    cert: chain ? `${certificate.trimEnd()}\n${chain}` : certificate,
    key: read("key", files.keyFile, where),
  };
}
