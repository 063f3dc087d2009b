/**
 * A small TCP proxy for fault tests: put it between a service and a real server (PostgreSQL, Redis,
 * SMTP) and the test can cut the connection, add latency, and restore it, without stopping the server.
 *
 * - `listen()` binds 127.0.0.1:0 and forwards every accepted connection to the target.
 * - `cut()` destroys every open connection (both sides) and refuses new ones until `restore()`:
 *   `'reset'` (default) keeps the port and resets each new connection at once (the client sees
 *   ECONNRESET or "connection closed"), `'refuse'` closes the listener (ECONNREFUSED; the same port is
 *   bound again on restore), `'blackhole'` accepts and never answers nor forwards (a partition: the
 *   client only notices by its own timeouts).
 * - `delay(ms)` adds latency to forwarded data, in both directions, keeping the order of the bytes.
 * - `stats` counts connections and bytes, so a test can show that traffic really went through.
 */
import net from 'node:net';

export type CutMode = 'reset' | 'refuse' | 'blackhole';

export interface ProxyStats {
  /** Connections forwarded to the target. */
  accepted: number;
  /** Connections turned away (reset or held) while cut. */
  refused: number;
  /** Open client connections right now (forwarded or held). */
  active: number;
  /** Connections this proxy destroyed when cut. */
  destroyed: number;
  /** Bytes from clients to the target and back. */
  bytesUp: number;
  bytesDown: number;
}

interface Pair {
  client: net.Socket;
  upstream?: net.Socket;
  /** Delayed chunks not yet written (both ways), and their timers (cleared when the pair is dropped). */
  pending: number;
  timers: Set<NodeJS.Timeout>;
}

export class TcpProxy {
  readonly stats: ProxyStats = { accepted: 0, refused: 0, active: 0, destroyed: 0, bytesUp: 0, bytesDown: 0 };
  private server: net.Server | undefined;
  private readonly pairs = new Set<Pair>();
  private mode: CutMode | undefined;
  private latencyMs = 0;
  private boundPort = 0;
  readonly targetHost: string;
  readonly targetPort: number;

  /** `target`: a URL (`postgres://host:port/...`, `redis://...`, `smtp://...`) or `{host, port}`. */
  constructor(target: string | { host: string; port: number }) {
    if (typeof target === 'string') {
      const url = new URL(target);
      this.targetHost = url.hostname;
      this.targetPort = Number(url.port) || defaultPort(url.protocol);
    } else {
      this.targetHost = target.host;
      this.targetPort = target.port;
    }
  }

  get port(): number {
    return this.boundPort;
  }

  /** True between `cut()` and `restore()`. */
  get isCut(): boolean {
    return this.mode !== undefined;
  }

  /** `url` with host and port replaced by this proxy's (path, user and query kept). */
  urlFor(url: string): string {
    const u = new URL(url);
    u.hostname = '127.0.0.1';
    u.port = String(this.boundPort);
    return u.toString();
  }

  async listen(): Promise<this> {
    await this.bind(0);
    return this;
  }

  /** Extra latency (ms) for data forwarded from now on, both ways; 0 removes it. */
  delay(ms: number): void {
    this.latencyMs = Math.max(0, ms);
  }

  /** Destroys every open connection and turns new ones away until `restore()`. */
  async cut(mode: CutMode = 'reset'): Promise<void> {
    this.mode = mode;
    for (const pair of [...this.pairs]) {
      this.stats.destroyed++;
      this.drop(pair, true);
    }
    if (mode === 'refuse' && this.server) {
      const server = this.server;
      this.server = undefined;
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  }

  /** Accepts and forwards again (held blackhole connections are dropped, as a healed partition would). */
  async restore(): Promise<void> {
    const was = this.mode;
    this.mode = undefined;
    if (was === 'blackhole') for (const pair of [...this.pairs]) if (!pair.upstream) this.drop(pair, true);
    if (!this.server) await this.bind(this.boundPort);
  }

  /** Stops listening and destroys every connection. */
  async close(): Promise<void> {
    this.mode = 'refuse';
    for (const pair of [...this.pairs]) this.drop(pair, true);
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private async bind(port: number): Promise<void> {
    const server = net.createServer((client) => this.accept(client));
    await new Promise<void>((resolve, reject) => {
      server.once('error', reject);
      server.listen(port, '127.0.0.1', () => {
        server.off('error', reject);
        resolve();
      });
    });
    this.server = server;
    this.boundPort = (server.address() as net.AddressInfo).port;
  }

  private accept(client: net.Socket): void {
    client.on('error', () => undefined);
    if (this.mode === 'reset' || this.mode === 'refuse') {
      this.stats.refused++;
      client.resetAndDestroy();
      return;
    }
    const pair: Pair = { client, pending: 0, timers: new Set() };
    this.pairs.add(pair);
    this.stats.active++;
    // A side that closes in error takes the other down at once; one that closes in order hands its
    // end over after the data still delayed (then the other side's close drops the pair).
    const onClose = (hadError: boolean) => {
      if (hadError || pair.pending === 0) this.drop(pair, false);
    };
    client.once('close', onClose);
    if (this.mode === 'blackhole') {
      this.stats.refused++;
      client.resume(); // read and discard: the peer's writes succeed, nothing ever answers
      return;
    }
    this.stats.accepted++;
    const upstream = net.connect({ host: this.targetHost, port: this.targetPort });
    pair.upstream = upstream;
    upstream.on('error', () => undefined);
    upstream.once('close', onClose);
    upstream.setNoDelay(true);
    client.setNoDelay(true);
    this.forward(pair, client, upstream, 'bytesUp');
    this.forward(pair, upstream, client, 'bytesDown');
  }

  /** Copies `from` to `to`, late by the current latency, in order; pauses `from` while `to` is full. */
  private forward(pair: Pair, from: net.Socket, to: net.Socket, counter: 'bytesUp' | 'bytesDown'): void {
    let chain: Promise<void> = Promise.resolve();
    let pending = 0;
    let lastDue = 0;
    // (`pending` orders this direction; `pair.pending` tells a closing side whether data is still due.)
    from.on('data', (chunk: Buffer) => {
      this.stats[counter] += chunk.length;
      if (this.latencyMs === 0 && pending === 0) {
        if (!to.write(chunk)) {
          from.pause();
          to.once('drain', () => from.resume());
        }
        return;
      }
      const due = Math.max(Date.now() + this.latencyMs, lastDue);
      lastDue = due;
      pending++;
      pair.pending++;
      chain = chain.then(async () => {
        const wait = due - Date.now();
        if (wait > 0) {
          await new Promise<void>((resolve) => {
            const timer = setTimeout(() => {
              pair.timers.delete(timer);
              resolve();
            }, wait);
            pair.timers.add(timer);
          });
        }
        pending--;
        pair.pending--;
        if (!to.destroyed) to.write(chunk);
      });
    });
    from.once('end', () => {
      void chain.then(() => {
        if (!to.destroyed) to.end();
      });
    });
  }

  private drop(pair: Pair, reset: boolean): void {
    if (!this.pairs.delete(pair)) return;
    this.stats.active--;
    for (const timer of pair.timers) clearTimeout(timer);
    pair.timers.clear();
    for (const socket of [pair.client, pair.upstream]) {
      if (!socket || socket.destroyed) continue;
      if (reset) socket.resetAndDestroy();
      else socket.destroy();
    }
  }
}

function defaultPort(protocol: string): number {
  switch (protocol) {
    case 'postgres:':
    case 'postgresql:':
      return 5432;
    case 'redis:':
      return 6379;
    case 'smtp:':
      return 25;
    default:
      throw new Error(`No port in the target URL and no default for ${protocol}`);
  }
}
