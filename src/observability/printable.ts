/**
 * Text from files and payloads, made safe to print: terminal control characters (an
 * escape sequence in a scan's symbol could recolour, move or clear the operator's
 * terminal) are shown as `\u{1b}`-style escapes; tab and newline stay.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: matching control characters is the point
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f-\u009f\u2028\u2029\u202a-\u202e\u2066-\u2069]/g;

export function printable(text: string): string {
  return text.replace(CONTROL, (c) => `\\u{${c.charCodeAt(0).toString(16)}}`);
}
