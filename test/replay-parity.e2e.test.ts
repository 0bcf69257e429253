/** `pink replay` and `pink parity` end to end through the built CLI. */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { beforeAll, describe, expect, it } from 'vitest';
import { writeSyntheticScans } from '../src/app/simtest/synthetic-scans.js';
import { validateScan } from '../src/domain/scan.js';
import { BlueV7Ref } from '../src/strategy/blue-v7-ref.js';
import { decisionLine } from '../src/strategy/decision-log.js';
import { pink, REPO } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pink-e2e-'));
const scans = join(dir, 'scans.jsonl');
const bad = join(dir, 'bad.jsonl');

/** The reference path, computed here independently of the pipeline. */
function referenceLog(path: string): string[] {
  const s = new BlueV7Ref();
  let last: number | null = null;
  const out: string[] = [];
  for (const text of readFileSync(path, 'utf8').split('\n')) {
    if (!text.trim()) continue;
    let value: unknown;
    try {
      value = JSON.parse(text);
    } catch {
      continue;
    }
    const c = validateScan(value, last);
    if (!c.ok) continue;
    last = c.scan.scan;
    out.push(decisionLine(s.decide(c.scan, { capital: 25_000 }).record));
  }
  return out;
}

beforeAll(() => {
  writeSyntheticScans(scans, { scans: 6000, seed: 11 });
  writeSyntheticScans(bad, {
    scans: 300,
    seed: 12,
    badLines: new Map([
      [5, '{"ts": 1, "scan": '],
      [9, JSON.stringify({ ts: 1747742400000, scan: 1_000_000, vel_div: 'x', vol_ok: true, assets: {} })],
      [
        20,
        JSON.stringify({
          ts: 1747742400000,
          scan: 3,
          vel_div: 0,
          vol_ok: true,
          assets: { BTCUSDT: { price: -1, irp: 0.5 } },
        }),
      ],
    ]),
  });
});

describe('pink replay', () => {
  it('writes a decision log equal to the reference path and prints the summary', () => {
    const out = join(dir, 'decisions.jsonl');
    const r = pink(['replay', '--data', scans, '--decisions', out]);
    expect(r.stderr).not.toMatch(/error|refused|ALERT/i);
    expect(r.stdout).toMatch(/ledger\s+dolphin_pink/);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/scans accepted\s+6000/);
    expect(r.stdout).toMatch(/trades completed\s+\d+/);
    expect(r.stdout).toMatch(/ROI\s+-?\d/);
    // What it cost, with the engine named because it runs in this process.
    const cost =
      /cost\s+(\d+) scans in ([\d.]+) s \(([\d,]+) scans\/s\), peak RSS (\d+) MB \(this process, the embedded ClickHouse engine included\)/.exec(
        r.stdout,
      );
    expect(cost, r.stdout).not.toBeNull();
    const [, costScans, seconds, rate, peakMb] = cost!;
    expect(Number(costScans)).toBe(6000);
    expect(Number(seconds)).toBeGreaterThan(0);
    const implied = 6000 / Number(seconds); // seconds are printed rounded to 10 ms
    expect(Math.abs(Number(rate!.replaceAll(',', '')) - implied) / implied).toBeLessThan(0.05);
    expect(Number(peakMb)).toBeGreaterThan(50); // the embedded engine alone maps more than this
    const written = readFileSync(out, 'utf8').trim().split('\n');
    expect(written).toEqual(referenceLog(scans));
    const actions = new Set(written.map((l) => JSON.parse(l).reason));
    for (const reason of ['ENTER', 'TP1', 'TP2', 'STOP_LOSS', 'MAX_HOLD', 'COOLDOWN', 'NO_PRICE'])
      expect(actions).toContain(reason);
  });

  it('refuses bad scans naming the line and the reason, counts them, and keeps going', () => {
    const r = pink(['replay', '--data', bad]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/scans rejected\s+3/);
    // Every scan read is counted in the rate, the rejected ones too.
    const accepted = Number(/scans accepted\s+(\d+)/.exec(r.stdout)?.[1]);
    expect(r.stdout).toMatch(new RegExp(`cost\\s+${accepted + 3} scans in`));
    expect(r.stdout).toContain(`${bad}:5: not valid JSON`);
    expect(r.stdout).toContain(`${bad}:9: "vel_div" must be a finite number`);
    expect(r.stdout).toContain(`${bad}:20: "scan" 3 is not greater than the last accepted scan`);
  });

  it('--strict stops at the first bad scan with exit code 2', () => {
    const r = pink(['replay', '--data', bad, '--strict']);
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`${bad}:5`);
  });

  it('reads .jsonl.gz and refuses a missing file clearly', () => {
    execFileSync('gzip', ['-k', scans]);
    const r = pink(['replay', '--data', `${scans}.gz`]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/scans accepted\s+6000/);
    const missing = pink(['replay', '--data', join(dir, 'nope.jsonl')]);
    expect(missing.code).toBe(2);
    expect(missing.stderr).toMatch(/no such file/);
  });
});

describe('pink parity', () => {
  it('reports 100% identical tuples on clean venue settings (exit 0)', () => {
    const out = join(dir, 'par-clean');
    const r = pink(['parity', '--data', scans, '--out', out]);
    expect(r.code).toBe(0);
    expect(r.stdout).toMatch(/PARITY: 6000\/6000 identical \(100\.0000 %\)/);
    // Its cost, from the process that did the work (parity has no ledger, so no engine).
    expect(r.stdout).toMatch(
      /\ncost\s+6000 scans in [\d.]+ s \([\d,]+ scans\/s\), peak RSS \d+ MB \(this process\)\n/,
    );
    const report = JSON.parse(readFileSync(join(out, 'parity.json'), 'utf8'));
    expect(report.referenceChainHash).toBe(report.pinkChainHash);
    expect(report.datasetHash).toMatch(/^[0-9a-f]{64}$/);
    expect(readFileSync(join(out, 'parity.md'), 'utf8')).toContain('PASS');
  });

  it('runs the PINK path through ccxt against the BingX simulator (--venue bingx-sim) with 100% identical tuples', () => {
    const small = join(dir, 'scans-small.jsonl');
    writeFileSync(small, `${readFileSync(scans, 'utf8').split('\n').slice(0, 800).join('\n')}\n`);
    const out = join(dir, 'par-bingx');
    const r = pink(['parity', '--data', small, '--venue', 'bingx-sim', '--out', out]);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'parity.json'), 'utf8'));
    expect(report.venue).toBe('bingx-sim');
    expect(report.unsettled).toBe(0);
    expect(report.identicalPct).toBe(100);
    // The venue path was exercised: orders were sent and filled through ccxt.
    expect(report.pinkOrders).toBeGreaterThan(0);
    expect(report.pinkFills).toBeGreaterThanOrEqual(report.pinkOrders);
    expect(pink(['parity', '--data', small, '--venue', 'bingx']).code).toBe(2);
  });

  it('excuses only venue-made divergences under injected faults, each annotated with the venue fact', () => {
    const out = join(dir, 'par-faults');
    const r = pink(['parity', '--data', scans, '--faults', 'rejects-and-closes', '--out', out]);
    expect(r.code).toBe(0);
    const report = JSON.parse(readFileSync(join(out, 'parity.json'), 'utf8'));
    expect(report.excused).toBeGreaterThan(0);
    expect(report.divergent).toBe(0);
    const kinds = new Set(report.excusedSamples.map((d: { kind: string }) => d.kind));
    expect(kinds).toContain('ENTRY_FAILED');
    expect(kinds).toContain('POSITION_VANISHED');
    for (const d of report.excusedSamples) expect(d.annotation).toMatch(/rejected|flat|venue still holds/);
  });

  it('fails on a deliberately altered parameter and points at the first divergent scan (exit 1)', () => {
    const out = join(dir, 'par-altered');
    const r = pink(['parity', '--data', scans, '--pink-param', 'STOP_BPS=240', '--out', out]);
    expect(r.code).toBe(1);
    const report = JSON.parse(readFileSync(join(out, 'parity.json'), 'utf8'));
    const ref = referenceLog(scans).map((l) => JSON.parse(l));
    // The first STOP_LOSS the altered path takes earlier than the reference is where it must point.
    expect(report.firstDivergence.scan).toBeGreaterThan(0);
    const at = ref.find((d) => d.scan === report.firstDivergence.scan);
    expect(at.reason).not.toBe('STOP_LOSS');
    expect(report.firstDivergence.pink).toMatch(/STOP_LOSS/);
    expect(report.firstDivergence.context.length).toBeGreaterThan(1);
  });

  it('matches a decision log produced by an independent implementation (Python), as JSONL and as CSV', () => {
    const py = join(dir, 'python.jsonl');
    execFileSync('python3', [join(REPO, 'test/fixtures/independent_v7_ref.py'), scans, py]);
    const r = pink(['parity', '--data', scans, '--blue-log', py, '--out', join(dir, 'par-py')]);
    expect(r.stdout).toMatch(/PARITY: 6000\/6000/);
    expect(r.code).toBe(0);
    const rows = readFileSync(py, 'utf8')
      .trim()
      .split('\n')
      .map((l) => JSON.parse(l));
    const cols = [
      'scan',
      'ts',
      'fired',
      'action',
      'asset',
      'side',
      'leverage',
      'reason',
      'bars_held',
      'strategy',
    ];
    const csv = [
      cols.join(','),
      ...rows.map((d) =>
        cols.map((c) => (c === 'strategy' ? 'blue' : c === 'fired' ? Number(d.fired) : d[c])).join(','),
      ),
    ];
    writeFileSync(join(dir, 'blue.csv'), `${csv.join('\n')}\n`);
    const c = pink([
      'parity',
      '--data',
      scans,
      '--blue-log',
      join(dir, 'blue.csv'),
      '--out',
      join(dir, 'par-csv'),
    ]);
    expect(c.stdout).toMatch(/PARITY: 6000\/6000/);
  });

  it("compares against BLUE's v7_decision_events read from ClickHouse (--blue-clickhouse) for a time range", () => {
    const small = join(dir, 'scans-blue-ch.jsonl');
    writeFileSync(small, `${readFileSync(scans, 'utf8').split('\n').slice(0, 500).join('\n')}\n`);
    const decisions = join(dir, 'blue-ch-decisions.jsonl');
    expect(pink(['replay', '--no-ledger', '--data', small, '--decisions', decisions]).code).toBe(0);
    const fixture = join(REPO, 'test/support/blue-decisions.mjs');
    const chDir = join(dir, 'blue-ch');
    const env = { PINK_CLICKHOUSE_DIR: chDir };
    expect(execFileSync(process.execPath, [fixture, chDir, decisions], { encoding: 'utf8' }).trim()).toBe(
      '500',
    );
    const from = new Date(
      JSON.parse(readFileSync(decisions, 'utf8').split('\n')[0] as string).ts,
    ).toISOString();
    const ok = pink(
      ['parity', '--data', small, '--blue-clickhouse', '--from', from, '--out', join(dir, 'pbc')],
      env,
    );
    expect(ok.stderr).toBe('');
    expect(ok.stdout).toMatch(/PARITY: 500\/500 identical/);
    expect(JSON.parse(readFileSync(join(dir, 'pbc', 'parity.json'), 'utf8')).mode).toBe('blue-log');
    // A range with no BLUE decisions in it is bad input (exit 2), not an empty pass.
    const later = pink(
      [
        'parity',
        '--data',
        small,
        '--blue-clickhouse',
        '--from',
        '2100-01-01T00:00:00Z',
        '--to',
        '2100-01-02T00:00:00Z',
      ],
      env,
    );
    expect(later.code).toBe(2);
    expect(later.stderr).toMatch(/dolphin\.v7_decision_events has no decisions between/);
    expect(pink(['parity', '--data', small, '--blue-clickhouse', '--from', 'yesterday'], env).stderr).toMatch(
      /--from "yesterday" is not an ISO-8601 time/,
    );

    // BLUE decided differently at scan 300 -> divergence, exit 1, pointing at that scan.
    const altered = join(dir, 'blue-ch-altered');
    const scan300 = JSON.parse(readFileSync(decisions, 'utf8').split('\n')[300] as string).scan;
    execFileSync(process.execPath, [fixture, altered, decisions, String(scan300)]);
    const bad = pink(
      ['parity', '--data', small, '--blue-clickhouse', '--from', from, '--out', join(dir, 'pbc2')],
      {
        PINK_CLICKHOUSE_DIR: altered,
      },
    );
    expect(bad.code).toBe(1);
    expect(bad.stdout).toContain(`first divergence at scan ${scan300}`);
  });

  it('exits 2 when it cannot run: bad fault profile, broken BLUE log', () => {
    expect(pink(['parity', '--data', scans, '--faults', 'chaos']).code).toBe(2);
    writeFileSync(join(dir, 'broken.jsonl'), '{"scan": 0, "ts": 1}\n');
    const r = pink(['parity', '--data', scans, '--blue-log', join(dir, 'broken.jsonl')]);
    expect(r.code).toBe(2);
    expect(r.stderr).toMatch(/broken.jsonl:1: "fired"/);
  });
});
