/** `pink ctl mode-verify` checks, as a pure function and through the CLI. */
import { describe, expect, it } from 'vitest';
import { plannedBingxEndpoints } from '../src/adapters/bingx/ccxt-venue.js';
import { endpointProblems, endpointsOf, VST_HOSTS } from '../src/adapters/bingx/hosts.js';
import { resolveEnvName } from '../src/adapters/bingx/safety.js';
import { modeVerify } from '../src/app/mode-verify.js';
import { BlueV7Ref } from '../src/strategy/blue-v7-ref.js';
import { parameterHash } from '../src/strategy/decision-log.js';
import { pink } from './support/cli.js';

const base = {
  configStrategy: 'pink',
  endpoints: null,
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

  it('checks the effective host of every endpoint the bingx venue would use, REST and websocket', async () => {
    const vst = await plannedBingxEndpoints('VST', undefined);
    expect(vst.problems).toEqual([]);
    expect(new Set(vst.endpoints.map((e) => e.host))).toEqual(new Set(VST_HOSTS));
    expect(vst.endpoints.some((e) => e.name.startsWith('ws.'))).toBe(true);
    const local = await plannedBingxEndpoints('VST', 'http://127.0.0.1:18080');
    expect(local.endpoints.every((e) => e.host === '127.0.0.1')).toBe(true);
    // The same check on production's URLs names every endpoint that is not VST.
    const { default: ccxt } = await import('ccxt');
    const production = new ccxt.pro.bingx({});
    const found = endpointProblems(endpointsOf(production.urls, String(production.hostname)), { env: 'VST' });
    expect(found.length).toBe(endpointsOf(production.urls, String(production.hostname)).length);
    expect(found.join('\n')).toContain('open-api.bingx.com/openApi: not a VST host');
    const refused = await plannedBingxEndpoints('VST', 'http://127.0.0.1@open-api.bingx.com');
    expect(refused.problems.join()).toContain('carries user info');
    const check = modeVerify({
      ...base,
      env: {},
      endpoints: { venue: 'bingx VST', hosts: [], problems: found },
    });
    expect(check.find((c) => c.name === 'venue endpoints (REST and websocket)')?.ok).toBe(false);
  });

  it('prints a pass/fail table and exits non-zero on failure through the CLI', () => {
    const ok = pink(['ctl', 'mode-verify']);
    expect(ok.code).toBe(0);
    expect(ok.stdout).toMatch(/all \d+ checks passed/);
    const bad = pink(['ctl', 'mode-verify'], { DOLPHIN_BINGX_ENV: 'MAINNET' });
    expect(bad.code).toBe(1);
    expect(bad.stdout).toMatch(/FAIL\s+BingX environment guard/);
    const bingx = pink(['ctl', 'mode-verify'], { PINK_VENUE: 'bingx' });
    expect(bingx.stdout).toMatch(
      /PASS\s+venue endpoints \(REST and websocket\)\s+bingx VST: 12 endpoints on open-api-vst.bingx.com, vst-open-api-ws.bingx.com/,
    );
  });
});
