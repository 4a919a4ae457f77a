import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { createTopicIndexedPersistence, mqttTopicMatches } from './retained-index.js';

interface CallbackPersistence {
  setup(broker: unknown): Promise<void>;
  /** aedes calls it without a callback and awaits the promise. */
  storeRetained(packet: { topic: string; payload: Buffer; cmd: string; qos: number; retain: boolean }): Promise<void>;
  createRetainedStreamCombi(patterns: string[]): AsyncIterable<{ topic: string; payload: Buffer }>;
}

async function collect(stream: AsyncIterable<{ topic: string }>): Promise<string[]> {
  const topics: string[] = [];
  for await (const packet of stream) topics.push(packet.topic);
  return topics.sort();
}

function store(p: CallbackPersistence, topic: string, payload: string): Promise<void> {
  return p.storeRetained({ cmd: 'publish', topic, payload: Buffer.from(payload), qos: 1, retain: true });
}

describe('topic-indexed retained persistence', () => {
  it('finds exact topics directly, scans for wildcards, and clears on an empty payload', async () => {
    const p = createTopicIndexedPersistence() as CallbackPersistence;
    await p.setup({ id: 'test-broker' });
    await store(p, 'airpanel/v1/panels/p-1/display', '{"r":1}');
    await store(p, 'airpanel/v1/panels/p-2/display', '{"r":2}');
    await store(p, 'airpanel/v1/panels/p-2/status', '{"online":true}');
    await store(p, '$SYS/broker/uptime', '5');

    expect(await collect(p.createRetainedStreamCombi(['airpanel/v1/panels/p-1/display']))).toEqual(['airpanel/v1/panels/p-1/display']);
    expect(await collect(p.createRetainedStreamCombi(['airpanel/v1/panels/p-9/display']))).toEqual([]);
    expect(await collect(p.createRetainedStreamCombi(['airpanel/v1/panels/+/display']))).toEqual([
      'airpanel/v1/panels/p-1/display',
      'airpanel/v1/panels/p-2/display',
    ]);
    expect(await collect(p.createRetainedStreamCombi(['#']))).toEqual([
      'airpanel/v1/panels/p-1/display',
      'airpanel/v1/panels/p-2/display',
      'airpanel/v1/panels/p-2/status',
    ]);

    await store(p, 'airpanel/v1/panels/p-1/display', '');
    expect(await collect(p.createRetainedStreamCombi(['airpanel/v1/panels/p-1/display', 'airpanel/v1/panels/p-2/status']))).toEqual([
      'airpanel/v1/panels/p-2/status',
    ]);
  });

  it('matches topics as MQTT does', () => {
    expect(mqttTopicMatches('a/+/c', 'a/b/c')).toBe(true);
    expect(mqttTopicMatches('a/+/c', 'a/b/c/d')).toBe(false);
    expect(mqttTopicMatches('a/#', 'a')).toBe(true);
    expect(mqttTopicMatches('a/#', 'a/b/c')).toBe(true);
    expect(mqttTopicMatches('+/b', '$SYS/b')).toBe(false);
    expect(mqttTopicMatches('$SYS/#', '$SYS/b')).toBe(true);
    // An exact pattern matches exactly its own topic.
    fc.assert(
      fc.property(
        fc.array(fc.stringMatching(/^[a-z0-9-]{1,8}$/), { minLength: 1, maxLength: 6 }),
        fc.array(fc.stringMatching(/^[a-z0-9-]{1,8}$/), { minLength: 1, maxLength: 6 }),
        (a, b) => {
          expect(mqttTopicMatches(a.join('/'), b.join('/'))).toBe(a.join('/') === b.join('/'));
        },
      ),
    );
  });
});
