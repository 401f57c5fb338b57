// End-to-end test of the Node.js client against a real contactsd on its
// embedded emulator. The binary comes from CONTACTSD_BIN, or is built with
// `go build` into a temporary folder.

import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { once } from 'node:events';
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import readline from 'node:readline';
import { fileURLToPath } from 'node:url';

import { ERROR_DOMAIN, decodeStatusDetails, makeClient, status } from '../client.js';

const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');

let tmpDir;
let server; // the contactsd child process
let serverLog = []; // its stderr lines, for failure messages
let client;

function contactsdBinary() {
  if (process.env.CONTACTSD_BIN) return process.env.CONTACTSD_BIN;
  tmpDir = mkdtempSync(path.join(os.tmpdir(), 'contactsd-node-test-'));
  const bin = path.join(tmpDir, 'contactsd');
  const built = spawnSync('go', ['build', '-o', bin, './cmd/contactsd'], { cwd: repoRoot, encoding: 'utf8' });
  if (built.error) throw new Error(`go build: ${built.error.message} (set CONTACTSD_BIN to a built contactsd instead)`);
  if (built.status !== 0) throw new Error(`go build ./cmd/contactsd failed:\n${built.stderr}`);
  return bin;
}

// startServer starts contactsd on a free port and resolves with its address
// once it logs that it serves; it rejects if the process ends first.
function startServer(bin) {
  server = spawn(bin, ['-listen', '127.0.0.1:0'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const lines = readline.createInterface({ input: server.stderr });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.once('exit', (code, signal) =>
      reject(new Error(`contactsd exited (${code ?? signal}) before serving:\n${serverLog.join('\n')}`)));
    lines.on('line', (line) => {
      serverLog.push(line);
      const m = /msg="serving contacts\.v1\.ContactsService".* listen=(\S+)/.exec(line);
      if (m) resolve(m[1]);
    });
  });
}

function contact(overrides = {}) {
  return {
    profiles: ['PROFILE_TYPE_GENERAL'],
    contactPerson: { name: 'Eva Bakker', languageCode: 'nl', jobTitle: 'JOB_TITLE_OWNER' },
    phones: [{ phoneNumber: '+31201112233', phoneTechType: 'PHONE_TECH_TYPE_MOBILE' }],
    email: 'eva.bakker@example.com',
    ...overrides,
  };
}

// rejection awaits a call that must fail and returns its error.
async function rejection(promise) {
  try {
    await promise;
  } catch (err) {
    return err;
  }
  assert.fail('the call succeeded; want an error');
}

before(async () => {
  const address = await startServer(contactsdBinary());
  client = makeClient(address, { insecure: true });
}, { timeout: 180_000 });

after(async () => {
  client?.close();
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = once(server, 'exit');
    server.kill('SIGTERM');
    const [code, signal] = await exited;
    assert.equal(code, 0, `contactsd exit ${code ?? signal} after SIGTERM:\n${serverLog.join('\n')}`);
  }
  if (tmpDir) rmSync(tmpDir, { recursive: true, force: true });
});

describe('contacts.v1.ContactsService from Node.js', () => {
  test('ListContacts on the demo property returns its 2 contacts', async () => {
    const resp = await client.listContacts({ propertyId: '1000001' });
    assert.equal(resp.contacts.length, 2);
    const [general] = resp.contacts;
    assert.equal(general.contactPerson.name, 'Anna de Vries');
    assert.deepEqual(general.profiles, ['PROFILE_TYPE_GENERAL', 'PROFILE_TYPE_INVOICES']);
    assert.equal(general.phones[0].phoneTechType, 'PHONE_TECH_TYPE_LANDLINE');
    assert.match(resp.requestId, /^\S+$/);
  });

  test('an invalid ReplaceContacts is INVALID_ARGUMENT with ErrorInfo and BadRequest', async () => {
    const err = await rejection(
      client.replaceContacts({ propertyId: '1000001', contacts: [contact({ phones: [], email: 'not-an-email' })] }),
    );
    assert.equal(err.code, status.INVALID_ARGUMENT);
    const st = decodeStatusDetails(err);
    assert.equal(st.code, 3);
    assert.equal(st.errorInfo.domain, ERROR_DOMAIN);
    assert.equal(st.errorInfo.reason, 'REQUIRED_FIELD_MISSING');
    assert.equal(st.otaCode, '321');
    assert.equal(st.errorInfo.metadata.otaCodes, '321,320');
    assert.equal(st.errorInfo.metadata.propertyId, '1000001');
    assert.deepEqual(st.fieldViolations.map((v) => v.field), ['contacts[0].phones', 'contacts[0].email']);
    assert.deepEqual(st.fieldViolations.map((v) => v.reason), ['REQUIRED_FIELD_MISSING', 'INVALID_VALUE']);
    assert.ok(st.fieldViolations.every((v) => v.description !== ''), 'every violation says what is wrong');
    assert.equal(st.details[0]['@type'], 'type.googleapis.com/google.rpc.ErrorInfo');
    assert.match(st.help.links[0].url, /^https:\/\//);
  });

  test('an unknown property is NOT_FOUND with OTA 635 and ResourceInfo', async () => {
    const err = await rejection(client.listContacts({ propertyId: '9999999' }));
    assert.equal(err.code, status.NOT_FOUND);
    const st = decodeStatusDetails(err);
    assert.equal(st.errorInfo.reason, 'NOT_FOUND');
    assert.equal(st.otaCode, '635');
    assert.equal(st.errorInfo.metadata.httpStatus, '404');
    assert.equal(st.errorInfo.metadata.source, 'upstream');
    assert.equal(st.resourceInfo.resourceType, 'booking.com/Property');
    assert.equal(st.resourceInfo.resourceName, 'properties/9999999');
    assert.equal(st.requestInfo.requestId, st.errorInfo.metadata.requestId);
    assert.deepEqual(st.fieldViolations, []);
    assert.equal(st.retryDelayMs, undefined);
  });

  test('CreateContacts, then ReplaceContacts overlays, then CreateContacts again is ALREADY_EXISTS', async () => {
    const created = await client.createContacts({ propertyId: '1000003', contacts: [contact()] });
    assert.match(created.requestId, /^\S+$/);

    const second = contact({
      profiles: ['PROFILE_TYPE_RESERVATIONS'],
      contactPerson: { name: 'Piet Smit', languageCode: 'en-gb' },
      email: 'piet.smit@example.com',
    });
    await client.replaceContacts({ propertyId: '1000003', contacts: [contact(), second] });
    const listed = await client.listContacts({ propertyId: '1000003' });
    assert.deepEqual(listed.contacts.map((c) => c.contactPerson.name), ['Eva Bakker', 'Piet Smit']);

    const err = await rejection(client.createContacts({ propertyId: '1000003', contacts: [contact()] }));
    assert.equal(err.code, status.ALREADY_EXISTS);
    const st = decodeStatusDetails(err);
    assert.equal(st.errorInfo.reason, 'CHANGES_NOT_PERMITTED');
    assert.equal(st.otaCode, '150');
    assert.equal(st.resourceInfo.resourceName, 'properties/1000003/contacts');
  });

  test('an error without details (no server) decodes to its code alone', async () => {
    const nowhere = makeClient('127.0.0.1:1', { insecure: true });
    try {
      const err = await rejection(nowhere.replaceContacts({ propertyId: '1000001', contacts: [contact()] }, { timeoutMs: 5_000 }));
      const st = decodeStatusDetails(err);
      assert.equal(st.code, status.UNAVAILABLE);
      assert.deepEqual(st.details, []);
      assert.equal(st.errorInfo, undefined);
      assert.equal(st.otaCode, '');
    } finally {
      nowhere.close();
    }
  });
});
