import { mkdir, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { buildBundle, type BuiltBundle } from '@airpanel/panel/core/update/index';

/** The entry point of a stub test-app bundle: two lines, the behaviour is in stub-app-runtime.ts. */
export function stubMainSource(behaviour: 'healthy' | 'crash' | 'hang'): string {
  return `// Airpanel stub TEST app (${behaviour}): not the real panel app.\nconst rt = await import(process.env.AIRPANEL_STUB_RUNTIME);\nawait rt.runStubApp('${behaviour}');\n`;
}

/** Builds a stub test-app bundle through the real bundler, from a generated tree. */
export async function stubBundle(
  workDir: string,
  version: string,
  behaviour: 'healthy' | 'crash' | 'hang',
  padding = 0,
): Promise<BuiltBundle> {
  const tree = join(workDir, `stub-${version}`);
  await mkdir(join(tree, 'app'), { recursive: true });
  await writeFile(join(tree, 'app', 'main.mjs'), stubMainSource(behaviour));
  if (padding > 0) {
    const { randomBytes } = await import('node:crypto');
    await writeFile(join(tree, 'app', 'assets.bin'), randomBytes(padding));
  }
  return buildBundle({
    inputs: [{ dir: join(tree, 'app'), as: 'app' }],
    version,
    main: 'app/main.mjs',
    minRuntime: { electron: '45.0.0', node: '20.0.0' },
    outFile: join(workDir, `stub-${version}.tar.gz`),
  });
}
