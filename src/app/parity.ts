/**
 * The parity harness: the reference path (pure decisions, idealized slot) against
 * the full PINK path (kernel + venue + normalization + sinks), scan by scan, or the
 * PINK path against a recorded BLUE decision log. Streams: memory stays flat.
 *
 * Excusable divergences are only the venue-made ones of ALGORITHM.md §3; each is
 * annotated with the venue fact. After an excused divergence the reference memory
 * is realigned to PINK's, so any later difference is a real one.
 */
import { createReadStream } from 'node:fs';
import { createInterface } from 'node:readline';
import { parse as parseCsv } from 'csv-parse';
import { readHashedScanLines } from '../adapters/files/scan-read-thread.js';
import type { SimVenueConfig } from '../adapters/sim/sim-venue.js';
import { AccountProjection } from '../domain/account.js';
import type { DecisionRecord } from '../domain/decision.js';
import type { CanonicalEvent, EventSink, StrategyOverrideEvent } from '../domain/events.js';
import { type Scan, type ScanCheck, validateScan } from '../domain/scan.js';
import type { VenuePort } from '../domain/venue.js';
import { ChainHasher, decisionHash, decisionTuple, parameterHash } from '../strategy/decision-log.js';
import type { Strategy } from '../strategy/strategy.js';
import { LatestPrices, Pipeline } from './pipeline.js';
import { fanOut, simVenueFor } from './replay.js';

export const FAULT_PROFILES: Readonly<Record<string, Partial<SimVenueConfig>>> = {
  none: {},
  rejects: { rejectRate: 0.15 },
  'external-closes': { externalCloseRate: 0.01, liquidationShare: 0.5 },
  'rejects-and-closes': { rejectRate: 0.1, externalCloseRate: 0.01 },
  noisy: { partialFills: 3, duplicateRate: 0.2, reorderRate: 0.2, dropAckRate: 0.2, latencyMs: 200 },
};

export interface Divergence {
  readonly scan: number;
  readonly reference: string;
  readonly pink: string;
  readonly excused: boolean;
  /** The venue fact that excuses it (order id, reject reason, external close). */
  readonly annotation: string;
  readonly kind: string;
}

export interface ParityReport {
  readonly mode: 'reference' | 'blue-log';
  readonly dataset: string;
  readonly datasetHash: string;
  readonly parameterHash: string;
  readonly strategy: string;
  readonly venue: string;
  readonly faults: string;
  readonly scans: number;
  readonly rejectedScans: number;
  readonly identical: number;
  readonly excused: number;
  readonly divergent: number;
  readonly identicalPct: number;
  readonly referenceChainHash: string;
  readonly pinkChainHash: string;
  readonly firstDivergence:
    | (Divergence & { context: Array<{ scan: number; reference: string; pink: string }> })
    | null;
  readonly excusedSamples: Divergence[];
  /** Venue activity on the PINK path: proves the orders really went through the venue. */
  readonly pinkOrders: number;
  readonly pinkFills: number;
  readonly pinkTrades: number;
  /** Waits for a real-time venue that ended with an order still in flight (0 for the sim venue). */
  readonly unsettled: number;
  readonly passed: boolean;
}

export interface ParityOptions {
  readonly dataPath: string;
  readonly pinkStrategy: Strategy;
  /** Reference mode: the same algorithm, fresh memory (idealized slot). */
  readonly referenceStrategy?: Strategy;
  /** Blue-log mode: a recorded BLUE decision log (JSONL or CSV), keyed by scan. */
  readonly blueLog?: AsyncIterable<DecisionRecord>;
  readonly namespace: string;
  readonly capital: number;
  readonly faults: string;
  readonly sinks?: readonly EventSink[];
  readonly onProgress?: (scans: number) => void;
  /** Another venue for the PINK path (e.g. ccxt -> the BingX simulator); default the sim venue with the faults. */
  readonly venue?: (marks: LatestPrices) => Promise<VenuePort>;
  /** The venue answers in wall-clock time: wait for each order's facts. */
  readonly realTimeVenue?: boolean;
  /** Told when a wait for a real-time venue ended with something still in flight (15 s). */
  readonly onUnsettled?: (scan: number, inFlight: string) => void;
  readonly venueName?: string;
  /** Where the file is read and parsed: this thread (default) or a worker (see ReplayOptions). */
  readonly readLines?: 'worker' | 'inline';
  /** With `worker`: this process's own V8 flags, set again once it runs (WorkerReadOptions). */
  readonly v8Flags?: readonly string[];
}

const CONTEXT = 3;
/** After a venue override, BLUE's log may differ until both slots settle again. */
const BLUE_LOG_EXCUSE_SCANS = 200;

export async function runParity(o: ParityOptions): Promise<ParityReport> {
  const faults = FAULT_PROFILES[o.faults];
  if (!faults)
    throw new Error(
      `unknown --faults profile "${o.faults}" (known: ${Object.keys(FAULT_PROFILES).join(', ')})`,
    );
  const overrides: StrategyOverrideEvent[] = [];
  let lastPink: DecisionRecord | null = null;
  const activity = { orders: 0, fills: 0, trades: 0 };
  const capture: EventSink = (e: CanonicalEvent) => {
    if (e.type === 'decision') lastPink = e.record;
    else if (e.type === 'strategy_override') overrides.push(e);
    else if (e.type === 'order' && e.milestone === 'SENT') activity.orders++;
    else if (e.type === 'fill') activity.fills++;
    else if (e.type === 'trade_closed') activity.trades++;
  };
  const marks = new LatestPrices();
  const venue = o.venue ? await o.venue(marks) : simVenueFor(marks, { seed: 1, ...faults });
  const pipeline = new Pipeline({
    strategy: o.pinkStrategy,
    venue,
    account: new AccountProjection(o.capital),
    marks,
    namespace: o.namespace,
    sink: fanOut([capture, ...(o.sinks ?? [])]),
  });
  const blue = o.blueLog?.[Symbol.asyncIterator]();
  const refChain = new ChainHasher();
  const pinkChain = new ChainHasher();
  const recent: Array<{ scan: number; reference: string; pink: string }> = [];
  const samples: Divergence[] = [];
  let first: ParityReport['firstDivergence'] = null;
  let firstPending: { d: Divergence; after: number } | null = null;
  let scans = 0;
  let rejected = 0;
  let identical = 0;
  let excused = 0;
  let divergent = 0;
  let excuseUntil = -1;
  let unsettled = 0;
  let lastAccepted: number | null = null;
  const pending: Array<{ e: StrategyOverrideEvent; validThrough: number }> = [];

  const source = readHashedScanLines(o.dataPath, o.readLines ?? 'inline', o.v8Flags);
  for await (const line of source.lines) {
    const check: ScanCheck = line.parseError
      ? { ok: false, reason: line.parseError }
      : validateScan(line.value, lastAccepted);
    if (!check.ok) {
      rejected += 1;
      pipeline.refuse(`${o.dataPath}:${line.lineNo}`, check.reason);
      continue;
    }
    const scan: Scan = check.scan;
    lastAccepted = scan.scan;
    await pipeline.process(scan, `${o.dataPath}:${line.lineNo}`);
    if (o.realTimeVenue && !(await pipeline.settle(scan.ts))) {
      unsettled += 1;
      o.onUnsettled?.(scan.scan, pipeline.inFlight() ?? 'nothing (settled just after the deadline)');
    }
    const pink = lastPink as DecisionRecord | null;
    if (!pink) throw new Error(`scan ${scan.scan}: the PINK path produced no decision`);
    const ref = o.referenceStrategy
      ? (await o.referenceStrategy.decide(scan, { capital: o.capital })).record
      : await nextBlue(blue, scan.scan);
    scans += 1;
    const refTuple = decisionTuple(ref);
    const pinkTuple = decisionTuple(pink);
    refChain.push(decisionHash(ref));
    pinkChain.push(decisionHash(pink));
    recent.push({ scan: scan.scan, reference: refTuple, pink: pinkTuple });
    if (recent.length > CONTEXT * 2 + 1) recent.shift();
    if (firstPending && scan.scan >= firstPending.after) {
      first = { ...firstPending.d, context: [...recent] };
      firstPending = null;
    }
    // An override made after this scan's decision shows at the next scan: keep it one scan longer.
    for (const e of overrides.splice(0)) pending.push({ e, validThrough: scans + 1 });
    while (pending.length && pending[0]!.validThrough < scans) pending.shift();
    if (refTuple === pinkTuple) {
      identical += 1;
      continue;
    }
    const cause = pending.shift()?.e;
    pending.length = 0;
    if (cause) excuseUntil = scans + BLUE_LOG_EXCUSE_SCANS;
    const isExcused = cause !== undefined || (!o.referenceStrategy && scans <= excuseUntil);
    const d: Divergence = {
      scan: scan.scan,
      reference: refTuple,
      pink: pinkTuple,
      excused: isExcused,
      kind: cause?.kind ?? (isExcused ? 'AFTER_VENUE_OVERRIDE' : 'DECISION_MISMATCH'),
      annotation: cause
        ? `${cause.kind} ${cause.tradeId}: ${cause.venueFact}`
        : isExcused
          ? 'within the excuse window of an earlier venue override'
          : '',
    };
    if (isExcused) {
      excused += 1;
      if (samples.length < 20) samples.push(d);
      // Realign the idealized slot to what the venue made of it.
      o.referenceStrategy?.restoreState(o.pinkStrategy.saveState());
    } else {
      divergent += 1;
      if (!first && !firstPending) firstPending = { d, after: scan.scan };
    }
    o.onProgress?.(scans);
  }
  await pipeline.finish();
  await venue.close();
  if (firstPending) first = { ...firstPending.d, context: [...recent] };
  const params = o.pinkStrategy.params;
  return {
    mode: o.referenceStrategy ? 'reference' : 'blue-log',
    dataset: o.dataPath,
    datasetHash: source.datasetHash(),
    parameterHash: parameterHash(params),
    strategy: o.pinkStrategy.name,
    venue: o.venueName ?? 'sim',
    faults: o.faults,
    scans,
    rejectedScans: rejected,
    identical,
    excused,
    divergent,
    identicalPct: scans ? (identical / scans) * 100 : 100,
    referenceChainHash: refChain.value,
    pinkChainHash: pinkChain.value,
    firstDivergence: first,
    excusedSamples: samples,
    pinkOrders: activity.orders,
    pinkFills: activity.fills,
    pinkTrades: activity.trades,
    unsettled,
    passed: divergent === 0,
  };
}

async function nextBlue(
  it: AsyncIterator<DecisionRecord> | undefined,
  scan: number,
): Promise<DecisionRecord> {
  if (!it) throw new Error('no reference path and no BLUE log');
  for (;;) {
    const next = await it.next();
    if (next.done) throw new ParityInputError(`the BLUE log ends before scan ${scan}`);
    if (next.value.scan === scan) return next.value;
    if (next.value.scan > scan) throw new ParityInputError(`the BLUE log has no decision for scan ${scan}`);
  }
}

export class ParityInputError extends Error {
  override name = 'ParityInputError';
}

/** One BLUE decision (log line, CSV row or ClickHouse row) as a record; names the field that is wrong. */
export function blueDecisionRecord(raw: Record<string, unknown>, where: string): DecisionRecord {
  const num = (k: string) => {
    const v = typeof raw[k] === 'string' ? Number(raw[k]) : raw[k];
    if (typeof v !== 'number' || !Number.isFinite(v))
      throw new ParityInputError(`${where}: "${k}" must be a number`);
    return v;
  };
  const str = (k: string) => {
    const v = raw[k];
    if (typeof v !== 'string') throw new ParityInputError(`${where}: "${k}" must be a string`);
    return v;
  };
  const f = raw.fired;
  const fired =
    f === true || f === 1 || f === '1' || f === 'true'
      ? true
      : f === false || f === 0 || f === '0' || f === 'false'
        ? false
        : null;
  if (fired === null) throw new ParityInputError(`${where}: "fired" must be a boolean or 0/1`);
  return {
    scan: num('scan'),
    ts: num('ts'),
    fired,
    action: str('action') as DecisionRecord['action'],
    asset: str('asset'),
    side: str('side') as DecisionRecord['side'],
    leverage: num('leverage'),
    reason: str('reason'),
    bars_held: num('bars_held'),
  };
}

/** Reads a BLUE decision log: JSON Lines (ALGORITHM.md §4) or a CSV export with the same columns. */
export async function* readBlueLog(path: string): AsyncGenerator<DecisionRecord> {
  if (path.endsWith('.csv')) {
    const parser = createReadStream(path).pipe(
      parseCsv({ columns: true, skip_empty_lines: true, trim: true }),
    );
    let row = 1;
    for await (const rec of parser) {
      row += 1;
      yield blueDecisionRecord(rec as Record<string, unknown>, `${path}:${row}`);
    }
    return;
  }
  const rl = createInterface({ input: createReadStream(path), crlfDelay: Number.POSITIVE_INFINITY });
  let lineNo = 0;
  for await (const text of rl) {
    lineNo += 1;
    if (!text.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch (err) {
      throw new ParityInputError(`${path}:${lineNo}: not valid JSON (${(err as Error).message})`);
    }
    if (!value || typeof value !== 'object')
      throw new ParityInputError(`${path}:${lineNo}: not a JSON object`);
    yield blueDecisionRecord(value as Record<string, unknown>, `${path}:${lineNo}`);
  }
}

export function parityMarkdown(r: ParityReport): string {
  const lines = [
    `# PINK parity report: ${r.passed ? 'PASS' : 'FAIL'}`,
    '',
    '| figure | value |',
    '|---|---|',
    `| mode | ${r.mode} |`,
    `| dataset | \`${r.dataset}\` |`,
    `| dataset hash | \`${r.datasetHash}\` |`,
    `| strategy / parameter hash | ${r.strategy} / \`${r.parameterHash}\` |`,
    `| venue / faults | ${r.venue} / ${r.faults} |`,
    `| scans compared | ${r.scans} (rejected ${r.rejectedScans}) |`,
    `| identical | ${r.identical} (${r.identicalPct.toFixed(4)} %) |`,
    `| excused (venue-made) | ${r.excused} |`,
    `| divergent | ${r.divergent} |`,
    `| PINK venue activity | ${r.pinkOrders} orders sent, ${r.pinkFills} fills, ${r.pinkTrades} trades closed${r.unsettled ? `, ${r.unsettled} waits ended unsettled` : ''} |`,
    `| reference chain hash | \`${r.referenceChainHash}\` |`,
    `| PINK chain hash | \`${r.pinkChainHash}\` |`,
    '',
  ];
  if (r.firstDivergence) {
    const d = r.firstDivergence;
    lines.push(
      '## First divergence',
      '',
      `scan **${d.scan}** (${d.kind})`,
      '',
      '| scan | reference | PINK |',
      '|---|---|---|',
    );
    for (const c of d.context)
      lines.push(`| ${c.scan}${c.scan === d.scan ? ' **<-**' : ''} | \`${c.reference}\` | \`${c.pink}\` |`);
    lines.push('');
  }
  if (r.excusedSamples.length) {
    lines.push(
      '## Excused divergences (first 20)',
      '',
      '| scan | kind | venue fact | reference | PINK |',
      '|---|---|---|---|---|',
    );
    for (const d of r.excusedSamples)
      lines.push(`| ${d.scan} | ${d.kind} | ${d.annotation} | \`${d.reference}\` | \`${d.pink}\` |`);
  }
  return `${lines.join('\n')}\n`;
}
