// mod_autoindex's plain listing (no FancyIndexing), byte for byte as Apache 2.4 writes it: entries by
// name, directories with a trailing slash, a Parent Directory link except at the root.
import { escapePath } from "./url-map.ts";

export const LISTING_TYPE = "text/html;charset=ISO-8859-1";

const escapeHtml = (text: string) => text.replace(/&/g, "&amp;").replace(/</g, "&lt;").replace(/>/g, "&gt;").replace(/"/g, "&quot;");

export interface ListingEntry {
  name: string;
  directory: boolean;
}

/** `urlPath` is the directory's (decoded) URL path, ending in a slash. */
export function directoryListing(urlPath: string, entries: ListingEntry[]): string {
  const title = escapeHtml(urlPath.length > 1 ? urlPath.replace(/\/+$/, "") : urlPath);
  let html = `<!DOCTYPE HTML PUBLIC "-//W3C//DTD HTML 4.01//EN" "http://www.w3.org/TR/html4/strict.dtd">\n<html>\n <head>\n  <title>Index of ${title}</title>\n </head>\n <body>\n<h1>Index of ${title}</h1>\n<ul>`;
  if (urlPath !== "/") {
    const parent = urlPath.slice(0, urlPath.slice(0, -1).lastIndexOf("/") + 1);
    html += `<li><a href="${escapeHtml(escapePath(parent))}"> Parent Directory</a></li>\n`;
  }
  const sorted = [...entries].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
  for (const entry of sorted) {
    const slash = entry.directory ? "/" : "";
    html += `<li><a href="${escapeHtml(escapePath(entry.name))}${slash}"> ${escapeHtml(entry.name)}${slash}</a></li>\n`;
  }
  return `${html}</ul>\n</body></html>\n`;
}
