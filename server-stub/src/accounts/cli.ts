import path from 'node:path';
import { parseArgs } from 'node:util';
import { passwordWeakness, Role, UserName } from '@airpanel/contract';
import { AuditLog } from '../audit/log.js';
import { systemClock } from '../clock.js';
import { openDatabase } from '../db/database.js';
import { Store } from '../db/store.js';
import { AccountService, DEFAULT_ACCOUNT_POLICY } from './service.js';
import { AccountStore } from './store.js';

export const USERS_HELP = `Backoffice users

Usage: npm run server -- users <command> [options]

  users add --name NAME --role ROLE   add a user (ROLE: viewer | operator | release-manager | admin)
  users list                          users with role, state and last login
  users passwd --name NAME            set a new password (ends the user's sessions)
  users disable --name NAME           disable a user (ends its sessions)
  users enable --name NAME            enable a user again (clears a lockout)

  --data-dir DIR   the backend's data directory  AIRPANEL_DATA_DIR (default .data/server)

The password is never a flag: it is asked on the terminal (twice, not echoed), or read as the
first line of standard input when that is not a terminal (scripts: printf '%s\\n' "$PW" | …).
At least 12 characters, at least 5 different ones, not containing the user name.
`;

/** Where the command reads the password and writes its answers: the process's, or a test's. */
export interface UsersCommandIo {
  stdin: NodeJS.ReadableStream & { isTTY?: boolean; setRawMode?: (mode: boolean) => unknown };
  stdout: { write(text: string): unknown };
  stderr: { write(text: string): unknown };
  env: NodeJS.ProcessEnv;
}

class UsersUsageError extends Error {}

/** Reads everything a pipe gives (at most 4 KiB) and answers its first line. */
async function firstLineOfPipe(stdin: NodeJS.ReadableStream): Promise<string> {
  let text = '';
  for await (const chunk of stdin) {
    text += typeof chunk === 'string' ? chunk : (chunk as Buffer).toString('utf8');
    if (text.includes('\n') || text.length > 4096) break;
  }
  return text.split(/\r?\n/)[0] ?? '';
}

/** Reads one line from a terminal in raw mode, echoing nothing. Ctrl-C aborts. */
function hiddenLine(io: UsersCommandIo, prompt: string): Promise<string> {
  const { stdin } = io;
  io.stderr.write(prompt);
  return new Promise((resolve, reject) => {
    let line = '';
    stdin.setRawMode?.(true);
    stdin.resume();
    const onData = (chunk: Buffer | string) => {
      for (const char of chunk.toString()) {
        if (char === '\r' || char === '\n') {
          done();
          io.stderr.write('\n');
          resolve(line);
          return;
        }
        if (char === '\u0003') {
          done();
          reject(new UsersUsageError('aborted'));
          return;
        }
        if (char === '\u007f' || char === '\b') line = line.slice(0, -1);
        else line += char;
      }
    };
    const done = () => {
      stdin.removeListener('data', onData);
      stdin.setRawMode?.(false);
      stdin.pause();
    };
    stdin.on('data', onData);
  });
}

async function readNewPassword(io: UsersCommandIo, name: string): Promise<string> {
  if (!io.stdin.isTTY) {
    const password = await firstLineOfPipe(io.stdin);
    const weakness = passwordWeakness(password, name);
    if (weakness) throw new UsersUsageError(`refused: ${weakness}`);
    return password;
  }
  for (;;) {
    const password = await hiddenLine(io, `New password for ${name}: `);
    const weakness = passwordWeakness(password, name);
    if (weakness) {
      io.stderr.write(`refused: ${weakness}\n`);
      continue;
    }
    if ((await hiddenLine(io, 'Again: ')) === password) return password;
    io.stderr.write('the two entries differ; again\n');
  }
}

function userNameOf(raw: string | undefined): string {
  if (raw === undefined) throw new UsersUsageError('--name is required');
  const parsed = UserName.safeParse(raw);
  if (!parsed.success) throw new UsersUsageError(`--name: ${parsed.error.issues[0]?.message ?? 'invalid'}`);
  return parsed.data;
}

/**
 * `users add|list|passwd|disable|enable` on the backend's database, directly (the backend may be
 * running: SQLite serialises the writes). Changes are recorded in the audit log as the system's.
 * Answers the exit code.
 */
export async function runUsersCommand(argv: string[], io: UsersCommandIo): Promise<number> {
  try {
    const { values, positionals } = parseArgs({
      args: argv,
      strict: true,
      allowPositionals: true,
      options: {
        name: { type: 'string' },
        role: { type: 'string' },
        'data-dir': { type: 'string' },
        help: { type: 'boolean', short: 'h' },
      },
    });
    const command = positionals[0];
    if (values.help || command === undefined) {
      io.stdout.write(USERS_HELP);
      return values.help ? 0 : 2;
    }
    if (positionals.length > 1) throw new UsersUsageError(`unexpected argument "${positionals[1]}"`);
    if (!['add', 'list', 'passwd', 'disable', 'enable'].includes(command)) throw new UsersUsageError(`unknown command "users ${command}"`);
    const name = command === 'list' ? '' : userNameOf(values.name);
    const role = command === 'add' ? Role.safeParse(values.role) : null;
    if (role && !role.success) throw new UsersUsageError(`--role must be one of ${Role.options.join(', ')}`);
    // Before the database is opened: a refused password leaves nothing half done.
    const password = command === 'add' || command === 'passwd' ? await readNewPassword(io, name) : null;

    const db = openDatabase(path.resolve(values['data-dir'] ?? io.env.AIRPANEL_DATA_DIR ?? '.data/server'));
    try {
      const store = new Store(db);
      const accounts = new AccountService({ store: new AccountStore(store), clock: systemClock, policy: DEFAULT_ACCOUNT_POLICY });
      const audit = new AuditLog({ store, clock: systemClock });
      const record = (action: string, before: unknown, after: unknown, summary: string) =>
        audit.append({ actor: { kind: 'system', name: 'cli' }, action, object: { type: 'user', id: name }, before, after, summary });
      switch (command) {
        case 'list': {
          const users = accounts.list();
          if (users.length === 0) io.stdout.write('no users yet: npm run server -- users add --name NAME --role admin\n');
          for (const user of users) {
            const state = user.disabled ? 'disabled' : user.lockedUntil ? `locked until ${user.lockedUntil}` : 'active';
            io.stdout.write(`${user.name}\t${user.role}\t${state}\tlast login ${user.lastLoginAt ?? 'never'}\n`);
          }
          return 0;
        }
        case 'add': {
          const user = await accounts.create({ name, role: role!.data!, password: password! });
          record('createUser', null, user, `cli: added user ${name} (${user.role})`);
          io.stdout.write(`added ${name} (${user.role})\n`);
          return 0;
        }
        default: {
          const before = accounts.get(name);
          const change = command === 'passwd' ? { password: password! } : { disabled: command === 'disable' };
          const after = await accounts.update(name, change);
          record('updateUser', before, after, `cli: ${command} ${name}`);
          io.stdout.write(`${command === 'passwd' ? 'new password set for' : `${command}d`} ${name}\n`);
          return 0;
        }
      }
    } finally {
      db.close();
    }
  } catch (error) {
    io.stderr.write(`${(error as Error).message}\n`);
    if (error instanceof UsersUsageError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION')
      io.stderr.write(`\n${USERS_HELP}`);
    return error instanceof UsersUsageError ? 2 : 1;
  }
}
