/**
 * One runtime per namespace, held by the kernel: for every resource a runtime writes
 * (its var directory, its ledger, its state cluster, its venue account) it binds an
 * abstract Unix socket named after the namespace and the resource. The kernel releases
 * it when the process dies, kill -9 included, so there is no stale lock to judge and a
 * reused pid (pid 1 after a container restart) can neither block nor be mistaken for the
 * owner. The holder answers who it is on connect, so a refusal names it.
 *
 * Abstract sockets are per network namespace: runtimes in separate containers (or hosts)
 * are told apart by the lease in the shared state map (runtime-lease.ts).
 */
import { createHash } from 'node:crypto';
import { createConnection, createServer, type Server } from 'node:net';

export class LockHeld extends Error {
  override name = 'LockHeld';
}

export interface LockHolder {
  readonly pid: number;
  readonly host: string;
  readonly varDir: string;
  readonly startedAt: string;
}

/** A thing two runtimes of one namespace must not share: `id` names the lock, `describe` is shown. */
export interface LockedResource {
  readonly id: string;
  readonly describe: string;
}

export interface HostLocks {
  release(): Promise<void>;
}

/** The abstract socket that holds `resource` for `strategy`'s runtime. */
export function socketName(strategy: string, resource: string): string {
  const digest = createHash('sha256').update(resource).digest('hex').slice(0, 24);
  return `\0pink-runtime/${strategy}/${digest}`;
}

/** Who holds `name`, as its server tells on connect (null when it says nothing in time). */
function askHolder(name: string, timeoutMs = 1000): Promise<LockHolder | null> {
  return new Promise((resolve) => {
    let text = '';
    const socket = createConnection(name);
    const done = (v: LockHolder | null) => {
      socket.destroy();
      resolve(v);
    };
    socket.setTimeout(timeoutMs, () => done(null));
    socket.on('data', (d) => {
      text += String(d);
    });
    socket.on('end', () => {
      try {
        done(JSON.parse(text) as LockHolder);
      } catch {
        done(null);
      }
    });
    socket.on('error', () => done(null));
  });
}

function bind(name: string, holder: LockHolder): Promise<Server | 'held'> {
  return new Promise((resolve, reject) => {
    // A client that resets before reading is its own business: never an uncaught error here.
    const server = createServer((c) => {
      c.on('error', () => c.destroy());
      c.end(JSON.stringify(holder));
    });
    server.once('error', (err: NodeJS.ErrnoException) =>
      err.code === 'EADDRINUSE' ? resolve('held') : reject(err),
    );
    server.listen(name, () => resolve(server));
  });
}

/**
 * Takes every lock or none: a resource already held by a live runtime of this namespace
 * is refused with its holder (pid, host, var directory, start time).
 */
export async function acquireHostLocks(o: {
  readonly strategy: string;
  readonly resources: readonly LockedResource[];
  readonly holder: LockHolder;
}): Promise<HostLocks> {
  const servers: Server[] = [];
  const release = async () => {
    await Promise.all(servers.map((s) => new Promise<void>((r) => s.close(() => r()))));
  };
  for (const resource of o.resources) {
    const name = socketName(o.strategy, resource.id);
    const bound = await bind(name, o.holder);
    if (bound === 'held') {
      await release();
      const h = await askHolder(name);
      const who = h
        ? `pid ${h.pid} on ${h.host}, var directory ${h.varDir}, started ${h.startedAt}`
        : 'a process that did not say who it is';
      throw new LockHeld(
        `PINK runtime for namespace "${o.strategy}" is already running on ${resource.describe} (${who}); refusing to start a second one`,
      );
    }
    bound.unref();
    servers.push(bound);
  }
  return { release };
}
