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
import { baseUrlProblem } from '../src/adapters/bingx/hosts.js';
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

describe('guarantee: the bingx venue reaches only VST or a loopback simulator', () => {
  // Each is what a user might paste; each names (after parsing) a host that is not loopback.
  const hostile = [
    ['production BingX', 'https://open-api.bingx.com', 'host "open-api.bingx.com"'],
    ['user info before a foreign host', 'http://127.0.0.1@evil.invalid:80', 'carries user info'],
    ['user info with a password', 'http://localhost:pw@evil.invalid', 'carries user info'],
    ['a look-alike name', 'http://127.0.0.1.evil.invalid', 'host "127.0.0.1.evil.invalid"'],
    ['localhost as a subdomain', 'http://localhost.evil.invalid', 'host "localhost.evil.invalid"'],
    ['an IPv4-mapped IPv6 address', 'http://[::ffff:10.0.0.1]/', 'host "[::ffff:a00:1]"'],
    ['a fragment hiding the host', 'http://evil.invalid#@127.0.0.1', 'host "evil.invalid"'],
    ['a websocket scheme', 'ws://127.0.0.1:9', 'must be an http:// or https:// URL'],
  ] as const;

  it.each(hostile)(
    '%s from the environment: `pink run` and `ctl mode-verify` refuse it before any network call',
    (_n, url, why) => {
      for (const args of [
        ['run', '--venue', 'bingx', '--scans', '1'],
        ['ctl', 'mode-verify'],
      ]) {
        const r = attack(args, { PINK_BINGX_BASE_URL: url, BINGX_API_KEY: 'k', BINGX_API_SECRET: 's' });
        expect(r.stderr).toContain('PINK_BINGX_BASE_URL: bingx.baseUrl:');
        expect(r.stderr).toContain(why);
        expect(r.code).toBe(2);
        expect(r.left).toEqual([]);
      }
    },
  );

  it('from the config file, named as the file', () => {
    const file = configFile({ venue: 'bingx', bingx: { baseUrl: 'http://127.0.0.1@evil.invalid' } });
    const r = attack(['run', '--scans', '1'], {}, ['--config', file]);
    expect(r.stderr).toContain(`${file}: bingx.baseUrl: "http://127.0.0.1@evil.invalid" carries user info`);
    expect(r.code).toBe(2);
    expect(r.left).toEqual([]);
  });

  it('loopback in every spelling the URL parser normalises is accepted', () => {
    for (const url of [
      'http://127.0.0.1:18080',
      'http://127.1:9',
      'http://localhost:9/',
      'http://[::1]:9',
      'http://2130706433/',
    ])
      expect(baseUrlProblem(url), url).toBeNull();
  });
});
