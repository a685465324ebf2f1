#!/usr/bin/env python3
"""End-to-end test of Rampart's TAXII 2.1 server with the OASIS client library, taxii2-client.

Creates three organisations and their users with `rampart admin`, starts `rampart serve` on a
fresh data directory (SQLite, or an empty PostgreSQL database with --database), then talks to
/taxii2/ through taxii2client.v21 as a CERT analyst, an ISAC member and an outsider: discovery,
250 indicators added in one envelope and read back in pages, single objects, manifests and
added_after, versions, a partly invalid envelope, deletion, the TLP and sharing-group policy,
media-type negotiation, and the review queue for members' submissions.

Prints `ok - <step>` per passed step and ends with `N passed, M failed`; exits 1 on the first
failure, printing the server's stderr.
"""

import argparse
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import traceback
import uuid

import rampart_server
import requests
import requests.auth
from taxii2client.common import TokenAuth
from taxii2client.v21 import ApiRoot, Collection, Server as TaxiiServer, Status, as_pages

PASSWORD = "a long and memorable passphrase"  # ≥ 12 characters
ANALYST, MEMBER, OUTSIDER = "analyst@cert.example.tw", "member@bank.example.tw", "outsider@outsider.example"
CERT_ORG, BANK_ORG, OUTSIDER_ORG = "National CERT", "Member Bank", "Outsider Co"
GROUP_NAME = "Finance ISAC"
PUBLIC_ID = "5b2f2c1e-5e1a-4c8e-9d3e-000000000001"
COMMUNITY_ID = "5b2f2c1e-5e1a-4c8e-9d3e-000000000002"
TAXII = "application/taxii+json;version=2.1"
TLP = {  # TLP 2.0 marking definitions
    "clear": "marking-definition--94868c89-83c2-464b-929b-a1a8aa3c8487",
    "green": "marking-definition--bab4a63c-aed9-4cf5-a766-dfca5abac2bb",
    "amber": "marking-definition--55d920b0-5e8b-4f79-9ee9-91f868d9b421",
    "amber+strict": "marking-definition--939a9414-2ddd-4d32-a0cd-375ea402b003",
    "red": "marking-definition--e828b379-4e03-4974-9ac4-e53a884c97c1",
}
IDS = uuid.UUID("0b6f9a52-3c1e-4c0e-8f57-7a0d1e2c9b41")  # namespace of the test's object ids
CREATED = "2026-01-01T00:00:00.000Z"
MAX_PAGES = 50  # a server that never stops saying `more` fails instead of looping


# STIX objects and TAXII helpers --------------------------------------------------

def indicator(label: str, ip: str, name: "str | None" = None, modified: str = CREATED, tlp: "str | None" = None) -> dict:
    """A valid STIX 2.1 indicator whose id depends only on `label` (a UUIDv5)."""
    obj = {
        "type": "indicator", "spec_version": "2.1", "id": f"indicator--{uuid.uuid5(IDS, label)}",
        "created": CREATED, "modified": modified, "name": name or f"Malicious host {ip}",
        "indicator_types": ["malicious-activity"], "pattern": f"[ipv4-addr:value = '{ip}']",
        "pattern_type": "stix", "valid_from": CREATED,
    }
    if tlp:
        obj["object_marking_refs"] = [TLP[tlp]]
    return obj


class BearerAuth(requests.auth.AuthBase):
    def __init__(self, token: str):
        self.token = token

    def __call__(self, r):
        r.headers["Authorization"] = f"Bearer {self.token}"
        return r


TIMESTAMP = re.compile(r"(\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d)(?:\.(\d{1,9}))?Z")


def ts_key(timestamp: str):
    """A STIX/TAXII timestamp as a sortable key, so that `…00Z` and `…00.000000Z` compare equal."""
    m = TIMESTAMP.fullmatch(timestamp or "")
    assert m, f"not a UTC timestamp: {timestamp!r}"
    return m.group(1), int((m.group(2) or "").ljust(9, "0"))


def pages_of(func, per_request: int = 100, **filters) -> "list[dict]":
    """Every envelope that `as_pages` yields (get_objects or get_manifest)."""
    pages = []
    for envelope in as_pages(func, per_request=per_request, **filters):
        pages.append(envelope)
        assert len(pages) <= MAX_PAGES, f"more than {MAX_PAGES} pages: `more` never becomes false"
    return pages


def items(pages: "list[dict]") -> "list[dict]":
    return [item for page in pages for item in page.get("objects", [])]


def all_objects(collection: Collection, **filters) -> "list[dict]":
    return items(pages_of(collection.get_objects, **filters))


def http_error(call) -> "int | None":
    """The HTTP status of the requests.HTTPError that `call()` raises (taxii2client calls
    raise_for_status), or None when it succeeds."""
    try:
        call()
    except requests.exceptions.HTTPError as e:
        return e.response.status_code
    return None


def expect_error(call, codes, what: str):
    got = http_error(call)
    assert got in codes, f"{what}: expected HTTP {' or '.join(map(str, codes))}, got {got or 'a success'}"


def invisible(collection: Collection, obj_id: str, who: str):
    """`obj_id` is neither fetched by id (404) nor matched by match[id] in `collection`."""
    expect_error(lambda: collection.get_object(obj_id), {404}, f"{who}: get_object({obj_id})")
    try:
        found = collection.get_objects(id=obj_id).get("objects", [])
        assert not found, f"{who}: match[id]={obj_id} returned {found}"
    except requests.exceptions.HTTPError as e:
        assert e.response.status_code == 404, f"{who}: match[id]={obj_id} answered HTTP {e.response.status_code}"


def describe(s: Status) -> str:
    return (f"status={s.status!r} total={s.total_count} success={s.success_count} failure={s.failure_count} "
            f"pending={s.pending_count} failures={s.failures}")


def check_status(s: Status, success: int = 0, failure: int = 0, pending: int = 0, final: bool = True):
    assert isinstance(s, Status), f"not a Status: {s!r}"
    counts = (s.total_count, s.success_count, s.failure_count, s.pending_count)
    assert counts == (success + failure + pending, success, failure, pending), describe(s)
    if final:
        assert s.status == "complete", describe(s)


def differences(want: dict, got: dict) -> dict:
    return {k: (want.get(k), got.get(k)) for k in sorted(set(want) | set(got)) if want.get(k) != got.get(k)}


# The server --------------------------------------------------------------------

Server = rampart_server.Server


# The test ----------------------------------------------------------------------

class Run:
    def __init__(self, binary: str, database: "str | None"):
        self.binary = binary
        self.data = tempfile.mkdtemp(prefix="rampart-taxii-")
        # CLI-made staff have no TOTP; with it required, Basic auth for them would be a policy question, not this test's.
        self.env = dict(os.environ, RAMPART_LOG="warn", RAMPART_REQUIRE_TOTP_FOR_STAFF="false")
        if database:
            self.env["RAMPART_DATABASE"] = database
        self.server: "Server | None" = None
        self.passed = 0
        self.token = ""

    @property
    def base(self) -> str:
        return self.server.base

    def rampart(self, *args: str, stdin: "str | None" = None) -> str:
        """Runs `rampart --data-dir D ARGS…` (same env and database as the server); returns stdout."""
        out = subprocess.run([self.binary, "--data-dir", self.data, *args], input=stdin, capture_output=True,
                             text=True, env=self.env, timeout=120)
        if out.returncode != 0:
            raise AssertionError(f"`rampart {' '.join(args)}` exited {out.returncode}: {out.stderr.strip()}")
        return out.stdout

    # Steps -----------------------------------------------------------------

    def set_up_with_the_cli(self):
        if not os.access(self.binary, os.X_OK):
            raise AssertionError(f"no executable server binary at {self.binary}")
        # The CERT organisation made here is the one `serve` adopts as the operator (the first of type cert).
        for name, kind in ((CERT_ORG, "cert"), (BANK_ORG, "isac_member"), (OUTSIDER_ORG, "isac_member")):
            try:
                self.rampart("admin", "org", "add", name, "--type", kind)
            except AssertionError:
                listed = [line.split("\t")[1] for line in self.rampart("admin", "org", "list").splitlines() if line.count("\t") >= 1]
                if name not in listed:
                    raise
                print(f"  # organisation {name!r} exists already", flush=True)
        for email, org, roles in ((ANALYST, CERT_ORG, ("admin", "analyst")), (MEMBER, BANK_ORG, ("org_member",)),
                                  (OUTSIDER, OUTSIDER_ORG, ("org_member",))):
            role_args = [arg for role in roles for arg in ("--role", role)]
            self.rampart("admin", "user", "add", email, "--org", org, *role_args, "--password-stdin", stdin=PASSWORD + "\n")
        # Prints the secret alone on a line (rmp_…); admin scope in case creating sharing groups needs it.
        out = self.rampart("admin", "token", "create", ANALYST, "--name", "taxii-e2e", "--scopes", "read,write,admin")
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        assert lines, "`rampart admin token create` printed nothing"
        self.token = ([line for line in lines if re.fullmatch(r"rmp_\S+", line)] or lines)[-1]

    def start(self):
        self.server = Server(self.binary, self.data, self.env)
        self.server.wait_until_ready()
        print(f"  # {self.server.output[-1]}", flush=True)

    def discovery(self):
        server = TaxiiServer(self.base + "/taxii2/", user=ANALYST, password=PASSWORD)
        assert server.title, "the discovery resource has no title"
        assert len(server.api_roots) == 1, f"api roots: {[r.url for r in server.api_roots]}"
        root = self.root = server.api_roots[0]
        assert root.url == self.base + "/taxii2/intel/", f"the api root is {root.url}"
        assert TAXII in [v.replace(" ", "") for v in root.versions], f"versions: {root.versions}"
        assert isinstance(root.max_content_length, int) and root.max_content_length > 0, root.max_content_length
        cols = {c.id: c for c in root.collections}
        for cid, title in ((PUBLIC_ID, "Public"), (COMMUNITY_ID, "Community")):
            assert cid in cols, f"no collection {title} ({cid}) among {[(c.id, c.title) for c in cols.values()]}"
            assert cols[cid].title == title, f"collection {cid} is titled {cols[cid].title!r}"
            assert cols[cid].can_read and cols[cid].can_write, f"the analyst may not read and write {title}"
        self.community = cols[COMMUNITY_ID]
        print(f"  # {server.title!r}; collections {[c.title for c in cols.values()]}; "
              f"max_content_length {root.max_content_length}", flush=True)

    def add_250_indicators(self):
        before = all_objects(self.community)
        assert not before, f"the fresh Community collection already holds {len(before)} objects"
        self.bulk = [indicator(f"bulk-{n}", f"198.51.100.{n}") for n in range(1, 251)]
        status = self.community.add_objects({"objects": self.bulk}, poll_interval=0.5, timeout=30)
        check_status(status, success=250)
        check_status(self.root.get_status(status.id), success=250)  # GET …/taxii2/intel/status/{id}/

    def read_all_pages(self):
        pages = pages_of(self.community.get_objects, per_request=100)
        sizes = [len(p.get("objects", [])) for p in pages]
        assert sizes == [100, 100, 50], f"page sizes {sizes}, `more` flags {[p.get('more') for p in pages]}"
        ids = [o["id"] for o in items(pages)]
        assert len(ids) == len(set(ids)), f"{len(ids) - len(set(ids))} objects repeated across pages"
        assert set(ids) == {o["id"] for o in self.bulk}, "the pages' ids differ from the ones added"
        for scheme, auth in (("Bearer", BearerAuth(self.token)), ("Token", TokenAuth(self.token))):
            with Collection(self.community.url, auth=auth) as col:  # fetches the collection resource itself
                n = len(all_objects(col))
            assert n == 250, f"with `Authorization: {scheme} …` the collection holds {n} objects"

    def single_objects_and_manifest(self):
        target = self.bulk[0]
        got = self.community.get_object(target["id"]).get("objects", [])
        assert len(got) == 1, f"get_object returned {len(got)} objects"
        assert got[0] == target, f"differences (sent, received): {differences(target, got[0])}"
        records = items(pages_of(self.community.get_manifest))
        assert len(records) == 250, f"{len(records)} manifest records"
        for r in records:
            assert {"id", "date_added", "version", "media_type"} <= r.keys(), f"manifest record {r}"
            assert r["media_type"].replace(" ", "").startswith("application/stix+json"), r
            assert ts_key(r["version"]) == ts_key(CREATED), r
        dates = [ts_key(r["date_added"]) for r in records]
        assert dates == sorted(dates), "manifest records are not sorted by date_added"
        cutoff = records[99]["date_added"]
        later = {r["id"] for r in records if ts_key(r["date_added"]) > ts_key(cutoff)}
        after = items(pages_of(self.community.get_manifest, added_after=cutoff))
        early = [r for r in after if ts_key(r["date_added"]) <= ts_key(cutoff)]
        assert not early, f"added_after={cutoff} returned {len(early)} records not added after it, e.g. {early[0]}"
        assert {r["id"] for r in after} == later, f"added_after={cutoff}: {len(after)} records, {len(later)} expected"
        objs = all_objects(self.community, added_after=cutoff)
        assert {o["id"] for o in objs} == later, f"get_objects added_after={cutoff}: {len(objs)} objects, {len(later)} expected"
        self.last_added = records[-1]["date_added"]
        print(f"  # added_after={cutoff}: {len(later)} of 250 records are later", flush=True)

    def versions(self):
        old = self.bulk[10]
        new = dict(old, modified="2026-02-01T00:00:00.000Z", name=old["name"] + " (revised)")
        time.sleep(1.1)  # so that its date_added is later than the bulk's even at one-second resolution
        check_status(self.community.add_objects({"objects": [new]}, poll_interval=0.5, timeout=30), success=1)
        newer = items(pages_of(self.community.get_manifest, added_after=self.last_added))
        assert [(r["id"], ts_key(r["version"])) for r in newer] == [(old["id"], ts_key(new["modified"]))], \
            f"manifest added_after={self.last_added} (the bulk's last date_added): {newer}"
        versions = self.community.object_versions(old["id"]).get("versions", [])
        assert sorted(map(ts_key, versions)) == [ts_key(old["modified"]), ts_key(new["modified"])], f"versions {versions}"
        every = self.community.get_object(old["id"], version="all").get("objects", [])
        assert sorted(o["name"] for o in every) == sorted([old["name"], new["name"]]), f"version=all: {every}"
        last = self.community.get_object(old["id"]).get("objects", [])
        assert [o["name"] for o in last] == [new["name"]], f"the default (last) version: {last}"
        first = self.community.get_object(old["id"], version="first").get("objects", [])
        assert [o["name"] for o in first] == [old["name"]], f"version=first: {first}"

    def partly_invalid_envelope(self):
        good = [indicator("partial-1", "203.0.113.1"), indicator("partial-2", "203.0.113.2")]
        bad = indicator("partial-bad", "203.0.113.3")
        del bad["pattern"]
        status = self.community.add_objects({"objects": [good[0], bad, good[1]]}, poll_interval=0.5, timeout=30)
        check_status(status, success=2, failure=1)
        assert [f.get("id") for f in status.failures] == [bad["id"]], f"failures: {status.failures}"
        message = (status.failures[0].get("message") or "").strip()
        assert message, "the failure has no message"
        if status.successes:
            assert {s.get("id") for s in status.successes} == {g["id"] for g in good}, f"successes: {status.successes}"
        for g in good:
            assert len(self.community.get_object(g["id"]).get("objects", [])) == 1, f"{g['id']} was not stored"
        invisible(self.community, bad["id"], "the analyst")
        print(f"  # failure message: {message!r}", flush=True)

    def delete_an_object(self):
        self.deleted = self.bulk[20]["id"]
        self.community.delete_object(self.deleted)
        invisible(self.community, self.deleted, "the analyst after deleting it")
        expect_error(lambda: self.community.object_versions(self.deleted), {404}, "versions of a deleted object")

    def red_and_green_indicators(self):
        self.red = indicator("tlp-red", "203.0.113.66", tlp="red")
        self.green = indicator("tlp-green", "203.0.113.77", tlp="green")
        check_status(self.community.add_objects({"objects": [self.red, self.green]}, poll_interval=0.5, timeout=30), success=2)
        got = self.community.get_object(self.red["id"]).get("objects", [])
        assert [o["id"] for o in got] == [self.red["id"]], "the producing organisation does not see its TLP:RED object"

    def sharing_group_collection(self):
        api = requests.Session()
        api.headers.update({"Authorization": f"Bearer {self.token}", "Accept": "application/json"})
        r = api.get(self.base + "/api/v1/organisations")
        assert r.status_code == 200, f"GET /api/v1/organisations: {r.status_code} {r.text[:300]}"
        body = r.json()
        orgs = body if isinstance(body, list) else body.get("items") or body.get("organisations") or []
        by_name = {o["name"]: str(o["id"]) for o in orgs}
        assert BANK_ORG in by_name, f"no {BANK_ORG!r} among {sorted(by_name)}"
        bank = by_name[BANK_ORG]
        r = api.post(self.base + "/api/v1/sharing-groups",
                     json={"name": GROUP_NAME, "description": "Banks sharing fraud indicators", "members": [bank]})
        assert r.status_code == 201, f"POST /api/v1/sharing-groups: {r.status_code} {r.text[:300]}"
        group = r.json()
        members = [str(m.get("id") if isinstance(m, dict) else m) for m in group.get("members", [])]
        assert group.get("name") == GROUP_NAME and bank in members, f"the new group: {group}"
        self.group_id = str(group["id"]).lower()
        self.root.refresh_collections()
        cols = {c.id: c for c in self.root.collections}
        assert self.group_id in cols, f"no collection {self.group_id} among {[(c.id, c.title) for c in cols.values()]}"
        assert cols[self.group_id].title == GROUP_NAME, f"the group's collection is titled {cols[self.group_id].title!r}"
        self.amber = indicator("tlp-amber", "203.0.113.88", tlp="amber")
        check_status(cols[self.group_id].add_objects({"objects": [self.amber]}, poll_interval=0.5, timeout=30), success=1)

    def member_sees_green_not_red(self):
        server = TaxiiServer(self.base + "/taxii2/", user=MEMBER, password=PASSWORD)
        assert len(server.api_roots) == 1, f"api roots: {[r.url for r in server.api_roots]}"
        self.member_root = server.api_roots[0]
        cols = self.member_cols = {c.id: c for c in self.member_root.collections}
        assert PUBLIC_ID in cols and COMMUNITY_ID in cols, f"the member's collections: {[(c.id, c.title) for c in cols.values()]}"
        assert cols[PUBLIC_ID].can_write is False, "a member may write to Public"
        community = self.member_community = cols[COMMUNITY_ID]
        assert community.can_read and community.can_write, "a member may not read and submit to Community"
        ids = {o["id"] for o in all_objects(community)}
        assert self.green["id"] in ids, "the member does not see the TLP:GREEN indicator"
        assert self.red["id"] not in ids, "the member sees the TLP:RED indicator in get_objects"
        unmarked = {o["id"] for o in self.bulk} - {self.deleted}
        assert unmarked <= ids, f"{len(unmarked - ids)} unmarked (Community default GREEN) indicators are hidden from the member"
        invisible(community, self.red["id"], "the member")
        manifest = {r["id"] for r in items(pages_of(community.get_manifest))}
        assert self.green["id"] in manifest and self.red["id"] not in manifest, "the member's manifest is wrong about GREEN/RED"
        expect_error(lambda: community.object_versions(self.red["id"]), {404}, "the member: versions of the TLP:RED object")

    def member_sees_the_group(self):
        col = self.member_cols.get(self.group_id)
        assert col is not None, f"the member's collections: {[(c.id, c.title) for c in self.member_cols.values()]}"
        assert col.title == GROUP_NAME and col.can_read and col.can_write, f"{col.title!r} read={col.can_read} write={col.can_write}"
        assert self.amber["id"] in {o["id"] for o in all_objects(col)}, "the member does not see the group's AMBER indicator"

    def outsider_is_kept_out(self):
        root = ApiRoot(self.base + "/taxii2/intel/", user=OUTSIDER, password=PASSWORD)
        cols = {c.id: c for c in root.collections}
        assert self.group_id not in cols and GROUP_NAME not in [c.title for c in cols.values()], "the outsider lists the group"
        self.outsider_community = cols[COMMUNITY_ID]
        invisible(self.outsider_community, self.red["id"], "the outsider")
        url = f"{root.url}collections/{self.group_id}/"
        for path in ("", "objects/", "manifest/", f"objects/{self.amber['id']}/"):
            r = requests.get(url + path, auth=(OUTSIDER, PASSWORD), headers={"Accept": TAXII})
            assert r.status_code in (403, 404), f"the outsider's GET {url + path}: {r.status_code} {r.text[:200]}"
        r = requests.post(url + "objects/", auth=(OUTSIDER, PASSWORD), headers={"Accept": TAXII, "Content-Type": TAXII},
                          data=json.dumps({"objects": [indicator("outsider", "203.0.113.200")]}))
        assert r.status_code in (403, 404), f"the outsider's POST to the group: {r.status_code} {r.text[:200]}"

    def anonymous_callers(self):
        url = f"{self.base}/taxii2/intel/collections/{COMMUNITY_ID}/objects/"
        r = requests.get(url, headers={"Accept": TAXII})
        if r.status_code == 200:
            assert not r.json().get("objects"), f"anonymous GET of Community returned {len(r.json()['objects'])} objects"
        else:
            assert r.status_code in (401, 403), f"anonymous GET of Community: {r.status_code} {r.text[:200]}"
        r = requests.post(url, headers={"Accept": TAXII, "Content-Type": TAXII},
                          data=json.dumps({"objects": [indicator("anonymous", "203.0.113.201")]}))
        assert r.status_code == 401, f"anonymous POST: {r.status_code} {r.text[:200]}"
        print(f"  # anonymous POST: 401, WWW-Authenticate: {r.headers.get('WWW-Authenticate')!r}", flush=True)

    def media_types(self):
        url, auth = self.community.objects_url, (ANALYST, PASSWORD)
        r = requests.get(url, auth=auth, headers={"Accept": "text/html"})
        assert r.status_code == 406, f"GET with Accept: text/html: {r.status_code} {r.text[:200]}"
        plain = indicator("media-type", "203.0.113.99")
        r = requests.post(url, auth=auth, headers={"Accept": TAXII, "Content-Type": "application/json"},
                          data=json.dumps({"objects": [plain]}))
        assert r.status_code == 415, f"POST with Content-Type: application/json: {r.status_code} {r.text[:200]}"
        invisible(self.community, plain["id"], "the analyst, after a 415")
        limit = self.root.max_content_length
        assert limit <= 256 * 1024 * 1024, f"max_content_length {limit} is too large to send in a test"
        head, tail = b'{"objects": [], "padding": "', b'"}'
        body = head + b"x" * max(0, limit + 1 - len(head) - len(tail)) + tail
        try:
            r = requests.post(url, auth=auth, headers={"Accept": TAXII, "Content-Type": TAXII}, data=body)
        except requests.exceptions.ConnectionError as e:
            raise AssertionError(f"a {len(body)}-byte body broke the connection instead of getting a 413: {e}")
        assert r.status_code == 413, f"POST of {len(body)} bytes (max_content_length {limit}): {r.status_code} {r.text[:200]}"

    def member_submission_is_pending(self):
        sub = indicator("member-submission", "203.0.113.123")
        status = self.member_community.add_objects({"objects": [sub]}, wait_for_completion=False)
        check_status(status, pending=1, final=False)
        again = self.member_root.get_status(status.id)
        check_status(again, pending=1, final=False)
        invisible(self.outsider_community, sub["id"], "the outsider, before review")
        print(f"  # {describe(again)}", flush=True)

    def close(self):
        if self.server:
            self.server.stop()
        shutil.rmtree(self.data, ignore_errors=True)


def explain(e: BaseException):
    """For an HTTP error, the request and the server's answer."""
    response = getattr(e, "response", None)
    if isinstance(response, requests.Response):
        req = response.request
        print(f"  # {req.method} {req.url} -> {response.status_code} {response.headers.get('Content-Type')!r}: {response.text[:500]!r}")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="target/debug/rampart", help="the rampart server binary (default: %(default)s)")
    parser.add_argument("--database", default=None, help="postgres://… (an empty database); default: SQLite in a temporary folder")
    args = parser.parse_args()
    run = Run(os.path.abspath(args.binary), args.database)
    steps = [
        ("organisations, users and a token are set up with rampart admin", run.set_up_with_the_cli),
        ("the server starts", run.start),
        ("discovery lists one api root with Public and Community", run.discovery),
        ("250 indicators are added to Community in one envelope", run.add_250_indicators),
        ("they read back in pages of 100, 100 and 50, also with a token", run.read_all_pages),
        ("get_object, the manifest and added_after", run.single_objects_and_manifest),
        ("a second version is listed and served by match[version]", run.versions),
        ("an envelope with an invalid object stores the valid ones", run.partly_invalid_envelope),
        ("a deleted object is gone", run.delete_an_object),
        ("the analyst adds a TLP:RED and a TLP:GREEN indicator", run.red_and_green_indicators),
        ("a sharing group gets a collection with an AMBER indicator", run.sharing_group_collection),
        ("the member sees TLP:GREEN but never TLP:RED", run.member_sees_green_not_red),
        ("the member sees the group's collection and its AMBER indicator", run.member_sees_the_group),
        ("the outsider neither sees nor reaches the group's collection", run.outsider_is_kept_out),
        ("anonymous callers cannot read Community or write", run.anonymous_callers),
        ("wrong media types get 406 and 415, an oversized body 413", run.media_types),
        ("a member's submission waits for review", run.member_submission_is_pending),
    ]
    failed = 0
    try:
        for name, step in steps:
            try:
                step()
            except Exception as e:
                failed = 1
                print(f"not ok - {name}", flush=True)
                print(traceback.format_exc(), end="")
                explain(e)
                if run.server:
                    tail = run.server.stderr_tail()
                    if tail:
                        print("  # server stderr (last lines):\n" + "".join("  #   " + l for l in tail.splitlines(True)))
                break
            run.passed += 1
            print(f"ok - {name}", flush=True)
    finally:
        run.close()
    print(f"{run.passed} passed, {failed} failed", flush=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
