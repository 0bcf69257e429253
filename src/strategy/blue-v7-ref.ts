/**
 * `blue-v7-ref`: the reference decision algorithm, exactly as ALGORITHM.md §2-§3.
 * Arithmetic follows the text's operation order so independent implementations
 * produce identical doubles.
 */
import type { Decision, DecisionOrder, DecisionRecord, ExitReason } from '../domain/decision.js';
import { tradeIdFor } from '../domain/decision.js';
import type { OverrideKind } from '../domain/events.js';
import type { Scan } from '../domain/scan.js';
import type { AdoptedTrade, Strategy, StrategyContext } from './strategy.js';

export interface TpLeg {
  readonly bps: number;
  readonly ratio: number;
}

export interface BlueV7Params {
  readonly VEL_DIV_THRESHOLD: number;
  readonly VEL_DIV_EXTREME: number;
  readonly IRP_MIN: number;
  readonly CAPITAL_FRACTION: number;
  readonly MIN_LEVERAGE: number;
  readonly MAX_LEVERAGE: number;
  readonly TP_LEGS: readonly TpLeg[];
  readonly STOP_BPS: number;
  readonly MAX_HOLD_BARS: number;
  readonly COOLDOWN_BARS: number;
}

export const BLUE_V7_DEFAULTS: BlueV7Params = Object.freeze({
  VEL_DIV_THRESHOLD: -0.02,
  VEL_DIV_EXTREME: -0.05,
  IRP_MIN: 0.45,
  CAPITAL_FRACTION: 0.2,
  MIN_LEVERAGE: 0.5,
  MAX_LEVERAGE: 5.0,
  TP_LEGS: Object.freeze([Object.freeze({ bps: 95, ratio: 0.5 }), Object.freeze({ bps: 160, ratio: 0.5 })]),
  STOP_BPS: 250,
  MAX_HOLD_BARS: 120,
  COOLDOWN_BARS: 3,
});

interface Slot {
  tradeId: string;
  asset: string;
  leverage: number;
  entryRef: number;
  barsHeld: number;
  nextLeg: number;
}

interface Memory {
  slot: Slot | null;
  cooldown: number;
}

const SIDE = 'SHORT' as const;

export function validateParams(p: BlueV7Params): BlueV7Params {
  const problems: string[] = [];
  const finite = (name: keyof BlueV7Params) => {
    const v = p[name];
    if (typeof v !== 'number' || !Number.isFinite(v)) problems.push(`${name} must be a finite number`);
  };
  for (const k of [
    'VEL_DIV_THRESHOLD',
    'VEL_DIV_EXTREME',
    'IRP_MIN',
    'CAPITAL_FRACTION',
    'MIN_LEVERAGE',
    'MAX_LEVERAGE',
    'STOP_BPS',
  ] as const)
    finite(k);
  for (const k of ['MAX_HOLD_BARS', 'COOLDOWN_BARS'] as const)
    if (!Number.isInteger(p[k]) || p[k] < 0) problems.push(`${k} must be a non-negative integer`);
  if (p.VEL_DIV_EXTREME >= p.VEL_DIV_THRESHOLD)
    problems.push('VEL_DIV_EXTREME must be below VEL_DIV_THRESHOLD');
  if (p.MIN_LEVERAGE > p.MAX_LEVERAGE) problems.push('MIN_LEVERAGE must not exceed MAX_LEVERAGE');
  if (!Array.isArray(p.TP_LEGS) || p.TP_LEGS.length === 0) problems.push('TP_LEGS must be a non-empty list');
  else
    p.TP_LEGS.forEach((leg, i) => {
      if (!Number.isFinite(leg?.bps) || !(leg?.ratio > 0 && leg.ratio <= 1))
        problems.push(`TP_LEGS[${i}] needs finite bps and ratio in (0, 1]`);
    });
  if (problems.length) throw new Error(`invalid blue-v7-ref parameters: ${problems.join('; ')}`);
  return p;
}

export class BlueV7Ref implements Strategy {
  readonly name = 'blue-v7-ref';
  readonly params: Readonly<Record<string, unknown>>;
  private readonly p: BlueV7Params;
  private readonly legRatios: readonly number[];
  private mem: Memory = { slot: null, cooldown: 0 };

  constructor(overrides: Partial<BlueV7Params> = {}) {
    // A misspelt name would otherwise be ignored silently and the default traded.
    const unknown = Object.keys(overrides).filter((k) => !(k in BLUE_V7_DEFAULTS));
    if (unknown.length)
      throw new Error(
        `unknown blue-v7-ref parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((k) => `"${k}"`).join(', ')} (known: ${Object.keys(BLUE_V7_DEFAULTS).join(', ')})`,
      );
    this.p = validateParams({ ...BLUE_V7_DEFAULTS, ...overrides });
    this.params = Object.freeze({ ...this.p });
    this.legRatios = this.p.TP_LEGS.map((l) => l.ratio);
  }

  decide(scan: Scan, ctx: StrategyContext): Decision {
    const fired = scan.vel_div <= this.p.VEL_DIV_THRESHOLD;
    return this.mem.slot
      ? this.decideOccupied(scan, fired, this.mem.slot)
      : this.decideEmpty(scan, fired, ctx);
  }

  private decideOccupied(scan: Scan, fired: boolean, slot: Slot): Decision {
    slot.barsHeld += 1;
    const quote = scan.assets[slot.asset];
    if (!quote) return this.hold(scan, fired, slot, 'NO_PRICE');
    const p = this.p;
    const moveBps = ((slot.entryRef - quote.price) / slot.entryRef) * 10000;
    const adverseBps = -moveBps;
    if (adverseBps >= p.STOP_BPS) return this.exit(scan, fired, slot, 'STOP_LOSS', quote.price, null);
    const leg = p.TP_LEGS[slot.nextLeg];
    if (leg && moveBps >= leg.bps) {
      const k = slot.nextLeg;
      slot.nextLeg += 1;
      return this.exit(scan, fired, slot, `TP${k + 1}` as ExitReason, quote.price, k);
    }
    if (slot.barsHeld >= p.MAX_HOLD_BARS) return this.exit(scan, fired, slot, 'MAX_HOLD', quote.price, null);
    return this.hold(scan, fired, slot, 'HOLD');
  }

  private decideEmpty(scan: Scan, fired: boolean, ctx: StrategyContext): Decision {
    const p = this.p;
    if (this.mem.cooldown > 0) {
      this.mem.cooldown -= 1;
      return none(scan, fired, 'COOLDOWN');
    }
    if (!scan.vol_ok) return none(scan, fired, 'VOL_GATE');
    if (scan.vel_div > p.VEL_DIV_THRESHOLD) return none(scan, fired, 'NO_SIGNAL');
    if (scan.vel_div < p.VEL_DIV_EXTREME) return none(scan, fired, 'EXTREME');
    const asset = pickAsset(scan, p.IRP_MIN);
    if (asset === null) return none(scan, fired, 'NO_ASSET');
    const price = scan.assets[asset]!.price;
    const raw = (p.VEL_DIV_THRESHOLD - scan.vel_div) / (p.VEL_DIV_THRESHOLD - p.VEL_DIV_EXTREME);
    const confidence = Math.min(1, Math.max(0, raw));
    const leverage =
      Math.floor((p.MIN_LEVERAGE + (p.MAX_LEVERAGE - p.MIN_LEVERAGE) * confidence) * 100 + 0.5) / 100;
    const targetSize = (ctx.capital * p.CAPITAL_FRACTION * leverage) / price;
    const tradeId = tradeIdFor(asset, scan.scan);
    this.mem.slot = {
      tradeId,
      asset,
      leverage,
      entryRef: price,
      barsHeld: 0,
      nextLeg: 0,
    };
    const record: DecisionRecord = {
      scan: scan.scan,
      ts: scan.ts,
      fired,
      action: 'ENTER',
      asset,
      side: SIDE,
      leverage,
      reason: 'ENTER',
      bars_held: 0,
    };
    const order: DecisionOrder = {
      referencePrice: price,
      targetSize,
      confidence,
      leg: null,
      fraction: 1,
      final: false,
      legRatios: this.legRatios,
      tradeId,
    };
    return { record, order };
  }

  private hold(scan: Scan, fired: boolean, slot: Slot, reason: string): Decision {
    return { record: slotRecord(scan, fired, slot, 'HOLD', reason), order: null };
  }

  private exit(
    scan: Scan,
    fired: boolean,
    slot: Slot,
    reason: ExitReason,
    price: number,
    leg: number | null,
  ): Decision {
    const final = leg === null || leg === this.p.TP_LEGS.length - 1;
    const record = slotRecord(scan, fired, slot, 'EXIT', reason);
    if (final) {
      this.mem.slot = null;
      this.mem.cooldown = this.p.COOLDOWN_BARS;
    }
    const order: DecisionOrder = {
      referencePrice: price,
      targetSize: 0,
      confidence: 0,
      leg,
      fraction: leg === null ? 1 : this.p.TP_LEGS[leg]!.ratio,
      final,
      legRatios: this.legRatios,
      tradeId: slot.tradeId,
    };
    return { record, order };
  }

  override(kind: OverrideKind, tradeId: string): void {
    if (this.mem.slot?.tradeId !== tradeId) return;
    this.mem.slot = null;
    // Entry never happened: no cooldown. The position ended: cooldown as after a close.
    if (kind === 'POSITION_VANISHED' || kind === 'FLATTENED') this.mem.cooldown = this.p.COOLDOWN_BARS;
  }

  adopt(trade: AdoptedTrade): void {
    this.mem.slot = {
      tradeId: trade.tradeId,
      asset: trade.asset,
      leverage: trade.leverage,
      entryRef: trade.entryReferencePrice,
      barsHeld: 0,
      nextLeg: 0,
    };
  }

  openTradeId(): string | null {
    return this.mem.slot?.tradeId ?? null;
  }

  saveState(): unknown {
    return structuredClone(this.mem);
  }

  restoreState(state: unknown): void {
    const s = state as Memory | null;
    if (!s || typeof s !== 'object' || typeof s.cooldown !== 'number')
      throw new Error('blue-v7-ref: saved state is not a {slot, cooldown} object');
    this.mem = structuredClone(s);
  }
}

/** Highest irp at or above the minimum; ties go to the smallest symbol (code-unit order). */
function pickAsset(scan: Scan, irpMin: number): string | null {
  let best: string | null = null;
  let bestIrp = Number.NEGATIVE_INFINITY;
  for (const symbol in scan.assets) {
    const irp = scan.assets[symbol]!.irp;
    if (irp < irpMin) continue;
    if (irp > bestIrp || (irp === bestIrp && best !== null && symbol < best)) {
      best = symbol;
      bestIrp = irp;
    }
  }
  return best;
}

function none(scan: Scan, fired: boolean, reason: string): Decision {
  return {
    record: {
      scan: scan.scan,
      ts: scan.ts,
      fired,
      action: 'NONE',
      asset: '',
      side: '',
      leverage: 0,
      reason,
      bars_held: 0,
    },
    order: null,
  };
}

function slotRecord(scan: Scan, fired: boolean, slot: Slot, action: 'HOLD' | 'EXIT', reason: string) {
  return {
    scan: scan.scan,
    ts: scan.ts,
    fired,
    action,
    asset: slot.asset,
    side: SIDE,
    leverage: slot.leverage,
    reason,
    bars_held: slot.barsHeld,
  } satisfies DecisionRecord;
}

export function createStrategy(params?: Record<string, unknown>): Strategy {
  return new BlueV7Ref((params ?? {}) as Partial<BlueV7Params>);
}
