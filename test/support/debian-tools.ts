/**
 * The real tools the deployment files are written for, got from Debian's packages when
 * missing (issue #17, 7). Recipes and traps: ../shared/docs/REAL-PARTS.md "supervisord"
 * and "Quadlet".
 *  - supervisord: Debian's `supervisor` package, installed with apt-get (root only).
 *  - Quadlet: Debian 12's podman (4.3) has none, so the generator is taken from Debian 13's
 *    podman package, downloaded with a private apt configuration and extracted beside
 *    node_modules; nothing is installed (its `quadlet` links only libc).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';

const onPath = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;
const isRoot = () => process.getuid?.() === 0;

/** Null when supervisord and supervisorctl are on PATH (installing them if need be), else why not. */
export function supervisorUnavailable(): string | null {
  if (onPath('supervisord') && onPath('supervisorctl')) return null;
  if (!isRoot() || !onPath('apt-get'))
    return 'supervisord is not installed (as root: apt-get install supervisor)';
  // The package's postinst would start the system's own supervisord: a policy-rc.d that
  // says no keeps it from doing so (container images have one; a machine may not).
  const policy = '/usr/sbin/policy-rc.d';
  const ownPolicy = !existsSync(policy);
  if (ownPolicy) writeFileSync(policy, '#!/bin/sh\nexit 101\n', { mode: 0o755 });
  try {
    aptGet(['install', '-y', '--no-install-recommends', 'supervisor']);
  } catch (err) {
    return `apt-get install supervisor failed: ${(err as Error).message}`;
  } finally {
    if (ownPolicy) rmSync(policy, { force: true });
  }
  return onPath('supervisord') ? null : 'apt-get installed supervisor but supervisord is not on PATH';
}

/** apt-get ARGS; when the package lists are missing or stale, once more after `apt-get update`. */
function aptGet(args: string[]): void {
  const run = (a: string[]) =>
    execFileSync('apt-get', ['-q', ...a], {
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
      stdio: 'pipe',
      timeout: 300_000,
    });
  try {
    run(args);
  } catch {
    run(['update']);
    run(args);
  }
}

const PODMAN = 'podman=5.4.2+ds1-2+b2';
const QUADLET_DIR = resolve(import.meta.dirname, '../../node_modules/.cache/quadlet');
const EXTRACTED = join(QUADLET_DIR, 'root/usr/libexec/podman/quadlet');

/** A Quadlet generator that runs here, or why there is none. */
export function quadlet(): { path: string } | { unavailable: string } {
  for (const p of ['/usr/libexec/podman/quadlet', '/usr/lib/podman/quadlet', EXTRACTED])
    if (existsSync(p) && spawnSync(p, ['-version']).status === 0) return { path: p };
  if (!onPath('apt-get') || !onPath('dpkg-deb'))
    return { unavailable: 'no Quadlet generator, and no apt-get/dpkg-deb to fetch one' };
  try {
    fetchQuadlet();
  } catch (err) {
    const e = err as Error & { stderr?: Buffer };
    return {
      unavailable: `fetching Debian 13's ${PODMAN} failed: ${e.stderr?.toString().trim() || e.message}`,
    };
  }
  return spawnSync(EXTRACTED, ['-version']).status === 0
    ? { path: EXTRACTED }
    : { unavailable: `${EXTRACTED} does not run` };
}

function fetchQuadlet(): void {
  const dir = (p: string) => {
    mkdirSync(join(QUADLET_DIR, p), { recursive: true });
    return join(QUADLET_DIR, p);
  };
  dir('lists/partial');
  dir('cache/archives/partial');
  const sources = dir('sources');
  writeFileSync(
    join(sources, 'trixie.sources'),
    `Types: deb\nURIs: ${debianMirror()}\nSuites: trixie\nComponents: main\nSigned-By: /usr/share/keyrings/debian-archive-keyring.gpg\n`,
  );
  const conf = join(QUADLET_DIR, 'apt.conf');
  writeFileSync(
    conf,
    [
      'Dir::Etc::SourceList "/dev/null";',
      `Dir::Etc::SourceParts "${sources}";`,
      `Dir::State::Lists "${join(QUADLET_DIR, 'lists')}";`,
      `Dir::Cache "${join(QUADLET_DIR, 'cache')}";`,
      '',
    ].join('\n'),
  );
  const env = { ...process.env, APT_CONFIG: conf };
  const opts = { env, stdio: 'pipe' as const, timeout: 300_000, cwd: QUADLET_DIR };
  execFileSync('apt-get', ['-q', 'update'], opts);
  execFileSync('apt-get', ['-q', 'download', PODMAN], opts);
  const deb = readdirSync(QUADLET_DIR).find((f) => f.startsWith('podman_') && f.endsWith('.deb'));
  if (!deb) throw new Error(`apt-get download ${PODMAN} left no .deb in ${QUADLET_DIR}`);
  execFileSync('dpkg-deb', ['-x', join(QUADLET_DIR, deb), join(QUADLET_DIR, 'root')], opts);
}

/** The machine's own Debian mirror (the only one it may reach), else deb.debian.org. */
function debianMirror(): string {
  try {
    const text = readFileSync('/etc/apt/sources.list.d/debian.sources', 'utf8');
    const uri = /^URIs:\s*(\S+\/debian)\s*$/m.exec(text)?.[1];
    if (uri) return uri;
  } catch {
    // no deb822 sources file: the default below
  }
  return 'http://deb.debian.org/debian';
}
