// Parses .NET TimeSpan strings as host.json writes them: "hh:mm:ss", "d.hh:mm:ss", "hh:mm:ss.fff".
// "-1" means unlimited (functionTimeout), returned as Infinity.
export function parseTimeSpanMs(value: string): number {
  const v = value.trim();
  if (v === '-1') return Infinity;
  const m = /^(?:(\d+)\.)?(\d{1,2}):(\d{1,2}):(\d{1,2})(?:\.(\d{1,7}))?$/.exec(v);
  if (!m) throw new Error(`"${value}" is not a TimeSpan (expected [d.]hh:mm:ss[.fff])`);
  const [, d, h, min, s, frac] = m;
  const fracMs = frac ? Number(`0.${frac}`) * 1000 : 0;
  return ((Number(d ?? 0) * 24 + Number(h)) * 60 + Number(min)) * 60_000 + Number(s) * 1000 + fracMs;
}
