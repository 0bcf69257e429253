import ccxt from 'ccxt';
import { describe, expect, it } from 'vitest';
import {
  BINGX_CODE_TABLE,
  bingxBodyIn,
  classifyBingxCode,
  classifyError,
  classifyHttpStatus,
} from '../src/adapters/bingx/errors.js';

const body = (code: number, msg = '') => `bingx {"code":${code},"msg":"${msg}","data":{}}`;

describe('BingX error outcomes', () => {
  it('a BingX code in a ccxt error wins over the ccxt class', () => {
    expect(classifyError(new ccxt.InsufficientFunds(body(101204, 'Insufficient margin')))).toEqual({
      outcome: 'rejected',
      code: '101204',
      reason: 'InsufficientFunds (insufficient margin): Insufficient margin',
    });
    // ccxt maps 109201 to nothing (ExchangeError); the table knows it is a duplicate id
    expect(classifyError(new ccxt.ExchangeError(body(109201)))).toMatchObject({
      outcome: 'rejected',
      code: '109201',
    });
    expect(classifyError(new ccxt.ExchangeError(body(101500)))).toMatchObject({ outcome: 'unknown' });
    expect(classifyError(new ccxt.OperationFailed(body(100410)))).toMatchObject({ outcome: 'retryable' });
    expect(classifyError(new ccxt.AuthenticationError(body(100001)))).toMatchObject({ outcome: 'fatal' });
  });

  it('without a body the ccxt class decides: network and rate limits retry, timeouts are unknown, auth is fatal', () => {
    const cases: Array<[Error, string]> = [
      [new ccxt.RequestTimeout('bingx POST http://127.0.0.1/x request timed out (1500 ms)'), 'unknown'],
      [new ccxt.NetworkError('fetch failed'), 'retryable'],
      [new ccxt.RateLimitExceeded('slow down'), 'retryable'],
      [new ccxt.DDoSProtection('429'), 'retryable'],
      [new ccxt.ExchangeNotAvailable('503'), 'retryable'],
      [new ccxt.OnMaintenance('maintenance'), 'retryable'],
      [new ccxt.AuthenticationError('bad key'), 'fatal'],
      [new ccxt.PermissionDenied('no trade permission'), 'fatal'],
      [new ccxt.AccountSuspended('suspended'), 'fatal'],
      [new ccxt.InsufficientFunds('poor'), 'rejected'],
      [new ccxt.InvalidOrder('bad order'), 'rejected'],
      [new ccxt.OrderNotFound('gone'), 'rejected'],
      [new ccxt.BadRequest('bad'), 'rejected'],
      [new ccxt.BadSymbol('XYZ'), 'rejected'],
      [new Error('something else'), 'unknown'],
    ];
    for (const [err, outcome] of cases)
      expect([err.constructor.name, classifyError(err).outcome]).toEqual([err.constructor.name, outcome]);
    expect(classifyError(new ccxt.NetworkError('fetch failed'))).toMatchObject({ code: 'NetworkError' });
  });

  it('agrees with ccxt on every numeric code ccxt knows for BingX, except two deliberate choices', () => {
    // ccxt calls both ExchangeError; the BingX docs say 500 is transient and 504 means "re-check the order".
    const deliberate: Record<string, string> = { '500': 'retryable', '504': 'unknown' };
    const exact = new ccxt.bingx().exceptions.exact as Record<string, new (m: string) => Error>;
    const numeric = Object.entries(exact).filter(([code]) => /^\d+$/.test(code));
    expect(numeric.length).toBeGreaterThan(20);
    for (const [code, Cls] of numeric) {
      const expected = deliberate[code] ?? classifyError(new Cls('no body')).outcome;
      expect([code, classifyBingxCode(code).outcome]).toEqual([code, expected]);
    }
  });

  it('unknown codes are rejections that still carry the code and message', () => {
    expect(classifyBingxCode(123456, 'odd')).toEqual({
      outcome: 'rejected',
      code: '123456',
      reason: 'ExchangeError (BingX code 123456): odd',
    });
    expect(Object.values(BINGX_CODE_TABLE).every((r) => r.name.length > 0)).toBe(true);
  });

  it('HTTP statuses and body extraction', () => {
    expect(classifyHttpStatus(429)).toMatchObject({ outcome: 'retryable', code: 'http429' });
    expect(classifyHttpStatus(504)).toMatchObject({ outcome: 'unknown' });
    expect(classifyHttpStatus(418)).toMatchObject({ outcome: 'fatal' });
    expect(classifyHttpStatus(302)).toBeNull();
    expect(bingxBodyIn('bingx {"code":"0","msg":""}')).toBeNull();
    expect(bingxBodyIn('bingx not json {')).toBeNull();
    expect(bingxBodyIn('bingx {"code":"80016","msg":"order not exist"}')).toEqual({
      code: '80016',
      msg: 'order not exist',
    });
  });
});
