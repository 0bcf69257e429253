/**
 * The decision log's writer: a path it cannot open fails at once, naming it; a write that
 * fails later (a full disk: /dev/full) fails close(), saying the log is incomplete, and
 * holds nothing more for it meanwhile.
 */
import { existsSync, mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { checkDecisionLogPath, DecisionLogWriter } from '../src/adapters/files/decision-log.js';
import type { CanonicalEvent } from '../src/domain/events.js';

const decision = (scan: number): CanonicalEvent => ({
  type: 'decision',
  ts: scan * 1000,
  record: {
    scan,
    ts: scan * 1000,
    fired: false,
    action: 'HOLD',
    asset: '',
    side: '',
    leverage: 0,
    reason: 'flat',
    bars_held: 0,
  },
  decisionHash: 'h',
  chainHash: 'c',
});

describe('decision log writer', () => {
  it('writes one line per decision and nothing else', async () => {
    const path = join(mkdtempSync(join(tmpdir(), 'pink-dlog-')), 'sub', 'd.jsonl');
    const w = new DecisionLogWriter(path);
    for (let i = 1; i <= 5000; i++) w.sink(decision(i));
    w.sink({ type: 'status', ts: 1 } as unknown as CanonicalEvent);
    await w.close();
    const lines = readFileSync(path, 'utf8').trimEnd().split('\n');
    expect(lines).toHaveLength(5000);
    expect(JSON.parse(lines[4999]!)).toMatchObject({ scan: 5000, action: 'HOLD' });
  });

  it('refuses a path it cannot open, naming it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pink-dlog-'));
    expect(() => new DecisionLogWriter(dir)).toThrow(`decision log ${dir}: cannot write it (EISDIR`);
  });

  it('the check before a replay refuses what the writer would and leaves the path as it was', () => {
    const dir = mkdtempSync(join(tmpdir(), 'pink-dlog-'));
    const existing = join(dir, 'old.jsonl');
    writeFileSync(existing, 'an earlier log\n');
    checkDecisionLogPath(existing);
    expect(readFileSync(existing, 'utf8')).toBe('an earlier log\n');
    const missing = join(dir, 'new.jsonl');
    checkDecisionLogPath(missing);
    expect(existsSync(missing)).toBe(false);
    expect(() => checkDecisionLogPath(dir)).toThrow(`decision log ${dir}: cannot write it (EISDIR`);
  });

  it('a write that fails later fails close(), saying the log is incomplete', async () => {
    const w = new DecisionLogWriter('/dev/full');
    for (let i = 1; i <= 5000; i++) w.sink(decision(i));
    await new Promise((r) => setTimeout(r, 50)); // the failed write is reported
    for (let i = 5001; i <= 20_000; i++) w.sink(decision(i));
    expect((w as unknown as { buffer: string[] }).buffer).toHaveLength(0);
    await expect(w.close()).rejects.toThrow('decision log /dev/full: writing it failed (ENOSPC');
    await expect(w.close()).rejects.toThrow('it is incomplete');
  });
});
