/**
 * Loopback HTTP view of the in-process state store, so other processes (`pink ctl`,
 * `pink tui`) see the namespace's maps. Read-only except one thing: an operator
 * command may be offered to the namespace's command queue, and its outcome awaited.
 *
 *   GET  /health                      bus health, strategy, surfaces
 *   GET  /map/<name>                  {"map", "entries": [[key, jsonText], ...]}
 *   GET  /map/<name>/<key>            the value (JSON text) or 404
 *   POST /queue/<commandQueue>        body = command JSON text -> 202 {"offered": true};
 *                                     needs `Authorization: Bearer <token>` (command-token.ts), else 401
 *   GET  /outcome/<commandId>?waitMs= the outcome record or 404 {"status": "PENDING"}
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Namespace } from '../../domain/namespaces.js';
import { commandOutcomeKey, type StateBus } from '../../ports/state-bus.js';
import { tokenMatches } from './command-token.js';

export interface StateServerOptions {
  readonly ns: Namespace;
  /** 0 or absent = a free port chosen by the OS. */
  readonly port?: number;
  /** Loopback only. */
  readonly host?: '127.0.0.1' | '::1' | 'localhost';
  /**
   * The current command credential (read per command, so a rotation applies at once);
   * a command without it is refused. Reading state needs none.
   */
  readonly commandToken: () => string;
  readonly maxBodyBytes?: number;
  /** Upper bound on `waitMs` of /outcome, ms. */
  readonly maxWaitMs?: number;
}

export interface StateServer {
  readonly port: number;
  readonly url: string;
  close(): Promise<void>;
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function send(res: ServerResponse, status: number, body: string): void {
  res.writeHead(status, { 'content-type': 'application/json', 'cache-control': 'no-store' });
  res.end(body);
}

const sendJson = (res: ServerResponse, status: number, v: unknown) => send(res, status, JSON.stringify(v));

async function readBody(req: IncomingMessage, max: number): Promise<string> {
  const chunks: Buffer[] = [];
  let size = 0;
  for await (const chunk of req) {
    size += (chunk as Buffer).length;
    if (size > max) throw new HttpError(413, `request body larger than ${max} bytes`);
    chunks.push(chunk as Buffer);
  }
  return Buffer.concat(chunks).toString('utf8');
}

/** Resolves with the value once `key` appears in `map`, or null after `waitMs`. */
export async function waitForKey(
  bus: StateBus,
  map: string,
  key: string,
  waitMs: number,
  abort?: AbortSignal,
): Promise<string | null> {
  let resolveHit!: (v: string | null) => void;
  const hit = new Promise<string | null>((r) => {
    resolveHit = r;
  });
  const unsubscribe = await bus.onMapEntry(map, (k, v) => {
    if (k === key && v !== null) resolveHit(v);
  });
  const timer = setTimeout(() => resolveHit(null), waitMs);
  const onAbort = () => resolveHit(null);
  abort?.addEventListener('abort', onAbort);
  try {
    // Checked after subscribing, so a write between the two is never missed.
    const now = await bus.mapGet(map, key);
    if (now !== null) return now;
    return await hit;
  } finally {
    clearTimeout(timer);
    abort?.removeEventListener('abort', onAbort);
    await unsubscribe();
  }
}

/** 401 unless the request carries the current command token (compared in constant time). */
function checkCredential(req: IncomingMessage, current: () => string): void {
  const given = /^Bearer (\S+)$/.exec(req.headers.authorization ?? '')?.[1];
  if (given === undefined)
    throw new HttpError(
      401,
      "command refused: no credential (commands are sent by `pink ctl` as the runtime's owner)",
    );
  let expected: string;
  try {
    expected = current();
  } catch (err) {
    throw new HttpError(
      500,
      `command refused: the runtime cannot read its credential: ${(err as Error).message}`,
    );
  }
  if (!tokenMatches(expected, given)) throw new HttpError(401, 'command refused: wrong credential');
}

function routes(bus: StateBus, o: StateServerOptions) {
  const { ns } = o;
  const maxWait = o.maxWaitMs ?? 60_000;
  const readable = new Set([ns.stateMap, ns.pnlMap]);
  const checkMap = (name: string) => {
    if (!readable.has(name))
      throw new HttpError(403, `map "${name}" is not served: only ${[...readable].join(', ')}`);
  };

  return async (req: IncomingMessage, res: ServerResponse, parts: string[], query: URLSearchParams) => {
    const [head, a, b] = parts;
    if (req.method === 'GET' && head === 'health' && parts.length === 1)
      return sendJson(res, 200, {
        strategy: ns.strategy,
        pid: process.pid,
        stateMap: ns.stateMap,
        pnlMap: ns.pnlMap,
        commandQueue: ns.commandQueue,
        bus: bus.health(),
      });
    if (req.method === 'GET' && head === 'map' && a !== undefined && parts.length === 2) {
      checkMap(a);
      return sendJson(res, 200, { map: a, entries: await bus.mapEntries(a) });
    }
    if (req.method === 'GET' && head === 'map' && a !== undefined && b !== undefined && parts.length === 3) {
      checkMap(a);
      const v = await bus.mapGet(a, b);
      return v === null ? sendJson(res, 404, { error: `no key "${b}" in ${a}` }) : send(res, 200, v);
    }
    if (req.method === 'POST' && head === 'queue' && a !== undefined && parts.length === 2) {
      if (a !== ns.commandQueue)
        throw new HttpError(403, `queue "${a}" refused: only ${ns.commandQueue} accepts commands`);
      checkCredential(req, o.commandToken);
      const body = await readBody(req, o.maxBodyBytes ?? 64 * 1024);
      if (!body.trim()) throw new HttpError(400, 'empty command body');
      const offered = await bus.queueOffer(a, body);
      if (!offered)
        return sendJson(res, 503, { offered: false, error: bus.health().lastError || 'queue full' });
      return sendJson(res, 202, { offered: true });
    }
    if (req.method === 'GET' && head === 'outcome' && a !== undefined && parts.length === 2) {
      const waitMs = Math.min(Math.max(Number(query.get('waitMs') ?? 0) || 0, 0), maxWait);
      const abort = new AbortController();
      res.on('close', () => abort.abort());
      const v = await waitForKey(bus, ns.stateMap, commandOutcomeKey(a), waitMs, abort.signal);
      return v === null ? sendJson(res, 404, { status: 'PENDING', id: a }) : send(res, 200, v);
    }
    if (!['GET', 'POST'].includes(req.method ?? ''))
      throw new HttpError(405, `method ${req.method} not allowed (read-only server)`);
    throw new HttpError(404, `no route ${req.method} ${req.url}`);
  };
}

export async function startStateServer(bus: StateBus, o: StateServerOptions): Promise<StateServer> {
  const host = o.host ?? '127.0.0.1';
  const handle = routes(bus, o);
  const server: Server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://loopback');
    let parts: string[];
    try {
      parts = url.pathname.split('/').filter(Boolean).map(decodeURIComponent);
    } catch {
      return sendJson(res, 400, { error: `bad URL encoding in ${url.pathname}` });
    }
    handle(req, res, parts, url.searchParams).catch((err: Error) => {
      if (res.headersSent) return res.end();
      const status = err instanceof HttpError ? err.status : 500;
      sendJson(res, status, { error: err.message });
    });
  });
  // Long-polls must not keep a stopping runtime alive.
  server.keepAliveTimeout = 1000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(o.port ?? 0, host, () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  return {
    port,
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve());
        server.closeAllConnections();
      }),
  };
}
