// The images and bundles the boot tests need, built with the project's own tools when missing:
// a panel image of a given version (`npm run image`), an app bundle that exits at start (the
// release bundler over a copy of dist/app whose Node entry only exits: a release that crashes),
// and a small ext4 disk holding a RAUC bundle, attached read-only to the guest (/data is too
// small to hold a 500 MiB bundle, and the guest reaches no other host).
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, linkSync, mkdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { basename, join } from 'node:path';
import { readImageInfo, type ImageInfo } from './boot-panel.js';
import { REPO } from './panel-image.js';

const PATH = `${process.env.PATH ?? '/usr/bin:/bin'}:/usr/sbin:/sbin`;

function must(cmd: string, args: string[], timeoutMs = 30 * 60_000): string {
  const r = spawnSync(cmd, args, { cwd: REPO, encoding: 'utf8', timeout: timeoutMs, killSignal: 'SIGKILL', env: { ...process.env, PATH }, maxBuffer: 64 << 20 });
  if (r.error) throw r.error;
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')} exited ${r.status}:\n${r.stdout.slice(-4_000)}\n${r.stderr.slice(-4_000)}`);
  return r.stdout;
}

const TSX = join(REPO, 'node_modules/.bin/tsx');

/**
 * The image `outDir/airpanel-debian-x86_64.img` of `version`: reused when its info file says
 * that version, else built (minutes; the base root filesystem is cached).
 */
export function ensureImage(o: { version: string; outDir: string }): ImageInfo {
  const image = join(o.outDir, 'airpanel-debian-x86_64.img');
  if (existsSync(image.replace(/\.img$/, '.json'))) {
    const info = readImageInfo(image);
    if (info.version === o.version && existsSync(info.bundle)) return info;
  }
  console.log(`[boot] building image ${o.version} into ${o.outDir} (npm run image)`);
  must(TSX, [join(REPO, 'image/cli.ts'), '--image-version', o.version, '--out-dir', o.outDir, '--skip-app-build']);
  return readImageInfo(image);
}

/** A bundle of `version` whose Node entry exits with status 1 at once (a release that crashes at start). */
export function crashingBundle(version: string, workDir: string): string {
  const app = join(workDir, `crashing-app-${version}`);
  rmSync(app, { recursive: true, force: true });
  cpSync(join(REPO, 'dist/app'), app, { recursive: true });
  writeFileSync(join(app, 'node-main.js'), "process.stderr.write('crashing test release: exits at start\\n');\nprocess.exit(1);\n");
  const out = join(workDir, `airpanel-${version}-crashing.tar.gz`);
  must(TSX, [join(REPO, 'tools/release/cli.ts'), 'bundle', '--version', version, '--in', app, '--node-main', 'node-main.js', '--out', out]);
  return out;
}

/** The app bundle of `version` made from dist/app as it is (what a release manager publishes). */
export function appBundle(version: string, workDir: string): string {
  const out = join(workDir, `airpanel-${version}.tar.gz`);
  must(TSX, [join(REPO, 'tools/release/cli.ts'), 'bundle', '--version', version, '--out', out]);
  return out;
}

/** An ext4 disk image holding `files` at its root (hard links when possible: no copy of 500 MiB). */
export function diskWithFiles(files: string[], diskFile: string): string {
  const dir = `${diskFile}.d`;
  rmSync(dir, { recursive: true, force: true });
  mkdirSync(dir, { recursive: true });
  let bytes = 0;
  for (const f of files) {
    const target = join(dir, basename(f));
    try {
      linkSync(f, target);
    } catch {
      cpSync(f, target);
    }
    bytes += statSync(f).size;
  }
  const mib = Math.ceil((bytes * 1.1) / 2 ** 20) + 64;
  rmSync(diskFile, { force: true });
  must('mkfs.ext4', ['-q', '-F', '-L', 'boot-test-files', '-d', dir, diskFile, `${mib}M`]);
  rmSync(dir, { recursive: true, force: true });
  return diskFile;
}
