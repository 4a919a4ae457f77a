import { commandEndpoints as endpoints } from '@airpanel/contract/api';
import { bindRoute, ok, type BoundRoute } from '../http/route.js';
import type { CommandService } from './service.js';

export function commandRoutes(commands: CommandService): BoundRoute[] {
  return [
    bindRoute(endpoints.sendCommand, async ({ params, body }) => ok(await commands.send(params.panelId, body), 201)),
    bindRoute(endpoints.listCommands, ({ params, query }) => ok(commands.list(params.panelId, query.limit))),
    bindRoute(endpoints.getCommand, ({ params }) => ok(commands.get(params.panelId, params.commandId))),
  ];
}
