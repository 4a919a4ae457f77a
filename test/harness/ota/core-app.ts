import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBundle, type BuiltBundle } from '@airpanel/panel/core/update/index';
import type { CoreAppBehaviour } from './core-app-runtime.js';

/** A test-app bundle whose entry runs the real PanelCore (core-app-runtime.ts). */
export async function coreAppBundle(workDir: string, version: string, behaviour: CoreAppBehaviour): Promise<BuiltBundle> {
  const tree = join(workDir, `core-app-${version}`);
  await mkdir(join(tree, 'app'), { recursive: true });
  await writeFile(
    join(tree, 'app', 'main.mjs'),
    `// Airpanel TEST app (${behaviour}) running the real PanelCore.\nconst rt = await import(process.env.AIRPANEL_STUB_RUNTIME);\nawait rt.runCoreApp('${behaviour}');\n`,
  );
  return buildBundle({
    inputs: [{ dir: join(tree, 'app'), as: 'app' }],
    version,
    main: 'app/main.mjs',
    minRuntime: { electron: '45.0.0', node: '20.0.0' },
    outFile: join(workDir, `core-app-${version}.tar.gz`),
  });
}
