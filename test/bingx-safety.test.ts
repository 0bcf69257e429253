import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { inspect } from 'node:util';
import { describe, expect, it } from 'vitest';
import { BingxSafetyError, redact, resolveBingxEnv, Secret } from '../src/adapters/bingx/safety.js';

const KEY = 'key-AAAA1111';
const SECRET = 'secret-ZZZZ9999';
const creds = { BINGX_API_KEY: KEY, BINGX_API_SECRET: SECRET };
const dir = mkdtempSync(path.join(os.tmpdir(), 'pink-bingx-safety-'));

function fileWith(name: string, text: string): string {
  const file = path.join(dir, name);
  writeFileSync(file, text);
  return file;
}

/** The error message of `fn`, asserting it is a BingxSafetyError and leaks no secret. */
function refusal(fn: () => unknown): string {
  try {
    fn();
  } catch (err) {
    expect(err).toBeInstanceOf(BingxSafetyError);
    const msg = (err as Error).message;
    expect(msg).not.toContain(SECRET);
    return msg;
  }
  throw new Error('expected a refusal');
}

describe('resolveBingxEnv', () => {
  it('defaults to VST', () => {
    expect(resolveBingxEnv({ ...creds }).env).toBe('VST');
    expect(resolveBingxEnv({ ...creds, DOLPHIN_BINGX_ENV: 'vst' }).env).toBe('VST');
  });

  it('refuses MAINNET without DOLPHIN_BINGX_ALLOW_MAINNET=1, and allows it with both flags', () => {
    expect(refusal(() => resolveBingxEnv({ ...creds, DOLPHIN_BINGX_ENV: 'MAINNET' }))).toMatch(
      /DOLPHIN_BINGX_ALLOW_MAINNET=1 \(it is unset\)/,
    );
    expect(
      refusal(() =>
        resolveBingxEnv({ ...creds, DOLPHIN_BINGX_ENV: 'MAINNET', DOLPHIN_BINGX_ALLOW_MAINNET: 'yes' }),
      ),
    ).toMatch(/it is "yes"/);
    expect(
      refusal(() =>
        resolveBingxEnv({ ...creds, DOLPHIN_BINGX_ALLOW_MAINNET: '1', DOLPHIN_BINGX_ENV: 'PROD' }),
      ),
    ).toMatch(/DOLPHIN_BINGX_ENV must be VST or MAINNET, got "PROD"/);
    expect(
      resolveBingxEnv({ ...creds, DOLPHIN_BINGX_ENV: 'MAINNET', DOLPHIN_BINGX_ALLOW_MAINNET: '1' }).env,
    ).toBe('MAINNET');
  });

  it('the mainnet refusal comes before credentials are even looked at', () => {
    expect(refusal(() => resolveBingxEnv({ DOLPHIN_BINGX_ENV: 'MAINNET' }))).toMatch(
      /refusing BingX MAINNET/,
    );
  });

  it('credentials from variables, with the half-set case named', () => {
    const env = resolveBingxEnv(creds);
    expect(env.apiKey.reveal()).toBe(KEY);
    expect(env.apiSecret.reveal()).toBe(SECRET);
    expect(refusal(() => resolveBingxEnv({ BINGX_API_KEY: KEY }))).toMatch(
      /BINGX_API_SECRET is empty or unset/,
    );
    expect(refusal(() => resolveBingxEnv({ BINGX_API_SECRET: SECRET }))).toMatch(
      /BINGX_API_KEY is empty or unset/,
    );
    expect(refusal(() => resolveBingxEnv({}))).toMatch(/BINGX_CREDENTIALS_FILE/);
  });

  it('credentials from a JSON file or KEY=VALUE lines', () => {
    const json = fileWith('c.json', JSON.stringify({ apiKey: KEY, apiSecret: SECRET }));
    expect(resolveBingxEnv({ BINGX_CREDENTIALS_FILE: json }).apiSecret.reveal()).toBe(SECRET);
    const lines = fileWith('c.env', `# demo\nBINGX_API_KEY=${KEY}\nexport BINGX_API_SECRET="${SECRET}"\n`);
    const env = resolveBingxEnv({ BINGX_CREDENTIALS_FILE: lines });
    expect([env.apiKey.reveal(), env.apiSecret.reveal()]).toEqual([KEY, SECRET]);
  });

  it('file problems name the file and field, never the secret', () => {
    expect(refusal(() => resolveBingxEnv({ BINGX_CREDENTIALS_FILE: path.join(dir, 'nope.json') }))).toMatch(
      /nope\.json: cannot read \(ENOENT\)/,
    );
    const noSecret = fileWith('k.json', JSON.stringify({ apiKey: KEY }));
    expect(refusal(() => resolveBingxEnv({ BINGX_CREDENTIALS_FILE: noSecret }))).toMatch(/field "apiSecret"/);
    const broken = fileWith('b.json', `{"apiKey": "${KEY}", "apiSecret": "${SECRET}",,}`);
    expect(refusal(() => resolveBingxEnv({ BINGX_CREDENTIALS_FILE: broken }))).toMatch(
      /b\.json: not valid JSON/,
    );
    const badLine = fileWith('bad.env', `BINGX_API_KEY=${KEY}\n${SECRET}\n`);
    expect(refusal(() => resolveBingxEnv({ BINGX_CREDENTIALS_FILE: badLine }))).toMatch(
      /bad\.env line 2: expected KEY=VALUE/,
    );
  });
});

describe('Secret and redact', () => {
  it('a Secret prints as [redacted] everywhere', () => {
    const s = new Secret(SECRET);
    expect(String(s)).toBe('[redacted]');
    expect(`${s}`).toBe('[redacted]');
    expect(JSON.stringify({ s })).toBe('{"s":"[redacted]"}');
    expect(inspect({ s })).not.toContain(SECRET);
    expect(s.reveal()).toBe(SECRET);
  });

  it('redact removes every occurrence of each secret', () => {
    const text = `k=${KEY} s=${SECRET} again ${SECRET}`;
    expect(redact(text, [KEY, new Secret(SECRET)])).toBe('k=[redacted] s=[redacted] again [redacted]');
    expect(redact('abc', ['ab'])).toBe('abc'); // too short to be a secret: left alone
  });
});
