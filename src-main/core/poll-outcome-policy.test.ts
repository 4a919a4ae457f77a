import { expect, it } from 'vitest';
import type { Logger } from '@airpanel/node-support/logger';
import { PollOutcomePolicy } from './poll-outcome-policy.js';

/** Records what the policy does (replaces the core's handlers and the logger). */
function recordingFakeCore() {
  const calls: string[] = [];
  const log = (level: string) => (message: string) => calls.push(`${level}: ${message}`);
  const logger: Logger = { error: log('error'), warn: log('warn'), info: log('info'), debug: log('debug') };
  const policy = new PollOutcomePolicy({
    logger,
    backendReached: () => calls.push('backend reached'),
    document: (body) => calls.push(`document ${body.toString()}`),
    notModified: () => calls.push('not modified'),
    refused: (lastError) => calls.push(`lastError ${lastError}`),
  });
  return { calls, policy };
}

it('hands a body on to be judged and a 304 on as a confirmation; both count as the backend reached', () => {
  const { calls, policy } = recordingFakeCore();
  policy.handle({ kind: 'document', body: Buffer.from('{}') });
  policy.handle({ kind: 'not-modified' });
  policy.handle({ kind: 'not-modified' });
  expect(calls).toEqual(['backend reached', 'document {}', 'backend reached', 'not modified', 'backend reached', 'not modified']);
});

it('logs a 404, a refusal or a network error once while it repeats, and again after another answer', () => {
  const { calls, policy } = recordingFakeCore();
  policy.handle({ kind: 'none' });
  policy.handle({ kind: 'none' });
  policy.handle({ kind: 'network-error', message: 'ECONNREFUSED' });
  policy.handle({ kind: 'network-error', message: 'ECONNREFUSED' });
  policy.handle({ kind: 'http-error', status: 503 });
  policy.handle({ kind: 'http-error', status: 503 });
  policy.handle({ kind: 'none' });
  expect(calls).toEqual([
    'backend reached',
    'info: backend has no document for this panel yet (404)',
    'backend reached',
    'info: poll failed',
    'lastError poll: HTTP 503',
    'warn: poll refused',
    'lastError poll: HTTP 503',
    'backend reached',
    'info: backend has no document for this panel yet (404)',
  ]);
});

it('logs every oversized body as a rejected document, without counting it as an answer', () => {
  const { calls, policy } = recordingFakeCore();
  policy.handle({ kind: 'oversized', bytes: 300_000 });
  policy.handle({ kind: 'oversized', bytes: 300_000 });
  expect(calls).toEqual(['warn: document rejected', 'warn: document rejected']);
});
