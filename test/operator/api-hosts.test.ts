// The operator's allow-list of Rockset API hosts (OPERATOR_ALLOWED_API_HOSTS).
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiHostAllowed, hostNotAllowedMessage, parseAllowedHosts } from '../../operator/api-hosts.ts';

test('an empty list allows any host; a list allows exactly its hosts and the subdomains of *.domain', () => {
  assert.equal(apiHostAllowed('https://collector.example.net', []), true);
  const allowed = parseAllowedHosts(' *.rockset.com, api.internal.example ');
  assert.deepEqual(allowed, ['*.rockset.com', 'api.internal.example']);
  assert.equal(apiHostAllowed('https://api.usw2a1.rockset.com', allowed), true);
  assert.equal(apiHostAllowed('https://API.euc1a1.Rockset.com:443/', allowed), true);
  assert.equal(apiHostAllowed('https://api.internal.example:8443', allowed), true);
  assert.equal(apiHostAllowed('https://rockset.com', allowed), false, '*.domain is not the domain itself');
  assert.equal(apiHostAllowed('https://rockset.com.evil.example', allowed), false);
  assert.equal(apiHostAllowed('https://evilrockset.com', allowed), false);
  assert.equal(apiHostAllowed('https://x.api.internal.example', allowed), false, 'a plain host does not cover its subdomains');
  assert.equal(apiHostAllowed('not a url', allowed), false);
});

test('an entry with a scheme, port or path is refused naming it', () => {
  assert.throws(() => parseAllowedHosts('https://api.rockset.com'), /"https:\/\/api.rockset.com" is not a host name/);
  assert.throws(() => parseAllowedHosts('api.rockset.com:443'), /OPERATOR_ALLOWED_API_HOSTS/);
  assert.deepEqual(parseAllowedHosts(''), []);
  assert.deepEqual(parseAllowedHosts(undefined), []);
});

test('the message names the host and the chart value', () => {
  const m = hostNotAllowedMessage('https://collector.example.net/v1', ['*.rockset.com']);
  assert.match(m, /host collector\.example\.net is not among the API hosts this operator allows \(\*\.rockset\.com\)/);
  assert.match(m, /allowedApiHosts/);
});
