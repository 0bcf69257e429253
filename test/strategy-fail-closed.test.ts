/**
 * Fail closed around a strategy process (issue #20, item 3): the process crashes, hangs or
 * answers garbage in the middle of a run. PINK opens nothing more (posture PAUSED with the
 * reason, one strategy_health FAILED event and status_snapshots row), keeps applying the
 * venue's facts, restarts the process with backoff (its memory restored), says so
 * (RECOVERED), and opens trades again only after the operator's RESUME.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { rowsFromEvent } from '../src/adapters/clickhouse/rows.js';
import { LatestPrices, Pipeline } from '../src/app/pipeline.js';
import { simVenueFor } from '../src/app/replay.js';
import { strategyFor } from '../src/app/strategies.js';
import { AccountProjection } from '../src/domain/account.js';
import type { CanonicalEvent } from '../src/domain/events.js';
import { simulateScans } from '../src/market/simulator.js';
import { PinkMetrics } from '../src/observability/metrics.js';
import { CLI, pink, REPO } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pink-failclosed-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

/** blue_v7_ref.py that misbehaves once (`mode`) at scan `at`, then decides normally after its restart. */
const faulty = join(dir, 'faulty.py');
writeFileSync(
  faulty,
  `import os, sys, time
sys.path.insert(0, ${JSON.stringify(join(process.cwd(), 'bridges', 'python'))})
import pink_bridge, blue_v7_ref
mode, marker, at = sys.argv[1], sys.argv[2], int(sys.argv[3])
class Faulty(blue_v7_ref.BlueV7Ref):
    def decide(self, scan, capital):
        if scan["scan"] >= at and not os.path.exists(marker):
            open(marker, "w").close()
            if mode == "crash":
                sys.stderr.write("Traceback: boom\\n"); sys.stderr.flush(); os._exit(7)
            if mode == "garbage":
                sys.stdout.write("{garbage\\n"); sys.stdout.flush()
            time.sleep(3600)
        return super().decide(scan, capital)
pink_bridge.serve(Faulty())
`,
);

const wait = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('a strategy process failing mid-run: PINK fails closed', () => {
  for (const [mode, reason] of [
    ['crash', /exited \(code 7\); its stderr ended: Traceback: boom/],
    ['hang', /no answer to decide \(scan \d+\) within 300 ms/],
    ['garbage', /answered a line that is not JSON: \{garbage/],
  ] as const)
    it(`${mode}: paused with the reason, no decision while down, restarted, entries only after RESUME`, async () => {
      const marker = join(dir, `${mode}.marker`);
      const scans = [...simulateScans({ scans: 1500, assets: 5, seed: 11 })];
      const at = scans[400]!.scan;
      const strategy = await strategyFor(`process:python3 ${faulty} ${mode} ${marker} ${at}`, undefined, {
        deadlineMs: 300,
        restart: { backoffMs: 100, maxBackoffMs: 100 },
      });
      const marks = new LatestPrices();
      const events: CanonicalEvent[] = [];
      const failures: string[] = [];
      const metrics = new PinkMetrics({ namespace: 'pink' });
      let upWhileDown: string | undefined;
      let recovered = false;
      const account = new AccountProjection(25_000);
      const pipeline = new Pipeline({
        strategy,
        venue: simVenueFor(marks, { seed: 7 }),
        account,
        marks,
        namespace: 'pink',
        sink: (e) => {
          events.push(e);
          metrics.sink(e);
          if (e.type === 'strategy_health' && e.state === 'RECOVERED') recovered = true;
        },
        failClosed: (why) => failures.push(why),
      });
      try {
        let resumedAt = -1;
        for (const [i, scan] of scans.entries()) {
          await pipeline.process(scan, 'test');
          // Scans keep coming (a few ms apart) while the process restarts after its backoff.
          if (failures.length > 0 && !recovered && i < 1000) {
            upWhileDown ??= /^pink_strategy_up(?:\{[^}]*\})? (\d)/m.exec(await metrics.text())?.[1];
            await wait(5);
          }
          if (i === 1000) {
            pipeline.setPaused(false); // the operator's RESUME
            resumedAt = scan.scan;
          }
        }
        const health = events.filter((e) => e.type === 'strategy_health');
        expect(health.map((e) => e.type === 'strategy_health' && e.state)).toEqual(['FAILED', 'RECOVERED']);
        const failed = health[0] as Extract<CanonicalEvent, { type: 'strategy_health' }>;
        expect(failed.reason).toMatch(reason);
        expect(failures).toHaveLength(1);
        expect(failures[0]).toMatch(reason);
        // One status_snapshots row per change, with the reason, never a capital adjustment.
        const row = rowsFromEvent(failed, 'pink')[0]!;
        expect(row.table).toBe('status_snapshots');
        expect(row.row).toMatchObject({ kind: 'STRATEGY_FAILED', capital_delta: 0, posture: 'PAUSED' });
        expect(String(row.row.detail)).toMatch(reason);
        // No decision for the scans while the process was down; decisions again after.
        const decided = new Set(events.flatMap((e) => (e.type === 'decision' ? [e.record.scan] : [])));
        const recoveredAt = (health[1] as Extract<CanonicalEvent, { type: 'strategy_health' }>).scan;
        expect(decided.has(at)).toBe(false);
        for (const s of scans)
          if (s.scan > at && s.scan < recoveredAt) expect(decided.has(s.scan)).toBe(false);
        expect(decided.has(recoveredAt)).toBe(true);
        // Paused from the failure to the RESUME: every ENTER in between refused, none after it.
        const enters = events.flatMap((e) =>
          e.type === 'decision' && e.record.action === 'ENTER' ? [e.record.scan] : [],
        );
        const refused = new Set(events.flatMap((e) => (e.type === 'intent_refused' ? [e.tradeId] : [])));
        const between = enters.filter((s) => s > at && s < resumedAt);
        const after = enters.filter((s) => s > resumedAt);
        expect(between.length).toBeGreaterThan(0);
        expect(after.length).toBeGreaterThan(0);
        for (const e of events)
          if (e.type === 'order' && e.purpose === 'ENTRY' && e.milestone === 'REQUESTED') {
            const scan = Number(e.tradeId.split('-T-')[1]);
            expect(scan < at || scan > resumedAt, `entry at scan ${scan}`).toBe(true);
          }
        expect(refused.size).toBe(between.length);
        // After the RESUME the recovered process trades again.
        const entered = events.filter(
          (e) => e.type === 'order' && e.purpose === 'ENTRY' && e.milestone === 'REQUESTED',
        );
        expect(entered.some((e) => e.type === 'order' && Number(e.tradeId.split('-T-')[1]) > resumedAt)).toBe(
          true,
        );
        expect(strategy.health?.()).toMatchObject({ up: true, failures: 1, restarts: 1 });
        const text = await metrics.text();
        expect(upWhileDown).toBe('0');
        expect(text).toMatch(/^pink_strategy_up(?:\{[^}]*\})? 1$/m);
        expect(text).toMatch(/^pink_strategy_failures_total(?:\{[^}]*\})? 1$/m);
      } finally {
        await strategy.close?.();
      }
    }, 120_000);
});

describe('pink run with a strategy process', () => {
  const journalOf = (varDir: string) =>
    JSON.parse(readFileSync(join(varDir, 'run', 'pink-journal.json'), 'utf8')) as {
      paused: boolean;
      strategyName: string;
      strategyState: { cooldown: number };
    };
  const scans = join(dir, 'run-scans.jsonl');

  it('trades through the Python bridge; a crash mid-run pauses entries, restarts the process and is said in the log', () => {
    expect(pink(['simulate', '--scans', '300', '--assets', '5', '--seed', '11', '--out', scans]).code).toBe(
      0,
    );
    const run = (name: string, algorithm: string) => {
      const varDir = join(dir, name);
      const config = join(dir, `${name}.json`);
      writeFileSync(config, JSON.stringify({ strategy: 'pink', algorithm }));
      const r = pink(['run', '--data', scans, '--interval-ms', '10', '--config', config], {
        PINK_VAR_DIR: varDir,
        PINK_CLICKHOUSE_DIR: join(varDir, 'clickhouse'),
        PINK_LOG_FORMAT: 'text',
      });
      return { r, journal: () => journalOf(varDir) };
    };
    const healthy = run('healthy', 'process:python3 bridges/python/blue_v7_ref.py');
    expect(healthy.r.code, healthy.r.stderr).toBe(0);
    expect(healthy.r.stderr + healthy.r.stdout).toMatch(/trade POSITION_OPENED: .* \(filled /); // it traded
    // The source ended and the runtime stopped gracefully: not paused (only an operator PAUSE or a strategy failure is kept).
    expect(healthy.journal()).toMatchObject({ paused: false, strategyName: 'blue-v7-ref' });
    expect(typeof healthy.journal().strategyState.cooldown).toBe('number'); // the process's memory, journaled

    const firstScan = Number(/"scan":(\d+)/.exec(readFileSync(scans, 'utf8'))![1]);
    const crashing = run(
      'crashing',
      `process:python3 ${faulty} crash ${join(dir, 'run.marker')} ${firstScan + 150}`,
    );
    expect(crashing.r.code, crashing.r.stderr).toBe(0);
    const log = crashing.r.stderr + crashing.r.stdout;
    expect(log).toMatch(/ALERT: the strategy failed; no new entries until RESUME .*exited \(code 7\)/);
    expect(log).toMatch(/strategy process restarted \(#1\); entries stay paused until RESUME/);
    expect(crashing.journal().paused).toBe(true); // durable: a restarted runtime stays paused
  }, 180_000);
});

describe('pink ctl healthcheck and the published health while a strategy process is down', () => {
  /** blue_v7_ref.py that exits when `trigger` exists: while deciding, and at every restart (so it stays down). */
  const dying = join(dir, 'dying.py');
  writeFileSync(
    dying,
    `import os, sys
sys.path.insert(0, ${JSON.stringify(join(process.cwd(), 'bridges', 'python'))})
import pink_bridge, blue_v7_ref
trigger = sys.argv[1]
if os.path.exists(trigger):
    sys.stderr.write("refusing to start\\n"); sys.exit(3)
class Dying(blue_v7_ref.BlueV7Ref):
    def decide(self, scan, capital):
        if os.path.exists(trigger):
            sys.stderr.write("Traceback: boom\\n"); sys.stderr.flush(); os._exit(7)
        return super().decide(scan, capital)
pink_bridge.serve(Dying())
`,
  );

  it('OK while the process decides; FAIL naming the strategy, its error and the pending restart while it is down', async () => {
    const varDir = join(dir, 'health');
    const trigger = join(dir, 'health.trigger');
    const config = join(dir, 'health.json');
    writeFileSync(
      config,
      JSON.stringify({ strategy: 'pink', algorithm: `process:python3 ${dying} ${trigger}` }),
    );
    const env = {
      PINK_VAR_DIR: varDir,
      PINK_CLICKHOUSE_DIR: join(varDir, 'clickhouse'),
      PINK_SCAN_INTERVAL_MS: '50',
      PINK_HEARTBEAT_MS: '300',
    };
    const child = spawn(process.execPath, [CLI, 'run', '--config', config], {
      cwd: REPO,
      env: { ...process.env, CI: '1', PINK_METRICS_PORT: '0', ...env },
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let log = '';
    child.stderr?.on('data', (b: Buffer) => {
      log += b.toString();
    });
    const exit = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
    const healthcheck = () => pink(['ctl', 'healthcheck', '--config', config], env);
    const until = async (what: string, cond: () => boolean) => {
      const deadline = Date.now() + 60_000;
      while (!cond()) {
        if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}; log:\n${log}`);
        await wait(200);
      }
    };
    try {
      await until('ready', () => /ready/.test(log));
      let h = healthcheck();
      await until('a published strategy line', () => {
        h = healthcheck();
        return /strategy/.test(h.stdout);
      });
      expect(h.code, h.stdout).toBe(0);
      expect(h.stdout).toMatch(/^OK\s+strategy\s+blue-v7-ref up$/m);
      expect(pink(['ctl', 'status', '--config', config], env).stdout).toMatch(/^strategy\s+blue-v7-ref up$/m);

      writeFileSync(trigger, '');
      await until('the strategy reported down', () => {
        h = healthcheck();
        return /^FAIL\s+strategy/m.test(h.stdout);
      });
      expect(h.code).toBe(1);
      expect(h.stdout).toMatch(
        /^FAIL\s+strategy\s+blue-v7-ref DOWN \(entries paused, restarting\), failures 1, last error: .*exited \(code 7\); its stderr ended: Traceback: boom/m,
      );
      await until('a failed restart', () => /restart failed: .*refusing to start/.test(healthcheck().stdout));
      expect(pink(['ctl', 'status', '--config', config], env).stdout).toMatch(
        /^strategy\s+blue-v7-ref DOWN \(entries paused, restarting\), failures 1, last error: restart failed: /m,
      );
    } finally {
      child.kill('SIGTERM');
      await exit;
    }
  }, 180_000);
});
