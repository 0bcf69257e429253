/**
 * A reader for systemd unit files and Podman Quadlet files (.container, .pod, .volume).
 * Unlike INI readers it keeps repeated keys in order, because systemd allows them
 * (Environment=, Volume=, PublishPort=, After=) and an empty assignment resets the list.
 * Pure: text in, structure out; errors name the file and line.
 */

export interface UnitEntry {
  readonly section: string;
  readonly key: string;
  readonly value: string;
  readonly line: number;
}

export interface UnitFile {
  readonly name: string;
  readonly entries: readonly UnitEntry[];
  readonly sections: readonly string[];
}

export class UnitFileError extends Error {
  override name = 'UnitFileError';
}

const SECTION = /^\[([A-Za-z0-9 _.-]+)\]$/;
const KEY = /^[A-Za-z][A-Za-z0-9_-]*$/;

/** Joins backslash-continued lines; keeps the first line number of each logical line. */
function logicalLines(text: string): { text: string; line: number }[] {
  const out: { text: string; line: number }[] = [];
  let pending: { text: string; line: number } | undefined;
  text.split(/\r?\n/).forEach((raw, i) => {
    const isComment = /^\s*[#;]/.test(raw);
    if (pending && isComment) return; // systemd ignores comments inside a continuation
    const continues = !isComment && raw.endsWith('\\');
    const body = continues ? raw.slice(0, -1) : raw;
    if (pending) pending.text = `${pending.text.trimEnd()} ${body.trim()}`;
    else pending = { text: body, line: i + 1 };
    if (!continues) {
      out.push(pending);
      pending = undefined;
    }
  });
  if (pending) out.push(pending);
  return out;
}

export function parseUnitFile(text: string, name = 'unit file'): UnitFile {
  const entries: UnitEntry[] = [];
  const sections: string[] = [];
  let section: string | undefined;
  for (const { text: raw, line } of logicalLines(text)) {
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#') || trimmed.startsWith(';')) continue;
    const header = SECTION.exec(trimmed);
    if (header?.[1]) {
      section = header[1];
      if (!sections.includes(section)) sections.push(section);
      continue;
    }
    const eq = trimmed.indexOf('=');
    if (eq <= 0)
      throw new UnitFileError(`${name}:${line}: expected KEY=VALUE or [Section], got "${trimmed}"`);
    const key = trimmed.slice(0, eq).trim();
    if (!KEY.test(key)) throw new UnitFileError(`${name}:${line}: "${key}" is not a valid key name`);
    if (section === undefined)
      throw new UnitFileError(`${name}:${line}: "${key}=" appears before any [Section]`);
    entries.push({ section, key, value: trimmed.slice(eq + 1).trim(), line });
  }
  return { name, entries, sections };
}

/** Every value of a key in order; an empty assignment clears the earlier ones (systemd semantics). */
export function unitValues(unit: UnitFile, section: string, key: string): string[] {
  const values: string[] = [];
  for (const e of unit.entries) {
    if (e.section !== section || e.key !== key) continue;
    if (e.value === '') values.length = 0;
    else values.push(e.value);
  }
  return values;
}

/** The effective single value of a key (the last assignment wins), or undefined. */
export function unitValue(unit: UnitFile, section: string, key: string): string | undefined {
  return unitValues(unit, section, key).at(-1);
}
