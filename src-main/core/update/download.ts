import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { open, rm, stat, type FileHandle } from 'node:fs/promises';
import { TransferLimitError, type OtaHttpClient, type TransferLimits } from './http.js';

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
  /**
   * `incomplete` and `too-slow` keep the partial file (the next attempt resumes: every byte
   * is hashed again, so a slow server gains nothing by it); the others delete it.
   */
  constructor(
    readonly code: 'http' | 'checksum' | 'too-large' | 'too-slow' | 'incomplete' | 'disk-full' | 'io',
    message: string,
  ) {
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
  /** Bounds on the transfer; the deadline grows with the bytes still to fetch. */
  limits?: DownloadLimits;
  signal?: AbortSignal;
}

export interface DownloadLimits {
  /** Every window must bring at least this many bytes per second. Default 2 KiB/s. */
  minBytesPerSecond: number;
  /** Default 30 s. */
  rateWindowMs: number;
  /** Added to the time the remaining bytes take at the minimum rate. Default 60 s. */
  baseDeadlineMs: number;
}

export const DEFAULT_DOWNLOAD_LIMITS: DownloadLimits = { minBytesPerSecond: 2048, rateWindowMs: 30_000, baseDeadlineMs: 60_000 };

/** The limits of one request for `remaining` bytes: a deadline scaled by size, the minimum rate. */
export function downloadTransferLimits(remaining: number, l: DownloadLimits = DEFAULT_DOWNLOAD_LIMITS): TransferLimits {
  return {
    deadlineMs: l.baseDeadlineMs + Math.ceil((remaining / l.minBytesPerSecond) * 1000),
    minBytesPerSecond: l.minBytesPerSecond,
    rateWindowMs: l.rateWindowMs,
  };
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

  let res;
  try {
    res = await http.getStream(
      req.url,
      have > 0 ? { range: `bytes=${have}-` } : {},
      downloadTransferLimits(req.size - have, req.limits),
      req.signal,
    );
  } catch (e) {
    if (e instanceof TransferLimitError) throw new DownloadError('too-slow', `${req.url}: ${e.message}`);
    throw e;
  }
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
  const announced = Number(res.headers['content-length'] ?? NaN);
  if (announced > req.size - offset) {
    res.abort();
    throw new DownloadError('too-large', `server announces ${announced} bytes from ${offset}; the manifest says ${req.size} in all`);
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
      if (received + chunk.length > req.size)
        throw new DownloadError('too-large', `server sent more than the ${req.size} bytes the manifest announces`);
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
    if (failure instanceof TransferLimitError) {
      if (failure.code === 'too-large') {
        await rm(req.dest, { force: true });
        throw new DownloadError('too-large', failure.message);
      }
      throw new DownloadError('too-slow', `${failure.message}; ${received} of ${req.size} bytes kept for the next attempt`);
    }
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
