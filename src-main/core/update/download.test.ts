import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createHash, randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { DownloadError, downloadWithResume, NodePartialFileWriter } from './download.js';
import { GotOtaHttpClient } from './http.js';

// Real HTTP servers on 127.0.0.1:0; `honourRange: false` is a server that ignores Range.
describe('downloadWithResume', () => {
  const body = randomBytes(64 * 1024);
  const sha512 = createHash('sha512').update(body).digest('base64');
  let dir: string;
  let server: http.Server;
  let url: string;
  let honourRange = true;
  let serve: Buffer = body;
  const seen: (string | undefined)[] = [];

  beforeEach(async () => {
    dir = await mkdtemp(join(tmpdir(), 'airpanel-dl-'));
    honourRange = true;
    serve = body;
    seen.length = 0;
    server = http.createServer((req, res) => {
      seen.push(req.headers.range);
      const m = /^bytes=(\d+)-$/.exec(req.headers.range ?? '');
      if (m && honourRange) {
        const start = Number(m[1]);
        res.writeHead(206, { 'content-range': `bytes ${start}-${serve.length - 1}/${serve.length}` });
        res.end(serve.subarray(start));
      } else {
        res.writeHead(200);
        res.end(serve);
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/b`;
  });
  afterEach(async () => {
    server.closeAllConnections();
    await new Promise((r) => server.close(r));
    await rm(dir, { recursive: true, force: true });
  });

  const http1 = new GotOtaHttpClient();
  const writer = new NodePartialFileWriter();

  it('resumes from a partial file with a Range request and verifies the whole', async () => {
    const dest = join(dir, 'b.part');
    await writeFile(dest, body.subarray(0, 10_000));
    const r = await downloadWithResume(http1, writer, { url, dest, size: body.length, sha512 });
    expect(r).toEqual({ transferred: body.length - 10_000, resumedFrom: 10_000 });
    expect(seen).toEqual(['bytes=10000-']);
    expect((await readFile(dest)).equals(body)).toBe(true);
  });

  it('starts over when the server ignores Range', async () => {
    honourRange = false;
    const dest = join(dir, 'b.part');
    await writeFile(dest, body.subarray(0, 10_000));
    const r = await downloadWithResume(http1, writer, { url, dest, size: body.length, sha512 });
    expect(r.resumedFrom).toBe(0);
    expect((await readFile(dest)).equals(body)).toBe(true);
  });

  it('a corrupt partial file leads to a checksum error and is deleted', async () => {
    const dest = join(dir, 'b.part');
    await writeFile(dest, randomBytes(10_000));
    await expect(downloadWithResume(http1, writer, { url, dest, size: body.length, sha512 })).rejects.toMatchObject({ code: 'checksum' });
    await expect(stat(dest)).rejects.toThrow();
    // The next attempt starts clean and succeeds.
    await downloadWithResume(http1, writer, { url, dest, size: body.length, sha512 });
  });

  it('never writes more than the manifest announces', async () => {
    serve = Buffer.concat([body, randomBytes(100)]);
    const dest = join(dir, 'b.part');
    const e = await downloadWithResume(http1, writer, { url, dest, size: body.length, sha512 }).catch((x: unknown) => x);
    expect(e).toBeInstanceOf(DownloadError);
    expect((e as DownloadError).code).toBe('too-large');
  });

  it('an already complete file is verified without any request', async () => {
    const dest = join(dir, 'b.part');
    await writeFile(dest, body);
    expect(await downloadWithResume(http1, writer, { url, dest, size: body.length, sha512 })).toEqual({
      transferred: 0,
      resumedFrom: body.length,
    });
    expect(seen).toEqual([]);
  });
});
