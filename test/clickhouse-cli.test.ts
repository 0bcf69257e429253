/** `pink schema apply [--dry-run]` on the embedded engine, through the commander program. */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Command } from 'commander';
import { afterAll, describe, expect, it } from 'vitest';
import { register } from '../src/cli/commands/schema.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'pink-schema-cli-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function pink(...args: string[]): Promise<{ out: string; err: string; code: number }> {
  const program = new Command().name('pink').exitOverride();
  register(program);
  let out = '';
  let err = '';
  const w = process.stdout.write.bind(process.stdout);
  const e = process.stderr.write.bind(process.stderr);
  process.stdout.write = ((s: string) => {
    out += s;
    return true;
  }) as typeof process.stdout.write;
  process.stderr.write = ((s: string) => {
    err += s;
    return true;
  }) as typeof process.stderr.write;
  process.exitCode = 0;
  try {
    await program.parseAsync(['node', 'pink', ...args]);
  } finally {
    process.stdout.write = w;
    process.stderr.write = e;
  }
  const code = Number(process.exitCode ?? 0);
  process.exitCode = 0;
  return { out, err, code };
}

describe('pink schema apply', () => {
  const env = { ...process.env };
  afterAll(() => {
    process.env = env;
  });

  it('dry run changes nothing, apply creates, a second apply reports every table unchanged', async () => {
    process.env = { ...env, PINK_CLICKHOUSE_DIR: path.join(dir, 'ch'), DOLPHIN_STRATEGY_NAME: 'pink' };
    delete process.env.CLICKHOUSE_URL;
    const dry = await pink('schema', 'apply', '--dry-run');
    expect(dry.code).toBe(0);
    expect(dry.out).toContain('schema dry run: database dolphin_pink');
    expect(dry.out).toMatch(/trade_events\s+would be created/);
    const first = await pink('schema', 'apply');
    expect(first.out).toMatch(/trade_exit_legs\s+created/);
    const second = await pink('schema', 'apply');
    expect(second.code).toBe(0);
    const lines = second.out.split('\n').filter((l) => l.startsWith('  '));
    expect(lines).toHaveLength(11); // 10 ledger tables and runtime_lease
    for (const l of lines) expect(l).toMatch(/\sunchanged$/);
  });

  it('refuses a CLICKHOUSE_DATABASE outside the namespace, naming it', async () => {
    process.env = { ...env, PINK_CLICKHOUSE_DIR: path.join(dir, 'ch'), CLICKHOUSE_DATABASE: 'dolphin' };
    delete process.env.CLICKHOUSE_URL;
    const r = await pink('schema', 'apply');
    expect(r.code).not.toBe(0);
    expect(r.err).toContain('CLICKHOUSE_DATABASE="dolphin"');
  });
});
