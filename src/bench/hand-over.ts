/**
 * Issue #19, item 2: what handing a ledger row over costs the decision thread, three ways.
 * The engine's work (parse, sort, compress, merge) already runs on chDB's own threads and
 * the staged file is written on libuv's pool; what a worker thread could still take off the
 * decision thread is the encoding, and only if handing the row to it costs less.
 */
import { MessageChannel } from 'node:worker_threads';
import type { RowBinaryAppender } from '../adapters/clickhouse/row-binary.js';
import type { Row } from '../ports/ledger.js';
import { type Figure, median } from './harness.js';

export interface HandOverCosts {
  /** Encoding as queued (RowBinaryAppender.append), ns a row. */
  readonly encodeNs: number;
  /** postMessage of 1,000-row arrays (V8's structured clone, on the sending thread), ns a row. */
  readonly cloneNs: number;
  /** JSON.stringify of each row (what a JSON hand-over would cost), ns a row. */
  readonly jsonNs: number;
}

function nsPerRow(rows: readonly Row[], each: () => void): number {
  const t0 = process.hrtime.bigint();
  each();
  return Number(process.hrtime.bigint() - t0) / rows.length;
}

export function measureHandOver(rows: readonly Row[], appender: () => RowBinaryAppender): HandOverCosts {
  const { port1, port2 } = new MessageChannel();
  const runs = [1, 2, 3, 4, 5].map(() => {
    const a = appender();
    const encodeNs = nsPerRow(rows, () => {
      for (const row of rows) a.append([row]);
      a.take();
    });
    const cloneNs = nsPerRow(rows, () => {
      for (let i = 0; i < rows.length; i += 1000) port1.postMessage(rows.slice(i, i + 1000));
    });
    let bytes = 0;
    const jsonNs = nsPerRow(rows, () => {
      for (const row of rows) bytes += JSON.stringify(row).length;
    });
    return { encodeNs, cloneNs, jsonNs: bytes > 0 ? jsonNs : Number.NaN };
  });
  port1.close();
  port2.close();
  return {
    encodeNs: median(runs.map((r) => r.encodeNs)),
    cloneNs: median(runs.map((r) => r.cloneNs)),
    jsonNs: median(runs.map((r) => r.jsonNs)),
  };
}

export function handOverFigure(c: HandOverCosts, rows: number): Figure {
  return {
    name: 'ledger row hand-over on the decision thread',
    value: Math.round(c.encodeNs),
    unit: 'ns/row',
    target: 'reported',
    met: null,
    detail: `encoded as queued ${Math.round(c.encodeNs)} ns; a worker thread would first need it handed over: structured clone (postMessage, 1,000-row messages) ${Math.round(c.cloneNs)} ns, JSON text ${Math.round(c.jsonNs)} ns (${rows.toLocaleString('en-US')} v7_decision_events rows, median of 5)`,
  };
}
