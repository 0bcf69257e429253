/** A sink that keeps the run's headline figures for the end-of-run summary. */
import type { CanonicalEvent } from '../domain/events.js';

export interface RunSummaryData {
  scans: number;
  rejectedScans: number;
  firstRejections: string[];
  decisions: Record<string, number>;
  trades: number;
  exitsByReason: Record<string, number>;
  exitLegs: number;
  realizedPnl: number;
  fees: number;
  funding: number;
  finalCapital: number;
  initialCapital: number;
  roiPct: number;
  chainHash: string;
  overrides: number;
  corrections: number;
}

export class RunSummary {
  readonly data: RunSummaryData;

  constructor(initialCapital: number) {
    this.data = {
      scans: 0,
      rejectedScans: 0,
      firstRejections: [],
      decisions: {},
      trades: 0,
      exitsByReason: {},
      exitLegs: 0,
      realizedPnl: 0,
      fees: 0,
      funding: 0,
      finalCapital: initialCapital,
      initialCapital,
      roiPct: 0,
      chainHash: '',
      overrides: 0,
      corrections: 0,
    };
  }

  readonly sink = (e: CanonicalEvent): void => {
    const d = this.data;
    switch (e.type) {
      case 'decision':
        d.scans += 1;
        d.decisions[e.record.action] = (d.decisions[e.record.action] ?? 0) + 1;
        d.chainHash = e.chainHash;
        return;
      case 'scan_rejected':
        d.rejectedScans += 1;
        if (d.firstRejections.length < 10) d.firstRejections.push(`${e.where}: ${e.reason}`);
        return;
      case 'trade_closed':
        d.trades += 1;
        d.exitsByReason[e.trade.exitReason] = (d.exitsByReason[e.trade.exitReason] ?? 0) + 1;
        return;
      case 'exit_leg':
        d.exitLegs += 1;
        d.exitsByReason[`leg:${e.row.reason}`] = (d.exitsByReason[`leg:${e.row.reason}`] ?? 0) + 1;
        return;
      case 'account':
        d.realizedPnl = e.snapshot.realizedPnl;
        d.fees = e.snapshot.fees;
        d.funding = e.snapshot.funding;
        d.finalCapital = e.snapshot.capital;
        d.roiPct = ((e.snapshot.capital - d.initialCapital) / d.initialCapital) * 100;
        return;
      case 'strategy_override':
        d.overrides += 1;
        return;
      case 'correction':
        d.corrections += 1;
        return;
      default:
        return;
    }
  };
}

export function formatSummary(d: RunSummaryData): string {
  const reasons = Object.entries(d.exitsByReason)
    .filter(([k]) => !k.startsWith('leg:'))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
  const legs = Object.entries(d.exitsByReason)
    .filter(([k]) => k.startsWith('leg:'))
    .map(([k, v]) => `${k.slice(4)} ${v}`)
    .join(', ');
  const lines = [
    `scans accepted      ${d.scans}`,
    `scans rejected      ${d.rejectedScans}`,
    `decisions           ${Object.entries(d.decisions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
    `trades completed    ${d.trades}`,
    `exits by reason     ${reasons || '-'}`,
    `exit legs           ${d.exitLegs} (${legs || '-'})`,
    `realized PnL        ${d.realizedPnl.toFixed(2)} (fees ${d.fees.toFixed(2)}, funding ${d.funding.toFixed(2)})`,
    `capital             ${d.initialCapital.toFixed(2)} -> ${d.finalCapital.toFixed(2)}`,
    `ROI                 ${d.roiPct.toFixed(4)} %`,
    `venue overrides     ${d.overrides}`,
    `corrections         ${d.corrections}`,
    `decision chain hash ${d.chainHash}`,
  ];
  for (const r of d.firstRejections) lines.push(`  rejected: ${r}`);
  return lines.join('\n');
}
