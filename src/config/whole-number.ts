// The one reading of a whole-number setting, from a flag, a directive or a daemon option: each caller
// says how it reports the problem (a usage error, a configuration error with file:line).

/** `value` as a whole number from `min` to `max`; else `fail` with "NAME wants a whole number from MIN to MAX, got 'VALUE'". */
export function wholeNumber(name: string, value: string, min: number, max: number, fail: (message: string) => never): number {
  if (!/^\d+$/.test(value) || +value < min || +value > max) fail(`${name} wants a whole number from ${min} to ${max}, got '${value}'`);
  return +value;
}
