import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import type { OtaHttpClient } from './http.js';

/** Where downloaded bytes go (injected so a test can simulate a full disk). */
export interface PartialFileWriter {
  /** Opens `path` for writing from `offset`, dropping anything after it; creates it if absent. */
  open(path: string, offset: number): Promise<PartialFileSink>;
}
export interface PartialFileSink {
  write(chunk: Uint8Array): Promise<void>;
  sync(): Promise<void>;
  close(): Promise<void>;
}

export class NodePartialFileWriter implements PartialFileWriter {
  async open(path: string, offset: number): Promise<PartialFileSink> {
    let fh: FileHandle;
    try {
      fh = await open(path, 'r+');
    } catch {
      fh = await open(path, 'w+');
    }
    await fh.truncate(offset);
    let pos = offset;
    return {
      write: async (chunk) => {
        let done = 0;
        while (done < chunk.length) {
          const { bytesWritten } = await fh.write(chunk, done, chunk.length - done, pos);
          done += bytesWritten;
          pos += bytesWritten;
        }
      },
      sync: () => fh.sync(),
      close: () => fh.close(),
    };
  }
}

export class DownloadError extends Error {
  override name = 'DownloadError';
  constructor(readonly code: 'http' | 'checksum' | 'too-large' | 'incomplete' | 'disk-full' | 'io', message: string) {
    super(message);
  }
}

export interface DownloadRequest {
  url: string;
  /** The partial file; kept between attempts so the next one resumes with a Range request. */
  dest: string;
  size: number;
  /** Expected sha512, base64 (from the signed manifest). */
  sha512: string;
  onProgress?: (received: number, total: number) => void;
}

export interface DownloadResult {
  /** Bytes that came over the network in this call (less than size when resumed). */
  transferred: number;
  resumedFrom: number;
}

/**
 * Downloads `url` into `dest`, resuming from what `dest` already holds (HTTP Range), never
 * accepting more than `size` bytes, and verifying sha512 over the whole file. On a checksum
 * mismatch or a full disk the partial file is deleted (a panel must not fill its disk with
 * junk); on a cut connection it is kept for the next attempt.
 */
export async function downloadWithResume(http: OtaHttpClient, writer: PartialFileWriter, req: DownloadRequest): Promise<DownloadResult> {
  let have = 0;
  try {
    have = (await stat(req.dest)).size;
  } catch {
    have = 0;
  }
  if (have > req.size) have = 0;
  const hash = createHash('sha512');
  if (have > 0) {
    for await (const chunk of createReadStream(req.dest, { start: 0, end: have - 1 })) hash.update(chunk as Buffer);
  }
  if (have === req.size) {
    if (hash.digest('base64') === req.sha512) return { transferred: 0, resumedFrom: have };
    await rm(req.dest, { force: true });
    return downloadWithResume(http, writer, req);
  }

  const res = await http.getStream(req.url, have > 0 ? { range: `bytes=${have}-` } : {});
  let offset: number;
  let h = hash;
  if (res.status === 206) {
    const cr = String(res.headers['content-range'] ?? '');
    const m = /^bytes (\d+)-(\d+)\/(\d+|\*)$/.exec(cr);
    if (!m || Number(m[1]) !== have) {
      res.abort();
      throw new DownloadError('http', `unexpected Content-Range "${cr}" for a resume from ${have}`);
    }
    offset = have;
  } else if (res.status === 200) {
    offset = 0;
    h = createHash('sha512');
  } else {
    res.abort();
    throw new DownloadError('http', `GET ${req.url}: HTTP ${res.status}`);
  }

  let sink: PartialFileSink;
  try {
    sink = await writer.open(req.dest, offset);
  } catch (e) {
    res.abort();
    throw await ioError(e, req.dest);
  }
  const resumedFrom = offset;
  let received = offset;
  let failure: unknown = null;
  try {
    for await (const chunk of res.body) {
      if (received + chunk.length > req.size) throw new DownloadError('too-large', `server sent more than the ${req.size} bytes the manifest announces`);
      await sink.write(chunk);
      h.update(chunk);
      received += chunk.length;
      req.onProgress?.(received, req.size);
    }
    await sink.sync();
  } catch (e) {
    failure = e;
    res.abort();
  } finally {
    await sink.close().catch(() => undefined);
  }
  if (failure !== null) {
    if (failure instanceof DownloadError) {
      await rm(req.dest, { force: true });
      throw failure;
    }
    const err = await ioError(failure, req.dest);
    throw err;
  }
  if (received < req.size) throw new DownloadError('incomplete', `connection ended after ${received} of ${req.size} bytes (will resume)`);
  if (h.digest('base64') !== req.sha512) {
    await rm(req.dest, { force: true });
    throw new DownloadError('checksum', 'sha512 of the bundle does not match the signed manifest');
  }
  return { transferred: received - resumedFrom, resumedFrom };
}

async function ioError(e: unknown, dest: string): Promise<DownloadError> {
  const code = (e as NodeJS.ErrnoException).code;
  if (code === 'ENOSPC' || code === 'EDQUOT') {
    await rm(dest, { force: true }).catch(() => undefined);
    return new DownloadError('disk-full', `disk full while downloading (${code}); partial file removed`);
  }
  if (e instanceof DownloadError) return e;
  return new DownloadError(code ? 'io' : 'incomplete', (e as Error).message);
}
