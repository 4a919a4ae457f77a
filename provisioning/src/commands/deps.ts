// What every command gets: its dependencies, and the card reader/writer built from them.
import { DataPartition, type ProgressFn } from '../disk.js';
import { Ext4Debugfs, VfatMtools } from '../filesystems.js';
import type { Owner } from '../panel-file.js';
import type { BackendHttp } from '../register.js';
import type { ToolRunner } from '../tools.js';

/** uid/gid of the `airpanel` user in the Buildroot image (buildroot/board/airpanel/common/users.txt). */
export const IMAGE_APP_OWNER: Owner = { uid: 1000, gid: 1000 };

export interface CliDeps {
  /** How the backend is reached (the typed API client's transport and its deadline). */
  http: BackendHttp;
  /** Shows the progress of reading/writing a card (optional; the CLI draws a bar on a TTY). */
  progress?: ProgressFn;
  tools: ToolRunner;
  env: NodeJS.ProcessEnv;
  tmpDir: string;
  cwd: string;
  out: (line: string) => void;
  err: (line: string) => void;
}

export function partitionsFor(deps: CliDeps, owner: Owner): DataPartition {
  return new DataPartition({
    tools: deps.tools,
    tmpDir: deps.tmpDir,
    ...(deps.progress ? { progress: deps.progress } : {}),
    adapterFor: (kind, file, work) =>
      kind === 'ext4' ? new Ext4Debugfs(deps.tools, file, work, owner) : new VfatMtools(deps.tools, file, work),
  });
}
