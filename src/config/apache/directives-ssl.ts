// mod_ssl: SSLEngine and the certificate files of a virtual host. The ciphers, protocols and session
// cache are Bun's (BoringSSL's defaults); their directives are reported as not implemented.
import { statSync } from "node:fs";
import { ConfigError, type Source } from "../diagnostics.ts";
import type { SslSettings } from "../site.ts";
import { flagArg, HOST, pathArg, type DirectiveSpec, type Walk } from "./context.ts";

function ssl(walk: Walk, source: Source): SslSettings {
  const settings = (walk.vhost.ssl ??= { source });
  return settings;
}

/** As mod_ssl, a certificate or key file that is missing or empty stops the configuration. */
function pemFile(walk: Walk, name: string, value: string, source: Source): string {
  const path = pathArg(walk, value, source);
  const problem = pemFileProblem(name, path);
  if (problem) throw new ConfigError(source, problem);
  return path;
}

/** Why a certificate or key file cannot be used (missing or empty), or null; also for the --ssl-* flags. */
export function pemFileProblem(name: string, path: string): string | null {
  let size = 0;
  try {
    size = statSync(path).size;
  } catch {}
  return size === 0 ? `${name}: file '${path}' does not exist or is empty` : null;
}

export const SSL_DIRECTIVES: DirectiveSpec[] = [
  {
    name: "SSLEngine", where: HOST, args: [1, 1], usage: "on|off|optional",
    apply(walk, args, source) {
      const value = args[0]!.toLowerCase();
      if (value === "optional") {
        walk.diagnostics.warn(source, "SSLEngine optional (TLS upgrade, RFC 2817) is not implemented by wsgi-bin: the host speaks plain HTTP");
        ssl(walk, source).engine = false;
      } else if (value === "on" || value === "off") ssl(walk, source).engine = value === "on";
      else throw new ConfigError(source, `SSLEngine must be on, off or optional, got '${args[0]}'`);
    },
  },
  {
    name: "SSLCertificateFile", where: HOST, args: [1, 1], usage: "FILE",
    apply(walk, args, source) {
      ssl(walk, source).certificateFile = pemFile(walk, "SSLCertificateFile", args[0]!, source);
    },
  },
  {
    name: "SSLCertificateKeyFile", where: HOST, args: [1, 1], usage: "FILE",
    apply(walk, args, source) {
      ssl(walk, source).keyFile = pemFile(walk, "SSLCertificateKeyFile", args[0]!, source);
    },
  },
  {
    name: "SSLStrictSNIVHostCheck", where: HOST, args: [1, 1], usage: "on|off",
    apply(walk, args, source) {
      ssl(walk, source).strictSni = flagArg("SSLStrictSNIVHostCheck", args[0]!, source);
    },
  },
  {
    name: "SSLCertificateChainFile", where: HOST, args: [1, 1], usage: "FILE",
    apply(walk, args, source) {
      ssl(walk, source).chainFile = pemFile(walk, "SSLCertificateChainFile", args[0]!, source);
    },
  },
];
