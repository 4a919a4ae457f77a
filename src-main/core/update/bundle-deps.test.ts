import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { importedPackages } from './bundle-deps.js';

describe('importedPackages', () => {
  it('finds imports and requires, not the examples in JSDoc blocks of bundled libraries', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'bundle-deps-'));
    writeFileSync(
      join(dir, 'main.js'),
      [
        "import { z } from 'zod';",
        "const ws = require('ws');",
        "const glob = 'src/**/*.js';",
        '/**',
        '\tA function used to parse JSON responses.',
        "\timport Bourne from '@hapi/bourne';",
        '*/',
        "import fs from 'node:fs';",
        "const m = await import('mqtt');",
      ].join('\n'),
    );
    expect(await importedPackages([dir])).toEqual(['mqtt', 'ws', 'zod']);
  });
});
