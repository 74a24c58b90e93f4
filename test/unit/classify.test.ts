// classifyResponse / classifyError / isRetriableDocError: what a Write API
// answer (or the lack of one) makes the sink do.
import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { errors as undiciErrors } from 'undici';
import { classifyError, classifyResponse, isRetriableDocError, type WriteOutcome } from '../../sink/rockset/classify.ts';

const results = (n: number) => JSON.stringify({ data: Array.from({ length: n }, (_, i) => ({ _id: `d${i}`, status: 'ADDED', error: null })) });
const errorModel = (message: string, message_key?: string, type = 'INVALIDINPUT') => JSON.stringify({ message, message_key, type });

function as<T extends WriteOutcome['type']>(o: WriteOutcome, type: T): Extract<WriteOutcome, { type: T }> {
  assert.equal(o.type, type, `expected ${type}, got ${JSON.stringify(o)}`);
  return o as Extract<WriteOutcome, { type: T }>;
}

describe('classifyResponse: 2xx', () => {
  test('200 with one result per document -> ok with those results', () => {
    const ok = as(classifyResponse(200, results(3), undefined, 3), 'ok');
    assert.deepEqual(ok.results.map((r) => r._id), ['d0', 'd1', 'd2']);
  });

  test('per-document ERRORs inside a 200 are still returned for the caller to see', () => {
    const body = JSON.stringify({ data: [{ _id: 'a', status: 'ADDED', error: null }, { _id: 'b', status: 'ERROR', error: { type: 'INVALIDINPUT', message: 'bad field' } }] });
    const ok = as(classifyResponse(200, body, undefined, 2), 'ok');
    assert.equal(ok.results[1]?.status, 'ERROR');
    assert.equal(ok.results[1]?.error?.message, 'bad field');
  });

  test('201 is a success too', () => {
    as(classifyResponse(201, results(1), undefined, 1), 'ok');
  });

  const retries: { name: string; body: string; expected: number; mentions: string }[] = [
    { name: 'fewer results than documents', body: results(2), expected: 3, mentions: '2 results for 3 documents' },
    { name: 'more results than documents', body: results(4), expected: 3, mentions: '4 results for 3 documents' },
    { name: 'non-JSON body', body: '<html>ok</html>', expected: 1, mentions: 'no results for 1 documents' },
    { name: 'empty body', body: '', expected: 1, mentions: 'no results' },
    { name: 'JSON without data', body: '{}', expected: 1, mentions: 'no results' },
    { name: 'data that is not an array', body: '{"data":{}}', expected: 1, mentions: 'no results' },
    { name: 'a null result', body: '{"data":[{"_id":"a","status":"ADDED","error":null},null]}', expected: 2, mentions: 'result 1 is null' },
    { name: 'a number for a result', body: '{"data":[0]}', expected: 1, mentions: 'result 0 is 0' },
    { name: 'a string for a result', body: '{"data":["ADDED"]}', expected: 1, mentions: 'result 0 is "ADDED"' },
    { name: 'an array for a result', body: '{"data":[[]]}', expected: 1, mentions: 'result 0 is []' },
    { name: 'a result without a status', body: '{"data":[{"_id":"a"}]}', expected: 1, mentions: 'not a document result' },
  ];
  for (const c of retries) {
    test(`200 with ${c.name} -> retry (bad-response)`, () => {
      const r = as(classifyResponse(200, c.body, undefined, c.expected), 'retry');
      assert.equal(r.cause, 'bad-response');
      assert.ok(r.message.includes(c.mentions), r.message);
    });
  }
});

describe('classifyResponse: errors', () => {
  test('429 -> retry rate-limited, carrying Retry-After', () => {
    const r = as(classifyResponse(429, errorModel('Rate limit exceeded', undefined, 'RATELIMITEXCEEDED'), 2500, 10), 'retry');
    assert.equal(r.cause, 'rate-limited');
    assert.equal(r.afterMs, 2500);
    assert.ok(r.message.includes('HTTP 429') && r.message.includes('Rate limit exceeded'), r.message);
  });

  test('429 without Retry-After -> retry with no afterMs', () => {
    assert.equal(as(classifyResponse(429, '', undefined, 1), 'retry').afterMs, undefined);
  });

  const serverErrors: { status: number; body: string; mentions: string }[] = [
    { status: 500, body: errorModel('internal error', undefined, 'INTERNALERROR'), mentions: 'internal error' },
    { status: 502, body: '<html>\n  <head><title>502 Bad Gateway</title></head>\n  <body>nginx</body>\n</html>', mentions: 'HTTP 502: <html> <head><title>502 Bad Gateway' },
    { status: 503, body: 'upstream connect error', mentions: 'upstream connect error' },
    { status: 504, body: '', mentions: '(empty body)' },
    { status: 408, body: 'Request Timeout', mentions: 'HTTP 408' },
  ];
  for (const c of serverErrors) {
    test(`${c.status} -> retry server-error`, () => {
      const r = as(classifyResponse(c.status, c.body, 1000, 5), 'retry');
      assert.equal(r.cause, 'server-error');
      assert.equal(r.afterMs, 1000);
      assert.ok(r.message.includes(c.mentions), r.message);
    });
  }

  test('a long HTML error page is cut to a readable message', () => {
    const r = as(classifyResponse(502, `<html>${'x'.repeat(5000)}</html>`, undefined, 1), 'retry');
    assert.ok(r.message.length < 300, `message length ${r.message.length}`);
  });

  const splits: { name: string; status: number; body: string }[] = [
    { name: '413', status: 413, body: '<html>Request Entity Too Large</html>' },
    { name: '413 with no body', status: 413, body: '' },
    { name: '400 RECEIVER_REQUEST_MAX_DOCUMENT_LIMIT', status: 400, body: errorModel('The number of documents specified in this request exceeds the maximum allowed limit of 20,000 documents.', 'RECEIVER_REQUEST_MAX_DOCUMENT_LIMIT') },
  ];
  for (const c of splits) {
    test(`${c.name} -> split`, () => {
      const s = as(classifyResponse(c.status, c.body, undefined, 30_000), 'split');
      assert.ok(s.message.includes(`HTTP ${c.status}`), s.message);
    });
  }

  test('400 for another reason -> fatal with the ErrorModel message', () => {
    const f = as(classifyResponse(400, errorModel('Could not parse request body', 'INVALID_JSON'), undefined, 1), 'fatal');
    assert.equal(f.status, 400);
    assert.ok(f.message.includes('Could not parse request body'), f.message);
    assert.ok(f.message.includes('INVALID_JSON'), f.message);
  });

  test('400 that merely mentions a "limit" parameter is not a size problem', () => {
    assert.equal(classifyResponse(400, errorModel('Invalid value for parameter limit'), undefined, 2).type, 'fatal');
  });

  const fatals: { status: number; message: string; hints: string[] }[] = [
    { status: 401, message: 'Invalid API key', hints: ['API key', 'Secret', 'ROCKSET_API_KEY'] },
    { status: 403, message: 'Forbidden: missing privilege', hints: ['API key', 'write access'] },
    { status: 404, message: 'Collection orders does not exist in workspace commons', hints: ['collection', 'rockset.collection'] },
  ];
  for (const c of fatals) {
    test(`${c.status} -> fatal with a hint and the ErrorModel message`, () => {
      const f = as(classifyResponse(c.status, errorModel(c.message, undefined, 'AUTHEXCEPTION'), undefined, 1), 'fatal');
      assert.equal(f.status, c.status);
      assert.ok(f.message.includes(c.message), f.message);
      assert.ok(f.message.includes(`HTTP ${c.status}`), f.message);
      for (const h of c.hints) assert.ok(f.message.includes(h), `${JSON.stringify(f.message)} should mention ${h}`);
    });
  }

  test('401 names where the key came from when the sink is told (a RocksetSink: its Secret reference)', () => {
    const source = 'spec.rockset.apiKeySecretRef (Secret rockset-api-key, key api-key)';
    const f = as(classifyResponse(401, errorModel('Invalid API key', undefined, 'AUTHEXCEPTION'), undefined, 1, source), 'fatal');
    assert.ok(f.message.endsWith(`(the API key was refused: check ${source})`), f.message);
    assert.ok(!f.message.includes('ROCKSET_API_KEY') && !f.message.includes('apiKeyFile'), f.message);
  });

  test('404 with a non-JSON body still gets the hint', () => {
    const f = as(classifyResponse(404, 'Not Found', undefined, 1), 'fatal');
    assert.ok(f.message.includes('Not Found') && f.message.includes('collection'), f.message);
  });

  test('another 4xx (409) -> fatal without a hint', () => {
    const f = as(classifyResponse(409, errorModel('conflict'), undefined, 1), 'fatal');
    assert.equal(f.status, 409);
    assert.ok(f.message.includes('conflict'));
  });
});

describe('classifyError', () => {
  const withCode = (code: string, message = `boom ${code}`) => Object.assign(new Error(message), { code });
  const cases: { name: string; err: unknown; cause: 'connection' | 'timeout' }[] = [
    { name: 'undici SocketError (UND_ERR_SOCKET)', err: new undiciErrors.SocketError('other side closed'), cause: 'connection' },
    { name: 'ECONNRESET', err: withCode('ECONNRESET', 'read ECONNRESET'), cause: 'connection' },
    { name: 'ECONNREFUSED', err: withCode('ECONNREFUSED', 'connect ECONNREFUSED 127.0.0.1:1'), cause: 'connection' },
    { name: 'ENOTFOUND', err: withCode('ENOTFOUND'), cause: 'connection' },
    { name: 'fetch TypeError with an ECONNRESET cause', err: new TypeError('fetch failed', { cause: withCode('ECONNRESET') }), cause: 'connection' },
    { name: 'undici HeadersTimeoutError (UND_ERR_HEADERS_TIMEOUT)', err: new undiciErrors.HeadersTimeoutError(), cause: 'timeout' },
    { name: 'undici BodyTimeoutError', err: new undiciErrors.BodyTimeoutError(), cause: 'timeout' },
    { name: 'undici ConnectTimeoutError', err: new undiciErrors.ConnectTimeoutError(), cause: 'timeout' },
    { name: 'a bare string', err: 'weird', cause: 'connection' },
    { name: 'an unknown error', err: new Error('something odd'), cause: 'connection' },
  ];
  for (const c of cases) {
    test(`${c.name} -> retry ${c.cause}`, () => {
      const r = as(classifyError(c.err), 'retry');
      assert.equal(r.cause, c.cause);
      assert.equal(r.afterMs, undefined);
      assert.ok(r.message.length > 0);
    });
  }

  test("AbortSignal.timeout's TimeoutError -> retry timeout", async () => {
    const signal = AbortSignal.timeout(1);
    await new Promise((resolve) => setTimeout(resolve, 20));
    assert.ok(signal.aborted);
    assert.equal((signal.reason as Error).name, 'TimeoutError');
    assert.equal(as(classifyError(signal.reason), 'retry').cause, 'timeout');
  });

  const tlsCases: { name: string; err: unknown }[] = [
    { name: 'a self-signed certificate', err: withCode('DEPTH_ZERO_SELF_SIGNED_CERT', 'self-signed certificate') },
    { name: 'an unknown issuer', err: withCode('UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'unable to verify the first certificate') },
    { name: 'a certificate for another host', err: withCode('ERR_TLS_CERT_ALTNAME_INVALID', "Hostname/IP does not match certificate's altnames") },
    { name: 'an expired certificate', err: withCode('CERT_HAS_EXPIRED', 'certificate has expired') },
    { name: 'a self-signed certificate as a fetch cause', err: new TypeError('fetch failed', { cause: withCode('SELF_SIGNED_CERT_IN_CHAIN') }) },
  ];
  for (const c of tlsCases) {
    test(`${c.name} -> fatal TlsFailed naming the host and the fix`, () => {
      const r = as(classifyError(c.err, 'api.example.test'), 'fatal');
      assert.equal(r.reason, 'TlsFailed');
      assert.match(r.message, /api\.example\.test/);
      assert.match(r.message, /NODE_EXTRA_CA_CERTS/);
    });
  }

  test('the message names the code and the error text', () => {
    const r = as(classifyError(withCode('ECONNREFUSED', 'connect ECONNREFUSED 10.0.0.1:443')), 'retry');
    assert.ok(r.message.includes('ECONNREFUSED') && r.message.includes('10.0.0.1:443'), r.message);
    assert.ok(as(classifyError(new Error('something odd')), 'retry').message.includes('something odd'));
  });
});

describe('isRetriableDocError', () => {
  const cases: { error: { type?: string; message?: string } | null; want: boolean }[] = [
    { error: null, want: false },
    { error: { type: 'INTERNALERROR' }, want: true },
    { error: { type: 'NOT_READY' }, want: true },
    { error: { type: 'SERVICEUNAVAILABLE' }, want: true },
    { error: { type: 'RESOURCEEXCEEDED' }, want: true },
    { error: { type: 'RATELIMITEXCEEDED' }, want: true },
    { error: { type: 'CONNECTION_ERROR' }, want: true },
    { error: { type: 'CREATING' }, want: true },
    { error: { type: 'QUERY_TIMEOUT' }, want: true },
    { error: { type: 'INVALIDINPUT', message: 'bad' }, want: false },
    { error: { type: 'internalerror' }, want: false },
    { error: { message: 'no type' }, want: false },
    { error: {}, want: false },
  ];
  for (const c of cases) {
    test(`${JSON.stringify(c.error)} -> ${c.want}`, () => assert.equal(isRetriableDocError(c.error), c.want));
  }
});
