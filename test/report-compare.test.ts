/**
 * Live against replay (issue #18, item 6): `pink report --compare A B` on two runs of the
 * same scans in one ledger, one on a sim venue that slips 0 bps and one that slips 10 bps.
 * Checked against what each replay said itself (its final capital) and against the ledger
 * read independently; bad run ids are refused with the runs there are.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createClickHouseClient } from '../src/adapters/clickhouse/client.js';
import type { RunComparison } from '../src/reporting/compare.js';
import type { ReportFigures } from '../src/reporting/figures.js';
import { type CliResult, pink } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pink-compare-'));
const env = { PINK_VAR_DIR: join(dir, 'var'), PINK_CLICKHOUSE_DIR: join(dir, 'var', 'clickhouse') };
const scans = join(dir, 'scans.jsonl');
const DB = 'dolphin_pink';
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const runOf = (r: CliResult) => /run ([A-Za-z0-9._:-]+),/.exec(r.stdout)?.[1];
const capitalOf = (r: CliResult) => Number(/capital\s+[\d.]+ -> ([\d.]+)/.exec(r.stdout)?.[1]);

describe('pink report --compare A B', () => {
  const runs: { a: CliResult; b: CliResult; c: CliResult } = {} as never;
  let ids: { a: string; b: string; c: string };
  let same: CliResult;
  let slipped: CliResult;
  let cmp: RunComparison;
  let closed: Map<string, number>;

  beforeAll(async () => {
    expect(pink(['simulate', '--scans', '2500', '--assets', '4', '--out', scans], env).code).toBe(0);
    const config = (name: string, sim: object) => {
      const path = join(dir, `${name}.json`);
      writeFileSync(
        path,
        JSON.stringify({ strategy: 'pink', sim: { seed: 3, slippageJitterBps: 0, ...sim } }),
      );
      return path;
    };
    const replay = (name: string, sim: object) =>
      pink(['replay', '--data', scans, '--flatten-at-end', '--config', config(name, sim)], env);
    runs.a = replay('a', { slippageBps: 0 });
    runs.b = replay('b', { slippageBps: 10 });
    runs.c = replay('c', { slippageBps: 0 });
    for (const r of Object.values(runs)) expect(r.code, r.stderr).toBe(0);
    ids = { a: runOf(runs.a)!, b: runOf(runs.b)!, c: runOf(runs.c)! };
    expect(new Set(Object.values(ids)).size).toBe(3);
    slipped = pink(['report', '--compare', ids.a, ids.b, '--out', join(dir, 'ab')], env);
    same = pink(['report', '--compare', ids.a, ids.c, '--out', join(dir, 'ac')], env);
    cmp = JSON.parse(readFileSync(join(dir, 'ab', 'compare.json'), 'utf8')) as RunComparison;
    const { client } = await createClickHouseClient({ dataDir: env.PINK_CLICKHOUSE_DIR });
    try {
      const rows = await (
        await client.query({
          query: `SELECT run_id, uniqExact(trade_id) AS n FROM ${DB}.trade_reconstruction FINAL WHERE status = 'CLOSED' GROUP BY run_id`,
          format: 'JSONEachRow',
        })
      ).json<{ run_id: string; n: string }>();
      closed = new Map(rows.map((r) => [r.run_id, Number(r.n)]));
    } finally {
      await client.close();
    }
  }, 600_000);

  it('says the decisions are identical, as decided per scan in both runs', () => {
    expect(same.code, same.stderr).toBe(0);
    expect(same.stdout).toMatch(
      /decisions: 2,?500 scans in both, 2,?500 identical \(100\.0000 %\), 0 different.*IDENTICAL/,
    );
    expect(cmp.decisions).toMatchObject({ scansA: 2500, scansB: 2500, common: 2500, onlyA: 0, onlyB: 0 });
  });

  it('attributes the execution difference: the 10 bps the venue slipped, and it sums to the capital difference', () => {
    expect([0, 1]).toContain(slipped.code);
    expect(cmp.trades.both).toBe(closed.get(ids.a));
    expect(cmp.trades.both + cmp.trades.onlyB).toBe(closed.get(ids.b));
    const d = cmp.execution.diff;
    // Each run's parts sum to its realized PnL, so the differences sum to the difference.
    expect(
      Math.abs(d.reference - d.delay - d.slippage - d.fees - d.funding - d.venue - d.realized),
    ).toBeLessThan(1e-6);
    expect(cmp.maxIdentityError).toBeLessThanOrEqual(1e-9);
    // Both ran flat to the end from the same capital: what the ledger calls realized is the capital each replay ended with.
    const realizedA = cmp.execution.a.realized + cmp.execution.onlyA.realized;
    const realizedB = cmp.execution.b.realized + cmp.execution.onlyB.realized;
    expect(realizedB - realizedA).toBeCloseTo(capitalOf(runs.b) - capitalOf(runs.a), 1);
    // A slips nothing, B 10 bps on every fill: B's slippage part is about 10 bps of what it traded, A's is 0.
    expect(Math.abs(cmp.execution.a.slippage)).toBeLessThan(1e-6);
    expect(d.slippage).toBeGreaterThan(0);
    for (const t of cmp.trades.rows.filter((r) => r.diff))
      expect(t.diff!.slippage, t.tradeId).toBeGreaterThan(0);
    expect(slipped.stdout).toMatch(/B - A/);
    const html = readFileSync(join(dir, 'ab', 'compare.html'), 'utf8');
    expect(html).toContain(`run ${ids.a} (A) vs run ${ids.b} (B)`);
    expect(html).not.toMatch(/<script/i);
  });

  it("pink report --run-id takes only that run's orders into its shortfall (the runs share trade ids)", () => {
    // trade_events keeps one row per trade id: the last run's (C, slipping 0 bps like A).
    const out = join(dir, 'report-c');
    const r = pink(['report', '--run-id', ids.c, '--out', out], env);
    expect(r.code, r.stderr).toBe(0);
    const sf = (JSON.parse(readFileSync(join(out, 'report.json'), 'utf8')) as ReportFigures).execution
      .shortfall;
    const ac = JSON.parse(readFileSync(join(dir, 'ac', 'compare.json'), 'utf8')) as RunComparison;
    expect(sf.trades).toBe(ac.trades.both + ac.trades.onlyB);
    for (const k of ['reference', 'delay', 'slippage', 'fees', 'funding', 'venue', 'realized'] as const)
      expect(sf.total[k], k).toBeCloseTo(ac.execution.b[k] + ac.execution.onlyB[k], 6);
    expect(Math.abs(sf.total.slippage)).toBeLessThan(1e-6); // none of B's 10 bps orders
  });

  it('refuses unknown or repeated run ids and a wrong number of them, naming the runs there are (exit 2)', () => {
    const unknown = pink(['report', '--compare', ids.a, 'nosuchrun'], env);
    expect(unknown.code).toBe(2);
    expect(unknown.stderr).toMatch(/no such run in dolphin_pink: nosuchrun \(runs: .*/);
    expect(unknown.stderr).toContain(ids.b);
    const twice = pink(['report', '--compare', ids.a, ids.a], env);
    expect(twice.code).toBe(2);
    expect(twice.stderr).toMatch(/the same run twice/);
    const one = pink(['report', '--compare', ids.a], env);
    expect(one.code).toBe(2);
    expect(one.stderr).toMatch(/--compare takes two run ids, got 1/);
    const mixed = pink(['report', '--compare', ids.a, ids.b, '--run-id', ids.a], env);
    expect(mixed.code).toBe(2);
    expect(mixed.stderr).toMatch(/--compare cannot be combined with --run-id/);
    const bad = pink(['report', '--compare', ids.a, 'x y'], env);
    expect(bad.code).toBe(2);
    expect(bad.stderr).toMatch(/--compare "x y": not a run id/);
  }, 120_000);
});
