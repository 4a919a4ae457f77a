import { request as httpsRequest } from 'node:https';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { makeTempDir, startTestBackend } from '../test-support.js';
import { addTestUser, TEST_PASSWORD } from './test-support.js';

describe('the session cookie under HTTPS', () => {
  it('is marked Secure when the backend serves HTTPS', async () => {
    const temp = makeTempDir();
    const backend = await startTestBackend(temp.dir, { tls: { caDir: path.join(temp.dir, 'ca') } });
    try {
      expect(backend.url.startsWith('https://')).toBe(true);
      await addTestUser(backend, 'olga', 'operator');
      const setCookie = await new Promise<string>((resolve, reject) => {
        const body = JSON.stringify({ name: 'olga', password: TEST_PASSWORD });
        const req = httpsRequest(
          `${backend.url}/api/v1/session`,
          { method: 'POST', ca: backend.tls!.caCertificateForPanels!, headers: { 'content-type': 'application/json' } },
          (res) => {
            res.resume();
            res.on('end', () =>
              res.statusCode === 200 ? resolve(String(res.headers['set-cookie'] ?? '')) : reject(new Error(`login: ${res.statusCode}`)),
            );
          },
        );
        req.on('error', reject);
        req.end(body);
      });
      expect(setCookie).toMatch(/^airpanel_session=[A-Za-z0-9_-]{43}; Path=\/; HttpOnly; SameSite=Strict; Max-Age=\d+; Secure$/);
    } finally {
      await backend.close();
      temp.remove();
    }
  }, 60_000);
});
