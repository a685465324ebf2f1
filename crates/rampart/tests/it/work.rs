//! Working an incident over the API: playbook tasks, investigations,
//! countermeasures (and PAP), links and merges.

use crate::harness::installs;
use crate::http::send;
use serde_json::{json, Value};

#[test]
fn an_incident_is_worked_through_tasks_investigations_and_countermeasures() {
    for install in installs() {
        install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
        install.user("auditor@cert.tw", "Rampart CERT", "cert", "auditor");
        let token = install.token("analyst@cert.tw", "read,write");
        let auditor = install.token("auditor@cert.tw", "read");
        let server = install.start(&[]);
        let call = |token: &str, method: &str, path: &str, body: Value| {
            let auth = format!("Bearer {token}");
            let body = if body.is_null() { String::new() } else { body.to_string() };
            let r = send(&server.base, method, path, &[("Authorization", &auth), ("Content-Type", "application/json")], body.as_bytes());
            (r.status, if r.body.is_empty() { Value::Null } else { r.json() })
        };
        let (_, incident) = call(
            &token,
            "POST",
            "/api/v1/incidents",
            json!({"title": "Phishing against a bank", "rsit_class": "fraud", "rsit_type": "phishing", "pap": "green"}),
        );
        let id = incident["id"].as_str().unwrap().to_string();

        let (_, tasks) = call(&token, "GET", &format!("/api/v1/incidents/{id}/tasks"), Value::Null);
        let tasks = tasks.as_array().unwrap().clone();
        assert!(tasks.len() >= 3, "the playbook's tasks: {tasks:?}");
        let task_id = tasks[0]["id"].as_str().unwrap();
        let (status, done) = call(&token, "PATCH", &format!("/api/v1/tasks/{task_id}"), json!({"done": true}));
        assert_eq!(status, 200);
        assert!(done["done_at"].is_string());
        assert_eq!(call(&auditor, "PATCH", &format!("/api/v1/tasks/{task_id}"), json!({"done": false})).0, 403, "auditors read only");

        let (status, inv) = call(
            &token,
            "POST",
            &format!("/api/v1/incidents/{id}/investigations"),
            json!({"party": "Hosting provider", "contact": "abuse@hosting.example"}),
        );
        assert_eq!(status, 201, "{inv}");
        let inv_id = inv["id"].as_str().unwrap();
        assert_eq!(
            call(&token, "POST", &format!("/api/v1/investigations/{inv_id}/status"), json!({"status": "closed"})).1["status"],
            "closed"
        );

        let (status, cm) = call(
            &token,
            "POST",
            &format!("/api/v1/incidents/{id}/countermeasures"),
            json!({"kind": "block_domain", "target": "bank-login.example.com"}),
        );
        assert_eq!(status, 201, "{cm}");
        let cm_id = cm["id"].as_str().unwrap();
        let (status, problem) = call(&token, "POST", &format!("/api/v1/countermeasures/{cm_id}/status"), json!({"status": "removed"}));
        assert_eq!(status, 200, "pending activation may be withdrawn: {problem}");
        let (status, _) = call(&token, "POST", &format!("/api/v1/countermeasures/{cm_id}/status"), json!({"status": "active"}));
        assert_eq!(status, 422, "a removed block does not come back");

        // PAP:RED information is not for active use by others.
        let (_, red) = call(&token, "POST", "/api/v1/incidents", json!({"title": "Sensitive", "pap": "red"}));
        let red_id = red["id"].as_str().unwrap();
        let (status, _) = call(
            &token,
            "POST",
            &format!("/api/v1/incidents/{red_id}/countermeasures"),
            json!({"kind": "block_ip", "target": "192.0.2.1"}),
        );
        assert_eq!(status, 201, "the CERT owns its incidents, so PAP does not stop it");

        let (_, other) = call(&token, "POST", "/api/v1/incidents", json!({"title": "Same campaign"}));
        let other_id = other["id"].as_str().unwrap();
        assert_eq!(call(&token, "POST", &format!("/api/v1/incidents/{other_id}/links"), json!({"incident_id": id})).0, 204);
        assert_eq!(call(&token, "POST", &format!("/api/v1/incidents/{other_id}/merge"), json!({"incident_id": id})).0, 204);
        let (_, merged) = call(&token, "GET", &format!("/api/v1/incidents/{other_id}"), Value::Null);
        assert_eq!((merged["status"].as_str(), merged["merged_into"].as_str()), (Some("closed"), Some(id.as_str())));
        assert_eq!(call(&token, "POST", &format!("/api/v1/incidents/{other_id}/merge"), json!({"incident_id": id})).0, 422);
        assert_eq!(
            call(
                &token,
                "POST",
                &format!("/api/v1/incidents/{id}/tasks"),
                json!({"title": "Follow up", "assignee_id": uuid::Uuid::now_v7()})
            )
            .0,
            422
        );
    }
}

#[test]
fn the_incident_page_works_without_javascript() {
    let install = crate::harness::sqlite_install();
    install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
    let token = install.token("analyst@cert.tw", "read,write");
    let server = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false")]);
    let auth = format!("Bearer {token}");
    let r = send(
        &server.base,
        "POST",
        "/api/v1/incidents",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        br#"{"title":"DDoS on a ministry"}"#,
    );
    let id = r.json()["id"].as_str().unwrap().to_string();
    let page = format!("/incidents/{id}");
    let mut browser = crate::http::Browser::new(&server.base);
    browser.submit("/login", "/login", &[("email", "analyst@cert.tw"), ("password", crate::harness::ADMIN_PASSWORD)]);

    browser.submit(&page, &format!("{page}/task"), &[("title", "Call the ministry's SOC")]);
    let html = browser.get(&page).text();
    assert!(html.contains("Call the ministry&#39;s SOC") || html.contains("Call the ministry's SOC"), "the task is listed");
    let task_id = html.split("name=\"item\" value=\"").nth(1).and_then(|s| s.split('"').next()).unwrap().to_string();
    browser.submit(&page, &format!("{page}/task_done"), &[("item", &task_id)]);
    assert!(browser.get(&page).text().contains("is-done"));

    browser.submit(&page, &format!("{page}/countermeasure"), &[("kind", "block_ip"), ("target", "198.51.100.200")]);
    let (status, cms) = {
        let r = send(&server.base, "GET", &format!("/api/v1/incidents/{id}/countermeasures"), &[("Authorization", &auth)], b"");
        (r.status, r.json())
    };
    assert_eq!(status, 200);
    let cm_id = cms[0]["id"].as_str().unwrap().to_string();
    browser.submit(&page, &format!("{page}/countermeasure_status"), &[("item", &cm_id), ("status", "active")]);
    let r = send(&server.base, "GET", &format!("/api/v1/incidents/{id}/countermeasures"), &[("Authorization", &auth)], b"");
    assert_eq!(r.json()[0]["status"], "active");

    // An item of another incident cannot be acted on through this page.
    let other = send(
        &server.base,
        "POST",
        "/api/v1/incidents",
        &[("Authorization", &auth), ("Content-Type", "application/json")],
        br#"{"title":"Other"}"#,
    )
    .json();
    let other_page = format!("/incidents/{}", other["id"].as_str().unwrap());
    let wrong =
        browser.submit(&other_page, &format!("{other_page}/countermeasure_status"), &[("item", &cm_id), ("status", "pending_removal")]);
    assert!(browser.get(wrong.location()).text().contains("flash-error"));
}

#[test]
fn assignment_and_the_analysts_own_queue() {
    let install = crate::harness::sqlite_install();
    install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
    install.user("other@cert.tw", "Rampart CERT", "cert", "analyst");
    let token = install.token("analyst@cert.tw", "read,write");
    let server = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false")]);
    let auth = format!("Bearer {token}");
    let api = |method: &str, path: &str, body: Value| {
        let r = send(
            &server.base,
            method,
            path,
            &[("Authorization", &auth), ("Content-Type", "application/json")],
            body.to_string().as_bytes(),
        );
        (r.status, r.json())
    };
    let (_, me) = api("GET", "/api/v1/me", Value::Null);
    let (_, mine) = api("POST", "/api/v1/incidents", json!({"title": "Assigned to me", "assignee_id": me["id"]}));
    api("POST", "/api/v1/incidents", json!({"title": "Nobody's"}));
    assert_eq!(
        api("POST", "/api/v1/incidents", json!({"title": "x", "assignee_id": uuid::Uuid::now_v7()})).0,
        422,
        "only staff are assigned"
    );

    let mut browser = crate::http::Browser::new(&server.base);
    browser.submit("/login", "/login", &[("email", "analyst@cert.tw"), ("password", crate::harness::ADMIN_PASSWORD)]);
    let only_mine = browser.get("/queue?mine=1").text();
    assert!(only_mine.contains("Assigned to me") && !only_mine.contains("Nobody&#39;s") && !only_mine.contains("Nobody's"));

    // Unassigning through the incident page.
    let page = format!("/incidents/{}", mine["id"].as_str().unwrap());
    browser.submit(&page, &format!("{page}/classify"), &[("severity", "medium"), ("assignee_id", "")]);
    let (_, after) = api("GET", &format!("/api/v1/incidents/{}", mine["id"].as_str().unwrap()), Value::Null);
    assert!(after["assignee_id"].is_null(), "{after}");
}

#[test]
fn teams_take_incidents_and_see_them_as_their_own() {
    for install in installs() {
        install.user("lead@cert.tw", "Rampart CERT", "cert", "coordinator");
        install.user("analyst@cert.tw", "Rampart CERT", "cert", "analyst");
        let lead = install.token("lead@cert.tw", "read,write");
        let analyst = install.token("analyst@cert.tw", "read,write");
        let server = install.start(&[("RAMPART_REQUIRE_TOTP_FOR_STAFF", "false")]);
        let call = |token: &str, method: &str, path: &str, body: Value| {
            let auth = format!("Bearer {token}");
            let body = if body.is_null() { String::new() } else { body.to_string() };
            let r = send(&server.base, method, path, &[("Authorization", &auth), ("Content-Type", "application/json")], body.as_bytes());
            (r.status, if r.body.is_empty() { Value::Null } else { r.json() })
        };
        let (status, team) = call(&lead, "POST", "/api/v1/teams", json!({"name": "Malware analysis"}));
        assert_eq!(status, 201, "{team}");
        assert_eq!(call(&lead, "POST", "/api/v1/teams", json!({"name": "malware ANALYSIS"})).0, 409, "names are unique");
        assert_eq!(call(&analyst, "POST", "/api/v1/teams", json!({"name": "Mine"})).0, 403, "coordinators and admins manage teams");
        let team_id = team["id"].as_str().unwrap();
        let (_, me) = call(&analyst, "GET", "/api/v1/me", Value::Null);
        let (status, team) = call(&lead, "POST", &format!("/api/v1/teams/{team_id}/members"), json!({"user_id": me["id"]}));
        assert_eq!(status, 200);
        assert_eq!(team["members"].as_array().unwrap().len(), 1);

        let (_, incident) = call(&lead, "POST", "/api/v1/incidents", json!({"title": "Emotet wave", "team_id": team_id}));
        assert_eq!(incident["team_id"], team_id);
        call(&lead, "POST", "/api/v1/incidents", json!({"title": "Unrelated"}));
        assert_eq!(call(&lead, "POST", "/api/v1/incidents", json!({"title": "x", "team_id": uuid::Uuid::now_v7()})).0, 422);
        let (_, mine) = call(&analyst, "GET", &format!("/api/v1/incidents?mine_of={}", me["id"].as_str().unwrap()), Value::Null);
        let titles: Vec<&str> = mine["items"].as_array().unwrap().iter().map(|i| i["title"].as_str().unwrap()).collect();
        assert_eq!(titles, ["Emotet wave"], "a team's incidents are its members' own");

        let mut browser = crate::http::Browser::new(&server.base);
        browser.submit("/login", "/login", &[("email", "analyst@cert.tw"), ("password", crate::harness::ADMIN_PASSWORD)]);
        let queue = browser.get("/queue?mine=1").text();
        assert!(queue.contains("Emotet wave") && !queue.contains("Unrelated"));
        let (_, cleared) =
            call(&lead, "PATCH", &format!("/api/v1/incidents/{}", incident["id"].as_str().unwrap()), json!({"team_id": uuid::Uuid::nil()}));
        assert!(cleared["team_id"].is_null(), "{cleared}");
    }
}
