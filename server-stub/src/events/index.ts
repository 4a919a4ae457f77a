import type { PanelSummary } from '@airpanel/contract';
import type { Logger } from '../logger.js';
import { LiveEventBus } from './event-bus.js';
import { LiveEventStreams, type LiveEventStreamsOptions } from './event-stream.js';
import { PanelSummaryFeed } from './panel-summary-feed.js';

export { LiveEventBus, type NumberedEvent } from './event-bus.js';
export { LiveEventStreams, type StreamEnd } from './event-stream.js';
export { PanelSummaryFeed } from './panel-summary-feed.js';

/** Tuning of the event stream (`createBackend`'s `liveEvents`). */
export type LiveEventOptions = Omit<LiveEventStreamsOptions, 'bus' | 'logger'> & { replayLength?: number };

/** The live event bus, the SSE streams over it and the feed of panel summaries into it. */
export function createLiveEvents(o: LiveEventOptions & { logger: Logger; summaryOf(panelId: string): PanelSummary | null }) {
  const bus = new LiveEventBus({ logger: o.logger, ...(o.replayLength !== undefined ? { replayLength: o.replayLength } : {}) });
  const streams = new LiveEventStreams({ ...o, bus });
  const panelSummaries = new PanelSummaryFeed({ bus, summaryOf: o.summaryOf });
  return { bus, streams, panelSummaries, routes: streams.routes() };
}

export type LiveEvents = ReturnType<typeof createLiveEvents>;
