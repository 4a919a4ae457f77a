// Type-checks every layer with its own tsconfig (see the comment in each): a layer that
// reaches for another runtime's API fails here, not on a panel.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const projects = [
  'contract',
  'node-support',
  'src-main/core',
  'src-main/loader',
  'src-main/headless',
  'src-main/electron',
  'server-stub',
  'provisioning',
  'tools/release',
  'image',
  'test',
];
let failed = 0;
for (const dir of projects) {
  if (!existsSync(`${dir}/tsconfig.json`)) continue;
  const r = spawnSync('npx', ['--no-install', 'tsc', '-p', `${dir}/tsconfig.json`], { stdio: 'inherit' });
  console.log(`typecheck ${dir}: ${r.status === 0 ? 'ok' : 'FAILED'}`);
  if (r.status !== 0) failed++;
}
// The Vue layers (single-file components) are checked by vue-tsc.
for (const dir of ['src-renderer', 'backoffice']) {
  if (!existsSync(`${dir}/tsconfig.json`) || !existsSync(`${dir}/src`)) continue;
  const r = spawnSync('npx', ['--no-install', 'vue-tsc', '--noEmit', '-p', `${dir}/tsconfig.json`], { stdio: 'inherit' });
  console.log(`typecheck ${dir}: ${r.status === 0 ? 'ok' : 'FAILED'}`);
  if (r.status !== 0) failed++;
}
process.exit(failed ? 1 : 0);
