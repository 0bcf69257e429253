/** The decision log and its hashes (ALGORITHM.md §4). */
import { hash } from 'node:crypto';
import type { DecisionRecord } from '../domain/decision.js';

/** `scan|fired(0/1)|action|asset|side|leverage(2 decimals)|reason|bars_held` */
export function decisionTuple(r: DecisionRecord): string {
  return `${r.scan}|${r.fired ? 1 : 0}|${r.action}|${r.asset}|${r.side}|${r.leverage.toFixed(2)}|${r.reason}|${r.bars_held}`;
}

export function sha256Hex(text: string): string {
  // One-shot hashing: a third of the cost of createHash().update().digest() per scan.
  return hash('sha256', text, 'hex');
}

export function decisionHash(r: DecisionRecord): string {
  return sha256Hex(decisionTuple(r));
}

/** One JSON line, fields in the order of ALGORITHM.md §4. */
export function decisionLine(r: DecisionRecord): string {
  return JSON.stringify({
    scan: r.scan,
    ts: r.ts,
    fired: r.fired,
    action: r.action,
    asset: r.asset,
    side: r.side,
    leverage: r.leverage,
    reason: r.reason,
    bars_held: r.bars_held,
  });
}

/** h_n = sha256(h_{n-1} + hash_n), starting from the empty string. */
export class ChainHasher {
  private head = '';
  private count = 0;

  push(hash: string): string {
    this.head = sha256Hex(this.head + hash);
    this.count += 1;
    return this.head;
  }

  get value(): string {
    return this.head;
  }

  /** Continues a chain from a saved head (after a restart). */
  resume(head: string): void {
    this.head = head;
  }

  get length(): number {
    return this.count;
  }
}

/** Canonical JSON (sorted keys) so a parameter hash does not depend on key order. */
export function canonicalJson(value: unknown): string {
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value as Record<string, unknown>).sort(([a], [b]) =>
      a < b ? -1 : a > b ? 1 : 0,
    );
    return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
  }
  return JSON.stringify(value);
}

export function parameterHash(params: unknown): string {
  return sha256Hex(canonicalJson(params));
}
