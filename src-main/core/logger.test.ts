import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { expect, it } from 'vitest';
import { createPanelLogger, LOG_FILE_NAME } from './logger.js';
import { makeDataDir, waitFor } from './testing/fixtures.js';

it('createPanelLogger writes JSON lines under <dataDir>/logs', async () => {
  const { dir, cleanup } = await makeDataDir();
  try {
    const logger = createPanelLogger({ dataDir: dir, level: 'info', stdout: false });
    const finished = new Promise((resolve) => logger.on('finish', resolve));
    logger.info('state transition', { from: 'booting', to: 'live' });
    logger.debug('below the level');
    logger.end();
    await finished;
    let text = '';
    await waitFor(
      'the log line on disk',
      () => text.includes('\n'),
      2_000,
      async () => {
        text = await readFile(join(dir, 'logs', LOG_FILE_NAME), 'utf8').catch(() => '');
      },
    );
    const lines = text
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l) as Record<string, unknown>);
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({ level: 'info', message: 'state transition', from: 'booting', to: 'live' });
    expect(typeof lines[0]!.timestamp).toBe('string');
  } finally {
    await cleanup();
  }
});
