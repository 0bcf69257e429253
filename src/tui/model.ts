/**
 * The `pink tui` view model: published state (the JSON text of the DESIGN.md §6
 * surfaces) in, display model out. Pure: no I/O, no clock (the caller passes `now`).
 * Everything shown is what the runtime published; nothing is inferred. In particular
 * the position is the published slot as it stands: a FLATTEN that was applied does not
 * clear it here; only the runtime's next snapshot (after the venue reported the
 * position gone and the trade was recorded) does.
 */

/** The JSON text of the surfaces one poll read (null = key absent). */
export interface PublishedTexts {
  readonly engineSnapshot: string | null;
  readonly latestNautilus: string | null;
  readonly capitalCheckpoint: string | null;
  /** The pnl map entry for the UTC day of the read (key YYYY-MM-DD). */
  readonly pnlToday: string | null;
}

/** Operator commands the dashboard can send (keys p, r, f). */
export type ControlType = 'PAUSE' | 'RESUME' | 'FLATTEN';

export const CONTROL_KEYS: ReadonlyArray<{ key: string; type: ControlType; label: string; effect: string }> =
  [
    {
      key: 'p',
      type: 'PAUSE',
      label: 'pause',
      effect: 'stop opening new trades (an open trade keeps being managed)',
    },
    { key: 'r', type: 'RESUME', label: 'resume', effect: 'allow new entries again' },
    {
      key: 'f',
      type: 'FLATTEN',
      label: 'flatten',
      effect: 'close the open position now (refused when flat)',
    },
  ];

/** What became of one command sent through the `pink ctl` path. */
export interface CommandReport {
  /** APPLIED/REFUSED: the runtime's outcome record; NO_OUTCOME: sent, none in time; NOT_SENT: never queued. */
  readonly status: 'APPLIED' | 'REFUSED' | 'NO_OUTCOME' | 'NOT_SENT';
  readonly type: ControlType;
  readonly id: string | null;
  readonly reason: string;
  /** What the `pink ctl` path printed (the "sent ..." line and the outcome line). */
  readonly lines: readonly string[];
}

export type AlertLevel = 'critical' | 'warning';

export interface Alert {
  readonly level: AlertLevel;
  /** Stable identifier for tests and filtering. */
  readonly code:
    | 'not-found'
    | 'disconnected'
    | 'no-state'
    | 'bad-json'
    | 'heartbeat-stale'
    | 'heartbeat-unknown'
    | 'unhealthy'
    | 'spool'
    | 'pending-keys'
    | 'account-cap'
    | 'posture';
  readonly text: string;
}

export interface DecisionRow {
  readonly ts: number;
  readonly action: string;
  readonly asset: string | null;
  readonly reason: string;
}

export interface ComponentRow {
  readonly name: string;
  /** null = informational value (no health verdict). */
  readonly ok: boolean | null;
  readonly detail: string;
}

export type LinkState =
  | { readonly ok: true }
  | { readonly ok: false; readonly kind: 'not-found' | 'error'; readonly message: string };

export interface ModelInput {
  readonly strategy: string;
  readonly stateMap: string;
  readonly pnlMap: string;
  readonly commandQueue: string;
  /** True when this namespace is shown read-only (control keys disabled). */
  readonly readOnly: boolean;
  /** Where the state is read from (process / Hazelcast members), when known. */
  readonly where: string | null;
  /** The last texts read successfully (null before the first successful read). */
  readonly published: PublishedTexts | null;
  /** How the latest read went. */
  readonly link: LinkState;
  /** Epoch ms of the latest read attempt; heartbeat age is measured against it. */
  readonly now: number;
  /** A heartbeat older than this is an alert, ms. */
  readonly staleAfterMs: number;
  /** Decisions seen across polls (mergeDecision), oldest first. */
  readonly decisions?: readonly DecisionRow[];
}

export interface DashboardModel {
  readonly title: string;
  readonly where: string;
  readonly connection: 'live' | 'not-found' | 'disconnected' | 'no-state';
  readonly readOnly: boolean;
  /** Shown when read-only: why the keys do nothing. */
  readonly readOnlyNotice: string | null;
  readonly posture: string;
  readonly paused: boolean | null;
  readonly venue: string;
  readonly algorithm: string;
  readonly heartbeatAgeMs: number | null;
  readonly heartbeat: string;
  /** Trade FSM stage of the published slot, or FLAT when the slot is empty. */
  readonly stage: string;
  readonly position: readonly string[];
  readonly pendingOrders: string;
  readonly lastScan: string;
  readonly capital: readonly string[];
  readonly roi: string;
  readonly today: string | null;
  /** Latency legs (ms) and slippage (bps) of the latest finished orders, as table rows. */
  readonly execution: ExecutionTable;
  readonly dataRates: readonly string[];
  readonly components: readonly ComponentRow[];
  /** Newest first. */
  readonly decisions: readonly string[];
  readonly alerts: readonly Alert[];
}

type Json = Record<string, unknown>;

export interface ExecutionTable {
  /** The statistics published, in this order of ORDERED_STATS (e.g. orders, p50, p90, max). */
  readonly columns: readonly string[];
  readonly rows: ReadonlyArray<{
    readonly what: string;
    readonly unit: 'ms' | 'bps';
    readonly cells: readonly string[];
  }>;
}

const ORDERED_STATS = ['orders', 'mean', 'p50', 'p90', 'p95', 'p99', 'max'];

/**
 * Latency legs, slippage and post-fill markouts as a table: a leg published in microseconds
 * (`submit_to_ack_us`, what the runtime publishes) is shown in ms, to the precision that
 * matters at its size; slippage (positive = cost) and markouts (positive = the market moved
 * in the order's favour) in bps.
 */
export function executionTable(latency: unknown, slippage: unknown, markout?: unknown): ExecutionTable {
  const groups = [
    ...Object.entries(obj(latency) ?? {}).map(([k, v]) => ({ k, v, unit: 'ms' as const })),
    ...Object.entries(obj(slippage) ?? {}).map(([k, v]) => ({ k, v, unit: 'bps' as const })),
    ...Object.entries(obj(markout) ?? {}).map(([k, v]) => ({ k: `markout_${k}`, v, unit: 'bps' as const })),
  ].filter((g) => obj(g.v) !== null);
  const columns = ORDERED_STATS.filter((s) => groups.some((g) => num(obj(g.v)?.[s]) !== null));
  const rows = groups.map(({ k, v, unit }) => {
    const scale = unit === 'ms' && k.endsWith('_us') ? 1 / 1000 : 1;
    const what = words(k.replace(/_(us|ms|bps)$/, ''));
    const cells = columns.map((c) => {
      const x = num(obj(v)?.[c]);
      if (x === null) return '';
      if (c === 'orders') return String(x);
      return unit === 'bps' ? x.toFixed(2) : ms(x * scale);
    });
    return { what, unit, cells };
  });
  return { columns, rows };
}

/** Milliseconds with the digits that matter: 0.04, 3.25, 41.3, 215. */
function ms(v: number): string {
  const a = Math.abs(v);
  return v.toFixed(a >= 100 ? 0 : a >= 10 ? 1 : 2);
}

function obj(v: unknown): Json | null {
  return v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Json) : null;
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function text(v: unknown): string | null {
  return typeof v === 'string' && v !== '' ? v : null;
}

function parse(label: string, raw: string | null, errors: string[]): Json | null {
  if (raw === null) return null;
  try {
    const v = obj(JSON.parse(raw));
    if (!v) errors.push(`${label} is not a JSON object`);
    return v;
  } catch (err) {
    errors.push(`${label} is not JSON: ${(err as Error).message}`);
    return null;
  }
}

export function money(v: unknown): string {
  const n = num(v);
  return n === null ? '?' : n.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 2 });
}

function plain(v: unknown): string {
  const n = num(v);
  return n === null ? '?' : n.toLocaleString('en-US', { maximumFractionDigits: 8 });
}

function fixed(v: unknown, digits: number): string {
  const n = num(v);
  return n === null ? '?' : n.toFixed(digits);
}

function pct(v: number): string {
  return `${(v * 100).toFixed(3)} %`;
}

export function formatAge(ms: number): string {
  if (ms < 1000) return `${Math.max(0, Math.round(ms))} ms`;
  if (ms < 120_000) return `${(ms / 1000).toFixed(1)} s`;
  if (ms < 7_200_000) return `${Math.round(ms / 60_000)} min`;
  return `${(ms / 3_600_000).toFixed(1)} h`;
}

export function formatTime(ts: number): string {
  const d = new Date(ts);
  return Number.isFinite(d.getTime()) ? `${d.toISOString().slice(11, 19)} UTC` : '?';
}

/** `spool_depth` -> `spool depth`. */
function words(key: string): string {
  return key
    .replace(/_/g, ' ')
    .replace(/([a-z])([A-Z])/g, (_, a: string, b: string) => `${a} ${b.toLowerCase()}`);
}

/** A published figure of unknown shape, in one line: numbers, or named numbers/groups. */
export function summarize(v: unknown, unit: string): string | null {
  const n = num(v);
  if (n !== null) return `${plain(n)} ${unit}`;
  const o = obj(v);
  if (!o) return text(v);
  const parts: string[] = [];
  for (const [k, x] of Object.entries(o)) {
    const xn = num(x);
    if (xn !== null) {
      parts.push(`${words(k)} ${plain(xn)}`);
      continue;
    }
    const xo = obj(x);
    if (xo) {
      const inner = Object.entries(xo)
        .filter(([, y]) => num(y) !== null)
        .map(([ik, y]) => `${words(ik)} ${plain(y)}`);
      if (inner.length) parts.push(`${words(k)}: ${inner.join(' / ')}`);
    } else if (text(x)) parts.push(`${words(k)} ${x as string}`);
  }
  return parts.length ? `${parts.join(', ')} (${unit})` : null;
}

function firstPublished(...candidates: unknown[]): unknown {
  return candidates.find((c) => c !== undefined && c !== null);
}

/** Appends the snapshot's last decision when it differs from the newest kept one; keeps `max`. */
export function mergeDecision(history: readonly DecisionRow[], decision: unknown, max = 8): DecisionRow[] {
  const d = obj(decision);
  const ts = num(d?.ts);
  const action = text(d?.action);
  if (!d || ts === null || action === null) return [...history];
  const row: DecisionRow = {
    ts,
    action,
    asset: text(d.asset),
    reason: typeof d.reason === 'string' ? d.reason : '',
  };
  const last = history[history.length - 1];
  if (
    last &&
    last.ts === row.ts &&
    last.action === row.action &&
    last.asset === row.asset &&
    last.reason === row.reason
  )
    return [...history];
  return [...history, row].slice(-max);
}

/** The last decision a snapshot text carries (for mergeDecision), or null. */
export function decisionOf(engineSnapshot: string | null): unknown {
  if (engineSnapshot === null) return null;
  try {
    return obj(JSON.parse(engineSnapshot))?.last_decision ?? null;
  } catch {
    return null;
  }
}

const NOT_COMPONENTS = new Set(['account_events', 'latency', 'slippage', 'markout', 'data_rates']);
const BAD_STATUS = /^(down|error|failed|unhealthy|disconnected|unreachable)$/i;

function judge(c: Json): boolean {
  for (const k of ['reachable', 'connected', 'healthy', 'ok']) if (c[k] === false) return false;
  return !(typeof c.status === 'string' && BAD_STATUS.test(c.status));
}

function componentDetail(c: Json): string {
  const parts: string[] = [];
  for (const [k, v] of Object.entries(c)) {
    if (v === null || v === undefined || v === '') continue;
    if (typeof v === 'object') continue;
    parts.push(`${words(k)} ${typeof v === 'number' ? plain(v) : String(v)}`);
  }
  return parts.join(', ');
}

function components(health: Json | null): ComponentRow[] {
  if (!health) return [];
  const rows: ComponentRow[] = [];
  for (const [name, v] of Object.entries(health)) {
    if (NOT_COMPONENTS.has(name)) continue;
    const o = obj(v);
    if (o) rows.push({ name, ok: judge(o), detail: componentDetail(o) });
    else if (v !== null && v !== undefined && v !== '') rows.push({ name, ok: null, detail: String(v) });
  }
  return rows;
}

function dataRates(health: Json | null, snapshot: Json | null): string[] {
  const lines: string[] = [];
  const ae = obj(health?.account_events);
  if (ae) {
    const suppressed = obj(ae.suppressed);
    const total = suppressed
      ? Object.values(suppressed).reduce<number>((s, x) => s + (num(x) ?? 0), 0)
      : null;
    const why = suppressed
      ? Object.entries(suppressed)
          .filter(([, x]) => (num(x) ?? 0) > 0)
          .map(([k, x]) => `${words(k)} ${plain(x)}`)
          .join(', ')
      : '';
    lines.push(
      `account events: written ${plain(ae.written)} of ${plain(ae.offered)} offered` +
        (num(ae.writtenDebug) ? ` (debug ${plain(ae.writtenDebug)})` : '') +
        (total !== null ? `, suppressed ${plain(total)}${why ? ` (${why})` : ''}` : ''),
    );
    lines.push(
      `account-event cap: alerts ${plain(ae.alerts ?? 0)}, windows over cap ${plain(ae.windowsOverCap ?? 0)}`,
    );
  }
  const rates = summarize(firstPublished(snapshot?.data_rates, health?.data_rates), 'per s');
  if (rates) lines.push(`data rates: ${rates}`);
  return lines;
}

function roiLine(s: Json | null): string {
  const published = obj(s?.roi) ?? obj(obj(s?.kpis)?.roi);
  if (published) return `ROI (published): ${summarize(published, 'ratio') ?? '?'}`;
  const capital = num(s?.capital);
  const equity = num(s?.equity);
  const realized = num(s?.realized_pnl);
  const fees = num(s?.fees) ?? 0;
  const funding = num(s?.funding) ?? 0;
  if (capital === null || realized === null) return 'ROI: not published';
  // capital = base + realized - fees - funding (the account projection's identity).
  const base = capital - realized + fees + funding;
  if (!(base > 0)) return 'ROI: base capital not positive';
  const parts = [`realized ${pct(realized / base)}`, `cost-adjusted ${pct((capital - base) / base)}`];
  if (equity !== null) parts.push(`open-equity ${pct((equity - base) / base)}`);
  return `ROI ${parts.join('  ')}  (base ${money(base)})`;
}

function positionLines(slot: Json | null): string[] {
  if (!slot) return ['flat: the published slot is empty'];
  const upnl = num(slot.unrealized_pnl);
  return [
    `${text(slot.side) ?? '?'} ${text(slot.asset) ?? '?'}  size ${plain(slot.size)}  entry ${plain(slot.entry_price)}` +
      `  unrealized ${upnl === null ? '-' : money(upnl)}`,
    `trade ${text(slot.trade_id) ?? '?'}  stage ${text(slot.stage) ?? '?'}  bars held ${plain(slot.bars_held)}`,
  ];
}

function todayLine(p: Json | null): string | null {
  if (!p) return null;
  return (
    `today ${text(p.date) ?? '?'}: net ${money(p.net_pnl)} (realized ${money(p.realized_pnl)}, fees ${money(p.fees)}, ` +
    `funding ${money(p.funding)}), trades ${plain(p.trades)} (${plain(p.wins)} won, ${plain(p.losses)} lost)`
  );
}

function decisionLine(d: DecisionRow): string {
  return `${formatTime(d.ts)}  ${d.action.padEnd(6)} ${(d.asset ?? '-').padEnd(10)} ${d.reason}`;
}

/** Published state -> display model (with alerts). */
export function buildModel(input: ModelInput): DashboardModel {
  const errors: string[] = [];
  const p = input.published;
  const snapshot = parse('engine_snapshot', p?.engineSnapshot ?? null, errors);
  const nautilus = parse('latest_nautilus', p?.latestNautilus ?? null, errors);
  const checkpoint = parse('capital_checkpoint', p?.capitalCheckpoint ?? null, errors);
  const pnl = parse(`${input.pnlMap} today`, p?.pnlToday ?? null, errors);
  const health = obj(nautilus?.health);
  const alerts: Alert[] = [];
  const name = input.strategy.toUpperCase();

  let connection: DashboardModel['connection'] = 'live';
  if (!input.link.ok) {
    if (input.link.kind === 'not-found') {
      connection = 'not-found';
      alerts.push({ level: 'critical', code: 'not-found', text: input.link.message });
    } else {
      connection = 'disconnected';
      alerts.push({
        level: 'critical',
        code: 'disconnected',
        text: `disconnected from the runtime: ${input.link.message}${snapshot ? ' (showing the last state read)' : ''}`,
      });
    }
  } else if (!snapshot) connection = 'no-state';
  if (input.link.ok && p && p.engineSnapshot === null)
    alerts.push({ level: 'critical', code: 'no-state', text: `no engine_snapshot in ${input.stateMap}` });
  for (const e of errors) alerts.push({ level: 'critical', code: 'bad-json', text: e });

  const stamp = num(snapshot?.published_at) ?? num(snapshot?.ts);
  const heartbeatAgeMs = stamp === null ? null : Math.max(0, input.now - stamp);
  if (snapshot && heartbeatAgeMs === null)
    alerts.push({
      level: 'warning',
      code: 'heartbeat-unknown',
      text: 'heartbeat age unknown: engine_snapshot has no published_at/ts',
    });
  if (heartbeatAgeMs !== null && heartbeatAgeMs > input.staleAfterMs)
    alerts.push({
      level: 'critical',
      code: 'heartbeat-stale',
      text: `heartbeat stale: last publish ${formatAge(heartbeatAgeMs)} ago (limit ${formatAge(input.staleAfterMs)})`,
    });

  const posture = text(snapshot?.posture) ?? text(nautilus?.posture) ?? '?';
  if (snapshot && posture !== 'RUNNING' && posture !== 'PAUSED')
    alerts.push({ level: 'warning', code: 'posture', text: `posture ${posture}` });

  const rows = components(health);
  for (const c of rows) {
    if (c.ok !== false) continue;
    const raw = obj(health?.[c.name]);
    const what =
      raw?.connected === false
        ? 'disconnected'
        : raw?.reachable === false
          ? 'unreachable'
          : raw?.healthy === false
            ? 'down'
            : 'unhealthy';
    alerts.push({ level: 'critical', code: 'unhealthy', text: `${c.name} ${what}: ${c.detail}` });
  }
  for (const c of rows) {
    const raw = obj(health?.[c.name]);
    const spool = num(raw?.spool_depth);
    if (spool !== null && spool > 0)
      alerts.push({
        level: 'warning',
        code: 'spool',
        text: `${c.name} spool depth ${plain(spool)}: ledger rows waiting to be written`,
      });
    const pending = num(raw?.pending_keys);
    if (pending !== null && pending > 0)
      alerts.push({
        level: 'warning',
        code: 'pending-keys',
        text: `${c.name}: ${plain(pending)} keys waiting to be republished`,
      });
  }
  const ae = obj(health?.account_events);
  if (ae && ((num(ae.alerts) ?? 0) > 0 || (num(ae.windowsOverCap) ?? 0) > 0))
    alerts.push({
      level: 'warning',
      code: 'account-cap',
      text: `account-event cap exceeded: ${plain(ae.windowsOverCap ?? 0)} windows over cap, ${plain(ae.alerts ?? 0)} alerts`,
    });

  const slot = obj(snapshot?.slot);
  const capitalSrc = snapshot ?? checkpoint;
  const scan = obj(snapshot?.last_scan);
  const assets = num(scan?.assets);
  const decisions = [...(input.decisions ?? [])].reverse().map(decisionLine);
  if (decisions.length === 0 && snapshot) {
    const merged = mergeDecision([], snapshot.last_decision);
    decisions.push(...merged.map(decisionLine));
  }

  return {
    title: `${name} live state  namespace ${input.strategy} (${input.stateMap})`,
    where: input.where ?? '-',
    connection,
    readOnly: input.readOnly,
    readOnlyNotice: input.readOnly
      ? `READ-ONLY: ${input.strategy} surfaces (${input.stateMap}) are shown read-only; control keys are disabled and nothing is sent`
      : null,
    posture,
    paused: typeof snapshot?.paused === 'boolean' ? snapshot.paused : null,
    venue: text(snapshot?.venue) ?? '?',
    algorithm: text(snapshot?.algorithm) ?? '?',
    heartbeatAgeMs,
    heartbeat: heartbeatAgeMs === null ? '?' : `${formatAge(heartbeatAgeMs)} ago`,
    stage: snapshot ? (slot ? (text(slot.stage) ?? '?') : 'FLAT') : '?',
    position: snapshot ? positionLines(slot) : ['?'],
    pendingOrders: snapshot ? plain(snapshot.pending_orders) : '?',
    lastScan: scan
      ? `#${plain(scan.scan_number)} at ${formatTime(num(scan.ts) ?? Number.NaN)}${assets ? ` (${plain(assets)} assets)` : ''}`
      : '-',
    capital: capitalSrc
      ? [
          `capital ${money(capitalSrc.capital)}  equity ${money(capitalSrc.equity)}  realized ${money(capitalSrc.realized_pnl)}` +
            `  unrealized ${money(snapshot?.unrealized_pnl)}`,
          `fees ${money(capitalSrc.fees)}  funding ${money(capitalSrc.funding)}  open notional ${money(snapshot?.open_notional)}` +
            `  leverage ${fixed(snapshot?.leverage, 2)}x`,
        ]
      : ['?'],
    roi: roiLine(capitalSrc),
    today: todayLine(pnl),
    execution: executionTable(
      firstPublished(snapshot?.latency, obj(snapshot?.kpis)?.latency, health?.latency, nautilus?.latency),
      firstPublished(snapshot?.slippage, obj(snapshot?.kpis)?.slippage, health?.slippage, nautilus?.slippage),
      firstPublished(snapshot?.markout, health?.markout, nautilus?.markout),
    ),
    dataRates: dataRates(health, snapshot),
    components: rows,
    decisions,
    alerts,
  };
}

/** One line for a command's outcome (the record as the runtime wrote it, or why there is none). */
export function describeReport(r: CommandReport): string {
  switch (r.status) {
    case 'APPLIED':
    case 'REFUSED':
      return `${r.status} ${r.type} id=${r.id ?? '?'}: ${r.reason}`;
    case 'NO_OUTCOME':
      return `NO OUTCOME ${r.type}${r.id ? ` id=${r.id}` : ''}: ${r.reason}`;
    case 'NOT_SENT':
      return `NOT SENT ${r.type}: ${r.reason}`;
  }
}
