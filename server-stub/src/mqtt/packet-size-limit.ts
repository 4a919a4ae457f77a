import type { Socket } from 'node:net';

/**
 * aedes has no limit on the size of an incoming packet: its parser buffers whatever the
 * fixed header announces, before any authentication. This reads the fixed headers of the
 * byte stream (type byte, then the "remaining length" varint of MQTT 3.1.1 §2.2.3) and says
 * stop as soon as a packet announces more than the limit, after a few bytes instead of after
 * megabytes.
 */
export class PacketSizeLimit {
  private state: 'type' | 'length' | 'body' = 'type';
  private length = 0;
  private multiplier = 1;
  private lengthBytes = 0;
  private bodyLeft = 0;

  constructor(readonly maxPacketBytes: number) {}

  /** Returns null while every packet so far is within the limit, else why not. */
  feed(chunk: Uint8Array): string | null {
    let offset = 0;
    while (offset < chunk.length) {
      if (this.state === 'body') {
        const skipped = Math.min(this.bodyLeft, chunk.length - offset);
        this.bodyLeft -= skipped;
        offset += skipped;
        if (this.bodyLeft === 0) this.state = 'type';
        continue;
      }
      const byte = chunk[offset++] as number;
      if (this.state === 'type') {
        this.state = 'length';
        this.length = 0;
        this.multiplier = 1;
        this.lengthBytes = 0;
        continue;
      }
      this.length += (byte & 0x7f) * this.multiplier;
      this.multiplier *= 128;
      this.lengthBytes++;
      if (byte & 0x80) {
        if (this.lengthBytes === 4) return 'malformed remaining length (more than 4 bytes)';
        continue;
      }
      if (this.length > this.maxPacketBytes) return `packet of ${this.length} bytes exceeds the limit of ${this.maxPacketBytes}`;
      this.bodyLeft = this.length;
      this.state = this.length === 0 ? 'type' : 'body';
    }
    return null;
  }
}

/**
 * Watches what the broker reads from `socket` and destroys the connection at the first
 * packet over the limit. Attach it after `aedes.handle(socket)`: aedes reads through
 * 'readable', so this 'data' listener only observes the chunks aedes pulls.
 */
export function limitPacketSize(socket: Socket, maxPacketBytes: number, onViolation: (reason: string) => void): void {
  const limit = new PacketSizeLimit(maxPacketBytes);
  const watch = (chunk: Buffer): void => {
    const violation = limit.feed(chunk);
    if (violation === null) return;
    socket.off('data', watch);
    onViolation(violation);
    socket.destroy();
  };
  socket.on('data', watch);
}
