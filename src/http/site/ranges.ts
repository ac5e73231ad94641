// Range requests on files, as Apache's byterange filter reads them: `bytes=` ranges (a-b, a-, -n)
// clamped to the file, overlapping or adjacent ones merged in the order given; a malformed header, or
// ranges adding up to more than the file, is ignored (the whole file is sent); none within the file: 416.

export interface ByteRange {
  start: number;
  /** Inclusive. */
  end: number;
}

/** The ranges to send, "unsatisfiable", or null to send the whole file. */
export function parseRange(header: string, size: number): ByteRange[] | "unsatisfiable" | null {
  if (!/^bytes=/i.test(header)) return null;
  const ranges: ByteRange[] = [];
  let unsatisfiable = 0;
  for (const spec of header.slice(6).split(",")) {
    const match = /^\s*(\d*)\s*-\s*(\d*)\s*$/.exec(spec);
    if (!match || (match[1] === "" && match[2] === "")) return null;
    let start: number;
    let end: number;
    if (match[1] === "") {
      const suffix = Number(match[2]);
      if (suffix === 0) {
        unsatisfiable++;
        continue;
      }
      start = Math.max(0, size - suffix);
      end = size - 1;
    } else {
      start = Number(match[1]);
      end = match[2] === "" ? size - 1 : Number(match[2]);
      if (end < start) return null;
      if (start >= size) {
        unsatisfiable++;
        continue;
      }
      end = Math.min(end, size - 1);
    }
    const last = ranges.at(-1);
    if (last && start <= last.end + 1 && end >= last.start - 1) {
      last.start = Math.min(last.start, start);
      last.end = Math.max(last.end, end);
    } else ranges.push({ start, end });
  }
  if (ranges.length === 0) return unsatisfiable ? "unsatisfiable" : null;
  const total = ranges.reduce((sum, range) => sum + range.end - range.start + 1, 0);
  return total > size ? null : ranges;
}
