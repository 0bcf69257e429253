/**
 * Which BingX environment to talk to, and with which credentials — decided before any
 * network call. VST (demo trading) is the default; MAINNET needs two explicit flags.
 * Secrets are wrapped so that printing, logging or JSON-encoding them shows
 * `[redacted]`, and error messages name the variable, file or field, never the value.
 */
import { readFileSync } from 'node:fs';
import { inspect } from 'node:util';

export class BingxSafetyError extends Error {
  override name = 'BingxSafetyError';
}

const REDACTED = '[redacted]';

/** A secret string that never prints itself. Read it with `reveal()` at the signing boundary only. */
export class Secret {
  readonly #value: string;

  constructor(value: string) {
    this.#value = value;
  }

  reveal(): string {
    return this.#value;
  }

  toString(): string {
    return REDACTED;
  }

  toJSON(): string {
    return REDACTED;
  }

  [inspect.custom](): string {
    return REDACTED;
  }
}

export type BingxEnvName = 'VST' | 'MAINNET';

export interface BingxEnv {
  readonly env: BingxEnvName;
  readonly apiKey: Secret;
  readonly apiSecret: Secret;
  /** Where the credentials came from (variable names or file path), for messages. */
  readonly credentialSource: string;
}

type Env = Readonly<Record<string, string | undefined>>;

/**
 * Resolves the environment and credentials from `env` (process.env by default):
 * DOLPHIN_BINGX_ENV (VST | MAINNET, default VST), DOLPHIN_BINGX_ALLOW_MAINNET=1,
 * BINGX_API_KEY + BINGX_API_SECRET, or BINGX_CREDENTIALS_FILE.
 */
export function resolveBingxEnv(env: Env = process.env): BingxEnv {
  const name = resolveEnvName(env);
  const { apiKey, apiSecret, source } = resolveCredentials(env);
  return {
    env: name,
    apiKey: new Secret(apiKey),
    apiSecret: new Secret(apiSecret),
    credentialSource: source,
  };
}

export function resolveEnvName(env: Env): BingxEnvName {
  const raw = (env.DOLPHIN_BINGX_ENV ?? '').trim();
  const name = raw === '' ? 'VST' : raw.toUpperCase();
  if (name !== 'VST' && name !== 'MAINNET')
    throw new BingxSafetyError(`DOLPHIN_BINGX_ENV must be VST or MAINNET, got ${JSON.stringify(raw)}`);
  if (name === 'MAINNET' && env.DOLPHIN_BINGX_ALLOW_MAINNET !== '1')
    throw new BingxSafetyError(
      'refusing BingX MAINNET: DOLPHIN_BINGX_ENV=MAINNET also needs DOLPHIN_BINGX_ALLOW_MAINNET=1 ' +
        `(it is ${env.DOLPHIN_BINGX_ALLOW_MAINNET === undefined ? 'unset' : JSON.stringify(env.DOLPHIN_BINGX_ALLOW_MAINNET)}); nothing was sent`,
    );
  return name;
}

function resolveCredentials(env: Env): { apiKey: string; apiSecret: string; source: string } {
  const key = env.BINGX_API_KEY?.trim() ?? '';
  const secret = env.BINGX_API_SECRET?.trim() ?? '';
  if (key !== '' || secret !== '') {
    if (key === '') throw new BingxSafetyError('BINGX_API_SECRET is set but BINGX_API_KEY is empty or unset');
    if (secret === '')
      throw new BingxSafetyError('BINGX_API_KEY is set but BINGX_API_SECRET is empty or unset');
    return { apiKey: key, apiSecret: secret, source: 'BINGX_API_KEY/BINGX_API_SECRET' };
  }
  const file = env.BINGX_CREDENTIALS_FILE?.trim() ?? '';
  if (file === '')
    throw new BingxSafetyError(
      'no BingX credentials: set BINGX_API_KEY and BINGX_API_SECRET, or BINGX_CREDENTIALS_FILE',
    );
  return { ...readCredentialsFile(file), source: file };
}

/** A credentials file: JSON `{apiKey, apiSecret}` or `KEY=VALUE` lines (BINGX_API_KEY=…). */
export function readCredentialsFile(file: string): { apiKey: string; apiSecret: string } {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    const code = (err as NodeJS.ErrnoException).code ?? 'read error';
    throw new BingxSafetyError(`BINGX_CREDENTIALS_FILE ${file}: cannot read (${code})`);
  }
  const fields = text.trimStart().startsWith('{') ? jsonFields(file, text) : lineFields(file, text);
  const apiKey = fields.apiKey ?? fields.BINGX_API_KEY ?? '';
  const apiSecret = fields.apiSecret ?? fields.BINGX_API_SECRET ?? '';
  if (apiKey === '')
    throw new BingxSafetyError(`${file}: field "apiKey" (or BINGX_API_KEY) is missing or empty`);
  if (apiSecret === '')
    throw new BingxSafetyError(`${file}: field "apiSecret" (or BINGX_API_SECRET) is missing or empty`);
  return { apiKey, apiSecret };
}

function jsonFields(file: string, text: string): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    // The JSON parser's message may quote the file's content: say only where.
    throw new BingxSafetyError(`${file}: not valid JSON (expected {"apiKey": "...", "apiSecret": "..."})`);
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed))
    throw new BingxSafetyError(`${file}: expected a JSON object {"apiKey": "...", "apiSecret": "..."}`);
  const out: Record<string, string> = {};
  for (const [k, v] of Object.entries(parsed)) {
    if (typeof v !== 'string') throw new BingxSafetyError(`${file}: field "${k}" must be a string`);
    out[k] = v.trim();
  }
  return out;
}

function lineFields(file: string, text: string): Record<string, string> {
  const out: Record<string, string> = {};
  text.split(/\r?\n/).forEach((line, i) => {
    const trimmed = line.trim();
    if (trimmed === '' || trimmed.startsWith('#')) return;
    const eq = trimmed.indexOf('=');
    if (eq <= 0) throw new BingxSafetyError(`${file} line ${i + 1}: expected KEY=VALUE`);
    const key = trimmed
      .slice(0, eq)
      .trim()
      .replace(/^export\s+/, '');
    out[key] = trimmed
      .slice(eq + 1)
      .trim()
      .replace(/^(["'])(.*)\1$/, '$2');
  });
  return out;
}

/** Replaces every occurrence of each secret (of 4+ chars) in `text` with `[redacted]`. */
export function redact(text: string, secrets: ReadonlyArray<string | Secret>): string {
  let out = text;
  for (const s of secrets) {
    const value = typeof s === 'string' ? s : s.reveal();
    if (value.length < 4) continue;
    out = out.split(value).join(REDACTED);
  }
  return out;
}
