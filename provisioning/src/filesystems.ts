import { readFile, writeFile } from 'node:fs/promises';
import { join, posix } from 'node:path';
import type { FsAdapter, FsFile, FsKind } from './disk.js';
import { ProvisionError } from './errors.js';
import type { Owner } from './panel-file.js';
import { runChecked, type ToolRunner } from './tools.js';

/** Paths we hand to debugfs/mtools are ours; they must need no quoting. */
function safePath(path: string): string {
  if (!/^[A-Za-z0-9._-]+(\/[A-Za-z0-9._-]+)*$/.test(path) || path.split('/').some((p) => p === '..' || p === '.')) {
    throw new ProvisionError(`internal: unsafe path in filesystem: ${path}`);
  }
  return path;
}

function ancestors(path: string): string[] {
  const parts = posix
    .dirname(path)
    .split('/')
    .filter((p) => p && p !== '.');
  return parts.map((_, i) => parts.slice(0, i + 1).join('/'));
}

/**
 * ext4 through debugfs (e2fsprogs), no mount and no root: files get the given owner and mode
 * so the app (user `airpanel`, uid 1000 in the image) can read them.
 */
export class Ext4Debugfs implements FsAdapter {
  readonly kind: FsKind = 'ext4';
  private readonly env = { DEBUGFS_PAGER: '__none__', PAGER: '__none__' };

  constructor(
    private readonly tools: ToolRunner,
    private readonly file: string,
    private readonly workDir: string,
    private readonly owner: Owner,
    private readonly dirMode = 0o750,
  ) {}

  async readFile(path: string): Promise<Buffer | null> {
    const r = await this.tools.run('debugfs', ['-R', `cat /${safePath(path)}`, this.file], { env: this.env });
    if (/File not found by ext2_lookup/.test(r.stderr)) return null;
    if (r.code !== 0 || /^cat: /m.test(r.stderr)) throw new ProvisionError(`debugfs cannot read ${path}: ${r.stderr.trim()}`);
    return r.stdout;
  }

  /** `stat` of a path as { mode, uid, gid }, or null when absent. */
  async statFile(path: string): Promise<{ mode: number; uid: number; gid: number; type: string } | null> {
    const r = await this.tools.run('debugfs', ['-R', `stat /${safePath(path)}`, this.file], { env: this.env });
    if (/File not found by ext2_lookup/.test(r.stderr)) return null;
    const out = r.stdout.toString();
    const type = /Type: (\w+)/.exec(out)?.[1];
    const mode = /Mode:\s+0?([0-7]+)/.exec(out)?.[1];
    const ids = /User:\s+(\d+)\s+Group:\s+(\d+)/.exec(out);
    if (!type || !mode || !ids) throw new ProvisionError(`debugfs stat ${path}: unexpected output`);
    return { type, mode: parseInt(mode, 8), uid: Number(ids[1]), gid: Number(ids[2]) };
  }

  async writeFiles(files: readonly FsFile[]): Promise<void> {
    const script: string[] = [];
    const dirs = new Set<string>();
    for (const f of files) for (const d of ancestors(safePath(f.path))) dirs.add(d);
    for (const d of dirs) {
      if (!(await this.statFile(d))) script.push(`mkdir /${d}`);
      script.push(
        `sif /${d} mode 0${(0o40000 | this.dirMode).toString(8)}`,
        `sif /${d} uid ${this.owner.uid}`,
        `sif /${d} gid ${this.owner.gid}`,
      );
    }
    let i = 0;
    for (const f of files) {
      const src = join(this.workDir, `src-${i++}`);
      if (/\s|"/.test(src)) throw new ProvisionError(`temp directory ${this.workDir} must not contain spaces or quotes (set TMPDIR)`);
      await writeFile(src, f.data, { mode: 0o600 });
      const existing = await this.statFile(f.path);
      if (existing && existing.type !== 'regular')
        throw new ProvisionError(`/${f.path} in the data partition is a ${existing.type}, not a file; refusing to replace it`);
      if (existing) script.push(`rm /${f.path}`);
      script.push(
        `cd /${posix.dirname(f.path) === '.' ? '' : posix.dirname(f.path)}`,
        `write ${src} ${posix.basename(f.path)}`,
        'cd /',
        `sif /${f.path} mode 0${(0o100000 | f.mode).toString(8)}`,
        `sif /${f.path} uid ${this.owner.uid}`,
        `sif /${f.path} gid ${this.owner.gid}`,
      );
    }
    const cmdFile = join(this.workDir, 'debugfs.cmd');
    await writeFile(cmdFile, `${script.join('\n')}\n`);
    const r = await runChecked(this.tools, 'debugfs', ['-w', '-f', cmdFile, this.file], 'writing the data partition', { env: this.env });
    // debugfs exits 0 even when a command fails: read everything back to be sure.
    for (const f of files) {
      const back = await this.readFile(f.path);
      const st = await this.statFile(f.path);
      if (!back || !back.equals(f.data) || !st || (st.mode & 0o7777) !== f.mode || st.uid !== this.owner.uid || st.gid !== this.owner.gid) {
        throw new ProvisionError(`debugfs did not write /${f.path} as asked: ${r.stderr.trim() || 'content or owner differs'}`);
      }
    }
  }

  async check(): Promise<void> {
    const r = await this.tools.run('e2fsck', ['-fn', this.file]);
    if (r.code !== 0) {
      throw new ProvisionError(
        `the data partition's ext4 filesystem is not clean (e2fsck -fn exit ${r.code}): ${r.stdout.toString().trim().split('\n').slice(-2).join(' / ')}`,
      );
    }
  }
}

/** vfat through mtools (no owners on vfat: the mount options decide them). */
export class VfatMtools implements FsAdapter {
  readonly kind: FsKind = 'vfat';
  private readonly env = { MTOOLS_SKIP_CHECK: '1' };

  constructor(
    private readonly tools: ToolRunner,
    private readonly file: string,
    private readonly workDir: string,
  ) {}

  async readFile(path: string): Promise<Buffer | null> {
    const dest = join(this.workDir, 'read-back');
    const r = await this.tools.run('mcopy', ['-n', '-o', '-i', this.file, `::/${safePath(path)}`, dest], { env: this.env });
    if (r.code !== 0) {
      if (/not found/i.test(r.stderr)) return null;
      throw new ProvisionError(`mcopy cannot read ${path}: ${r.stderr.trim()}`);
    }
    return readFile(dest);
  }

  async writeFiles(files: readonly FsFile[]): Promise<void> {
    let i = 0;
    for (const f of files) {
      for (const d of ancestors(safePath(f.path))) {
        const exists = await this.tools.run('mdir', ['-b', '-i', this.file, `::/${d}`], { env: this.env });
        if (exists.code !== 0) await runChecked(this.tools, 'mmd', ['-i', this.file, `::/${d}`], `creating /${d}`, { env: this.env });
      }
      const src = join(this.workDir, `src-${i++}`);
      await writeFile(src, f.data, { mode: 0o600 });
      await runChecked(this.tools, 'mcopy', ['-n', '-o', '-i', this.file, src, `::/${f.path}`], `writing /${f.path}`, { env: this.env });
      const back = await this.readFile(f.path);
      if (!back || !back.equals(f.data)) throw new ProvisionError(`mcopy did not write /${f.path} as asked`);
    }
  }

  async check(): Promise<void> {
    const r = await this.tools.run('fsck.vfat', ['-n', this.file]);
    if (r.code !== 0)
      throw new ProvisionError(
        `the data partition's vfat filesystem is not clean (fsck.vfat -n exit ${r.code}): ${r.stdout.toString().trim().split('\n').slice(-2).join(' / ')}`,
      );
  }
}
