// Google's official Node.js client (googleapis) drives calsync's emulator: its own OAuth2 client with
// the development credentials, its own paging, token refresh and watch, and the calls integrators make.
'use strict';
const test = require('node:test');
const assert = require('node:assert/strict');
const fs = require('node:fs');
const http = require('node:http');
const path = require('node:path');
const crypto = require('node:crypto');
const { google } = require('googleapis');

const EMU = process.env.EMULATOR_URL;
const CREDS = process.env.CREDENTIALS_DIR;

async function control(route, body, method = 'POST') {
  const res = await fetch(`${EMU}/emulator${route}`, {
    method: body === undefined && method === 'POST' ? 'GET' : method,
    headers: { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const text = await res.text();
  return text ? JSON.parse(text) : null;
}

function client(options = {}) {
  const secret = JSON.parse(fs.readFileSync(path.join(CREDS, 'client_secret.json'))).installed;
  const token = JSON.parse(fs.readFileSync(path.join(CREDS, 'token.json')));
  const auth = new google.auth.OAuth2({
    clientId: secret.client_id,
    clientSecret: secret.client_secret,
    endpoints: { oauth2TokenUrl: secret.token_uri },
    ...options,
  });
  auth.setCredentials({ refresh_token: token.refresh_token });
  return { auth, calendar: google.calendar({ version: 'v3', auth, rootUrl: `${EMU}/` }) };
}

const { auth, calendar } = client();

const event = (summary, hour, extra = {}) => ({
  summary,
  start: { dateTime: `2030-01-01T${String(hour).padStart(2, '0')}:00:00Z` },
  end: { dateTime: `2030-01-01T${String(hour).padStart(2, '0')}:30:00Z` },
  ...extra,
});

async function googleError(promise) {
  try {
    await promise;
  } catch (err) {
    const body = err.response && err.response.data;
    return { status: err.response && err.response.status, reason: body.error.errors[0].reason, body };
  }
  assert.fail('Google would refuse this call');
}

async function countOf(method) {
  return (await control('/stats')).counts[method] || 0;
}

function hookServer() {
  const seen = [];
  const server = http.createServer((req, res) => {
    seen.push(req.headers);
    req.resume();
    res.writeHead(200).end();
  });
  return new Promise((resolve) => {
    server.listen(0, '127.0.0.1', () => {
      resolve({ server, seen, address: `http://127.0.0.1:${server.address().port}/hook` });
    });
  });
}

async function waitFor(seen, n, ms = 5000) {
  const until = Date.now() + ms;
  while (Date.now() < until && seen.length < n) await new Promise((r) => setTimeout(r, 50));
  await new Promise((r) => setTimeout(r, 200));
  return seen.length;
}

test('a fresh account has primary, owned, in calendarList, calendars.get and colors.get', async () => {
  const list = (await calendar.calendarList.list()).data;
  const primary = list.items.find((c) => c.primary);
  assert.equal(primary.id, 'primary');
  assert.equal(primary.accessRole, 'owner');
  assert.equal((await calendar.calendarList.get({ calendarId: 'primary' })).data.accessRole, 'owner');
  const cal = (await calendar.calendars.get({ calendarId: 'primary' })).data;
  assert.equal(cal.kind, 'calendar#calendar');
  assert.equal(cal.timeZone, 'UTC');
  const colors = (await calendar.colors.get()).data;
  assert.equal(Object.keys(colors.calendar).length, 24);
  assert.equal(colors.event['1'].background, '#a4bdfc');
  await control('/calendars', { id: 'primary', summary: 'Node', timeZone: 'Europe/Paris' });
  assert.equal((await calendar.calendars.get({ calendarId: 'primary' })).data.timeZone, 'Europe/Paris');
});

test('insert, get, duplicate id 409, patch with If-Match 412, update, delete then 410', async () => {
  const id = crypto.randomUUID().replaceAll('-', '');
  const created = (await calendar.events.insert({ calendarId: 'primary', requestBody: event('a', 9, { id }) })).data;
  assert.equal(created.id, id);
  assert.equal((await calendar.events.get({ calendarId: 'primary', eventId: id })).data.summary, 'a');
  const dup = await googleError(calendar.events.insert({ calendarId: 'primary', requestBody: event('a', 9, { id }) }));
  assert.deepEqual([dup.status, dup.reason], [409, 'duplicate']);
  const bad = await googleError(calendar.events.insert({ calendarId: 'primary', requestBody: event('b', 9, { id: 'UPPER' }) }));
  assert.equal(bad.status, 400);
  const patched = await calendar.events.patch(
    { calendarId: 'primary', eventId: id, requestBody: { location: 'Salle A' } },
    { headers: { 'If-Match': created.etag } },
  );
  assert.equal(patched.data.location, 'Salle A');
  const stale = await googleError(calendar.events.patch(
    { calendarId: 'primary', eventId: id, requestBody: { location: 'Salle B' } },
    { headers: { 'If-Match': created.etag } },
  ));
  assert.deepEqual([stale.status, stale.reason], [412, 'conditionNotMet']);
  const updated = (await calendar.events.update({ calendarId: 'primary', eventId: id, requestBody: event('c', 10) })).data;
  assert.equal(updated.location, undefined, 'PUT clears what it omits');
  await calendar.events.delete({ calendarId: 'primary', eventId: id });
  assert.equal((await calendar.events.get({ calendarId: 'primary', eventId: id })).data.status, 'cancelled');
  const again = await googleError(calendar.events.delete({ calendarId: 'primary', eventId: id }));
  assert.deepEqual([again.status, again.reason], [410, 'deleted']);
});

test('paging with pageToken, nextSyncToken on the last page only, incremental sync, 410', async () => {
  await control('/calendars', { id: 'paging' });
  for (let i = 0; i < 5; i++) await calendar.events.insert({ calendarId: 'paging', requestBody: event(`p${i}`, 8 + i) });
  let pageToken;
  let seen = 0;
  let syncToken;
  do {
    const page = (await calendar.events.list({ calendarId: 'paging', maxResults: 2, pageToken })).data;
    seen += page.items.length;
    pageToken = page.nextPageToken;
    if (pageToken) assert.equal(page.nextSyncToken, undefined);
    syncToken = page.nextSyncToken;
  } while (pageToken);
  assert.equal(seen, 5);
  await calendar.events.insert({ calendarId: 'paging', requestBody: event('late', 20) });
  const inc = (await calendar.events.list({ calendarId: 'paging', syncToken })).data;
  assert.deepEqual(inc.items.map((e) => e.summary), ['late']);
  await control('/sync-tokens/invalidate', {});
  const gone = await googleError(calendar.events.list({ calendarId: 'paging', syncToken }));
  assert.deepEqual([gone.status, gone.reason], [410, 'fullSyncRequired']);
});

test("Google's 400s: timeRangeEmpty, time zone, recurrence, reminders, orderBy without singleEvents", async () => {
  const cases = [
    [{ start: { dateTime: '2030-01-01T10:00:00Z' }, end: { dateTime: '2030-01-01T09:00:00Z' } }, 'timeRangeEmpty'],
    [{ start: { date: '2030-01-02' }, end: { date: '2030-01-02' } }, 'timeRangeEmpty'],
    [{ start: { dateTime: '2030-01-01T10:00:00', timeZone: 'Atlantis/Capital' },
       end: { dateTime: '2030-01-01T11:00:00', timeZone: 'Atlantis/Capital' } }, 'invalid'],
    [event('r', 9, { recurrence: ['RRULE:FREQ=FORTNIGHTLY'] }), 'invalid'],
    [event('m', 9, { reminders: { useDefault: false, overrides: [{ method: 'popup' }] } }), 'required'],
    [event('m', 9, { reminders: { useDefault: false, overrides: [{ method: 'popup', minutes: 99999 }] } }), 'invalid'],
    [event('m', 9, { reminders: { useDefault: false, overrides: Array(6).fill({ method: 'email', minutes: 5 }) } }), 'tooManyReminders'],
  ];
  const target = (await calendar.events.insert({ calendarId: 'primary', requestBody: event('target', 7) })).data;
  for (const [body, reason] of cases) {
    const insert = await googleError(calendar.events.insert({ calendarId: 'primary', requestBody: body }));
    assert.deepEqual([insert.status, insert.reason], [400, reason], JSON.stringify(body));
    const update = await googleError(calendar.events.update({ calendarId: 'primary', eventId: target.id, requestBody: body }));
    assert.deepEqual([update.status, update.reason], [400, reason]);
    assert.equal(insert.body.error.code, 400);
    assert.equal(insert.body.error.errors[0].domain, reason === 'timeRangeEmpty' || reason === 'tooManyReminders' ? 'calendar' : 'global');
  }
  const order = await googleError(calendar.events.list({ calendarId: 'primary', orderBy: 'startTime' }));
  assert.deepEqual([order.status, order.reason], [400, 'badRequest']);
  assert.equal(order.body.error.message, 'The requested ordering is not available for the particular query.');
  const ok = await calendar.events.list({ calendarId: 'primary', orderBy: 'startTime', singleEvents: true });
  assert.equal(ok.status, 200);
});

test('a floating-time series expands; instances page, carry originalStartTime and show edits and cancellations', async () => {
  const series = (await calendar.events.insert({ calendarId: 'primary', requestBody: {
    summary: 'standup', recurrence: ['RRULE:FREQ=DAILY;COUNT=5'],
    start: { dateTime: '2031-03-28T09:00:00', timeZone: 'Europe/Paris' },
    end: { dateTime: '2031-03-28T09:15:00', timeZone: 'Europe/Paris' },
  } })).data;
  const single = (await calendar.events.list({
    calendarId: 'primary', singleEvents: true, orderBy: 'startTime',
    timeMin: '2031-03-01T00:00:00Z', timeMax: '2031-04-30T00:00:00Z',
  })).data.items.filter((i) => i.recurringEventId === series.id);
  assert.deepEqual(single.map((i) => i.start.dateTime), [
    '2031-03-28T09:00:00+01:00', '2031-03-29T09:00:00+01:00', '2031-03-30T09:00:00+02:00',
    '2031-03-31T09:00:00+02:00', '2031-04-01T09:00:00+02:00']);
  const [, second, third] = single;
  assert.equal(second.id, `${series.id}_20310329T080000Z`);
  await calendar.events.patch({ calendarId: 'primary', eventId: second.id, requestBody: { summary: 'moved' } });
  await calendar.events.delete({ calendarId: 'primary', eventId: third.id });
  const pages = [];
  let pageToken;
  do {
    const page = (await calendar.events.instances({ calendarId: 'primary', eventId: series.id, maxResults: 2, pageToken })).data;
    pages.push(page.items);
    pageToken = page.nextPageToken;
  } while (pageToken);
  const all = pages.flat();
  assert.equal(pages.length, 2);
  assert.equal(all.length, 4, 'the cancelled instance is left out');
  assert.equal(all[1].summary, 'moved');
  assert.equal(all[1].originalStartTime.dateTime, '2031-03-29T09:00:00+01:00');
  assert.ok(all.every((i) => i.recurringEventId === series.id && !i.recurrence));
  const withDeleted = (await calendar.events.instances({ calendarId: 'primary', eventId: series.id, showDeleted: true })).data.items;
  assert.equal(withDeleted.find((i) => i.id === third.id).status, 'cancelled');
  const windowed = (await calendar.events.instances({
    calendarId: 'primary', eventId: series.id, timeMin: '2031-03-31T00:00:00Z', timeMax: '2031-04-02T00:00:00Z',
  })).data.items;
  assert.equal(windowed.length, 2);
});

test('this and following: UNTIL on the old series plus a new series, both listed', async () => {
  await control('/calendars', { id: 'split' });
  const old = (await calendar.events.insert({ calendarId: 'split', requestBody: {
    summary: 'weekly', recurrence: ['RRULE:FREQ=WEEKLY;COUNT=6'],
    start: { dateTime: '2031-01-06T10:00:00Z', timeZone: 'UTC' }, end: { dateTime: '2031-01-06T11:00:00Z', timeZone: 'UTC' },
  } })).data;
  await calendar.events.patch({ calendarId: 'split', eventId: old.id, requestBody: { recurrence: ['RRULE:FREQ=WEEKLY;UNTIL=20310119T235959Z'] } });
  await calendar.events.insert({ calendarId: 'split', requestBody: {
    summary: 'weekly, later', recurrence: ['RRULE:FREQ=WEEKLY;COUNT=3'],
    start: { dateTime: '2031-01-20T14:00:00Z', timeZone: 'UTC' }, end: { dateTime: '2031-01-20T15:00:00Z', timeZone: 'UTC' },
  } });
  const masters = (await calendar.events.list({ calendarId: 'split' })).data.items;
  assert.equal(masters.length, 2);
  const oldInstances = (await calendar.events.instances({ calendarId: 'split', eventId: old.id })).data.items;
  assert.equal(oldInstances.length, 2);
  const single = (await calendar.events.list({
    calendarId: 'split', singleEvents: true, orderBy: 'startTime', timeMin: '2031-01-01T00:00:00Z', timeMax: '2031-03-01T00:00:00Z',
  })).data.items;
  assert.deepEqual(single.map((i) => i.summary), ['weekly', 'weekly', 'weekly, later', 'weekly, later', 'weekly, later']);
});

test('events.move: cancelled in the source incremental list, present in the target', async () => {
  await control('/calendars', { id: 'source' });
  await control('/calendars', { id: 'target' });
  const e = (await calendar.events.insert({ calendarId: 'source', requestBody: event('moving', 9) })).data;
  const tokenOf = async (cal) => (await calendar.events.list({ calendarId: cal })).data.nextSyncToken;
  const [src, dst] = [await tokenOf('source'), await tokenOf('target')];
  const moved = (await calendar.events.move({ calendarId: 'source', eventId: e.id, destination: 'target' })).data;
  assert.equal(moved.id, e.id);
  const srcInc = (await calendar.events.list({ calendarId: 'source', syncToken: src })).data.items;
  assert.deepEqual(srcInc.map((i) => [i.id, i.status]), [[e.id, 'cancelled']]);
  const dstInc = (await calendar.events.list({ calendarId: 'target', syncToken: dst })).data.items;
  assert.deepEqual(dstInc.map((i) => [i.id, i.summary]), [[e.id, 'moving']]);
});

test('fields= partial responses for list and get', async () => {
  await control('/calendars', { id: 'partial' });
  const e = (await calendar.events.insert({ calendarId: 'partial', requestBody: event('part', 9) })).data;
  const list = (await calendar.events.list({ calendarId: 'partial', fields: 'items(id,summary),nextSyncToken' })).data;
  assert.deepEqual(Object.keys(list).sort(), ['items', 'nextSyncToken']);
  assert.deepEqual(list.items, [{ id: e.id, summary: 'part' }]);
  const one = (await calendar.events.get({ calendarId: 'partial', eventId: e.id, fields: 'id,start/dateTime' })).data;
  assert.deepEqual(one, { id: e.id, start: { dateTime: '2030-01-01T09:00:00Z' } });
});

test('expired access tokens: a 401 authError, a refresh on failure, a refresh by expiry', async () => {
  const retrying = client({ forceRefreshOnFailure: true });
  await retrying.calendar.calendars.get({ calendarId: 'primary' });
  await calendar.calendars.get({ calendarId: 'primary' });
  const before = await countOf('token');
  await control('/tokens/expire', {});
  // The default client trusts its expiry_date: the server's 401 is Google's authError body.
  const refused = await googleError(calendar.calendars.get({ calendarId: 'primary' }));
  assert.deepEqual([refused.status, refused.reason], [401, 'authError']);
  const res = await retrying.calendar.calendars.get({ calendarId: 'primary' });
  assert.equal(res.status, 200);
  assert.equal(await countOf('token'), before + 1, 'one refresh grant after the 401');
  auth.credentials.expiry_date = Date.now() - 1000;
  assert.equal((await calendar.calendars.get({ calendarId: 'primary' })).status, 200);
  assert.equal(await countOf('token'), before + 2, 'one refresh grant for the expired token');
  assert.ok(auth.credentials.access_token.startsWith('ya29.'));
});

test('events.watch pushes sync then exists until channels.stop; flagged calendars refuse it', async () => {
  const hook = await hookServer();
  const id = crypto.randomUUID();
  const ch = (await calendar.events.watch({ calendarId: 'primary', requestBody: {
    id, type: 'web_hook', address: hook.address, token: 'k=v', params: { ttl: '3600' } } })).data;
  assert.equal(ch.kind, 'api#channel');
  assert.equal(await waitFor(hook.seen, 1), 1);
  assert.equal(hook.seen[0]['x-goog-resource-state'], 'sync');
  assert.equal(hook.seen[0]['x-goog-channel-token'], 'k=v');
  await calendar.events.insert({ calendarId: 'primary', requestBody: event('pushed', 6) });
  assert.equal(await waitFor(hook.seen, 2), 2);
  assert.equal(hook.seen[1]['x-goog-resource-state'], 'exists');
  assert.equal(hook.seen[1]['x-goog-resource-id'], ch.resourceId);
  await calendar.channels.stop({ requestBody: { id, resourceId: ch.resourceId } });
  await calendar.events.insert({ calendarId: 'primary', requestBody: event('unheard', 5) });
  assert.equal(await waitFor(hook.seen, 3, 800), 2);
  await control('/calendars', { id: 'holidays', pushNotSupported: true });
  const refused = await googleError(calendar.events.watch({ calendarId: 'holidays', requestBody: {
    id: crypto.randomUUID(), type: 'web_hook', address: hook.address } }));
  assert.deepEqual([refused.status, refused.reason], [400, 'pushNotSupportedForRequestedResource']);
  hook.server.close();
});

test('calendarList.watch pushes when a calendar is added or removed', async () => {
  const hook = await hookServer();
  const ch = (await calendar.calendarList.watch({ requestBody: {
    id: crypto.randomUUID(), type: 'web_hook', address: hook.address } })).data;
  assert.equal(await waitFor(hook.seen, 1), 1);
  await control('/calendars', { id: 'brand-new' });
  assert.equal(await waitFor(hook.seen, 2), 2);
  await control('/calendars/brand-new', undefined, 'DELETE');
  assert.equal(await waitFor(hook.seen, 3), 3);
  assert.ok(hook.seen[2]['x-goog-resource-uri'].includes('calendarList'));
  const ids = (await calendar.calendarList.list()).data.items.map((c) => c.id);
  assert.ok(!ids.includes('brand-new'));
  await calendar.channels.stop({ requestBody: { id: ch.id, resourceId: ch.resourceId } });
  hook.server.close();
});
