/**
 * A websocket send that fails because the socket is closing must not become an unhandled
 * rejection (which ends a Node process): ccxt's throttled subscription path drops the
 * send's promise. Real ccxt client, real websocket server on loopback. Without the guard
 * the unheld send below is reported by vitest as an unhandled rejection and the run fails
 * (as test/bingx-quotes.test.ts once did, the stream going down mid-subscription).
 */
import type { AddressInfo } from 'node:net';
import ccxt from 'ccxt';
import { afterAll, describe, expect, it } from 'vitest';
import { WebSocketServer } from 'ws';
import { markSendFailuresHandled } from '../src/adapters/bingx/ccxt-venue.js';

interface WsClient {
  connect(backoffDelay?: number): Promise<unknown>;
  send(message: unknown): Promise<unknown>;
  connection: { close(code?: number): void; readyState: number };
}

describe('bingx websocket sends', () => {
  const server = new WebSocketServer({ host: '127.0.0.1', port: 0 });
  const listening = new Promise<void>((ready) => server.once('listening', () => ready()));
  afterAll(() => new Promise<void>((done) => server.close(() => done())));

  it('a send on a closing socket fails for whoever holds it and is never an unhandled rejection', async () => {
    await listening;
    const url = `ws://127.0.0.1:${(server.address() as AddressInfo).port}/swap-market`;
    const exchange = new ccxt.pro.bingx({});
    await exchange.loadHttpProxyAgent(); // what the venue does for the loopback simulator's ws://
    markSendFailuresHandled(exchange as unknown as { client(url: string): unknown });
    const client = exchange.client(url) as unknown as WsClient;
    expect(exchange.client(url)).toBe(client);
    await client.connect();
    client.connection.close(1000);
    expect(client.connection.readyState).toBe(2); // CLOSING
    // What ccxt's throttled subscription does: send, and hold nothing.
    void client.send({ id: 'dropped', reqType: 'sub', dataType: 'BTC-USDT@ticker' });
    await expect(client.send({ id: 'held' })).rejects.toThrow(/WebSocket is not open/);
    await new Promise((r) => setTimeout(r, 50));
    await exchange.close();
  }, 20_000);
});
