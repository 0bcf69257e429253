/**
 * A strategy in another process (issue #20): `algorithm: "process:<command>"` starts the
 * command as a child and speaks the bridge protocol, version 1, with it: one JSON object per
 * line on its stdin and stdout (bridges/python/README.md is the reference). The child says
 * hello first (protocol, strategy name, parameters and their hash); then each scan is one
 * `decide` request and one `decision` answer, and venue overrides, adoptions and state
 * restores are requests answered `ok`. Every answer carries the strategy's open trade and
 * its memory, so openTradeId() and saveState() stay synchronous; only decide() waits.
 *
 * Anything the child does wrong (exits, answers late, answers garbage, answers another scan
 * or request) ends the bridge with a StrategyProcessError that names it, and every pending
 * and later request fails with it: PINK never trades on a decision it could not check.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { createInterface } from 'node:readline';
import { parse as parseShell } from 'shell-quote';
import type { Action, Decision, DecisionOrder, DecisionRecord, Side } from '../../domain/decision.js';
import type { OverrideKind } from '../../domain/events.js';
import type { Scan } from '../../domain/scan.js';
import { isSecretEnvName, knownSecrets, SecretMasker } from '../../observability/logger.js';
import type { AdoptedTrade, Strategy, StrategyContext } from '../../strategy/strategy.js';

export const BRIDGE_PROTOCOL = 1;
export const PROCESS_PREFIX = 'process:';

export class StrategyProcessError extends Error {
  override name = 'StrategyProcessError';
}

export interface ProcessStrategyOptions {
  /** An answer later than this fails the bridge, ms (the first, hello, gets startMs). */
  readonly deadlineMs?: number;
  readonly startMs?: number;
  readonly cwd?: string;
  /** The environment the child is started from (default PINK's); secrets are removed from it. */
  readonly env?: NodeJS.ProcessEnv;
}

/**
 * The child's environment: PINK's without any secret (venue keys, passwords, tokens). A
 * strategy decides from scans; it never needs the venue's credentials, and what it does not
 * have it cannot print.
 */
export function strategyEnv(env: NodeJS.ProcessEnv): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(env).filter(([name]) => !isSecretEnvName(name)));
}

/** `process:python3 x.py '{"A":1}'` -> argv; shell operators (pipes, redirections) are refused. */
export function commandArgv(spec: string, env: NodeJS.ProcessEnv = process.env): string[] {
  const text = spec.slice(PROCESS_PREFIX.length).trim();
  const quoted = new SecretMasker(knownSecrets(env)).string(spec);
  if (text === '')
    throw new StrategyProcessError(`algorithm "${quoted}": no command after "${PROCESS_PREFIX}"`);
  const argv = parseShell(text).map((t) => {
    if (typeof t === 'string') return t;
    const op = 'op' in t ? t.op : 'comment' in t ? `#${t.comment}` : JSON.stringify(t);
    throw new StrategyProcessError(
      `algorithm "${quoted}": the command must be a plain command with arguments (no shell operators such as ${op})`,
    );
  });
  return argv;
}

interface Pending {
  readonly id: number;
  readonly what: string;
  /** decide: the scan number the answer must be for. */
  readonly scan: number | null;
  readonly resolve: (answer: Answer) => void;
  readonly reject: (err: Error) => void;
  readonly timer: NodeJS.Timeout;
}

interface Answer {
  readonly type: string;
  readonly id: number;
  readonly record?: unknown;
  readonly order?: unknown;
  readonly open_trade_id?: unknown;
  readonly state?: unknown;
  readonly message?: unknown;
}

const ACTIONS: ReadonlySet<string> = new Set(['ENTER', 'EXIT', 'HOLD', 'NONE']);

export class ProcessStrategy implements Strategy {
  name = '';
  params: Readonly<Record<string, unknown>> = {};
  /** SHA-256 hex of the parameters, as the child computed it (hello). */
  paramsHash = '';
  private readonly child: ChildProcess;
  private readonly pending = new Map<number, Pending>();
  private nextId = 1;
  private failure: StrategyProcessError | null = null;
  private openTrade: string | null = null;
  private state: unknown = null;
  private stderrTail: string[] = [];
  /** Errors quote the command line and the child's stderr: any secret PINK knows is masked in them. */
  private readonly masker: SecretMasker;
  private hello: ((line: string) => void) | null = null;

  private constructor(
    private readonly spec: string,
    argv: readonly string[],
    private readonly o: ProcessStrategyOptions,
  ) {
    this.masker = new SecretMasker(knownSecrets(o.env ?? process.env));
    this.child = spawn(argv[0]!, argv.slice(1), {
      cwd: o.cwd,
      env: strategyEnv(o.env ?? process.env),
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    // The child must never keep PINK alive: a pending request's timer does that while needed.
    this.child.unref();
    for (const s of [this.child.stdin, this.child.stdout, this.child.stderr])
      (s as unknown as { unref?: () => void } | null)?.unref?.();
    this.child.on('error', (err) => this.fail(`could not run: ${err.message}`));
    this.child.on('close', (code, signal) =>
      this.fail(`exited (${signal ? `signal ${signal}` : `code ${code}`})`),
    );
    this.child.stdin?.on('error', () => undefined); // a dead child: reported by 'exit'
    createInterface({ input: this.child.stderr! }).on('line', (l) => {
      this.stderrTail.push(l);
      if (this.stderrTail.length > 5) this.stderrTail.shift();
    });
    createInterface({ input: this.child.stdout! }).on('line', (l) => this.onLine(l));
  }

  /** Starts the command and waits for its hello. */
  static async start(spec: string, o: ProcessStrategyOptions = {}): Promise<ProcessStrategy> {
    const s = new ProcessStrategy(spec, commandArgv(spec, o.env), o);
    await s.handshake(o.startMs ?? 10_000);
    return s;
  }

  get pid(): number | undefined {
    return this.child.pid;
  }

  decide(scan: Scan, ctx: StrategyContext): Promise<Decision> {
    return this.request('decide', { scan, capital: ctx.capital }, scan.scan).then((a) =>
      this.decisionOf(a, scan),
    );
  }

  override(kind: OverrideKind, tradeId: string): void {
    // The child applies it before the next decide (one ordered pipe); PINK's view follows now.
    if (this.openTrade === tradeId) this.openTrade = null;
    this.background('override', { kind, trade_id: tradeId });
  }

  adopt(trade: AdoptedTrade): void {
    this.openTrade = trade.tradeId;
    this.background('adopt', {
      trade: {
        trade_id: trade.tradeId,
        asset: trade.asset,
        side: trade.side,
        leverage: trade.leverage,
        entry_reference_price: trade.entryReferencePrice,
      },
    });
  }

  openTradeId(): string | null {
    return this.openTrade;
  }

  saveState(): unknown {
    return this.state;
  }

  restoreState(state: unknown): void {
    this.state = state;
    this.background('restore', { state });
  }

  /** Ends the child (stdin closed, then SIGKILL if it lingers); pending requests fail. */
  async close(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const exited = new Promise<void>((r) => this.child.once('exit', () => r()));
    this.child.stdin?.end();
    const timer = setTimeout(() => this.child.kill('SIGKILL'), 2_000);
    await exited;
    clearTimeout(timer);
  }

  // ---- protocol ---------------------------------------------------------------------------------

  private async handshake(ms: number): Promise<void> {
    const line = await new Promise<string>((resolve, reject) => {
      const timer = setTimeout(() => reject(this.error(`no hello within ${ms} ms`)), ms);
      this.hello = (l) => {
        clearTimeout(timer);
        resolve(l);
      };
      this.onFailure = (err) => {
        clearTimeout(timer);
        reject(err);
      };
    });
    const h = this.json(line) as Record<string, unknown> | null;
    if (h?.type !== 'hello') throw this.fail(`first line is not a hello: ${clip(line)}`);
    if (h.v !== BRIDGE_PROTOCOL)
      throw this.fail(`speaks protocol ${JSON.stringify(h.v)}, PINK speaks ${BRIDGE_PROTOCOL}`);
    if (typeof h.strategy !== 'string' || h.strategy === '') throw this.fail('hello without a strategy name');
    if (typeof h.params !== 'object' || h.params === null) throw this.fail('hello without params');
    if (typeof h.params_hash !== 'string') throw this.fail('hello without params_hash');
    this.name = h.strategy;
    this.params = Object.freeze({ ...(h.params as Record<string, unknown>) });
    this.paramsHash = h.params_hash;
  }

  private onFailure: ((err: StrategyProcessError) => void) | null = null;

  private request(type: string, body: Record<string, unknown>, scan: number | null): Promise<Answer> {
    if (this.failure) return Promise.reject(this.failure);
    const id = this.nextId++;
    const deadline = this.o.deadlineMs ?? 2_000;
    return new Promise<Answer>((resolve, reject) => {
      const timer = setTimeout(
        () =>
          this.fail(`no answer to ${type} ${scan !== null ? `(scan ${scan}) ` : ''}within ${deadline} ms`),
        deadline,
      );
      this.pending.set(id, { id, what: type, scan, resolve, reject, timer });
      this.child.stdin?.write(`${JSON.stringify({ v: BRIDGE_PROTOCOL, type, id, ...body })}\n`);
    });
  }

  /** A request whose answer only updates the mirrored memory; a failure shows at the next decide. */
  private background(type: string, body: Record<string, unknown>): void {
    this.request(type, body, null).then(
      (a) => this.remember(a),
      () => undefined,
    );
  }

  private onLine(line: string): void {
    if (this.hello) {
      const h = this.hello;
      this.hello = null;
      h(line);
      return;
    }
    if (this.failure) return;
    const a = this.json(line) as Answer | null;
    const first = this.pending.values().next().value as Pending | undefined;
    if (!a || typeof a !== 'object') return void this.fail(`answered a line that is not JSON: ${clip(line)}`);
    if (!first) return void this.fail(`answered with nothing asked: ${clip(line)}`);
    if (a.id !== first.id)
      return void this.fail(
        `answered request ${JSON.stringify(a.id)} where ${first.id} (${first.what}) was next`,
      );
    this.pending.delete(first.id);
    clearTimeout(first.timer);
    if (a.type === 'error')
      return void first.reject(this.fail(`refused ${first.what}: ${clip(String(a.message))}`));
    if (a.type !== (first.what === 'decide' ? 'decision' : 'ok'))
      return void first.reject(this.fail(`answered ${first.what} with type ${JSON.stringify(a.type)}`));
    first.resolve(a);
  }

  private decisionOf(a: Answer, scan: Scan): Decision {
    const r = a.record as Record<string, unknown> | null;
    const bad = (why: string) => this.fail(`decision for scan ${scan.scan}: ${why}`);
    if (!r || typeof r !== 'object') throw bad('no record');
    if (r.scan !== scan.scan) throw bad(`the record is for scan ${JSON.stringify(r.scan)}`);
    if (r.ts !== scan.ts) throw bad(`the record's ts ${JSON.stringify(r.ts)} is not the scan's ${scan.ts}`);
    if (typeof r.action !== 'string' || !ACTIONS.has(r.action))
      throw bad(`action ${JSON.stringify(r.action)}`);
    for (const k of ['asset', 'side', 'reason'] as const)
      if (typeof r[k] !== 'string') throw bad(`${k} is not a string`);
    if (r.side !== '' && r.side !== 'LONG' && r.side !== 'SHORT') throw bad(`side ${JSON.stringify(r.side)}`);
    if (typeof r.fired !== 'boolean') throw bad('fired is not a boolean');
    if (!finite(r.leverage)) throw bad('leverage is not a finite number');
    if (!Number.isInteger(r.bars_held) || (r.bars_held as number) < 0) throw bad('bars_held is not a count');
    const record: DecisionRecord = {
      scan: scan.scan,
      ts: scan.ts,
      fired: r.fired,
      action: r.action as Action,
      asset: r.asset as string,
      side: r.side as Side | '',
      leverage: r.leverage as number,
      reason: r.reason as string,
      bars_held: r.bars_held as number,
    };
    const acts = record.action === 'ENTER' || record.action === 'EXIT';
    if (acts && (record.asset === '' || (!(record.asset in scan.assets) && record.action === 'ENTER')))
      throw bad(`${record.action} on asset ${JSON.stringify(record.asset)}, not in the scan`);
    const order = acts ? this.orderOf(a.order, bad) : null;
    if (!acts && a.order !== null && a.order !== undefined) throw bad(`${record.action} with an order`);
    this.remember(a);
    return { record, order };
  }

  private orderOf(raw: unknown, bad: (why: string) => Error): DecisionOrder {
    const o = raw as Record<string, unknown> | null;
    if (!o || typeof o !== 'object') throw bad('ENTER/EXIT without an order');
    for (const k of ['reference_price', 'target_size', 'confidence', 'fraction'] as const)
      if (!finite(o[k])) throw bad(`order.${k} is not a finite number`);
    if (!((o.reference_price as number) > 0)) throw bad('order.reference_price is not positive');
    if (o.leg !== null && !Number.isInteger(o.leg)) throw bad('order.leg is neither null nor an integer');
    if (typeof o.final !== 'boolean') throw bad('order.final is not a boolean');
    if (!Array.isArray(o.leg_ratios) || !o.leg_ratios.every(finite))
      throw bad('order.leg_ratios is not a list of numbers');
    if (typeof o.trade_id !== 'string' || o.trade_id === '') throw bad('order.trade_id is missing');
    return {
      referencePrice: o.reference_price as number,
      targetSize: o.target_size as number,
      confidence: o.confidence as number,
      leg: o.leg as number | null,
      fraction: o.fraction as number,
      final: o.final,
      legRatios: o.leg_ratios as number[],
      tradeId: o.trade_id,
    };
  }

  private remember(a: Answer): void {
    this.openTrade = typeof a.open_trade_id === 'string' && a.open_trade_id !== '' ? a.open_trade_id : null;
    if ('state' in a) this.state = a.state;
  }

  private json(line: string): unknown {
    try {
      return JSON.parse(line);
    } catch {
      return null;
    }
  }

  private error(why: string): StrategyProcessError {
    const tail = this.stderrTail.length ? `; its stderr ended: ${this.stderrTail.join(' | ')}` : '';
    return new StrategyProcessError(this.masker.string(`strategy process "${this.spec}" ${why}${tail}`));
  }

  /** The bridge is broken: every pending and later request fails with this error. */
  private fail(why: string): StrategyProcessError {
    if (this.failure) return this.failure;
    const err = this.error(why);
    this.failure = err;
    for (const p of this.pending.values()) {
      clearTimeout(p.timer);
      p.reject(err);
    }
    this.pending.clear();
    this.onFailure?.(err);
    if (this.child.exitCode === null && this.child.signalCode === null) this.child.kill('SIGKILL');
    return err;
  }
}

const finite = (v: unknown): v is number => typeof v === 'number' && Number.isFinite(v);
const clip = (s: string) => (s.length > 200 ? `${s.slice(0, 200)}...` : s);
