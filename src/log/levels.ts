// Apache's LogLevel names, most severe first; a message is written when its level <= the configured one.
export const LEVELS = ["emerg", "alert", "crit", "error", "warn", "notice", "info", "debug"] as const;
export type LevelName = (typeof LEVELS)[number];

export function levelNumber(name: string): number {
  const index = LEVELS.indexOf(name as LevelName);
  if (index < 0) throw new Error(`unknown log level '${name}' (one of ${LEVELS.join(", ")})`);
  return index;
}
