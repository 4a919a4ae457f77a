// Test support only: a TLS front on 127.0.0.1 for a plain server on 127.0.0.1 (an HTTP API, an
// MQTT broker), as a reverse proxy terminating TLS would be. Its certificate can be swapped
// while it runs (an expired one, one for another name), and it can ask for client certificates.
import { connect as netConnect, type Socket } from 'node:net';
import { createServer, type Server, type TLSSocket } from 'node:tls';

export interface TlsTerminatorOptions {
  /** The plain server behind it, on 127.0.0.1. */
  targetPort: number;
  certPem: string;
  keyPem: string;
  /** mTLS: client certificates must be signed by this CA. */
  clientCaPem?: string;
}

export class TlsTerminator {
  private readonly sockets = new Set<Socket>();
  private targetPort: number;
  /** Subject CN of each client certificate a connection presented (mTLS). */
  readonly clientSubjects: string[] = [];

  private constructor(
    private readonly server: Server,
    readonly port: number,
    o: TlsTerminatorOptions,
  ) {
    this.targetPort = o.targetPort;
  }

  static async start(o: TlsTerminatorOptions & { port?: number }): Promise<TlsTerminator> {
    let self: TlsTerminator | null = null;
    const server = createServer(
      {
        cert: o.certPem,
        key: o.keyPem,
        minVersion: 'TLSv1.2',
        ...(o.clientCaPem ? { ca: o.clientCaPem, requestCert: true, rejectUnauthorized: true } : {}),
      },
      (socket: TLSSocket) => self?.pipe(socket),
    );
    server.on('tlsClientError', () => undefined);
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(o.port ?? 0, '127.0.0.1', () => resolve());
    });
    const address = server.address();
    if (!address || typeof address === 'string') throw new Error('no port');
    self = new TlsTerminator(server, address.port, o);
    return self;
  }

  /** Points the front at another plain port (a backend restarted elsewhere). */
  retarget(port: number): void {
    this.targetPort = port;
  }

  /** New connections get this certificate; open ones keep theirs (`dropConnections` ends them). */
  setCertificate(certPem: string, keyPem: string, clientCaPem?: string): void {
    this.server.setSecureContext({ cert: certPem, key: keyPem, minVersion: 'TLSv1.2', ...(clientCaPem ? { ca: clientCaPem } : {}) });
  }

  dropConnections(): void {
    for (const s of this.sockets) s.destroy();
    this.sockets.clear();
  }

  async close(): Promise<void> {
    this.dropConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  private pipe(socket: TLSSocket): void {
    const cn = socket.getPeerCertificate()?.subject?.CN;
    if (cn) this.clientSubjects.push(Array.isArray(cn) ? cn.join(',') : cn);
    const upstream = netConnect(this.targetPort, '127.0.0.1');
    this.sockets.add(socket);
    this.sockets.add(upstream);
    const end = () => {
      socket.destroy();
      upstream.destroy();
      this.sockets.delete(socket);
      this.sockets.delete(upstream);
    };
    socket.on('error', end).on('close', end);
    upstream.on('error', end).on('close', end);
    socket.pipe(upstream).pipe(socket);
  }
}
