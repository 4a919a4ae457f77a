// `show`: reads a panel.json back from an image, a card, a data dir or a file.
import { resolve } from 'node:path';
import { readPanel } from '../inject.js';
import { describeConfig, panelLabel } from '../panel-file.js';
import { oneTarget, type Values } from './arguments.js';
import { IMAGE_APP_OWNER, partitionsFor, type CliDeps } from './deps.js';

export async function show(v: Values, deps: CliDeps): Promise<void> {
  const target = oneTarget(v, 'show', true);
  const abs = { ...target, path: resolve(deps.cwd, target.path) } as typeof target;
  const result = await readPanel(partitionsFor(deps, IMAGE_APP_OWNER), abs);
  if (v.json) {
    deps.out(result.bytes.toString().replace(/\n$/, ''));
    return;
  }
  deps.out(`${result.where}:`);
  for (const line of describeConfig(result.config)) deps.out(`  ${line}`);
  deps.out(panelLabel(result.config));
}
