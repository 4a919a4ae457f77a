import { spawn } from 'node:child_process';
import path from 'node:path';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { makeTempDir, startTestBackend } from '../test-support.js';
import { runUsersCommand } from './cli.js';
import { login, postLogin } from './test-support.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

/** `npm run server -- users …` as an operator runs it (tsx on cli.ts), the password piped into stdin. */
function usersCommand(args: string[], stdin: string): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', 'server-stub/src/cli.ts', 'users', ...args], {
      cwd: repoRoot,
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, AIRPANEL_DATA_DIR: '' },
    });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(stdin);
  });
}

/** The same command in this process, stdin a pipe (not a terminal), as in the spawned one. */
async function usersInProcess(args: string[], stdin: string): Promise<{ code: number; stdout: string; stderr: string }> {
  let stdout = '';
  let stderr = '';
  const code = await runUsersCommand(args, {
    stdin: Readable.from([stdin]),
    stdout: { write: (text: string) => (stdout += text) },
    stderr: { write: (text: string) => (stderr += text) },
    env: {},
  });
  return { code, stdout, stderr };
}

describe('npm run server -- users (on a real database)', () => {
  it('adds a user with the password read from stdin (a spawned process), refuses a weak one, lists, changes the password, disables', async () => {
    const temp = makeTempDir();
    try {
      const dataDir = ['--data-dir', temp.dir];
      const weak = await usersInProcess(['add', '--name', 'alice', '--role', 'admin', ...dataDir], 'short\n');
      expect(weak.code).toBe(2);
      expect(weak.stderr).toContain('at least 12 characters');
      const noRole = await usersInProcess(['add', '--name', 'alice', '--role', 'root', ...dataDir], 'a good long passphrase\n');
      expect(noRole.code).toBe(2);
      expect(noRole.stderr).toContain('--role must be one of');

      // The one real process: the npm script's entry point reads the piped password.
      const added = await usersCommand(['add', '--name', 'alice', '--role', 'admin', ...dataDir], 'a good long passphrase\n');
      expect(added.stderr).toBe('');
      expect(added).toMatchObject({ code: 0, stdout: 'added alice (admin)\n' });
      const again = await usersInProcess(['add', '--name', 'alice', '--role', 'viewer', ...dataDir], 'a good long passphrase\n');
      expect(again.code).toBe(1);
      expect(again.stderr).toContain('already exists');

      const listed = await usersInProcess(['list', ...dataDir], '');
      expect(listed.stdout).toMatch(/^alice\tadmin\tactive\tlast login never\n$/);

      const backend = await startTestBackend(temp.dir);
      try {
        const session = await login(backend.url, 'alice', 'a good long passphrase');
        expect(session.info.role).toBe('admin');
        const changed = await usersInProcess(['passwd', '--name', 'alice', ...dataDir], 'another good passphrase\n');
        expect(changed.code).toBe(0);
        expect((await postLogin(backend.url, 'alice', 'a good long passphrase')).status).toBe(401);
        expect((await postLogin(backend.url, 'alice', 'another good passphrase')).status).toBe(200);
        expect((await usersInProcess(['disable', '--name', 'alice', ...dataDir], '')).code).toBe(0);
        expect((await postLogin(backend.url, 'alice', 'another good passphrase')).status).toBe(401);
        const audit = backend.audit.list({ user: 'cli', limit: 10 });
        expect(audit.map((e) => e.action)).toEqual(['updateUser', 'updateUser', 'createUser']);
      } finally {
        await backend.close();
      }
    } finally {
      temp.remove();
    }
  }, 120_000);
});
