/** Dates and durations as the pages show them: the browser's locale, to the minute or second. */

export function formatDateTime(value: Date | string | null | undefined): string {
  if (value === null || value === undefined) return '—';
  const date = typeof value === 'string' ? new Date(value) : value;
  if (Number.isNaN(date.getTime())) return '—';
  return date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

/** "3 min ago", "2 h ago", "in 5 min": how far `value` is from `now`. */
export function formatAge(value: string | null | undefined, now: number): string {
  if (!value) return 'never';
  const ms = now - new Date(value).getTime();
  if (Number.isNaN(ms)) return '—';
  // The browser's clock and the backend's differ by a little: a few seconds either way is now.
  if (Math.abs(ms) < 5_000) return 'just now';
  const future = ms < 0;
  const s = Math.round(Math.abs(ms) / 1000);
  const text =
    s < 60 ? `${s} s` : s < 3600 ? `${Math.round(s / 60)} min` : s < 86_400 ? `${Math.round(s / 3600)} h` : `${Math.round(s / 86_400)} d`;
  return future ? `in ${text}` : `${text} ago`;
}

/** The time of day only (acks of a command sent a moment ago). */
export function formatTime(value: string | null | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? '—' : date.toLocaleTimeString(undefined, { timeStyle: 'medium' });
}

/** "6 s", "3 min", "2 h": how long since `value`. */
export function formatDuration(value: string | null | undefined, now: number): string {
  if (!value) return '—';
  const s = Math.max(0, Math.round((now - new Date(value).getTime()) / 1000));
  if (Number.isNaN(s)) return '—';
  return s < 60
    ? `${s} s`
    : s < 3600
      ? `${Math.round(s / 60)} min`
      : s < 86_400
        ? `${Math.round(s / 3600)} h`
        : `${Math.round(s / 86_400)} d`;
}
