// mod_mime's Content-Type for a file: from /etc/mime.types when the machine has it (Debian's Apache
// reads the same file: TypesConfig), else a small built-in table. As mod_mime, every extension of the
// name counts, the last one known wins (`a.tar.gz` is application/gzip, `page.html.bak` text/html),
// and a name with none known gets no Content-Type at all.
import { readFileSync } from "node:fs";

const SYSTEM_TYPES = "/etc/mime.types";

const BUILT_IN: Record<string, string> = {
  html: "text/html", htm: "text/html", css: "text/css", js: "text/javascript", mjs: "text/javascript",
  json: "application/json", txt: "text/plain", xml: "application/xml", svg: "image/svg+xml", png: "image/png",
  jpg: "image/jpeg", jpeg: "image/jpeg", gif: "image/gif", webp: "image/webp", ico: "image/vnd.microsoft.icon",
  pdf: "application/pdf", woff: "font/woff", woff2: "font/woff2", ttf: "font/ttf", otf: "font/otf",
  wasm: "application/wasm", gz: "application/gzip", zip: "application/zip", mp4: "video/mp4", webm: "video/webm",
  mp3: "audio/mpeg", csv: "text/csv", map: "application/json",
};

let types: Map<string, string> | null = null;

/** `type ext ext...` lines; `#` starts a comment. */
function parse(text: string): Map<string, string> {
  const map = new Map<string, string>();
  for (const line of text.split("\n")) {
    const [type, ...extensions] = line.replace(/#.*/, "").trim().split(/\s+/);
    if (!type || extensions.length === 0) continue;
    for (const extension of extensions) map.set(extension.toLowerCase(), type);
  }
  return map;
}

/** Reads the table (once): call when the server starts, so no request waits for it. */
export function loadMimeTypes(): Map<string, string> {
  if (!types) {
    try {
      types = parse(readFileSync(SYSTEM_TYPES, "utf8"));
    } catch {
      types = new Map(Object.entries(BUILT_IN));
    }
  }
  return types;
}

export function contentType(name: string): string | undefined {
  const table = loadMimeTypes();
  const parts = name.split(".");
  let type: string | undefined;
  for (let i = 1; i < parts.length; i++) type = table.get(parts[i]!.toLowerCase()) ?? type;
  return type;
}
