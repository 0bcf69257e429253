/**
 * Reads BLUE's recorded decisions (`<blue db>.v7_decision_events`) for `pink parity
 * --blue-clickhouse`. Read-only by construction: one streamed SELECT with the
 * ClickHouse `readonly` setting, ordered by scan; the database name comes from the
 * namespace registry, never from a literal.
 */
import type { ClickHouseClient } from '@clickhouse/client';
import type { DecisionRecord } from '../domain/decision.js';
import { lookupNamespace, PARITY_REFERENCE_STRATEGY } from '../domain/namespaces.js';
import { blueDecisionRecord, ParityInputError } from './parity.js';

export interface BlueClickHouseRange {
  /** Inclusive start, epoch ms. */
  readonly fromMs: number;
  /** Exclusive end, epoch ms. */
  readonly toMs: number;
  /** Which namespace's decisions to read (default: the parity reference, BLUE). */
  readonly strategy?: string;
}

/** Parses an ISO-8601 instant given on the command line, naming the option when it is bad. */
export function parseInstant(option: string, text: string): number {
  const ms = Date.parse(text);
  if (!/^\d{4}-\d{2}-\d{2}/.test(text) || !Number.isFinite(ms))
    throw new ParityInputError(`${option} "${text}" is not an ISO-8601 time (e.g. 2026-11-01T00:00:00Z)`);
  return ms;
}

/** Streams BLUE's decisions in the range, one record per scan in scan order. */
export async function* readBlueClickHouse(
  client: ClickHouseClient,
  range: BlueClickHouseRange,
): AsyncGenerator<DecisionRecord> {
  if (!(range.toMs > range.fromMs))
    throw new ParityInputError('--to must be later than --from for --blue-clickhouse');
  const ns = lookupNamespace(range.strategy ?? PARITY_REFERENCE_STRATEGY);
  const table = `${ns.clickhouseDb}.v7_decision_events`;
  const sql =
    `SELECT scan, toUnixTimestamp64Milli(ts) AS ts_ms, fired, action, asset, side, leverage, reason, bars_held ` +
    `FROM ${table} WHERE ts >= fromUnixTimestamp64Milli({from:Int64}, 'UTC') ` +
    `AND ts < fromUnixTimestamp64Milli({to:Int64}, 'UTC') ORDER BY scan, ts LIMIT 1 BY scan`;
  let result: Awaited<ReturnType<ClickHouseClient['query']>>;
  try {
    result = await client.query({
      query: sql,
      format: 'JSONEachRow',
      query_params: { from: range.fromMs, to: range.toMs },
      clickhouse_settings: { readonly: '1', output_format_json_quote_64bit_integers: 0 },
    });
  } catch (err) {
    throw new ParityInputError(`could not read ${table}: ${(err as Error).message.split('\n')[0]}`);
  }
  let n = 0;
  for await (const rows of result.stream()) {
    for (const row of rows) {
      n += 1;
      const { ts_ms, ...rest } = row.json() as Record<string, unknown>;
      // Object.assign, not `{ ...rest, ts }`: V8 copies slowly when a spread gains a key.
      yield blueDecisionRecord(Object.assign(rest, { ts: ts_ms }), `${table} row ${n}`);
    }
  }
  if (n === 0)
    throw new ParityInputError(
      `${table} has no decisions between ${new Date(range.fromMs).toISOString()} and ${new Date(range.toMs).toISOString()}`,
    );
}
