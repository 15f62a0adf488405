"""Google's official Python client, built from the discovery document, drives calsync's emulator:
every call succeeds or fails exactly as Google's protocol says."""
import json
import os
import threading
import time
import urllib.request
import uuid
from http.server import BaseHTTPRequestHandler, HTTPServer

import httplib2
import pytest
from google.oauth2.credentials import Credentials
from google_auth_httplib2 import AuthorizedHttp
from googleapiclient.discovery import build_from_document
from googleapiclient.errors import HttpError

EMU = os.environ["EMULATOR_URL"]
CREDS = os.environ["CREDENTIALS_DIR"]
HERE = os.path.dirname(__file__)


def control(path, body=None):
    req = urllib.request.Request(f"{EMU}/emulator{path}", method="POST" if body is not None else "GET",
                                 data=json.dumps(body).encode() if body is not None else None,
                                 headers={"Content-Type": "application/json"})
    with urllib.request.urlopen(req) as r:
        return json.loads(r.read() or b"null")


@pytest.fixture(scope="session")
def service():
    control("/calendars", {"id": "primary", "summary": "Conformance", "timeZone": "Europe/Paris"})
    with open(os.path.join(HERE, "calendar-v3-discovery.json")) as f:
        doc = json.load(f)
    doc["rootUrl"] = EMU + "/"
    path = os.path.join(CREDS, "token.json")
    with open(path) as f:
        token_uri = json.load(f)["token_uri"]
    # google-auth ignores the file's token_uri (it always uses Google's); point it at the emulator.
    creds = Credentials.from_authorized_user_file(path).with_token_uri(token_uri)
    http = AuthorizedHttp(creds, http=httplib2.Http(timeout=10))
    return build_from_document(doc, http=http)


def event(summary, hour, **extra):
    body = {"summary": summary, "start": {"dateTime": f"2030-01-01T{hour:02d}:00:00Z"},
            "end": {"dateTime": f"2030-01-01T{hour:02d}:30:00Z"}}
    body.update(extra)
    return body


def reason(err):
    return json.loads(err.content)["error"]["errors"][0]["reason"]


def test_insert_get_and_duplicate_id(service):
    eid = uuid.uuid4().hex
    created = service.events().insert(calendarId="primary", body=event("a", 9, id=eid)).execute()
    assert created["id"] == eid and created["kind"] == "calendar#event"
    got = service.events().get(calendarId="primary", eventId=eid).execute()
    assert got["etag"] == created["etag"]
    with pytest.raises(HttpError) as err:
        service.events().insert(calendarId="primary", body=event("a", 9, id=eid)).execute()
    assert err.value.resp.status == 409 and reason(err.value) == "duplicate"


def test_invalid_client_id_is_400(service):
    with pytest.raises(HttpError) as err:
        service.events().insert(calendarId="primary", body=event("bad", 9, id="UPPERCASE123")).execute()
    assert err.value.resp.status == 400


def test_patch_with_if_match(service):
    created = service.events().insert(calendarId="primary", body=event("p", 10)).execute()
    req = service.events().patch(calendarId="primary", eventId=created["id"], body={"location": "Salle A"})
    req.headers["If-Match"] = created["etag"]
    patched = req.execute()
    assert patched["location"] == "Salle A" and patched["etag"] != created["etag"]
    stale = service.events().patch(calendarId="primary", eventId=created["id"], body={"location": "Salle B"})
    stale.headers["If-Match"] = created["etag"]
    with pytest.raises(HttpError) as err:
        stale.execute()
    assert err.value.resp.status == 412 and reason(err.value) == "conditionNotMet"


def list_all(service, **params):
    pages, items, req = [], [], service.events().list(calendarId="primary", **params)
    while req is not None:
        page = req.execute()
        pages.append(page)
        items += page.get("items", [])
        req = service.events().list_next(req, page)
    return pages, items


def test_paging_sync_tokens_and_410(service):
    for i in range(5):
        service.events().insert(calendarId="primary", body=event(f"page{i}", 11 + i)).execute()
    pages, items = list_all(service, maxResults=2)
    assert len(pages) >= 3
    assert all("nextSyncToken" not in p for p in pages[:-1])
    token = pages[-1]["nextSyncToken"]
    changed = service.events().insert(calendarId="primary", body=event("after", 20)).execute()
    inc = service.events().list(calendarId="primary", syncToken=token).execute()
    assert [e["id"] for e in inc["items"]] == [changed["id"]]
    control("/sync-tokens/invalidate", {})
    with pytest.raises(HttpError) as err:
        service.events().list(calendarId="primary", syncToken=token).execute()
    assert err.value.resp.status == 410 and reason(err.value) == "fullSyncRequired"


def test_delete_then_get_and_delete_again(service):
    created = service.events().insert(calendarId="primary", body=event("gone", 8)).execute()
    service.events().delete(calendarId="primary", eventId=created["id"]).execute()
    got = service.events().get(calendarId="primary", eventId=created["id"]).execute()
    assert got["status"] == "cancelled"
    with pytest.raises(HttpError) as err:
        service.events().delete(calendarId="primary", eventId=created["id"]).execute()
    assert err.value.resp.status == 410


class Hook(BaseHTTPRequestHandler):
    seen = []

    def do_POST(self):
        Hook.seen.append({k.lower(): v for k, v in self.headers.items()})
        self.send_response(200)
        self.end_headers()

    def log_message(self, *args):
        pass


def wait_for(n, timeout=5.0):
    deadline = time.time() + timeout
    while time.time() < deadline and len(Hook.seen) < n:
        time.sleep(0.05)
    time.sleep(0.2)
    return len(Hook.seen)


def test_watch_and_stop(service):
    server = HTTPServer(("127.0.0.1", 0), Hook)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    address = f"http://127.0.0.1:{server.server_address[1]}/hook"
    channel = service.events().watch(calendarId="primary", body={
        "id": str(uuid.uuid4()), "type": "web_hook", "address": address, "token": "k=v",
        "params": {"ttl": "3600"}}).execute()
    assert channel["kind"] == "api#channel" and channel["resourceId"]
    assert wait_for(1) == 1
    first = Hook.seen[0]
    assert first["x-goog-resource-state"] == "sync" and first["x-goog-message-number"] == "1"
    assert first["x-goog-channel-id"] == channel["id"] and first["x-goog-channel-token"] == "k=v"
    service.events().insert(calendarId="primary", body=event("pushed", 7)).execute()
    assert wait_for(2) == 2 and Hook.seen[1]["x-goog-resource-state"] == "exists"
    service.channels().stop(body={"id": channel["id"], "resourceId": channel["resourceId"]}).execute()
    service.events().insert(calendarId="primary", body=event("silent", 6)).execute()
    assert wait_for(3, timeout=1.0) == 2
    server.shutdown()


def test_fresh_account_lists_primary_with_owner_role(service):
    entries = service.calendarList().list().execute()["items"]
    primary = [c for c in entries if c.get("primary")]
    assert primary and primary[0]["accessRole"] == "owner"
    assert service.calendarList().get(calendarId="primary").execute()["accessRole"] == "owner"
    assert service.calendars().get(calendarId="primary").execute()["timeZone"] == "Europe/Paris"
    colors = service.colors().get().execute()
    assert colors["kind"] == "calendar#colors" and len(colors["event"]) == 11


@pytest.mark.parametrize("body,why", [
    ({"start": {"dateTime": "2030-01-01T10:00:00Z"}, "end": {"dateTime": "2030-01-01T09:00:00Z"}},
     "timeRangeEmpty"),
    ({"start": {"dateTime": "2030-01-01T10:00:00", "timeZone": "Nowhere/Land"},
      "end": {"dateTime": "2030-01-01T11:00:00", "timeZone": "Nowhere/Land"}}, "invalid"),
    ({**event("r", 9), "recurrence": ["RRULE:FREQ=NEVER"]}, "invalid"),
    ({**event("m", 9), "reminders": {"useDefault": False, "overrides": [{"minutes": 5}]}}, "required"),
    ({**event("m", 9), "reminders": {"useDefault": False,
                                      "overrides": [{"method": "popup", "minutes": 5}] * 6}},
     "tooManyReminders"),
])
def test_googles_400s_on_invalid_events(service, body, why):
    with pytest.raises(HttpError) as err:
        service.events().insert(calendarId="primary", body=body).execute()
    assert err.value.resp.status == 400 and reason(err.value) == why


def test_order_by_start_time_needs_single_events(service):
    with pytest.raises(HttpError) as err:
        service.events().list(calendarId="primary", orderBy="startTime").execute()
    assert err.value.resp.status == 400


def test_instances_of_a_floating_time_series_with_an_edit(service):
    series = service.events().insert(calendarId="primary", body={
        "summary": "floating", "recurrence": ["RRULE:FREQ=WEEKLY;COUNT=3"],
        "start": {"dateTime": "2030-06-03T09:00:00", "timeZone": "Europe/Paris"},
        "end": {"dateTime": "2030-06-03T10:00:00", "timeZone": "Europe/Paris"}}).execute()
    first = service.events().instances(calendarId="primary", eventId=series["id"]).execute()["items"]
    assert [i["id"] for i in first] == [f"{series['id']}_2030060{d}T070000Z" for d in (3,)] + \
        [f"{series['id']}_20300610T070000Z", f"{series['id']}_20300617T070000Z"]
    service.events().patch(calendarId="primary", eventId=first[1]["id"], body={"summary": "moved"}).execute()
    again = service.events().instances(calendarId="primary", eventId=series["id"], maxResults=2).execute()
    assert again["items"][1]["summary"] == "moved" and "nextPageToken" in again
    assert again["items"][1]["originalStartTime"]["dateTime"] == "2030-06-10T09:00:00+02:00"


def test_move_and_fields(service):
    control("/calendars", {"id": "py-other"})
    created = service.events().insert(calendarId="primary", body=event("mv", 12)).execute()
    moved = service.events().move(calendarId="primary", eventId=created["id"], destination="py-other").execute()
    assert moved["id"] == created["id"]
    assert service.events().get(calendarId="primary", eventId=created["id"]).execute()["status"] == "cancelled"
    part = service.events().list(calendarId="py-other", fields="items(id,summary)").execute()
    assert part == {"items": [{"id": created["id"], "summary": "mv"}]}
