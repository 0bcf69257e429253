/**
 * The `pink tui` screen (ink). It polls a TuiSource every `refreshMs`, turns what was
 * published into a display model (model.ts) and draws it. Keys: p pause, r resume,
 * f flatten (each asks y/n, then sends through the `pink ctl` path and shows the
 * outcome record), q quit. A read-only source (another strategy's namespace) sends
 * nothing.
 */
import { Box, Text, useApp, useInput, useStdin } from 'ink';
import { type ReactNode, useEffect, useRef, useState } from 'react';
import {
  buildModel,
  CONTROL_KEYS,
  type CommandReport,
  type ControlType,
  type DecisionRow,
  decisionOf,
  describeReport,
  type ExecutionTable,
  type LinkState,
  mergeDecision,
  type PublishedTexts,
} from './model.js';
import type { Reading, TuiSource } from './source.js';

export interface DashboardProps {
  readonly source: TuiSource;
  readonly refreshMs: number;
  /** A heartbeat older than this is an alert, ms. */
  readonly staleAfterMs: number;
  /** A reading already taken (the command's not-found check), drawn before the first poll. */
  readonly initial?: Reading;
  readonly maxDecisions?: number;
  readonly now?: () => number;
  readonly onQuit?: () => void;
}

type CommandPanel =
  | { readonly phase: 'sending'; readonly type: ControlType }
  | { readonly phase: 'done'; readonly report: CommandReport }
  | { readonly phase: 'notice'; readonly text: string };

interface View {
  readonly reading: Reading | null;
  readonly published: PublishedTexts | null;
  readonly decisions: readonly DecisionRow[];
}

function absorb(v: View, r: Reading, max: number): View {
  if (r.kind !== 'state') return { ...v, reading: r };
  return {
    reading: r,
    published: r.texts,
    decisions: mergeDecision(v.decisions, decisionOf(r.texts.engineSnapshot), max),
  };
}

function linkOf(r: Reading | null): LinkState {
  if (!r || r.kind === 'state') return { ok: true };
  return { ok: false, kind: r.kind, message: r.message };
}

const KEY_TYPES = new Map(CONTROL_KEYS.map((k) => [k.key, k]));

function Section({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <Box flexDirection="column" marginTop={1}>
      <Text bold>{title}</Text>
      <Box flexDirection="column" marginLeft={2}>
        {children}
      </Box>
    </Box>
  );
}

/** Latency legs and slippage as a small fixed-width table; a line when nothing is published. */
function ExecutionRows({ table }: { table: ExecutionTable }) {
  if (table.rows.length === 0) return <Text>latency and slippage: not published</Text>;
  const width = Math.max(...table.rows.map((r) => r.what.length), 'latest orders'.length);
  const head = ['latest orders'.padEnd(width), 'unit'.padEnd(4), ...table.columns.map((c) => c.padStart(8))];
  return (
    <Box flexDirection="column">
      <Text bold>{head.join('  ')}</Text>
      {table.rows.map((r) => (
        <Text key={`${r.unit}:${r.what}`}>
          {[r.what.padEnd(width), r.unit.padEnd(4), ...r.cells.map((c) => c.padStart(8))].join('  ')}
        </Text>
      ))}
    </Box>
  );
}

export function Dashboard(props: DashboardProps) {
  const { source, refreshMs, staleAfterMs } = props;
  const maxDecisions = props.maxDecisions ?? 8;
  const now = props.now ?? Date.now;
  const { exit } = useApp();
  // ink reports stdin.isTTY, which is undefined (not false) for a pipe or /dev/null.
  const keysActive = useStdin().isRawModeSupported === true;
  const [view, setView] = useState<View>(() =>
    props.initial
      ? absorb({ reading: null, published: null, decisions: [] }, props.initial, maxDecisions)
      : { reading: null, published: null, decisions: [] },
  );
  const [prompt, setPrompt] = useState<ControlType | null>(null);
  const [panel, setPanel] = useState<CommandPanel | null>(null);
  const [kick, setKick] = useState(0);
  // Refs so two keys pressed before a re-render still see the latest state.
  const promptRef = useRef<ControlType | null>(null);
  const sendingRef = useRef(false);
  const mounted = useRef(true);

  useEffect(
    () => () => {
      mounted.current = false;
    },
    [],
  );

  // biome-ignore lint/correctness/useExhaustiveDependencies: kick restarts the poll loop (refresh now)
  useEffect(() => {
    let stopped = false;
    let timer: NodeJS.Timeout | null = null;
    const tick = async () => {
      let r: Reading;
      try {
        r = await source.read();
      } catch (err) {
        r = { kind: 'error', readAt: now(), where: null, message: (err as Error).message };
      }
      if (stopped) return;
      setView((v) => absorb(v, r, maxDecisions));
      timer = setTimeout(() => void tick(), refreshMs);
    };
    void tick();
    return () => {
      stopped = true;
      if (timer) clearTimeout(timer);
    };
  }, [source, refreshMs, maxDecisions, kick]);

  const setPromptNow = (p: ControlType | null) => {
    promptRef.current = p;
    setPrompt(p);
  };

  const send = async (type: ControlType) => {
    const control = source.control;
    if (!control) return;
    sendingRef.current = true;
    setPanel({ phase: 'sending', type });
    const report = await control(type).catch(
      (err: Error): CommandReport => ({ status: 'NOT_SENT', type, id: null, reason: err.message, lines: [] }),
    );
    sendingRef.current = false;
    if (!mounted.current) return;
    setPanel({ phase: 'done', report });
    setKick((k) => k + 1);
  };

  useInput(
    (input, key) => {
      if (input === 'q') {
        props.onQuit?.();
        exit();
        return;
      }
      const pending = promptRef.current;
      if (pending) {
        if (input === 'y' || input === 'Y') {
          setPromptNow(null);
          void send(pending);
        } else if (input === 'n' || input === 'N' || key.escape) {
          setPromptNow(null);
          setPanel({ phase: 'notice', text: `${pending} cancelled: nothing sent` });
        }
        return;
      }
      const k = KEY_TYPES.get(input);
      if (!k) return;
      if (!source.control) {
        setPanel({
          phase: 'notice',
          text: `read-only: ${k.type} not sent (${source.ns.strategy} cannot be controlled from PINK)`,
        });
        return;
      }
      if (sendingRef.current) {
        setPanel({
          phase: 'notice',
          text: `a command is in flight; wait for its outcome before sending ${k.type}`,
        });
        return;
      }
      setPromptNow(k.type);
    },
    { isActive: keysActive },
  );

  const reading = view.reading;
  const m = buildModel({
    strategy: source.ns.strategy,
    stateMap: source.ns.stateMap,
    pnlMap: source.ns.pnlMap,
    commandQueue: source.ns.commandQueue,
    readOnly: source.control === null,
    where: reading?.where ?? null,
    published: view.published,
    link: linkOf(reading),
    now: reading?.readAt ?? now(),
    staleAfterMs,
    decisions: view.decisions,
  });
  const waiting = reading === null;
  const promptInfo = prompt ? CONTROL_KEYS.find((c) => c.type === prompt) : undefined;

  return (
    <Box flexDirection="column">
      <Text bold color="magenta">
        {m.title}
      </Text>
      <Text>
        source {m.where} refresh {refreshMs} ms {waiting ? '(reading...)' : `link ${m.connection}`}
      </Text>
      {m.readOnlyNotice ? <Text color="yellow">{m.readOnlyNotice}</Text> : null}
      <Text>
        posture <Text bold>{m.posture}</Text>
        {m.paused ? ' (paused)' : ''} stage <Text bold>{m.stage}</Text> venue {m.venue} algorithm{' '}
        {m.algorithm} heartbeat {m.heartbeat}
      </Text>

      <Section title={`ALERTS (${m.alerts.length})`}>
        {m.alerts.length === 0 ? <Text color="greenBright">none</Text> : null}
        {m.alerts.map((a) => (
          <Text key={`${a.code}:${a.text}`} color={a.level === 'critical' ? 'red' : 'yellow'}>
            {a.level === 'critical' ? '!! ' : '!  '}
            {a.text}
          </Text>
        ))}
      </Section>

      <Section title="POSITION (published slot; the venue is the source of truth)">
        {m.position.map((l) => (
          <Text key={l}>{l}</Text>
        ))}
        <Text>
          pending orders {m.pendingOrders} last scan {m.lastScan}
        </Text>
      </Section>

      <Section title="CAPITAL">
        {m.capital.map((l) => (
          <Text key={l}>{l}</Text>
        ))}
        <Text>{m.roi}</Text>
        {m.today ? <Text>{m.today}</Text> : null}
      </Section>

      <Section title="EXECUTION AND DATA">
        <ExecutionRows table={m.execution} />
        {m.dataRates.map((l) => (
          <Text key={l}>{l}</Text>
        ))}
      </Section>

      <Section title="HEALTH">
        {m.components.length === 0 ? <Text>no component health published</Text> : null}
        {m.components.map((c) => (
          <Text key={c.name}>
            <Text color={c.ok === false ? 'red' : c.ok ? 'greenBright' : undefined}>
              {c.ok === false ? 'FAIL' : c.ok ? 'OK  ' : '    '}
            </Text>{' '}
            {c.name.padEnd(14)} {c.detail}
          </Text>
        ))}
      </Section>

      <Section title="DECISIONS (newest first, as seen by this dashboard)">
        {m.decisions.length === 0 ? <Text>-</Text> : null}
        {m.decisions.map((d, i) => (
          // biome-ignore lint/suspicious/noArrayIndexKey: decisions may repeat verbatim
          <Text key={`${i}:${d}`}>{d}</Text>
        ))}
      </Section>

      <Box flexDirection="column" marginTop={1}>
        {prompt && promptInfo ? (
          <Text color="cyan" bold>
            Send {prompt} to {source.ns.commandQueue}? ({promptInfo.effect}) [y/n]
          </Text>
        ) : null}
        {panel?.phase === 'sending' ? (
          <Text color="cyan">sending {panel.type}; waiting for its outcome...</Text>
        ) : null}
        {panel?.phase === 'done' ? (
          <Box flexDirection="column">
            <Text color={panel.report.status === 'APPLIED' ? 'greenBright' : 'red'}>
              outcome: {describeReport(panel.report)}
            </Text>
            {panel.report.status === 'APPLIED' && panel.report.type === 'FLATTEN' ? (
              <Text>the position stays on screen until the runtime publishes it closed</Text>
            ) : null}
          </Box>
        ) : null}
        {panel?.phase === 'notice' ? <Text color="yellow">{panel.text}</Text> : null}
        <Text dimColor>
          {source.control
            ? `${CONTROL_KEYS.map((k) => `[${k.key}] ${k.label}`).join('  ')}  [q] quit`
            : '[q] quit (read-only: no control keys)'}
          {keysActive ? '' : '  (keys disabled: stdin is not a terminal)'}
        </Text>
      </Box>
    </Box>
  );
}
