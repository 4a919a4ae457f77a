/**
 * The release CLI commands (tools/release) for what needs a signature: promoting a release
 * (a new share, or another channel) and rolling a channel back both sign a new manifest with
 * the release manager's private key, which never reaches the backend. The page shows the
 * command to run on the machine that holds the key; pausing and resuming need no key and are
 * done from the page.
 */

/** Placeholder for the release manager's key file: the page never knows where keys are. */
export const KEY_PLACEHOLDER = 'keys/<your-release-key>.key';

/** A share (0..1) as the CLI takes it: `5%`, `50%`, `100%`, `12.5%`. */
export function formatShare(share: number): string {
  const percent = Math.round(share * 1000) / 10;
  return `${percent}%`;
}

/** A share typed as `50`, `50%` or `0.5`-less percent; null when it is not 0 to 100. */
export function parseSharePercent(text: string): number | null {
  const trimmed = text.trim().replace(/%$/, '').trim();
  if (!/^\d+(\.\d+)?$/.test(trimmed)) return null;
  const value = Number(trimmed);
  return value >= 0 && value <= 100 ? value / 100 : null;
}

/** Quotes an argument for a POSIX shell when it needs it. */
function arg(value: string): string {
  return /^[A-Za-z0-9._%/:=@+-]+$/.test(value) ? value : `'${value.replace(/'/g, `'\\''`)}'`;
}

const base = (server: string): string => `AIRPANEL_SERVER=${arg(server)} npm run release --`;

export function promoteCommand(o: { server: string; version: string; share: number; channel: string; fromChannel?: string }): string {
  const from = o.fromChannel && o.fromChannel !== o.channel ? ` --from-channel ${arg(o.fromChannel)}` : '';
  return `${base(o.server)} promote --version ${arg(o.version)} --share ${formatShare(o.share)} --channel ${arg(o.channel)}${from} --key ${KEY_PLACEHOLDER}`;
}

export function rollbackCommand(o: { server: string; channel: string; to?: string }): string {
  const to = o.to ? ` --to ${arg(o.to)}` : '';
  return `${base(o.server)} rollback --channel ${arg(o.channel)}${to} --key ${KEY_PLACEHOLDER}`;
}

export function publishCommand(o: { server: string; version: string; channel: string; share: number }): string {
  return `${base(o.server)} publish --bundle out/airpanel-${arg(o.version)}.tar.gz --version ${arg(o.version)} --channel ${arg(o.channel)} --share ${formatShare(o.share)} --key ${KEY_PLACEHOLDER}`;
}
