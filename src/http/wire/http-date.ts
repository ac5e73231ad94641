// The Date header's IMF-fixdate, formatted once a second rather than once a response.
let second = 0;
let formatted = "";

export function httpDate(): string {
  const now = Date.now();
  const current = Math.floor(now / 1000);
  if (current !== second) {
    second = current;
    formatted = new Date(now).toUTCString();
  }
  return formatted;
}
