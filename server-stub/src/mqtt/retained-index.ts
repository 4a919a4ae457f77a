import { createRequire } from 'node:module';
import { Readable } from 'node:stream';

/**
 * aedes' in-memory persistence with retained messages indexed by topic.
 *
 * Why: the stock memory persistence answers every SUBSCRIBE by testing the pattern against
 * every retained topic. Each panel has a retained display document and subscribes on every
 * connect, so a fleet connecting costs O(panels²): profiled at ~38 % of the backend's CPU
 * with 1,500 panels connecting, and thousands of connect timeouts from 2,000 panels on.
 * Panels may subscribe only to exact topics (the broker's ACL), so an exact pattern is one
 * Map lookup here; a wildcard pattern (only the backend could send one) still scans.
 * Everything else is aedes-persistence's own memory persistence, unchanged.
 */

interface RetainedPacket {
  topic: string;
  payload: Buffer;
  [key: string]: unknown;
}

interface AsyncMemoryPersistence {
  storeRetained(packet: RetainedPacket): Promise<void>;
  createRetainedStream(pattern: string): Iterable<RetainedPacket> | Readable;
  createRetainedStreamCombi(patterns: string[]): Iterable<RetainedPacket> | Readable;
}

// aedes-persistence exposes its two layers only as files (no "exports" map): the async
// memory store and the callback adapter that aedes talks to.
const require = createRequire(import.meta.url);
const AsyncMemoryPersistenceClass = require('aedes-persistence/asyncPersistence.js') as new (opts?: object) => AsyncMemoryPersistence;
const { CallBackPersistence } = require('aedes-persistence/callBackPersistence.js') as {
  CallBackPersistence: new (factory: (opts: object) => AsyncMemoryPersistence, opts?: object) => unknown;
};

/** MQTT topic matching (MQTT 3.1.1 §4.7), including: wildcards first never match `$` topics. */
export function mqttTopicMatches(pattern: string, topic: string): boolean {
  if ((pattern.startsWith('+') || pattern.startsWith('#')) && topic.startsWith('$')) return false;
  const p = pattern.split('/');
  const t = topic.split('/');
  for (let i = 0; i < p.length; i++) {
    if (p[i] === '#') return true;
    if (i >= t.length) return false;
    if (p[i] !== '+' && p[i] !== t[i]) return false;
  }
  return p.length === t.length;
}

const isExactTopic = (pattern: string) => !pattern.includes('+') && !pattern.includes('#');

class TopicIndexedRetainedPersistence extends AsyncMemoryPersistenceClass {
  readonly #retained = new Map<string, RetainedPacket>();

  override async storeRetained(packet: RetainedPacket): Promise<void> {
    // Same semantics as the stock store: a copy; an empty payload clears the topic.
    if (packet.payload.length === 0) this.#retained.delete(packet.topic);
    else this.#retained.set(packet.topic, { ...packet });
  }

  override createRetainedStream(pattern: string): Readable {
    return Readable.from(this.#matching(pattern));
  }

  override createRetainedStreamCombi(patterns: string[]): Readable {
    return Readable.from(this.#matchingAny(patterns));
  }

  *#matchingAny(patterns: string[]): Generator<RetainedPacket> {
    for (const pattern of patterns) yield* this.#matching(pattern);
  }

  *#matching(pattern: string): Generator<RetainedPacket> {
    if (isExactTopic(pattern)) {
      const packet = this.#retained.get(pattern);
      if (packet) yield packet;
      return;
    }
    for (const [topic, packet] of this.#retained) if (mqttTopicMatches(pattern, topic)) yield packet;
  }
}

/** The persistence to give `Aedes.createBroker({ persistence })`. */
export function createTopicIndexedPersistence(): unknown {
  return new CallBackPersistence((opts) => new TopicIndexedRetainedPersistence(opts));
}
