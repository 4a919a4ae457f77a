import { Command, DISPLAY_DOCUMENT_MAX_BYTES, DisplayDocument } from '../../../src-main/common/index.js';

/**
 * What the backend sends to panels, checked against the contract on the way out: a panel
 * drops anything invalid or oversized, so a backend bug must fail here, loudly, instead.
 */

export function encodeDisplayDocument(doc: DisplayDocument): Buffer {
  const checked = DisplayDocument.safeParse(doc);
  if (!checked.success) throw new Error(`refusing to publish an invalid DisplayDocument: ${checked.error.message}`);
  const payload = Buffer.from(JSON.stringify(checked.data), 'utf8');
  if (payload.length > DISPLAY_DOCUMENT_MAX_BYTES) {
    throw new Error(`DisplayDocument of panel ${doc.panelId} is ${payload.length} bytes; panels drop anything over ${DISPLAY_DOCUMENT_MAX_BYTES}`);
  }
  return payload;
}

export function encodeCommand(command: Command): Buffer {
  const checked = Command.safeParse(command);
  if (!checked.success) throw new Error(`refusing to publish an invalid Command: ${checked.error.message}`);
  return Buffer.from(JSON.stringify(checked.data), 'utf8');
}
