/** `pink ctl mode-verify` checks, as a pure function and through the CLI. */
import { describe, expect, it } from 'vitest';
import { resolveEnvName } from '../src/adapters/bingx/safety.js';
import { modeVerify } from '../src/app/mode-verify.js';
import { BlueV7Ref } from '../src/strategy/blue-v7-ref.js';
import { parameterHash } from '../src/strategy/decision-log.js';
import { pink } from './support/cli.js';

const base = {
  configStrategy: 'pink',
  strategy: new BlueV7Ref(),
  resolveBingxEnv: (env: Record<string, string | undefined>) => ({ name: resolveEnvName(env) }),
};

describe('mode-verify', () => {
  it('passes on the default PINK wiring', () => {
    const checks = modeVerify({ ...base, env: {} });
    expect(checks.filter((c) => !c.ok)).toEqual([]);
    expect(checks.length).toBeGreaterThanOrEqual(8);
  });

  it('fails on a foreign map override, a wrong database, mainnet without the flag, a different parameter hash', () => {
    expect(modeVerify({ ...base, env: { DOLPHIN_STATE_MAP: 'DOLPHIN_STATE_BLUE' } }).some((c) => !c.ok)).toBe(
      true,
    );
    const db = modeVerify({ ...base, env: { CLICKHOUSE_DATABASE: 'dolphin' } });
    expect(db.find((c) => c.name === 'ClickHouse database setting')?.ok).toBe(false);
    const main = modeVerify({ ...base, env: { DOLPHIN_BINGX_ENV: 'MAINNET' } });
    expect(main.find((c) => c.name === 'BingX environment guard')?.ok).toBe(false);
    const allowed = modeVerify({
      ...base,
      env: { DOLPHIN_BINGX_ENV: 'MAINNET', DOLPHIN_BINGX_ALLOW_MAINNET: '1' },
    });
    expect(allowed.find((c) => c.name === 'BingX environment guard')?.ok).toBe(true);
    const hash = modeVerify({
      ...base,
      env: {},
      expectedParamHash: parameterHash(new BlueV7Ref({ STOP_BPS: 240 }).params),
    });
    expect(hash.find((c) => c.name === 'strategy parameter hash')?.ok).toBe(false);
  });

  it('prints a pass/fail table and exits non-zero on failure through the CLI', () => {
    const ok = pink(['ctl', 'mode-verify']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/all \d+ checks passed/);
    const bad = pink(['ctl', 'mode-verify'], { DOLPHIN_BINGX_ENV: 'MAINNET' });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL\s+BingX environment guard/);
  });
});
