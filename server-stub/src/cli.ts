import path from 'node:path';
import { parseArgs } from 'node:util';
import { WebhookSecret, WebhookUrl } from '@airpanel/contract';
import { API_PREFIX, endpoints, endpointUrl } from '@airpanel/contract/api';
import { runUsersCommand } from './accounts/cli.js';
import { createBackend, DEFAULT_REFRESH_INTERVAL_SECONDS, type BackendOptions, type MqttOptions } from './backend.js';
import { createJsonLogger } from './logger.js';
import { transportSummary } from './tls/backend-wiring.js';
import { insecureTransportProblems } from './tls/transport-policy.js';
import type { TlsOptions } from './tls/backend-tls.js';

const HELP = `Airpanel companion backend

Usage: npm run server -- [options]
       npm run server -- users add|list|passwd|disable|enable …   (backoffice users; users --help)

Options (each also as an environment variable):
  --data-dir DIR           database and admin token          AIRPANEL_DATA_DIR (default .data/server)
  --host HOST              HTTP (and embedded MQTT) interface AIRPANEL_HOST (default 127.0.0.1)
  --port PORT              HTTP port, 0 = any free           AIRPANEL_PORT (default 8080)
  --public-url URL         HTTP URL handed to panels         AIRPANEL_PUBLIC_URL (default http://HOST:PORT)
  --mqtt-mode MODE         embedded | external | none        AIRPANEL_MQTT_MODE (default embedded; external if --mqtt-url)
  --mqtt-port PORT         embedded broker port              AIRPANEL_MQTT_PORT (default 1883)
  --mqtt-public-url URL    MQTT URL handed to panels         AIRPANEL_MQTT_PUBLIC_URL
  --mqtt-url URL           external broker, e.g. mqtt://h:1883  AIRPANEL_MQTT_URL
  --mqtt-username NAME     backend's user on the external broker  AIRPANEL_MQTT_USERNAME
                           (its password only via AIRPANEL_MQTT_PASSWORD, never on the command line)
                           AIRPANEL_MQTT_CREDENTIALS=managed-elsewhere: panel accounts are not
                           created through Mosquitto's dynsec plugin (default: they are)
  --refresh-interval SEC   sensor refresh interval, 1..86400 AIRPANEL_REFRESH_INTERVAL (default ${DEFAULT_REFRESH_INTERVAL_SECONDS})
  --alert-webhook-url URL  where alerts are POSTed until an admin saves alert settings
                           AIRPANEL_ALERT_WEBHOOK_URL; its signing secret only via
                           AIRPANEL_ALERT_WEBHOOK_SECRET (16+ characters, never a flag)

Transport security (see server-stub/README.md, "TLS"):
  --tls-cert FILE          server certificate (PEM, with chain) AIRPANEL_TLS_CERT
  --tls-key FILE           its private key (PEM)              AIRPANEL_TLS_KEY
                           with both: HTTPS for the API, MQTTS for the embedded broker
  --tls-ca-dir DIR         private CA, created at first start AIRPANEL_TLS_CA_DIR
                           (without --tls-cert it makes and renews the server certificate
                           for the names in the public URLs; it signs panels' client
                           certificates and is handed to panels at registration)
  --allow-insecure-transport  serve plain HTTP/MQTT on or to a non-loopback address
                           (refused otherwise; warned at every start)  AIRPANEL_ALLOW_INSECURE_TRANSPORT=1
  -h, --help               this text

  AIRPANEL_ADMIN_TOKEN     fixed admin token (at least 24 characters); otherwise one is
                           generated at first start into DATA_DIR/admin-token (mode 0600)
  AIRPANEL_LOG_LEVEL       error | warn | info | debug (default info); logs are JSON lines on stdout
`;

export class UsageError extends Error {}

function integer(name: string, raw: string | undefined, fallback: number, min: number, max: number): number {
  if (raw === undefined || raw === '') return fallback;
  if (!/^[0-9]+$/.test(raw)) throw new UsageError(`${name} must be a whole number, got "${raw}"`);
  const value = Number(raw);
  if (value < min || value > max) throw new UsageError(`${name} must be from ${min} to ${max}, got ${value}`);
  return value;
}

/** Turns flags and environment into backend options; flags win over the environment. */
export function optionsFromCommandLine(
  argv: string[],
  env: NodeJS.ProcessEnv,
): { help: true } | { help: false; options: BackendOptions; warnings: string[] } {
  const { values } = parseArgs({
    args: argv,
    strict: true,
    allowPositionals: false,
    options: {
      'data-dir': { type: 'string' },
      host: { type: 'string' },
      port: { type: 'string' },
      'public-url': { type: 'string' },
      'mqtt-mode': { type: 'string' },
      'mqtt-port': { type: 'string' },
      'mqtt-public-url': { type: 'string' },
      'mqtt-url': { type: 'string' },
      'mqtt-username': { type: 'string' },
      'refresh-interval': { type: 'string' },
      'alert-webhook-url': { type: 'string' },
      'tls-cert': { type: 'string' },
      'tls-key': { type: 'string' },
      'tls-ca-dir': { type: 'string' },
      'allow-insecure-transport': { type: 'boolean' },
      help: { type: 'boolean', short: 'h' },
    },
  });
  if (values.help) return { help: true };
  const pick = (flag: keyof typeof values, variable: string) => (values[flag] as string | undefined) ?? env[variable];
  const host = pick('host', 'AIRPANEL_HOST') ?? '127.0.0.1';
  const mqttUrl = pick('mqtt-url', 'AIRPANEL_MQTT_URL');
  const mode = pick('mqtt-mode', 'AIRPANEL_MQTT_MODE') ?? (mqttUrl ? 'external' : 'embedded');
  let mqtt: MqttOptions;
  switch (mode) {
    case 'none':
      mqtt = { mode: 'none' };
      break;
    case 'embedded':
      mqtt = {
        mode: 'embedded',
        host,
        port: integer('--mqtt-port', pick('mqtt-port', 'AIRPANEL_MQTT_PORT'), 1883, 0, 65535),
        publicUrl: pick('mqtt-public-url', 'AIRPANEL_MQTT_PUBLIC_URL'),
      };
      break;
    case 'external':
      if (!mqttUrl) throw new UsageError('--mqtt-mode external needs --mqtt-url');
      mqtt = {
        mode: 'external',
        url: mqttUrl,
        username: pick('mqtt-username', 'AIRPANEL_MQTT_USERNAME') ?? 'airpanel-backend',
        password: env.AIRPANEL_MQTT_PASSWORD ?? '',
        publicUrl: pick('mqtt-public-url', 'AIRPANEL_MQTT_PUBLIC_URL'),
        credentials: env.AIRPANEL_MQTT_CREDENTIALS === 'managed-elsewhere' ? 'managed-elsewhere' : 'dynsec',
      };
      break;
    default:
      throw new UsageError(`--mqtt-mode must be embedded, external or none, got "${mode}"`);
  }
  const tls = tlsOptions(
    pick('tls-cert', 'AIRPANEL_TLS_CERT'),
    pick('tls-key', 'AIRPANEL_TLS_KEY'),
    pick('tls-ca-dir', 'AIRPANEL_TLS_CA_DIR'),
  );
  const port = integer('--port', pick('port', 'AIRPANEL_PORT'), 8080, 0, 65535);
  const publicUrl = pick('public-url', 'AIRPANEL_PUBLIC_URL');
  const problems = insecureTransportProblems({ tls: tls !== undefined, host, publicUrl, mqtt });
  const allowInsecure = values['allow-insecure-transport'] === true || env.AIRPANEL_ALLOW_INSECURE_TRANSPORT === '1';
  if (problems.length > 0 && !allowInsecure) {
    throw new UsageError(
      `refusing to start without encryption: ${problems.join('; ')}. Give --tls-cert and --tls-key (or --tls-ca-dir), or pass --allow-insecure-transport if this network is closed`,
    );
  }
  return {
    help: false,
    warnings: problems.map(
      (problem) => `INSECURE TRANSPORT (--allow-insecure-transport): ${problem}; API keys and the admin token cross the network in clear`,
    ),
    options: {
      ...(tls ? { tls } : {}),
      dataDir: path.resolve(pick('data-dir', 'AIRPANEL_DATA_DIR') ?? '.data/server'),
      host,
      port,
      publicUrl,
      mqtt,
      refreshIntervalSeconds: integer(
        '--refresh-interval',
        pick('refresh-interval', 'AIRPANEL_REFRESH_INTERVAL'),
        DEFAULT_REFRESH_INTERVAL_SECONDS,
        1,
        86_400,
      ),
      adminToken: env.AIRPANEL_ADMIN_TOKEN,
      ...alertOptions(pick('alert-webhook-url', 'AIRPANEL_ALERT_WEBHOOK_URL'), env.AIRPANEL_ALERT_WEBHOOK_SECRET),
    },
  };
}

/** The alert webhook's defaults (the settings an admin saves replace them). */
function alertOptions(url: string | undefined, secret: string | undefined): Pick<BackendOptions, 'alerts'> {
  if (!url) {
    if (secret) throw new UsageError('AIRPANEL_ALERT_WEBHOOK_SECRET is set but no --alert-webhook-url');
    return {};
  }
  if (!WebhookUrl.safeParse(url).success)
    throw new UsageError(`--alert-webhook-url must be an http(s) URL without credentials, got "${url}"`);
  if (secret !== undefined && !WebhookSecret.safeParse(secret).success)
    throw new UsageError('AIRPANEL_ALERT_WEBHOOK_SECRET must have 16 to 256 characters');
  return { alerts: { webhookUrl: url, webhookSecret: secret ?? null } };
}

function tlsOptions(certFile: string | undefined, keyFile: string | undefined, caDir: string | undefined): TlsOptions | undefined {
  if ((certFile === undefined) !== (keyFile === undefined))
    throw new UsageError('give --tls-cert and --tls-key together (or AIRPANEL_TLS_CERT and AIRPANEL_TLS_KEY)');
  if (!certFile && !caDir) return undefined;
  return {
    ...(certFile && keyFile ? { certFile: path.resolve(certFile), keyFile: path.resolve(keyFile) } : {}),
    ...(caDir ? { caDir: path.resolve(caDir) } : {}),
  };
}

/**
 * Stops `target` (the backend, or the whole dev stack of `npm start`) on SIGTERM / SIGINT,
 * once; a second signal forces the exit. `announce` says that stopping began (default: a log line).
 */
export function closeOnSignals(
  target: { close(): Promise<void> },
  logger: { info(m: string, meta?: Record<string, unknown>): unknown; error(m: string, meta?: Record<string, unknown>): unknown },
  announce: (signal: NodeJS.Signals) => void = (signal) => logger.info('signal received: shutting down', { signal }),
): void {
  let stopping = false;
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) {
      logger.error('second signal: exiting without finishing', { signal });
      process.exit(1);
    }
    stopping = true;
    announce(signal);
    target.close().then(
      () => process.exit(0),
      (error: unknown) => {
        logger.error('shutdown failed', { error: (error as Error).message });
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', stop);
  process.on('SIGINT', stop);
}

async function main(): Promise<void> {
  if (process.argv[2] === 'users') {
    process.exitCode = await runUsersCommand(process.argv.slice(3), {
      stdin: process.stdin,
      stdout: process.stdout,
      stderr: process.stderr,
      env: process.env,
    });
    return;
  }
  let parsed: ReturnType<typeof optionsFromCommandLine>;
  try {
    parsed = optionsFromCommandLine(process.argv.slice(2), process.env);
  } catch (error) {
    process.stderr.write(`${(error as Error).message}\n\n${HELP}`);
    process.exit(2);
  }
  if (parsed.help) {
    process.stdout.write(HELP);
    return;
  }
  const logger = createJsonLogger();
  for (const warning of parsed.warnings) {
    process.stderr.write(`WARNING: ${warning}\n`);
    logger.warn(warning);
  }
  const backend = await createBackend({ ...parsed.options, logger, processMetrics: true });
  closeOnSignals(backend, logger);
  process.stderr.write(
    `Airpanel backend on ${backend.url} (API ${backend.url}${API_PREFIX}, OpenAPI ${endpointUrl(backend.url, endpoints.getOpenApi)})\n` +
      `MQTT for panels: ${backend.mqttUrl ?? 'none (HTTP polling only)'}\n` +
      (backend.tls ? `${transportSummary(backend.tls)}\n` : '') +
      (backend.adminTokenFile ? `Admin token in ${backend.adminTokenFile}\n` : 'Admin token from AIRPANEL_ADMIN_TOKEN\n'),
  );
}

// Runs only as the entry point, so tests can import the parsing above.
if (process.argv[1] && path.resolve(process.argv[1]) === path.resolve(new URL(import.meta.url).pathname)) {
  main().catch((error: unknown) => {
    process.stderr.write(`airpanel backend failed to start: ${(error as Error).message}\n`);
    process.exit(1);
  });
}
