// Shared fixtures of the OTA fault tests: keys, the loader's next-start decision, a full-disk writer.
import {
  checkBundleDir,
  Ed25519Verifier,
  NodePartialFileWriter,
  type PartialFileWriter,
  type PartialFileSink,
} from '@airpanel/panel/core/update/index';
import { BundleLoader } from '@airpanel/panel/loader/loader';
import { generateReleaseKey } from './harness/ota/feed.js';
import { useCleanups } from './harness/index.js';

// Registered once per test file that imports this module (vitest isolates each file's modules).
export const cleanups = useCleanups();

/**
 * The attack and fault suite: every case ends with the loader's next-start decision on a
 * bundle that is complete and intact (all sha256 checked), and nothing installed that should
 * not be.
 */
export const trustedKey = generateReleaseKey();
export const unknownKey = generateReleaseKey();
export const unusedLauncher = {
  launch: () => {
    throw new Error('no process in these tests');
  },
};
export const trustedVerifier = new Ed25519Verifier([{ keyId: trustedKey.keyId, publicKey: trustedKey.publicKey }]);

export async function nextStart(dataDir: string, factoryDir: string) {
  const loader = new BundleLoader({ dataDir, factoryDir, launcher: unusedLauncher, verifier: trustedVerifier, runtimeVersion: '45.4.1' });
  const d = await loader.decide();
  const descriptor = await checkBundleDir(d.bundleDir, { hashes: true });
  return { kind: d.launch.kind, version: descriptor.version };
}

/** Fake writer (names what it replaces): the real file writer, until `limit` bytes, then ENOSPC. */
export class EnospcAfterBytesFakeWriter implements PartialFileWriter {
  private written = 0;
  constructor(
    private readonly limit: number,
    private readonly real = new NodePartialFileWriter(),
  ) {}
  async open(path: string, offset: number): Promise<PartialFileSink> {
    const sink = await this.real.open(path, offset);
    return {
      write: async (chunk) => {
        if (this.written + chunk.length > this.limit)
          throw Object.assign(new Error('ENOSPC: no space left on device, write'), { code: 'ENOSPC' });
        this.written += chunk.length;
        await sink.write(chunk);
      },
      sync: () => sink.sync(),
      close: () => sink.close(),
    };
  }
}
