/**
 * Every command that writes or reads the running namespace's ledger refuses a config
 * file naming another registered strategy (exit 2, before doing anything), instead of
 * silently running as the namespace from the environment.
 */
import { mkdtempSync, readdirSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { lookupNamespace } from '../src/domain/namespaces.js';
import { pink } from './support/cli.js';

const dir = mkdtempSync(join(tmpdir(), 'pink-ns-config-'));
const config = join(dir, 'other.json');
const scans = join(dir, 'scans.jsonl');
const other = lookupNamespace('green').strategy;
writeFileSync(config, JSON.stringify({ strategy: other }));
writeFileSync(scans, '');

describe('a config file naming another namespace', () => {
  it.each([
    ['replay', ['replay', '--data', scans]],
    ['parity', ['parity', '--data', scans]],
    ['run', ['run', '--scans', '1']],
    ['schema apply', ['schema', 'apply']],
    ['report', ['report']],
    ['demo', ['demo']],
  ])('`pink %s` refuses it with exit 2 and writes nothing', (_name, args) => {
    const varDir = mkdtempSync(join(dir, 'var-'));
    const r = pink([...args, '--config', config], { PINK_VAR_DIR: varDir });
    expect(r.code).toBe(2);
    expect(r.stderr).toContain(`config strategy "${other}" differs from the namespace "pink"`);
    expect(readdirSync(varDir)).toEqual([]);
  });
});
