/**
 * The plain scan-line reader (plain-scan-text.ts) is only an accelerator: whatever it
 * accepts it must read exactly as JSON.parse does (every number to the bit, -0 included),
 * and whatever JSON.parse or the line checks would refuse or read differently it must
 * decline. The packer with it and the packer without it must pack every batch the same.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { PlainScanText } from '../src/adapters/files/plain-scan-text.js';
import { LazyScanLine } from '../src/adapters/files/scan-lines.js';
import { ScanPacker } from '../src/adapters/files/scan-pack.js';
import { sameValue } from './support/same-value.js';

const digits = (min: number, max: number) =>
  fc.array(fc.integer({ min: 0, max: 9 }), { minLength: min, maxLength: max }).map((d) => d.join(''));
/** JSON number lexemes of every shape: long mantissas, tiny and huge exponents, zeros. */
const lexeme = fc
  .tuple(
    fc.boolean(),
    fc.oneof(
      fc.constant('0'),
      fc.tuple(fc.integer({ min: 1, max: 9 }), digits(0, 22)).map(([a, b]) => `${a}${b}`),
    ),
    fc.option(digits(1, 24)),
    fc.option(fc.tuple(fc.constantFrom('e', 'E'), fc.constantFrom('', '+', '-'), digits(1, 4))),
  )
  .map(
    ([neg, int, frac, exp]) =>
      `${neg ? '-' : ''}${int}${frac === null ? '' : `.${frac}`}${exp === null ? '' : exp.join('')}`,
  );
const notNumbers = [
  '01',
  '1.',
  '.5',
  '+1',
  '-',
  '1e',
  '1e+',
  'NaN',
  'Infinity',
  '-Infinity',
  '0x10',
  '1_0',
  '--1',
  '1.e3',
];

const line = (price: string, velDiv = '0', ts = '1') =>
  `{"ts":${ts},"scan":7,"vel_div":${velDiv},"vol_ok":true,"assets":{"A":{"price":${price},"irp":0}}}`;

describe('plain scan text', () => {
  it('reads every JSON number lexeme to the same double JSON.parse gives (property)', () => {
    const p = new PlainScanText();
    fc.assert(
      fc.property(lexeme, (lex) => {
        expect(p.read(line(lex, lex))).toBe(true);
        expect(Object.is(p.price[0], JSON.parse(lex))).toBe(true);
        expect(Object.is(p.velDiv, JSON.parse(lex))).toBe(true);
      }),
      { numRuns: 5000 },
    );
    for (const lex of [
      '-0',
      '-0.0',
      '0e5',
      '5e-324',
      '1.7976931348623157e308',
      '1e400',
      '-1e400',
      '1e22',
      '1e23',
      '9007199254740993',
      '0.1',
      '123456789012345678901234567890',
    ])
      expect([lex, p.read(line(lex)) && Object.is(p.price[0], JSON.parse(lex))]).toEqual([lex, true]);
  });

  it('declines what is not JSON, and ts or scan written with a fraction or exponent', () => {
    const p = new PlainScanText();
    for (const bad of notNumbers) {
      expect(() => JSON.parse(line(bad))).toThrow();
      expect([bad, p.read(line(bad))]).toEqual([bad, false]);
    }
    for (const ts of ['1.0', '1e3', '10E-1', '-2.5'])
      expect([ts, p.read(line('1', '0', ts))]).toEqual([ts, false]);
    expect(p.read(line('1', '0', '-12'))).toBe(true);
    expect(p.ts).toBe(-12);
  });

  it('reads the keys JSON allows whitespace around (json.dumps writes ", " and ": ")', () => {
    const p = new PlainScanText();
    const text =
      ' { "ts" : 5 ,\t"scan": 6, "vel_div": -0.25, "vol_ok": false, "assets": {"BTCUSDT": {"price": 1.5, "irp": 2}, "ETHUSDT": {"price": 3, "irp": -1e-3}} } \r';
    expect(p.read(text)).toBe(true);
    expect([p.ts, p.scan, p.velDiv, p.volOk, p.count]).toEqual([5, 6, -0.25, false, 2]);
    expect(text.slice(p.symbolStart[1], p.symbolEnd[1])).toBe('ETHUSDT');
    expect([p.price[1], p.irp[1]]).toEqual([3, -0.001]);
    expect(p.read('{"ts":1,"scan":1,"vel_div":0,"vol_ok":true,"assets":{}}')).toBe(true);
    expect(p.count).toBe(0);
  });

  it('declines every other shape', () => {
    const p = new PlainScanText();
    const ok = line('1');
    expect(p.read(ok)).toBe(true);
    for (const bad of [
      ok.replace('"A"', '"A\\u0042"'), // an escape
      ok.replace('"A"', '"123"'), // an array index: JSON.parse lists it first
      ok.replace('"A"', '""'),
      ok.replace('"A"', '"A\tB"'), // a control character JSON refuses
      ok.replace('"vol_ok":true', '"vol_ok":1'),
      ok.replace('"vol_ok":true', '"vol_ok":truex'),
      ok.replace('"price":1,"irp":0', '"irp":0,"price":1'),
      ok.replace('"irp":0', '"irp":0,"x":1'),
      ok.replace('"ts":1,', '"ts":1,"ts":1,'),
      ok.replace('{"ts"', '{"x":0,"ts"'),
      `${ok}x`,
      `${ok}}`,
      ok.slice(0, -1),
      `\ufeff${ok}`,
      ok.replace('"assets":{', '"assets":['),
    ]) {
      expect([bad, p.read(bad)]).toEqual([bad, false]);
    }
    for (let cut = 0; cut < ok.length; cut++) expect(p.read(ok.slice(0, cut))).toBe(false);
  });
});

const symbol = fc.constantFrom('BTCUSDT', 'ETHUSDT', 'SOLUSDT', '1000PEPEUSDT', '__proto__', '7', 'é', 'X');
const spaces = fc.constantFrom('', ' ', '  ', '\t');
/** Scan lines as JSON.stringify or json.dumps write them, with edits that make them not quite canonical. */
const scanLine = fc
  .tuple(
    fc.integer(),
    fc.integer({ min: 0, max: 1e9 }),
    lexeme,
    fc.boolean(),
    fc.array(fc.tuple(symbol, lexeme, lexeme), { maxLength: 5 }),
    spaces,
  )
  .map(([ts, scan, velDiv, volOk, assets, s]) => {
    const body = assets.map(
      ([sym, price, irp]) => `"${sym}":${s}{"price":${s}${price},${s}"irp":${s}${irp}}`,
    );
    return `{"ts":${s}${ts},${s}"scan":${s}${scan},${s}"vel_div":${s}${velDiv},${s}"vol_ok":${s}${volOk},${s}"assets":${s}{${body.join(`,${s}`)}}}`;
  });
const edited = fc.oneof(
  { weight: 6, arbitrary: scanLine },
  { weight: 1, arbitrary: fc.tuple(scanLine, fc.nat()).map(([l, n]) => l.slice(0, n % (l.length + 1))) },
  {
    weight: 1,
    arbitrary: fc.tuple(scanLine, fc.nat(), fc.string({ maxLength: 2 })).map(([l, n, x]) => {
      const at = n % (l.length + 1);
      return l.slice(0, at) + x + l.slice(at);
    }),
  },
);

describe('the packer with the plain reader', () => {
  it('packs every batch exactly as the packer that parses every line (property)', () => {
    fc.assert(
      fc.property(fc.array(fc.array(edited, { maxLength: 10 }), { maxLength: 5 }), (batches) => {
        const fast = new ScanPacker(8);
        const reference = new ScanPacker(8, false);
        let lineNo = 0;
        for (const texts of batches) {
          const lines = texts.map((text) => ({ lineNo: ++lineNo, text }));
          const a = fast.pack(lines, 0);
          const b = reference.pack(lines, 0);
          expect(a.texts).toEqual(b.texts);
          expect(a.symbols).toEqual(b.symbols);
          expect(a.numbers.length).toBe(b.numbers.length);
          a.numbers.forEach((v, i) => {
            if (!Object.is(v, b.numbers[i]))
              throw new Error(`number ${i}: ${v} != ${b.numbers[i]} in ${texts.join('\n')}`);
          });
        }
      }),
      { numRuns: 1000 },
    );
  });
});

describe('the decision thread reader with the plain reader', () => {
  it('gives every line the value and the parse error JSON.parse and the line checks give (property)', () => {
    const plain = new PlainScanText();
    fc.assert(
      fc.property(fc.array(edited, { maxLength: 10 }), (texts) => {
        texts.forEach((text, i) => {
          const fast = new LazyScanLine(i + 1, text, plain);
          const reference = new LazyScanLine(i + 1, text);
          expect(fast.parseError).toBe(reference.parseError);
          const value = fast.value;
          if (!sameValue(value, reference.value)) throw new Error(`${text}: ${JSON.stringify(value)}`);
          // Read again, the same (the line is parsed again: its value is not kept).
          if (!sameValue(fast.value, value)) throw new Error(`${text}: read twice, not the same`);
        });
      }),
      { numRuns: 1000 },
    );
  });
});
