import { describe, expect, it } from 'vitest';
import { formatShare, parseSharePercent, promoteCommand, publishCommand, rollbackCommand } from './release-commands.js';

const server = 'https://backend.example';

describe('release CLI commands', () => {
  it('writes a share as the CLI reads it', () => {
    expect(formatShare(0.05)).toBe('5%');
    expect(formatShare(1)).toBe('100%');
    expect(formatShare(0.125)).toBe('12.5%');
    expect(parseSharePercent('50')).toBe(0.5);
    expect(parseSharePercent(' 12.5 % ')).toBe(0.125);
    expect(parseSharePercent('101')).toBeNull();
    expect(parseSharePercent('-1')).toBeNull();
    expect(parseSharePercent('half')).toBeNull();
  });

  it('promotes on the same channel with a new share, or from another channel', () => {
    expect(promoteCommand({ server, version: '1.4.0', share: 0.5, channel: 'stable' })).toBe(
      'AIRPANEL_SERVER=https://backend.example npm run release -- promote --version 1.4.0 --share 50% --channel stable --key keys/<your-release-key>.key',
    );
    expect(promoteCommand({ server, version: '1.4.0', share: 0.1, channel: 'stable', fromChannel: 'beta' })).toContain(
      'promote --version 1.4.0 --share 10% --channel stable --from-channel beta --key',
    );
    expect(promoteCommand({ server, version: '1.4.0', share: 0.1, channel: 'beta', fromChannel: 'beta' })).not.toContain('--from-channel');
  });

  it('rolls a channel back to the version before, or to a named one', () => {
    expect(rollbackCommand({ server, channel: 'stable' })).toBe(
      'AIRPANEL_SERVER=https://backend.example npm run release -- rollback --channel stable --key keys/<your-release-key>.key',
    );
    expect(rollbackCommand({ server, channel: 'stable', to: '1.3.0' })).toContain('rollback --channel stable --to 1.3.0 --key');
  });

  it('quotes what a shell would split', () => {
    expect(publishCommand({ server: 'http://127.0.0.1:8080', version: "1.0 o'clock", channel: 'stable', share: 1 })).toContain(
      `--version '1.0 o'\\''clock'`,
    );
  });
});
