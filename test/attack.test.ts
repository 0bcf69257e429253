/**
 * The attack suite (issue #16): each guarantee attacked from every entry point of
 * test/support/entry-points.ts, as an adversary who read the README would. Every attack
 * must be refused with a message naming the problem and must leave nothing behind: the
 * var directory (spool, journal, discovery, embedded ClickHouse databases) stays empty.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openSource } from '../src/tui/source.js';
import { CLI, cliEnv, REPO } from './support/cli.js';
import { ACTING_COMMANDS, FOREIGN_STRATEGIES } from './support/entry-points.js';

const root = mkdtempSync(join(tmpdir(), 'pink-attack-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));
const scans = join(root, 'scans.jsonl');
writeFileSync(scans, '');

/** Runs `pink` in a fresh var directory and returns what it printed and what it left there. */
function attack(args: readonly string[], env: Record<string, string>, extraArgs: string[] = []) {
  const varDir = mkdtempSync(join(root, 'var-'));
  const argv = [...args.map((a) => a.replace('{{SCANS}}', scans)), ...extraArgs];
  const r = spawnSync(process.execPath, [CLI, ...argv], {
    cwd: REPO,
    env: cliEnv(varDir, env),
    encoding: 'utf8',
    timeout: 60_000,
  });
  return { code: r.status, stderr: r.stderr, stdout: r.stdout, left: readdirSync(varDir) };
}

function configFile(values: object): string {
  const file = join(mkdtempSync(join(root, 'cfg-')), 'pink.json');
  writeFileSync(file, JSON.stringify(values));
  return file;
}

describe('guarantee: PINK runs only as pink', () => {
  it.each(ACTING_COMMANDS.map((c) => [c.join(' '), c] as const))(
    '`pink %s` refuses every other namespace from the environment and the config file, before opening anything',
    (_name, args) => {
      for (const strategy of FOREIGN_STRATEGIES) {
        const r = attack(args, { DOLPHIN_STRATEGY_NAME: strategy });
        expect(r.stderr, `${strategy} via environment`).toContain(
          `DOLPHIN_STRATEGY_NAME (environment) names strategy "${strategy}"`,
        );
        expect(r.stderr).toContain('PINK runs only as "pink"');
        expect(r.code).toBe(2);
        expect(r.left).toEqual([]);
      }
      // The config file names BLUE while the environment says pink: the file is not ignored.
      const file = configFile({ strategy: 'blue' });
      const r = attack(args, { DOLPHIN_STRATEGY_NAME: 'pink' }, ['--config', file]);
      if (args[0] === 'simtest' || args[0] === 'soak') {
        // These take no --config: commander refuses the unknown option.
        expect(r.stderr).toContain("unknown option '--config'");
      } else {
        expect(r.stderr).toContain(`config file ${file} ("strategy") names strategy "blue"`);
      }
      expect(r.code).toBe(2);
      expect(r.left).toEqual([]);
    },
    120_000,
  );

  it('namespace overrides pointing at another surface are refused with the variable named', () => {
    const r = attack(['run', '--scans', '1'], { DOLPHIN_STATE_MAP: 'DOLPHIN_STATE_BLUE' });
    expect(r.stderr).toContain('DOLPHIN_STATE_MAP="DOLPHIN_STATE_BLUE" does not belong to strategy "pink"');
    expect(r.code).toBe(2);
    expect(r.left).toEqual([]);
  });

  it('read-only commands may read another namespace, but sources that disagree are refused', () => {
    const green = configFile({ strategy: 'green' });
    const r = attack(['config', 'show'], { DOLPHIN_STRATEGY_NAME: 'blue' }, ['--config', green]);
    expect(r.stderr).toContain(
      `DOLPHIN_STRATEGY_NAME (environment) names strategy "blue" but config file ${green} ("strategy") names "green"`,
    );
    expect(r.code).toBe(2);
    const shown = attack(['config', 'show'], { DOLPHIN_STRATEGY_NAME: 'blue' });
    expect(shown.code).toBe(0);
    expect(JSON.parse(shown.stdout).strategy).toBe('blue');
    expect(shown.left).toEqual([]);
  });

  it('flag: `pink tui --strategy pink` under DOLPHIN_STRATEGY_NAME=blue is refused, --strategy blue is read-only', async () => {
    const varDir = mkdtempSync(join(root, 'var-'));
    await expect(
      openSource({ strategy: 'pink', env: { PINK_VAR_DIR: varDir, DOLPHIN_STRATEGY_NAME: 'blue' } }),
    ).rejects.toThrow(
      'flag --strategy names strategy "pink" but DOLPHIN_STRATEGY_NAME (environment) names "blue"',
    );
    const opened = await openSource({ strategy: 'blue', env: { PINK_VAR_DIR: varDir } });
    expect(opened.readOnly).toBe(true);
    await opened.source.close();
    expect(readdirSync(varDir)).toEqual([]);
  });
});
