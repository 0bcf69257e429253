/**
 * Where the BingX venue may connect. Without an override it talks to BingX's VST hosts
 * (ccxt's sandbox URLs); an overridden base URL must name a loopback host after parsing
 * (a BingX-protocol simulator on this machine). Checked before any network call, and
 * again on every endpoint the ccxt exchange would actually use (REST and websocket).
 */

/** BingX's VST (testnet) hosts, REST and websocket, as ccxt's sandbox mode names them. */
export const VST_HOSTS: readonly string[] = ['open-api-vst.bingx.com', 'vst-open-api-ws.bingx.com'];

/** A loopback host name as the WHATWG URL parser leaves it (IPv4 normalised, IPv6 in brackets). */
export function isLoopbackHost(hostname: string): boolean {
  if (hostname === 'localhost' || hostname === '[::1]') return true;
  return /^127\.\d{1,3}\.\d{1,3}\.\d{1,3}$/.test(hostname);
}

/**
 * Why `raw` is not an acceptable base URL for the bingx venue, or null when it is:
 * http(s), no user info (`http://127.0.0.1@host` names `host`), a loopback host.
 */
export function baseUrlProblem(raw: string): string | null {
  let u: URL;
  try {
    u = new URL(raw);
  } catch {
    return `must be an http:// or https:// URL, got "${raw}"`;
  }
  if (u.protocol !== 'http:' && u.protocol !== 'https:')
    return `must be an http:// or https:// URL, got "${raw}"`;
  if (u.username !== '' || u.password !== '')
    return `"${raw}" carries user info before "@": refused (the host it names is ${u.hostname})`;
  if (!isLoopbackHost(u.hostname))
    return `host "${u.hostname}" of "${raw}" is not loopback: an overridden BingX URL may only name 127.0.0.0/8, ::1 or localhost (a local simulator)`;
  return null;
}

export interface Endpoint {
  /** ccxt's name for it: `swap`, `ws.linear`, … */
  readonly name: string;
  readonly url: string;
  readonly host: string;
}

/** Every URL in a ccxt exchange's `urls.api` (nested objects walked), `{hostname}` filled in. */
export function endpointsOf(urls: { api?: unknown }, hostname: string): Endpoint[] {
  const out: Endpoint[] = [];
  const walk = (v: unknown, name: string) => {
    if (typeof v === 'string') {
      const url = v.replaceAll('{hostname}', hostname);
      let host: string;
      try {
        host = new URL(url).hostname;
      } catch {
        host = `(unparseable: ${url})`;
      }
      out.push({ name, url, host });
    } else if (v && typeof v === 'object')
      for (const [k, inner] of Object.entries(v)) walk(inner, name ? `${name}.${k}` : k);
  };
  walk(urls.api, '');
  return out;
}

/**
 * The endpoints that break the rule, with why: under a base URL every one must be
 * loopback; otherwise, on VST, every one must be a VST host. MAINNET (explicitly
 * allowed) is not restricted here.
 */
export function endpointProblems(
  endpoints: readonly Endpoint[],
  mode: { readonly env: 'VST' | 'MAINNET'; readonly baseUrl?: string },
): string[] {
  if (endpoints.length === 0) return ['the exchange names no endpoints'];
  return endpoints.flatMap((e) => {
    if (mode.baseUrl !== undefined) return isLoopbackHost(e.host) ? [] : [`${e.name} ${e.url}: not loopback`];
    if (mode.env === 'VST') return VST_HOSTS.includes(e.host) ? [] : [`${e.name} ${e.url}: not a VST host`];
    return [];
  });
}
