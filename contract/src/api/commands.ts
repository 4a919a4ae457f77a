import { z } from 'zod';
import { CommandBody, CommandRecord } from '../product/commands.js';
import { Identifier } from '../product/primitives.js';
import { apiPath, endpoint, errors, named, ownPanelOr } from './endpoint.js';
import { LimitQuery, PanelParams } from './params.js';

const CommandParams = z.object({ panelId: Identifier, commandId: z.uuid() });
const commandRecord = named('CommandRecord', CommandRecord);

export const commandEndpoints = {
  sendCommand: endpoint({
    method: 'POST',
    path: apiPath('/panels/{panelId}/commands'),
    operationId: 'sendCommand',
    tag: 'commands',
    auth: 'operator',
    summary: 'Send a command to a panel over MQTT (recorded; acks show up on the command)',
    params: PanelParams,
    body: named('CommandBody', CommandBody),
    responses: { 201: { description: 'Recorded and published', schema: commandRecord }, ...errors(400, 401, 403, 404, 503) },
  }),
  listCommands: endpoint({
    method: 'GET',
    path: apiPath('/panels/{panelId}/commands'),
    operationId: 'listCommands',
    tag: 'commands',
    auth: ownPanelOr('viewer'),
    summary: 'Recent commands of a panel with their acks, newest first',
    params: PanelParams,
    query: LimitQuery,
    responses: {
      200: { description: 'Commands', schema: named('CommandRecordList', z.array(CommandRecord)) },
      ...errors(400, 401, 403, 404),
    },
  }),
  getCommand: endpoint({
    method: 'GET',
    path: apiPath('/panels/{panelId}/commands/{commandId}'),
    operationId: 'getCommand',
    tag: 'commands',
    auth: ownPanelOr('viewer'),
    summary: 'One command with its acks',
    params: CommandParams,
    responses: { 200: { description: 'The command', schema: commandRecord }, ...errors(400, 401, 403, 404) },
  }),
};
