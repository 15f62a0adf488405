"""The peer: the original Python daemon's approach, rebuilt small, for calsync's benchmark to compare against.

It polls Google Calendar (here: calsync's emulator) the way such daemons do:
  * a full sync first: events.list with maxResults=2500 and showDeleted, every page, keeping nextSyncToken;
  * then, every interval, an incremental events.list with that sync token (a 410 means: full sync again);
  * every event it receives is upserted ROW BY ROW with asyncpg, one autocommitted
    INSERT ... ON CONFLICT per event, into its own table `peer_events` (created if missing).
It touches no table of calsync's. The Google client is Google's official one, built from
tests/conformance/calendar-v3-discovery.json with rootUrl pointing at the emulator, credentials read from the
emulator's token.json exactly as tests/conformance/test_google_client.py does. The client is synchronous, so each
call runs in a worker thread (asyncio.to_thread) and the daemon stays strictly sequential, like the original.

Subcommands (logs go to stderr; stdout gets exactly one JSON line at the end):
  full-sync     --emulator URL --credentials DIR --dsn DSN --calendar ID
      {"events", "seconds", "events_per_sec", "list_calls", "max_rss_kb"}
  poll          --emulator URL --credentials DIR --dsn DSN --calendar ID --interval S --duration S
      {"polls", "list_calls", "events", "delays_ms", "full_sync_seconds", "max_rss_kb"}
      --duration counts from the start, the first full sync included (its time is full_sync_seconds);
      delays_ms holds now - event.updated, taken as its row is written, for each changed event a poll wrote
      (not for the first full sync, whose events changed before the peer ran).
  calls-per-day --interval-minutes M
      {"calls_per_day"}: a poll-only daemon's idle cost is set by its interval alone, 1440 / M events.list calls
      per calendar per day even when nothing changes (more when a poll needs several pages).
"""
import argparse
import asyncio
import json
import logging
import os
import resource
import sys
import time
from datetime import date, datetime, time as dtime, timezone
from zoneinfo import ZoneInfo

import asyncpg
import httplib2
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError

HERE = os.path.dirname(os.path.abspath(__file__))
DISCOVERY = os.path.join(HERE, "..", "..", "..", "tests", "conformance", "calendar-v3-discovery.json")
log = logging.getLogger("peer")

SCHEMA = """
CREATE TABLE IF NOT EXISTS peer_events (
    google_id   text PRIMARY KEY,
    calendar_id text,
    summary     text,
    start_at    timestamptz,
    end_at      timestamptz,
    updated_at  timestamptz,
    status      text,
    raw         jsonb
)"""

UPSERT = """
INSERT INTO peer_events (google_id, calendar_id, summary, start_at, end_at, updated_at, status, raw)
VALUES ($1, $2, $3, $4, $5, $6, $7, $8::jsonb)
ON CONFLICT (google_id) DO UPDATE SET
    calendar_id = EXCLUDED.calendar_id,
    -- a cancelled event comes back as a tombstone (id, status, updated): keep what the row knew
    summary = COALESCE(EXCLUDED.summary, peer_events.summary),
    start_at = COALESCE(EXCLUDED.start_at, peer_events.start_at),
    end_at = COALESCE(EXCLUDED.end_at, peer_events.end_at),
    updated_at = EXCLUDED.updated_at, status = EXCLUDED.status, raw = EXCLUDED.raw"""


def build_service(emulator, credentials_dir):
    with open(DISCOVERY) as f:
        doc = json.load(f)
    doc["rootUrl"] = emulator.rstrip("/") + "/"
    path = os.path.join(credentials_dir, "token.json")
    with open(path) as f:
        token_uri = json.load(f)["token_uri"]
    # google-auth ignores the file's token_uri (it always uses Google's); point it at the emulator.
    creds = Credentials.from_authorized_user_file(path).with_token_uri(token_uri)
    http = AuthorizedHttp(creds, http=httplib2.Http(timeout=30))
    return build_from_document(doc, http=http)


def parse_time(when):
    """An event's start/end as an aware datetime (all-day dates at UTC midnight); None for tombstones
    and for values that cannot be read (logged: one bad event must not stop the daemon)."""
    if not when:
        return None
    try:
        if "dateTime" in when:
            t = datetime.fromisoformat(when["dateTime"])
            if t.tzinfo is None:  # offset-less dateTime: its timeZone says where
                t = t.replace(tzinfo=ZoneInfo(when.get("timeZone") or "UTC"))
            return t
        if "date" in when:
            return datetime.combine(date.fromisoformat(when["date"]), dtime(0), tzinfo=timezone.utc)
    except (ValueError, KeyError) as err:  # ZoneInfoNotFoundError is a KeyError
        log.warning("unreadable time %r: %s", when, err)
    return None


def parse_updated(event):
    u = event.get("updated")
    return datetime.fromisoformat(u) if u else None


class Peer:
    def __init__(self, service, conn, calendar):
        self.service, self.conn, self.calendar = service, conn, calendar
        self.sync_token = None  # kept in memory: every run starts with a full sync
        self.synced_at = None  # when the listing that gave sync_token started
        self.list_calls = 0

    async def list_page(self, request):
        self.list_calls += 1
        return await asyncio.to_thread(request.execute, num_retries=3)

    async def upsert(self, event):
        await self.conn.execute(
            UPSERT, event["id"], self.calendar, event.get("summary"),
            parse_time(event.get("start")), parse_time(event.get("end")), parse_updated(event),
            event.get("status"), json.dumps(event))

    async def sync(self, delays_ms=None):
        """One poll: incremental when a sync token is held, else full. Returns the number of events upserted.
        With `delays_ms`, appends (now - event.updated) once its row is written, for each changed event: every
        event of an incremental poll; in a full resync after a 410, those updated since the last good poll."""
        full, started = self.sync_token is None, datetime.now(timezone.utc)
        params = dict(calendarId=self.calendar, maxResults=2500, showDeleted=True)
        if not full:
            params["syncToken"] = self.sync_token
        request, n = self.service.events().list(**params), 0
        while request is not None:
            try:
                page = await self.list_page(request)
            except HttpError as err:
                if err.resp.status == 410 and not full:
                    log.warning("sync token rejected (410): full resync")
                    self.sync_token = None
                    return n + await self.sync(delays_ms)  # keeps synced_at: changes are those after it
                raise
            for event in page.get("items", []):
                await self.upsert(event)
                n += 1
                updated = parse_updated(event)
                changed = not full or (self.synced_at is not None and updated and updated >= self.synced_at)
                if delays_ms is not None and changed and updated is not None:
                    delays_ms.append(round((datetime.now(timezone.utc) - updated).total_seconds() * 1000, 1))
            if "nextSyncToken" in page:
                self.sync_token, self.synced_at = page["nextSyncToken"], started
            request = self.service.events().list_next(request, page)
        log.info("%s sync: %d events, %d list calls so far", "full" if full else "incremental", n,
                 self.list_calls)
        return n


def max_rss_kb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss  # kilobytes on Linux


async def open_peer(args):
    service = build_service(args.emulator, args.credentials)
    conn = await asyncpg.connect(args.dsn)
    await conn.execute(SCHEMA)
    return Peer(service, conn, args.calendar)


async def full_sync(args):
    peer = await open_peer(args)
    try:
        t0 = time.perf_counter()
        n = await peer.sync()
        seconds = time.perf_counter() - t0
    finally:
        await peer.conn.close()
    return {"events": n, "seconds": round(seconds, 3), "events_per_sec": round(n / seconds, 1) if seconds else None,
            "list_calls": peer.list_calls, "max_rss_kb": max_rss_kb()}


async def poll(args):
    peer = await open_peer(args)
    polls, delays, full_seconds = 0, [], None
    try:
        t0 = time.monotonic()
        while True:  # at least one poll, then one every --interval until --duration (counted from t0)
            started = time.monotonic()
            first = peer.sync_token is None
            # No delays for the first full sync: its events changed before the peer ran.
            await peer.sync(None if first else delays)
            polls += 1
            if full_seconds is None:
                full_seconds = round(time.monotonic() - t0, 3)
            next_at = started + args.interval
            if next_at - t0 >= args.duration or time.monotonic() - t0 >= args.duration:
                break
            await asyncio.sleep(max(0.0, next_at - time.monotonic()))
        rows = await peer.conn.fetchval("SELECT count(*) FROM peer_events WHERE calendar_id = $1", args.calendar)
    finally:
        await peer.conn.close()
    return {"polls": polls, "list_calls": peer.list_calls, "events": rows, "delays_ms": delays,
            "full_sync_seconds": full_seconds, "max_rss_kb": max_rss_kb()}


def calls_per_day(args):
    calls = 1440 / args.interval_minutes
    return {"calls_per_day": int(calls) if calls == int(calls) else round(calls, 2)}


def main(argv=None):
    logging.basicConfig(stream=sys.stderr, level=logging.INFO, format="peer %(levelname)s %(message)s")
    ap = argparse.ArgumentParser(prog="peer", description=__doc__.split("\n")[0])
    sub = ap.add_subparsers(dest="cmd", required=True)

    def google(p):
        p.add_argument("--emulator", required=True, help="emulator base URL, e.g. http://127.0.0.1:8085")
        p.add_argument("--credentials", required=True, help="directory holding the emulator's token.json")
        p.add_argument("--dsn", required=True, help="PostgreSQL DSN (the peer writes only peer_events)")
        p.add_argument("--calendar", required=True, help="calendar id")
        return p

    google(sub.add_parser("full-sync", help="one full sync, timed"))
    p = google(sub.add_parser("poll", help="full sync, then incremental polls every --interval for --duration"))
    p.add_argument("--interval", type=float, required=True, help="seconds between polls")
    p.add_argument("--duration", type=float, required=True, help="seconds to run")
    p = sub.add_parser("calls-per-day", help="idle events.list calls per calendar per day at a poll interval")
    p.add_argument("--interval-minutes", type=float, default=30)
    args = ap.parse_args(argv)

    if args.cmd == "calls-per-day":
        if args.interval_minutes <= 0:
            ap.error("--interval-minutes must be positive")
        out = calls_per_day(args)
    elif args.cmd == "full-sync":
        out = asyncio.run(full_sync(args))
    else:
        if args.interval <= 0 or args.duration <= 0:
            ap.error("--interval and --duration must be positive")
        out = asyncio.run(poll(args))
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
