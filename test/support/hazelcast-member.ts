/**
 * A real Hazelcast member (com.hazelcast:hazelcast from Maven Central) on loopback, for the
 * tests. The jar is fetched once with Maven (kept in ~/.m2 and copied beside node_modules);
 * a member is pinned to 127.0.0.1 on a free port with a cluster name of its own, and dies
 * with the process that started it (setpriv --pdeathsig), even when that one is SIGKILLed.
 * Recipe and timings: ../shared/docs/REAL-PARTS.md "Hazelcast member pinned to loopback".
 */
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';

export const HAZELCAST_VERSION = '5.7.0';
const JAR_DIR = resolve(import.meta.dirname, '../../node_modules/.cache/hazelcast');
const JAR = join(JAR_DIR, `hazelcast-${HAZELCAST_VERSION}.jar`);
const STARTED = /\[127\.0\.0\.1\]:(\d+) is STARTED/;

/** Why a member cannot be had here (no Java, no Maven, the fetch failed), or null. */
export function memberUnavailable(): string | null {
  for (const [tool, args] of [
    ['java', ['-version']],
    ['setpriv', ['--version']],
  ] as const)
    if (!runs(tool, args))
      return `${tool} is not installed (apt-get install openjdk-17-jre-headless util-linux)`;
  if (existsSync(JAR)) return null;
  if (!runs('mvn', ['-v']))
    return 'Maven is not installed (apt-get install maven) and the Hazelcast jar is not cached';
  try {
    mkdirSync(JAR_DIR, { recursive: true });
    execFileSync(
      'mvn',
      [
        '-q',
        '-B',
        'dependency:copy',
        `-Dartifact=com.hazelcast:hazelcast:${HAZELCAST_VERSION}`,
        `-DoutputDirectory=${JAR_DIR}`,
      ],
      { stdio: ['ignore', 'pipe', 'pipe'], timeout: 300_000 },
    );
  } catch (err) {
    return `fetching com.hazelcast:hazelcast:${HAZELCAST_VERSION} with Maven failed: ${(err as Error).message}`;
  }
  return existsSync(JAR) ? null : `Maven ran but ${JAR} is not there`;
}

function runs(cmd: string, args: readonly string[]): boolean {
  try {
    execFileSync(cmd, args, { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

export interface MemberOptions {
  readonly clusterName?: string;
  /** A fixed port (0: a free one, read from the member's log). */
  readonly port?: number;
  /** Other members to join (host:port); none: a cluster of one. */
  readonly join?: readonly string[];
  /** Seconds without a heartbeat before a hung member is dropped (Hazelcast's default 60). */
  readonly maxNoHeartbeatSeconds?: number;
}

export interface Member {
  readonly address: string;
  readonly port: number;
  readonly clusterName: string;
  readonly logFile: string;
  readonly process: ChildProcess;
  /** SIGTERM, then SIGKILL after 5 s. */
  stop(): Promise<void>;
  /** SIGKILL: a member lost without a goodbye. */
  kill(): Promise<void>;
}

function memberYaml(clusterName: string, o: MemberOptions): string {
  const join = o.join ?? [];
  return `hazelcast:
  cluster-name: ${clusterName}
  properties:
    hazelcast.phone.home.enabled: false
    hazelcast.socket.bind.any: false
    hazelcast.max.no.heartbeat.seconds: ${o.maxNoHeartbeatSeconds ?? 60}
  network:
    # A member restarted on the port of a killed one binds despite its TIME_WAIT sockets.
    reuse-address: true
    port: { port: ${o.port ?? 0}, auto-increment: false }
    interfaces: { enabled: true, interfaces: [127.0.0.1] }
    join:
      auto-detection: { enabled: false }
      multicast: { enabled: false }
      tcp-ip: { enabled: ${join.length > 0}, member-list: [${join.join(', ')}] }
`;
}

/** Starts a member and resolves once it is STARTED (rejects after 90 s, with its log). */
export async function startMember(o: MemberOptions = {}): Promise<Member> {
  const clusterName = o.clusterName ?? `pink-test-${randomBytes(4).toString('hex')}`;
  const dir = mkdtempSync(join(tmpdir(), 'pink-hz-'));
  const config = join(dir, 'member.yaml');
  const logFile = join(dir, 'member.log');
  writeFileSync(config, memberYaml(clusterName, o));
  const child = spawn(
    'setpriv',
    [
      '--pdeathsig',
      'KILL',
      '--',
      'java',
      '-Xms32m',
      '-Xmx160m',
      '-XX:+UseSerialGC',
      '-XX:TieredStopAtLevel=1',
      '-Djava.net.preferIPv4Stack=true',
      `-Dhazelcast.config=${config}`,
      '-cp',
      JAR,
      'com.hazelcast.core.server.HazelcastMemberStarter',
    ],
    { stdio: ['ignore', 'pipe', 'pipe'] },
  );
  const log = createWriteStream(logFile);
  let seen = '';
  const port = await new Promise<number>((resolveStart, reject) => {
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(
        new Error(`Hazelcast member not STARTED within 90 s; its log: ${logFile}\n${seen.slice(-2000)}`),
      );
    }, 90_000);
    const onData = (chunk: Buffer) => {
      log.write(chunk);
      seen = (seen + chunk.toString()).slice(-20_000);
      const m = STARTED.exec(seen);
      if (m) {
        clearTimeout(timer);
        resolveStart(Number(m[1]));
      }
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', onData);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      reject(
        new Error(
          `Hazelcast member exited (${code ?? signal}) before STARTED; its log: ${logFile}\n${seen.slice(-2000)}`,
        ),
      );
    });
  });
  const exited = new Promise<void>((r) => child.once('exit', () => r()));
  const end = async (signal: NodeJS.Signals) => {
    if (child.exitCode !== null || child.signalCode !== null) return;
    child.kill(signal);
    const hard = setTimeout(() => child.kill('SIGKILL'), 5_000);
    await exited;
    clearTimeout(hard);
    log.end();
  };
  return {
    address: `127.0.0.1:${port}`,
    port,
    clusterName,
    logFile,
    process: child,
    stop: () => end('SIGTERM'),
    kill: () => end('SIGKILL'),
  };
}
