// Test support only: a private CA and certificates made with the openssl CLI (Debian's), for
// TLS servers on 127.0.0.1 in tests. `openssl ca` is used because it can set any validity
// window, so an expired or not-yet-valid server certificate is a real one.
import { execFile } from 'node:child_process';
import { mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const run = promisify(execFile);

export interface IssuedCertificate {
  certPem: string;
  keyPem: string;
  certPath: string;
  keyPath: string;
}

export interface IssueOptions {
  /** Subject alternative names: IP addresses and DNS names (default 127.0.0.1, localhost). */
  hosts?: string[];
  notBefore?: Date;
  notAfter?: Date;
}

export interface TestPki {
  dir: string;
  caPem: string;
  caPath: string;
  /** A server certificate (serverAuth) for `hosts`. */
  issueServer(name: string, o?: IssueOptions): Promise<IssuedCertificate>;
  /** A client certificate (clientAuth) whose subject CN is `commonName` (a panel id). */
  issueClient(commonName: string, o?: Omit<IssueOptions, 'hosts'>): Promise<IssuedCertificate>;
}

const REQ_CONFIG = '[req]\ndistinguished_name = dn\nprompt = no\n[dn]\n';

function opensslTime(d: Date): string {
  return d
    .toISOString()
    .replace(/[-:T]/g, '')
    .replace(/\.\d+Z$/, 'Z');
}

/** A CA named `name` in `dir` (created), valid from yesterday for 30 days. */
export async function createTestPki(dir: string, name = 'Airpanel Test CA'): Promise<TestPki> {
  await mkdir(join(dir, 'issued'), { recursive: true });
  await writeFile(join(dir, 'req.cnf'), REQ_CONFIG);
  await writeFile(join(dir, 'index.txt'), '');
  await writeFile(join(dir, 'serial'), '1000\n');
  await writeFile(
    join(dir, 'ca.cnf'),
    [
      '[ca]',
      'default_ca = test_ca',
      '[test_ca]',
      `database = ${join(dir, 'index.txt')}`,
      `new_certs_dir = ${join(dir, 'issued')}`,
      `serial = ${join(dir, 'serial')}`,
      'default_md = sha256',
      'policy = any',
      'unique_subject = no',
      'copy_extensions = none',
      '[any]',
      'commonName = supplied',
    ].join('\n') + '\n',
  );
  const caPath = join(dir, 'ca.pem');
  const caKey = join(dir, 'ca.key');
  await run('openssl', [
    'req',
    '-config',
    join(dir, 'req.cnf'),
    '-x509',
    '-new',
    '-newkey',
    'ec',
    '-pkeyopt',
    'ec_paramgen_curve:prime256v1',
    '-nodes',
    '-keyout',
    caKey,
    '-out',
    caPath,
    '-subj',
    `/CN=${name}`,
    '-days',
    '30',
    '-addext',
    'basicConstraints=critical,CA:TRUE',
    '-addext',
    'keyUsage=critical,keyCertSign,cRLSign',
  ]);
  let n = 0;
  const issue = async (
    label: string,
    commonName: string,
    extensions: string[],
    o: Omit<IssueOptions, 'hosts'>,
  ): Promise<IssuedCertificate> => {
    const base = join(dir, `${label}-${++n}`);
    await run('openssl', [
      'req',
      '-config',
      join(dir, 'req.cnf'),
      '-new',
      '-newkey',
      'ec',
      '-pkeyopt',
      'ec_paramgen_curve:prime256v1',
      '-nodes',
      '-keyout',
      `${base}.key`,
      '-out',
      `${base}.csr`,
      '-subj',
      `/CN=${commonName}`,
    ]);
    await writeFile(`${base}.ext`, `[ext]\n${extensions.join('\n')}\n`);
    const day = 86_400_000;
    const notBefore = o.notBefore ?? new Date(Date.now() - day);
    const notAfter = o.notAfter ?? new Date(Date.now() + 20 * day);
    await run('openssl', [
      'ca',
      '-batch',
      '-config',
      join(dir, 'ca.cnf'),
      '-cert',
      caPath,
      '-keyfile',
      caKey,
      '-in',
      `${base}.csr`,
      '-out',
      `${base}.pem`,
      '-startdate',
      opensslTime(notBefore),
      '-enddate',
      opensslTime(notAfter),
      '-extfile',
      `${base}.ext`,
      '-extensions',
      'ext',
      '-notext',
    ]);
    return {
      certPem: await readFile(`${base}.pem`, 'utf8'),
      keyPem: await readFile(`${base}.key`, 'utf8'),
      certPath: `${base}.pem`,
      keyPath: `${base}.key`,
    };
  };
  return {
    dir,
    caPath,
    caPem: await readFile(caPath, 'utf8'),
    issueServer: (label, o = {}) => {
      const hosts = o.hosts ?? ['127.0.0.1', 'localhost'];
      const san = hosts.map((h) => (/^[\d.]+$|:/.test(h) ? `IP:${h}` : `DNS:${h}`)).join(',');
      return issue(
        label,
        hosts[0] ?? label,
        ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=serverAuth', `subjectAltName=${san}`],
        o,
      );
    },
    issueClient: (commonName, o = {}) =>
      issue('client', commonName, ['basicConstraints=CA:FALSE', 'keyUsage=critical,digitalSignature', 'extendedKeyUsage=clientAuth'], o),
  };
}
