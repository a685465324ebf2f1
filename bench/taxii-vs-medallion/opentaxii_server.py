#!/usr/bin/env python3
"""OpenTAXII's TAXII 2.1 server for bench.py, run with the Python of a virtualenv that has
opentaxii installed: writes a TAXII-2-only configuration (SQLite databases in --dir), creates an
API root, a collection and an admin account, prints `READY <api root id> <collection id>
<bearer token>` on stdout and serves on 127.0.0.1:--port with werkzeug (threaded, no debug, no
reloader) until it is terminated. Logging at WARNING, to stderr.

It patches one bug of OpenTAXII 0.9.3 (see below) without which taxii2client cannot open the
collection and every POST answers 500.

This is what `opentaxii-run-dev` does, minus the debug mode and the fixed port; the steps are
those of OpenTAXII's documentation (opentaxii-add-api-root, opentaxii-add-collection,
opentaxii-create-account), done in one process.
"""

import argparse
import functools
import json
import os
import sys
import types


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--dir", required=True)
    p.add_argument("--port", type=int, required=True)
    p.add_argument("--user", required=True)
    p.add_argument("--password", required=True)
    args = p.parse_args()
    d = os.path.abspath(args.dir)
    config = {  # YAML is a superset of JSON
        "domain": f"127.0.0.1:{args.port}",
        "support_basic_auth": True,
        "return_server_error_details": True,
        "auth_api": {
            "class": "opentaxii.auth.sqldb.SQLDatabaseAPI",
            "parameters": {
                "db_connection": f"sqlite:///{d}/auth.db",
                "create_tables": True,
                "secret": "bench-taxii-vs-medallion-not-a-secret",
                "token_ttl_secs": 7 * 24 * 3600,
            },
        },
        "taxii1": None,  # TAXII 2 only
        "taxii2": {
            "title": "Rampart benchmark (OpenTAXII)",
            "description": "bench/taxii-vs-medallion",
            "max_content_length": 16 * 1024 * 1024,
            "public_discovery": True,
            "allow_custom_properties": True,
            "persistence_api": {
                "class": "opentaxii.persistence.sqldb.Taxii2SQLDatabaseAPI",
                "parameters": {"db_connection": f"sqlite:///{d}/data.db", "create_tables": True},
            },
        },
        "logging": {"opentaxii": "warning", "root": "warning"},
    }
    path = os.path.join(d, "opentaxii.yml")
    with open(path, "w") as f:
        json.dump(config, f, indent=1)
    os.environ["OPENTAXII_CONFIG"] = path

    import warnings
    warnings.simplefilter("ignore")
    from opentaxii.config import ServerConfig
    from opentaxii.middleware import create_app
    from opentaxii.server import TAXIIServer
    from opentaxii.utils import configure_logging
    import opentaxii.taxii2.http as taxii2_http

    # OpenTAXII 0.9.3 (the latest on PyPI) answers 500 on GET collection(s), POST objects and
    # GET status: the ids are uuid.UUID objects and json.dumps cannot write them (issue #243).
    # Upstream fixed it in PR #289 (merged 2025-12-02, not released); this is the equivalent
    # one-line fix, as given in the issue: json.dumps(..., default=str).
    if getattr(taxii2_http, "json", None) is json:
        taxii2_http.json = types.SimpleNamespace(dumps=functools.partial(json.dumps, default=str))
        print("PATCHED opentaxii.taxii2.http.make_taxii2_response: json.dumps(default=str) (issue #243)",
              file=sys.stderr, flush=True)

    cfg = ServerConfig()
    configure_logging(cfg["logging"], plain=True)
    server = TAXIIServer(cfg)
    app = create_app(server)
    app.debug = False
    with app.app_context():
        api = server.servers.taxii2.persistence.api
        root = api.add_api_root(title="Bench", description="bench/taxii-vs-medallion", default=True)
        col = api.add_collection(api_root_id=str(root.id), title="Bench collection", description="benchmark")
        server.auth.api.create_account(username=args.user, password=args.password, is_admin=True)
        # Basic auth checks the password hash (werkzeug's scrypt) on every request; the
        # bearer token (a JWT) is what a client that fetches many pages would use.
        token = server.auth.authenticate(args.user, args.password)
    print(f"READY {root.id} {col.id} {token}", flush=True)
    app.run(host="127.0.0.1", port=args.port, threaded=True, debug=False, use_reloader=False)


if __name__ == "__main__":
    sys.exit(main())
