#!/usr/bin/env python3
"""End-to-end test of Rampart's MISP-compatible endpoints with the unmodified PyMISP.

Starts `rampart serve` on a fresh data directory (SQLite, or an empty PostgreSQL
database with --database), makes a CERT analyst, a member of another organisation and
their API tokens with `rampart admin`, then, with PyMISP from PyPI:

1. connects (getPyMISPVersion, getVersion, users/view/me, describeTypes),
2. adds an event with attributes of several types and a TLP:GREEN tag, and a TLP:RED one,
3. fetches the event back and compares it field by field with what was sent,
4. searches attributes by value and events by value and tag,
5. lists events and tags,
6. as the member: sees the TLP:GREEN event (shared with the community) but never the
   TLP:RED one, by id, by uuid, in searches or in the index.

Prints `ok - <step>` per passed step and ends with `N passed, M failed`; exits 1 on the
first failure, with the server's stderr.
"""

import argparse
import os
import re
import shutil
import subprocess
import sys
import tempfile
import traceback
import uuid

import rampart_server
from pymisp import MISPAttribute, MISPEvent, PyMISP

CERT_ORG = "National CERT"
MEMBER_ORG = "Member Bank"
ANALYST = "analyst@cert.example.tw"
MEMBER = "soc@bank.example.tw"
PASSWORD = "a long and memorable passphrase"


class Run:
    def __init__(self, binary: str, database: "str | None"):
        self.binary = binary
        self.data = tempfile.mkdtemp(prefix="rampart-misp-")
        self.env = dict(os.environ, RAMPART_LOG="warn")
        if database:
            self.env["RAMPART_DATABASE"] = database
        self.server = None
        self.passed = 0

    def rampart(self, *args: str, stdin: "str | None" = None) -> str:
        out = subprocess.run([self.binary, "--data-dir", self.data, *args], input=stdin, capture_output=True, text=True, env=self.env, timeout=120)
        if out.returncode != 0:
            raise AssertionError(f"`rampart {' '.join(args)}` exited {out.returncode}: {out.stderr.strip()}")
        return out.stdout

    def token(self, email: str) -> str:
        out = self.rampart("admin", "token", "create", email, "--name", "misp-e2e", "--scopes", "read,write")
        lines = [line.strip() for line in out.splitlines() if line.strip()]
        return ([line for line in lines if re.fullmatch(r"rmp_\S+", line)] or lines)[-1]

    def set_up(self):
        self.rampart("admin", "org", "add", CERT_ORG, "--type", "cert")
        self.rampart("admin", "org", "add", MEMBER_ORG, "--type", "isac_member")
        self.rampart("admin", "user", "add", ANALYST, "--org", CERT_ORG, "--role", "analyst", "--password-stdin", stdin=PASSWORD + "\n")
        self.rampart("admin", "user", "add", MEMBER, "--org", MEMBER_ORG, "--role", "org_member", "--password-stdin", stdin=PASSWORD + "\n")
        self.analyst_key = self.token(ANALYST)
        self.member_key = self.token(MEMBER)
        self.server = rampart_server.Server(self.binary, self.data, self.env)
        self.server.wait_until_ready()

    def connect(self):
        self.misp = PyMISP(self.server.base, self.analyst_key, ssl=False)
        assert self.misp.misp_instance_version["version"], self.misp.misp_instance_version
        assert "ip-dst" in self.misp.describe_types["types"], self.misp.describe_types["types"]
        me = self.misp.get_user()
        assert me["User"]["email"] == ANALYST, me

    def add_events(self):
        event = MISPEvent()
        event.info = "Phishing wave against banks"
        event.uuid = str(uuid.uuid4())
        event.distribution = 1
        event.threat_level_id = 2
        event.analysis = 1
        event.date = "2026-11-30"
        event.add_tag("tlp:green")
        event.add_tag("type:OSINT")
        self.sent = [
            ("ip-dst", "185.220.101.9", "Network activity", True, "C2 server"),
            ("domain", "login-bank.example.tw", "Network activity", True, ""),
            ("url", "http://login-bank.example.tw/verify?id=1", "Network activity", True, ""),
            ("sha256", "aec070645fe53ee3b3763059376134f058cc337247c978add178b6ccdfb0019f", "Payload delivery", True, "dropper"),
            ("email-src", "ceo@phish.example.tw", "Payload delivery", False, ""),
            ("text", "Campaign seen by three members", "Other", False, ""),
        ]
        for t, v, c, ids, comment in self.sent:
            a = MISPAttribute()
            a.from_dict(type=t, value=v, category=c, to_ids=ids, comment=comment)
            event.add_attribute(**a.to_dict())
        added = self.misp.add_event(event, pythonify=True)
        assert not isinstance(added, dict), f"add_event answered {added}"
        self.event = added
        assert added.uuid == event.uuid and added.info == event.info, added.to_dict()
        red = MISPEvent()
        red.info = "Only for the CERT"
        red.add_tag("tlp:red")
        red.add_attribute("ip-dst", "185.220.101.66", to_ids=True)
        self.red = self.misp.add_event(red, pythonify=True)
        assert not isinstance(self.red, dict), f"add_event answered {self.red}"

    def fetch(self):
        got = self.misp.get_event(self.event.id, pythonify=True)
        assert not isinstance(got, dict), got
        assert got.info == "Phishing wave against banks" and str(got.threat_level_id) == "2" and str(got.analysis) == "1", got.to_dict()
        assert str(got.date) == "2026-11-30", got.date
        assert {t.name for t in got.tags} == {"tlp:green", "type:OSINT"}, [t.name for t in got.tags]
        back = [(a.type, a.value, a.category, bool(a.to_ids), a.comment or "") for a in got.attributes]
        assert back == self.sent, f"sent {self.sent}\ngot  {back}"
        by_uuid = self.misp.get_event(self.event.uuid, pythonify=True)
        assert by_uuid.id == got.id, (by_uuid.id, got.id)

    def search(self):
        attrs = self.misp.search(controller="attributes", value="185.220.101.9", pythonify=True)
        assert [a.value for a in attrs] == ["185.220.101.9"], attrs
        assert str(attrs[0].event_id) == str(self.event.id), attrs[0].to_dict()
        hashes = self.misp.search(controller="attributes", type_attribute="sha256", pythonify=True)
        assert [a.value for a in hashes] == [self.sent[3][1]], hashes
        events = self.misp.search(controller="events", value="login-bank.example.tw", pythonify=True)
        assert [e.info for e in events] == ["Phishing wave against banks"], events
        tagged = self.misp.search(controller="events", tags=["tlp:red"], pythonify=True)
        assert [e.info for e in tagged] == ["Only for the CERT"], tagged
        assert self.misp.search(controller="attributes", value="192.0.2.200", pythonify=True) == []

    def index_and_tags(self):
        infos = sorted(e["info"] for e in self.misp.events())
        assert infos == ["Only for the CERT", "Phishing wave against banks"], infos
        names = {t.name for t in self.misp.tags(pythonify=True)}
        assert {"tlp:green", "tlp:red", "type:OSINT"} <= names, names

    def member_view(self):
        member = PyMISP(self.server.base, self.member_key, ssl=False)
        got = member.get_event(self.event.id, pythonify=True)
        assert not isinstance(got, dict) and got.info == "Phishing wave against banks", got
        for ref in (self.red.id, self.red.uuid):
            refused = member.get_event(ref)
            assert "errors" in refused and refused["errors"][0] == 404, refused
        assert member.search(controller="attributes", value="185.220.101.66") == {"Attribute": []} or member.search(controller="attributes", value="185.220.101.66", pythonify=True) == []
        assert [e["info"] for e in member.events()] == ["Phishing wave against banks"]
        everything = str(member.search(controller="events")) + str(member.search(controller="attributes"))
        assert "185.220.101.66" not in everything and "Only for the CERT" not in everything

    def step(self, name, fn):
        fn()
        self.passed += 1
        print(f"ok - {name}", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--binary", default="target/debug/rampart")
    parser.add_argument("--database", default=None)
    args = parser.parse_args()
    run = Run(os.path.abspath(args.binary), args.database)
    steps = [
        ("organisations, users and tokens are set up and the server starts", run.set_up),
        ("PyMISP connects: versions, the user, describeTypes", run.connect),
        ("events are added: attributes of six types, TLP:GREEN and TLP:RED", run.add_events),
        ("the event reads back as it was sent, by id and by uuid", run.fetch),
        ("attributes and events are found by value, type and tag", run.search),
        ("the event index and the tags", run.index_and_tags),
        ("a member sees the community's event and never the TLP:RED one", run.member_view),
    ]
    try:
        for name, fn in steps:
            run.step(name, fn)
    except Exception:
        traceback.print_exc()
        if run.server:
            print("server stderr:\n" + run.server.stderr_tail(), flush=True)
        print(f"{run.passed} passed, 1 failed")
        return 1
    finally:
        if run.server:
            run.server.stop()
        shutil.rmtree(run.data, ignore_errors=True)
    print(f"{run.passed} passed, 0 failed")
    return 0


if __name__ == "__main__":
    sys.exit(main())
