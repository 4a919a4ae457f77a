import { ESLint } from 'eslint';
import { describe, expect, it } from 'vitest';

// Runs the repository's real ESLint config on probe sources placed (virtually) in each
// layer: the layer rules must fire on a wrong import and stay quiet on an allowed one.
const eslint = new ESLint({ cwd: process.cwd() });

async function layerErrors(filePath: string, code: string): Promise<string[]> {
  const [result] = await eslint.lintText(code, { filePath });
  return result!.messages.filter((m) => m.ruleId === 'airpanel/layers' || m.ruleId === 'no-restricted-imports').map((m) => m.message);
}

describe('layer rules', () => {
  it('keeps Electron and the hosts out of the core', async () => {
    expect(await layerErrors('src-main/core/probe.ts', "import { x } from '../electron/main.js';\nexport const y = x;\n")).toHaveLength(1);
    expect(
      await layerErrors('src-main/core/update/probe.ts', "import { x } from '../../headless/host.js';\nexport const y = x;\n"),
    ).toHaveLength(1);
    expect(await layerErrors('src-main/core/probe.ts', "import { app } from 'electron';\nexport const y = app;\n")).toHaveLength(1);
    expect(
      await layerErrors(
        'src-main/core/probe.ts',
        "import { readFileSync } from 'node:fs';\nimport { Panel } from '@airpanel/contract';\nexport const y = [readFileSync, Panel];\n",
      ),
    ).toEqual([]);
  });

  it('keeps the contract free of Node built-ins and of every other layer', async () => {
    expect(
      await layerErrors('contract/src/probe.ts', "import { readFileSync } from 'node:fs';\nexport const y = readFileSync;\n"),
    ).toHaveLength(1);
    expect(await layerErrors('contract/src/probe.ts', "import path from 'path';\nexport const y = path;\n")).toHaveLength(1);
    expect(await layerErrors('contract/src/probe.ts', "export * from '@airpanel/panel/update/keys';\n")).toHaveLength(1);
    expect(await layerErrors('contract/src/probe.ts', "import { z } from 'zod';\nexport const y = z;\n")).toEqual([]);
  });

  it('lets top-level folders reach each other only through workspace packages', async () => {
    expect(
      await layerErrors('server-stub/src/probe.ts', "import { Panel } from '../../contract/src/index.js';\nexport const y = Panel;\n"),
    ).toHaveLength(1);
    expect(
      await layerErrors(
        'tools/release/probe.ts',
        "import { buildBundle } from '../../src-main/core/update/bundle.js';\nexport const y = buildBundle;\n",
      ),
    ).toHaveLength(1);
    expect(
      await layerErrors(
        'tools/release/probe.ts',
        "import { buildBundle } from '@airpanel/panel/update/bundle';\nexport const y = buildBundle;\n",
      ),
    ).toEqual([]);
    // test/ too reaches the product through its packages, and its own harness by relative path.
    expect(
      await layerErrors('test/probe.test.ts', "import { PanelCore } from '../src-main/core/panel-core.js';\nexport const y = PanelCore;\n"),
    ).toHaveLength(1);
    expect(
      await layerErrors(
        'test/probe.test.ts',
        "import { PanelCore } from '@airpanel/panel/core/panel-core';\nexport const y = PanelCore;\n",
      ),
    ).toEqual([]);
    expect(
      await layerErrors(
        'test/faults/probe.test.ts',
        "import { startBackend } from '../harness/index.js';\nexport const y = startBackend;\n",
      ),
    ).toEqual([]);
    expect(
      await layerErrors('scripts/probe.ts', "import { startBackend } from '../test/harness/index.js';\nexport const y = startBackend;\n"),
    ).toHaveLength(1);
  });

  it('resolves a workspace package subpath to the file it exports, for the zones', async () => {
    // @airpanel/panel/update/bundle is core/update/bundle.ts: not one of the loader's four files.
    expect(
      await layerErrors(
        'src-main/loader/probe.ts',
        "import { buildBundle } from '@airpanel/panel/update/bundle';\nexport const y = buildBundle;\n",
      ),
    ).toHaveLength(1);
    expect(
      await layerErrors(
        'src-main/loader/probe.ts',
        "import { Ed25519Verifier } from '@airpanel/panel/update/keys';\nexport const y = Ed25519Verifier;\n",
      ),
    ).toEqual([]);
  });

  it('lets the backend and provisioning share only the contract', async () => {
    // Two complaints: the zone, and a relative path out of server-stub/.
    expect(
      await layerErrors(
        'server-stub/src/probe.ts',
        "import { PanelCore } from '../../src-main/core/index.js';\nexport const y = PanelCore;\n",
      ),
    ).toHaveLength(2);
    expect(await layerErrors('server-stub/src/probe.ts', "import { Panel } from '@airpanel/contract';\nexport const y = Panel;\n")).toEqual(
      [],
    );
    expect(
      await layerErrors('provisioning/src/probe.ts', "const m = await import('../../server-stub/src/backend.js');\nexport const y = m;\n"),
    ).toHaveLength(2);
  });

  it('lets the shipped loader compile in only the dependency-free update files', async () => {
    expect(
      await layerErrors(
        'src-main/loader/probe.ts',
        "import { buildBundle } from '../core/update/bundle.js';\nexport const y = buildBundle;\n",
      ),
    ).toHaveLength(1);
    expect(
      await layerErrors(
        'src-main/loader/probe.ts',
        "import { renameDurable } from '../core/update/fsio.js';\nexport const y = renameDurable;\n",
      ),
    ).toEqual([]);
    expect(
      await layerErrors(
        'src-main/loader/probe.ts',
        "import { writeFileAtomicSync } from '@airpanel/node-support/atomic-file';\nexport const y = writeFileAtomicSync;\n",
      ),
    ).toEqual([]);
  });

  it('keeps node-support to Node built-ins, and out of the contract and the renderer', async () => {
    expect(
      await layerErrors(
        'node-support/src/probe.ts',
        "import { open } from 'node:fs/promises';\nimport { x } from './other.js';\nexport const y = [open, x];\n",
      ),
    ).toEqual([]);
    // Two complaints: the zone, and node-support's own rule (Node built-ins only).
    expect(
      await layerErrors('node-support/src/probe.ts', "import { Panel } from '@airpanel/contract';\nexport const y = Panel;\n"),
    ).toHaveLength(2);
    expect(await layerErrors('node-support/src/probe.ts', "import { z } from 'zod';\nexport const y = z;\n")).toHaveLength(1);
    expect(await layerErrors('node-support/src/probe.ts', "import { app } from 'electron';\nexport const y = app;\n")).toHaveLength(1);
    expect(await layerErrors('contract/src/probe.ts', "export * from '@airpanel/node-support/atomic-file';\n")).toHaveLength(1);
    expect(await layerErrors('src-renderer/src/probe.ts', "export * from '@airpanel/node-support/atomic-file';\n")).toHaveLength(1);
    for (const from of [
      'src-main/core/probe.ts',
      'src-main/headless/probe.ts',
      'src-main/electron/probe.ts',
      'src-main/loader/probe.ts',
      'server-stub/src/probe.ts',
      'provisioning/src/probe.ts',
      'tools/release/probe.ts',
    ]) {
      expect(await layerErrors(from, "export * from '@airpanel/node-support/atomic-file';\n")).toEqual([]);
    }
  });

  it('keeps the backoffice to browser code: the contract and the renderer package, nothing of Node or the backend', async () => {
    expect(
      await layerErrors(
        'backoffice/src/probe.ts',
        "import { Panel } from '@airpanel/contract';\nimport { endpoints } from '@airpanel/contract/api';\nimport { fitText } from '@airpanel/renderer/lib/fit-text';\nexport const y = [Panel, endpoints, fitText];\n",
      ),
    ).toEqual([]);
    expect(
      await layerErrors('backoffice/src/probe.ts', "import { readFileSync } from 'node:fs';\nexport const y = readFileSync;\n"),
    ).toHaveLength(1);
    expect(await layerErrors('backoffice/src/probe.ts', "export * from '@airpanel/backend/backend';\n")).toHaveLength(1);
    expect(await layerErrors('backoffice/src/probe.ts', "export * from '@airpanel/node-support/atomic-file';\n")).toHaveLength(1);
    expect(await layerErrors('backoffice/src/probe.ts', "export * from '../../server-stub/src/backend.js';\n")).toHaveLength(2);
    // …and the backend does not reach into the app's source.
    expect(await layerErrors('server-stub/src/probe.ts', "export * from '@airpanel/backoffice/lib/api';\n")).toHaveLength(1);
  });
});
