import { apiPath, endpoint, errors } from './endpoint.js';

export const eventEndpoints = {
  streamEvents: endpoint({
    method: 'GET',
    path: apiPath('/events'),
    operationId: 'streamEvents',
    tag: 'events',
    auth: 'viewer',
    summary: 'Live events as server-sent events: panel summaries, command acks, alerts, audit entries',
    description:
      'Each message has an `id:` and `data:` = one LiveEvent as JSON (no `event:` name); `: keep-alive` comments are heartbeats. ' +
      'A client that does not read what is sent to it is disconnected. With `Last-Event-ID` the missed events are sent again ' +
      'when the backend still holds them; otherwise the first event is `resync`. 503: too many streams open, or the backend is stopping.',
    requestHeaders: [{ name: 'last-event-id', required: false, description: 'The id of the last event received (reconnection)' }],
    responses: {
      200: { description: 'The event stream (never ends by itself)', mediaType: 'text/event-stream' },
      ...errors(401, 403, 503),
    },
  }),
};
