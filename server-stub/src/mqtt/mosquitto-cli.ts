import { randomBytes } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { parseArgs } from 'node:util';
import { writeFileAtomic } from '@airpanel/node-support/atomic-file';
import { CA_FILES } from '../tls/private-ca.js';
import { DEFAULT_BACKEND_CLIENT_ID, writeMosquittoDeployment, type MosquittoTlsListener } from './mosquitto-config.js';

export const MOSQUITTO_CLI_USAGE = `Writes a Mosquitto deployment for the Airpanel backend's external MQTT mode.

usage: npm run mosquitto-config -- --out DIR [options]

  --out DIR                 where mosquitto.conf goes (created if missing)
  --data-dir DIR            Mosquitto's state and dynamic-security.json (default DIR/data)
  --port N                  listener port (default 1883)
  --bind ADDRESS            listener address (default: all interfaces)
  --user NAME               account Mosquitto drops to when started as root
  --plugin PATH             dynamic security plugin (default: Debian's path)
  --backend-username NAME   the backend's broker account (default airpanel-backend)
  --backend-password-file F read the backend's password from F
                            (else $AIRPANEL_MQTT_BACKEND_PASSWORD, else a random one is
                            generated and written to DIR/backend-password, mode 0600)

TLS listener for panels (MQTTS), beside the backend's listener (bind that one to 127.0.0.1):
  --tls-port N              its port (8883 is usual); required for TLS
  --tls-bind ADDRESS        its address (default: all interfaces)
  --tls-ca-dir DIR          the backend's private CA directory (--tls-ca-dir of the backend):
                            its server.pem, server.key, ca.pem and crl.pem
  --tls-cert F --tls-key F --tls-ca F   or these files instead
  --require-certificate     mTLS: panels connect with their client certificate (its CN, the
                            panel id, is the username and client id); revoked ones are
                            refused (crl.pem, reloaded on SIGHUP)

An existing dynamic-security.json is kept: it holds the panels' accounts.
Then: mosquitto -c DIR/mosquitto.conf, and start the backend in external MQTT mode with
the broker's URL, the backend username and its password (see server-stub/README.md).`;

export interface CliIo {
  env: NodeJS.ProcessEnv;
  out: (line: string) => void;
}

/** Runs the CLI; returns the exit code. Errors are printed, not thrown. */
export async function runMosquittoConfigCli(argv: string[], io: CliIo): Promise<number> {
  let values;
  try {
    ({ values } = parseArgs({
      args: argv,
      options: {
        out: { type: 'string' },
        'data-dir': { type: 'string' },
        port: { type: 'string' },
        bind: { type: 'string' },
        user: { type: 'string' },
        plugin: { type: 'string' },
        'backend-username': { type: 'string' },
        'backend-password-file': { type: 'string' },
        'tls-port': { type: 'string' },
        'tls-bind': { type: 'string' },
        'tls-ca-dir': { type: 'string' },
        'tls-cert': { type: 'string' },
        'tls-key': { type: 'string' },
        'tls-ca': { type: 'string' },
        'require-certificate': { type: 'boolean' },
        help: { type: 'boolean', short: 'h' },
      },
      strict: true,
    }));
  } catch (error) {
    io.out(`error: ${(error as Error).message}\n\n${MOSQUITTO_CLI_USAGE}`);
    return 2;
  }
  if (values.help) {
    io.out(MOSQUITTO_CLI_USAGE);
    return 0;
  }
  if (!values.out) {
    io.out(`error: --out is required\n\n${MOSQUITTO_CLI_USAGE}`);
    return 2;
  }
  const port = values.port === undefined ? 1883 : Number(values.port);
  if (!Number.isInteger(port) || port < 1 || port > 65_535) {
    io.out(`error: --port must be a whole number from 1 to 65535, got ${values.port}`);
    return 2;
  }
  let tls: MosquittoTlsListener | undefined;
  if (values['tls-port'] !== undefined) {
    const tlsPort = Number(values['tls-port']);
    if (!Number.isInteger(tlsPort) || tlsPort < 1 || tlsPort > 65_535 || tlsPort === port) {
      io.out(`error: --tls-port must be a whole number from 1 to 65535 other than --port, got ${values['tls-port']}`);
      return 2;
    }
    const caDir = values['tls-ca-dir'] ? resolve(values['tls-ca-dir']) : undefined;
    const certFile = values['tls-cert'] ?? (caDir && join(caDir, CA_FILES.serverCert));
    const keyFile = values['tls-key'] ?? (caDir && join(caDir, CA_FILES.serverKey));
    const caFile = values['tls-ca'] ?? (caDir && join(caDir, CA_FILES.caCert));
    if (!certFile || !keyFile || !caFile) {
      io.out('error: a TLS listener needs --tls-ca-dir, or --tls-cert, --tls-key and --tls-ca');
      return 2;
    }
    const requireCertificate = values['require-certificate'] === true;
    tls = {
      port: tlsPort,
      bindAddress: values['tls-bind'],
      certFile: resolve(certFile),
      keyFile: resolve(keyFile),
      caFile: resolve(caFile),
      requireCertificate,
      ...(requireCertificate && caDir ? { crlFile: join(caDir, CA_FILES.crl) } : {}),
    };
  } else if (values['tls-ca-dir'] || values['tls-cert'] || values['require-certificate']) {
    io.out('error: the TLS options need --tls-port');
    return 2;
  }
  const outDir = resolve(values.out);
  try {
    let password: string;
    let generatedPasswordFile: string | undefined;
    if (values['backend-password-file']) {
      password = (await readFile(values['backend-password-file'], 'utf8')).trim();
    } else if (io.env['AIRPANEL_MQTT_BACKEND_PASSWORD']) {
      password = io.env['AIRPANEL_MQTT_BACKEND_PASSWORD'];
    } else {
      password = randomBytes(24).toString('base64url');
      generatedPasswordFile = join(outDir, 'backend-password');
    }
    const deployment = await writeMosquittoDeployment({
      outDir,
      dataDir: values['data-dir'],
      port,
      bindAddress: values.bind,
      runAsUser: values.user,
      pluginPath: values.plugin,
      backendUsername: values['backend-username'] ?? DEFAULT_BACKEND_CLIENT_ID,
      backendPassword: password,
      tls,
    });
    if (generatedPasswordFile) {
      if (deployment.dynsecCreated) {
        await writeFileAtomic(generatedPasswordFile, `${password}\n`, { mode: 0o600 });
        io.out(`wrote the backend's generated password to ${generatedPasswordFile} (mode 0600)`);
      } else {
        io.out(`kept the existing ${deployment.dynsecPath}; the backend's password is the one set when it was created`);
      }
    }
    io.out(
      `wrote ${deployment.confPath}${tls ? ` (TLS listener on ${tls.port}${tls.requireCertificate ? ', client certificates required' : ''}; send Mosquitto SIGHUP after the certificate or CRL changes)` : ''}`,
    );
    io.out(
      deployment.dynsecCreated
        ? `wrote ${deployment.dynsecPath} (mode 0600)`
        : `kept ${deployment.dynsecPath} (it holds the panels' accounts)`,
    );
    return 0;
  } catch (error) {
    io.out(`error: ${(error as Error).message}`);
    return 1;
  }
}

if (process.argv[1] && import.meta.url === pathToFileURL(resolve(process.argv[1])).href) {
  process.exitCode = await runMosquittoConfigCli(process.argv.slice(2), { env: process.env, out: (line) => console.log(line) });
}
