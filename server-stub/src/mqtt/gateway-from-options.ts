import type { MqttOptions } from '../backend-options.js';
import type { Logger } from '../logger.js';
import { NoMqttGateway } from '../no-mqtt-gateway.js';
import type { BackendTls } from '../tls/backend-tls.js';
import { embeddedBrokerTls } from '../tls/backend-wiring.js';
import { createEmbeddedGateway } from './embedded-gateway.js';
import { createExternalGateway } from './external-gateway.js';
import type { GatewayBackend, MqttGateway } from './gateway.js';

/** The MQTT gateway the options ask for: aedes inside the backend, an external broker, or none. */
export function gatewayFromOptions(
  mqtt: MqttOptions,
  host: string,
  backend: GatewayBackend,
  logger: Logger,
  tls: BackendTls | null,
): MqttGateway {
  switch (mqtt.mode) {
    case 'none':
      return new NoMqttGateway();
    case 'embedded':
      return createEmbeddedGateway({
        host: mqtt.host ?? host,
        port: mqtt.port,
        publicUrl: mqtt.publicUrl,
        verifier: backend,
        sink: backend,
        logger,
        ...(tls ? { tls: embeddedBrokerTls(tls) } : {}),
      });
    case 'external':
      return createExternalGateway({
        url: mqtt.url,
        panelUrl: mqtt.publicUrl,
        username: mqtt.username,
        password: mqtt.password,
        credentials: mqtt.credentials ?? 'dynsec',
        sink: backend,
        logger,
      });
  }
}
