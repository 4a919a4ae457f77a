import type { Command } from '@airpanel/contract';
import type { EncodedDisplayDocument } from './documents/draft.js';
import type { MqttGateway } from './mqtt/gateway.js';

/**
 * The gateway of an HTTP-only deployment (`--mqtt-mode none`): panels poll the display
 * route with ETags and nothing is pushed. Commands are recorded but reach no panel.
 */
export class NoMqttGateway implements MqttGateway {
  readonly panelUrl = '';
  start(): Promise<void> {
    return Promise.resolve();
  }
  close(): Promise<void> {
    return Promise.resolve();
  }
  publishDisplay(_encoded: EncodedDisplayDocument): Promise<void> {
    return Promise.resolve();
  }
  clearDisplay(_panelId: string): Promise<void> {
    return Promise.resolve();
  }
  publishCommand(_command: Command): Promise<void> {
    return Promise.resolve();
  }
  registerPanelCredentials(_panelId: string, _apiKey: string): Promise<void> {
    return Promise.resolve();
  }
  removePanelCredentials(_panelId: string): Promise<void> {
    return Promise.resolve();
  }
  connectedPanelCount(): number {
    return 0;
  }
}
