//! The incident store's SQL, the same on both backends but for full-text search.
//! See [`crate::common`] for why this is a macro.

/// A value for a dynamically built query.
#[derive(Debug, Clone)]
pub(crate) enum Bind {
    Text(String),
    Time(chrono::DateTime<chrono::Utc>),
    Int(i64),
}

pub(crate) fn parse_wire<T: std::str::FromStr>(s: &str) -> crate::Result<T>
where
    T::Err: std::fmt::Display,
{
    s.parse::<T>().map_err(|e| crate::StoreError::Corrupt(e.to_string()))
}

pub(crate) fn opt_uuid(s: Option<String>) -> crate::Result<Option<uuid::Uuid>> {
    s.map(|s| crate::common::parse_uuid(&s)).transpose()
}

macro_rules! impl_incident_store {
    // Full-text search: `fts_from` joins the index, `fts` is the match clause,
    // `fts_order` the order that lets the index stop after one page.
    ($store:ty, $db:ty, fts_from = $fts_from:literal, fts = $fts:literal, fts_order = $fts_order:literal, fts_quote = $quote:expr) => {
        const REPORT_COLUMNS: &str = "id, reference, status, channel, quarantined, reporter_name, reporter_email, reporter_org, submitted_by, org_id, \
            title, description, started_at, noticed_at, affected, suggested_category, tw_level, impact, ci_services, tlp, incident_id, created_at, updated_at";
        const INCIDENT_COLUMNS: &str = "id, reference, title, description, status, rsit_class, rsit_type, tlp, pap, severity, tw_level, sector, org_id, \
            nis2_significant, assignee_id, team_id, merged_into, created_by, created_at, updated_at";
        const TIMELINE_COLUMNS: &str = "id, incident_id, report_id, kind, event_at, recorded_at, actor, body";
        const ATTACHMENT_COLUMNS: &str = "id, sha256, size, filename, content_type, report_id, incident_id, created_at";

        fn report_from_row(row: &Row) -> $crate::Result<rampart_core::records::Report> {
            use $crate::incident_sql::{opt_uuid, parse_wire};
            use sqlx::Row as _;
            let impact: Option<String> = row.try_get("impact")?;
            Ok(rampart_core::records::Report {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                reference: row.try_get("reference")?,
                status: parse_wire(&row.try_get::<String, _>("status")?)?,
                channel: parse_wire(&row.try_get::<String, _>("channel")?)?,
                quarantined: row.try_get("quarantined")?,
                reporter_name: row.try_get("reporter_name")?,
                reporter_email: row.try_get("reporter_email")?,
                reporter_org: row.try_get("reporter_org")?,
                submitted_by: opt_uuid(row.try_get("submitted_by")?)?,
                org_id: opt_uuid(row.try_get("org_id")?)?,
                title: row.try_get("title")?,
                description: row.try_get("description")?,
                started_at: row.try_get("started_at")?,
                noticed_at: row.try_get("noticed_at")?,
                affected: row.try_get("affected")?,
                suggested_category: row.try_get("suggested_category")?,
                tw_level: row.try_get::<Option<i32>, _>("tw_level")?.and_then(|l| u8::try_from(l).ok()).and_then(rampart_core::incident::TwLevel::new),
                impact: impact.and_then(|i| serde_json::from_str(&i).ok()),
                ci_services: row.try_get("ci_services")?,
                tlp: parse_wire(&row.try_get::<String, _>("tlp")?)?,
                incident_id: opt_uuid(row.try_get("incident_id")?)?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn incident_from_row(row: &Row) -> $crate::Result<rampart_core::records::Incident> {
            use $crate::incident_sql::{opt_uuid, parse_wire};
            use sqlx::Row as _;
            Ok(rampart_core::records::Incident {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                reference: row.try_get("reference")?,
                title: row.try_get("title")?,
                description: row.try_get("description")?,
                status: parse_wire(&row.try_get::<String, _>("status")?)?,
                rsit_class: row.try_get("rsit_class")?,
                rsit_type: row.try_get("rsit_type")?,
                tlp: parse_wire(&row.try_get::<String, _>("tlp")?)?,
                pap: parse_wire(&row.try_get::<String, _>("pap")?)?,
                severity: parse_wire(&row.try_get::<String, _>("severity")?)?,
                tw_level: row.try_get::<Option<i32>, _>("tw_level")?.and_then(|l| u8::try_from(l).ok()).and_then(rampart_core::incident::TwLevel::new),
                sector: row.try_get("sector")?,
                org_id: opt_uuid(row.try_get("org_id")?)?,
                nis2_significant: row.try_get("nis2_significant")?,
                assignee_id: opt_uuid(row.try_get("assignee_id")?)?,
                team_id: opt_uuid(row.try_get("team_id")?)?,
                merged_into: opt_uuid(row.try_get("merged_into")?)?,
                created_by: row.try_get("created_by")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn timeline_from_row(row: &Row) -> $crate::Result<rampart_core::records::TimelineEntry> {
            use $crate::incident_sql::{opt_uuid, parse_wire};
            use sqlx::Row as _;
            Ok(rampart_core::records::TimelineEntry {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                incident_id: opt_uuid(row.try_get("incident_id")?)?,
                report_id: opt_uuid(row.try_get("report_id")?)?,
                kind: parse_wire(&row.try_get::<String, _>("kind")?)?,
                event_at: row.try_get("event_at")?,
                recorded_at: row.try_get("recorded_at")?,
                actor: row.try_get("actor")?,
                body: row.try_get("body")?,
            })
        }

        fn attachment_from_row(row: &Row) -> $crate::Result<rampart_core::records::Attachment> {
            use $crate::incident_sql::opt_uuid;
            use sqlx::Row as _;
            Ok(rampart_core::records::Attachment {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                sha256: row.try_get("sha256")?,
                size: row.try_get("size")?,
                filename: row.try_get("filename")?,
                content_type: row.try_get("content_type")?,
                report_id: opt_uuid(row.try_get("report_id")?)?,
                incident_id: opt_uuid(row.try_get("incident_id")?)?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn observable_from_row(row: &Row) -> $crate::Result<rampart_core::observables::Observable> {
            use sqlx::Row as _;
            Ok(rampart_core::observables::Observable {
                kind: $crate::incident_sql::parse_wire(&row.try_get::<String, _>("kind")?)?,
                value: row.try_get("value")?,
            })
        }

        fn bind_all<'q>(
            mut query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
            binds: &'q [$crate::incident_sql::Bind],
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
            for b in binds {
                query = match b {
                    $crate::incident_sql::Bind::Text(s) => query.bind(s.as_str()),
                    $crate::incident_sql::Bind::Time(t) => query.bind(*t),
                    $crate::incident_sql::Bind::Int(i) => query.bind(*i),
                };
            }
            query
        }

        /// The next number for a reference prefix such as `INC-2026`.
        async fn next_reference(tx: &mut Tx, kind: rampart_core::incident::RefKind, now: chrono::DateTime<chrono::Utc>) -> $crate::Result<String> {
            use chrono::Datelike;
            use sqlx::Row as _;
            let prefix = format!("{kind}-{}", now.year());
            let row = sqlx::query(
                "INSERT INTO reference_counters (prefix, last_number) VALUES ($1, 1) \
                 ON CONFLICT (prefix) DO UPDATE SET last_number = reference_counters.last_number + 1 RETURNING last_number",
            )
            .bind(&prefix)
            .fetch_one(&mut **tx)
            .await?;
            let number: i64 = row.try_get("last_number")?;
            Ok(rampart_core::incident::Reference { kind, year: now.year(), number }.to_string())
        }

        async fn observable_ids(tx: &mut Tx, observables: &[rampart_core::observables::Observable]) -> $crate::Result<Vec<i64>> {
            use sqlx::Row as _;
            let mut ids = Vec::with_capacity(observables.len());
            for o in observables {
                sqlx::query("INSERT INTO observables (kind, value) VALUES ($1, $2) ON CONFLICT (kind, value) DO NOTHING")
                    .bind(o.kind.as_str())
                    .bind(&o.value)
                    .execute(&mut **tx)
                    .await?;
                let row = sqlx::query("SELECT id FROM observables WHERE kind = $1 AND value = $2").bind(o.kind.as_str()).bind(&o.value).fetch_one(&mut **tx).await?;
                ids.push(row.try_get::<i64, _>("id")?);
            }
            Ok(ids)
        }

        async fn link_incident_observables(tx: &mut Tx, incident_id: uuid::Uuid, observables: &[rampart_core::observables::Observable]) -> $crate::Result<()> {
            let now = $crate::types::now_micros();
            for id in observable_ids(tx, observables).await? {
                sqlx::query("INSERT INTO incident_observables (incident_id, observable_id, first_seen) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                    .bind(incident_id.to_string())
                    .bind(id)
                    .bind(now)
                    .execute(&mut **tx)
                    .await?;
            }
            Ok(())
        }

        async fn report_in(tx: &mut Tx, id: uuid::Uuid) -> $crate::Result<rampart_core::records::Report> {
            let row = sqlx::query(&format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1")).bind(id.to_string()).fetch_optional(&mut **tx).await?;
            report_from_row(&row.ok_or($crate::StoreError::NotFound)?)
        }

        async fn incident_in(tx: &mut Tx, id: uuid::Uuid) -> $crate::Result<rampart_core::records::Incident> {
            let row = sqlx::query(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1")).bind(id.to_string()).fetch_optional(&mut **tx).await?;
            incident_from_row(&row.ok_or($crate::StoreError::NotFound)?)
        }

        async fn timeline_in(tx: &mut Tx, actor: &$crate::Actor, incident_id: Option<uuid::Uuid>, report_id: Option<uuid::Uuid>, entry: $crate::NewTimelineEntry) -> $crate::Result<rampart_core::records::TimelineEntry> {
            let id = rampart_core::ids::new_id();
            sqlx::query("INSERT INTO timeline (id, incident_id, report_id, kind, event_at, recorded_at, actor, body) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                .bind(id.to_string())
                .bind(incident_id.map(|i| i.to_string()))
                .bind(report_id.map(|i| i.to_string()))
                .bind(entry.kind.as_str())
                .bind(entry.event_at)
                .bind($crate::types::now_micros())
                .bind(&entry.actor)
                .bind(&entry.body)
                .execute(&mut **tx)
                .await
                .map_err($crate::common::conflict("timeline entry"))?;
            let row = sqlx::query(&format!("SELECT {TIMELINE_COLUMNS} FROM timeline WHERE id = $1")).bind(id.to_string()).fetch_one(&mut **tx).await?;
            let _ = actor;
            timeline_from_row(&row)
        }

        async fn milestone_in(tx: &mut Tx, incident_id: uuid::Uuid, name: &str, at: chrono::DateTime<chrono::Utc>) -> $crate::Result<()> {
            sqlx::query("INSERT INTO incident_milestones (incident_id, name, at) VALUES ($1, $2, $3) ON CONFLICT (incident_id, name) DO UPDATE SET at = excluded.at")
                .bind(incident_id.to_string())
                .bind(name)
                .bind(at)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        async fn insert_incident(tx: &mut Tx, actor: &$crate::Actor, fields: rampart_core::records::IncidentFields, observables: &[rampart_core::observables::Observable]) -> $crate::Result<rampart_core::records::Incident> {
            use rampart_core::incident::{IncidentStatus, RefKind, Severity};
            use rampart_core::tlp::{Pap, Tlp};
            let fields = fields.validate().map_err(|e| $crate::StoreError::Invalid(e.to_string()))?;
            let now = $crate::types::now_micros();
            let id = rampart_core::ids::new_id();
            let reference = next_reference(tx, RefKind::Incident, now).await?;
            let title = fields.title.clone().ok_or_else(|| $crate::StoreError::Invalid("an incident needs a title".into()))?;
            sqlx::query(
                "INSERT INTO incidents (id, reference, title, description, status, rsit_class, rsit_type, tlp, pap, severity, tw_level, sector, org_id, \
                 nis2_significant, assignee_id, created_by, created_at, updated_at, team_id) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $17, $18)",
            )
            .bind(id.to_string())
            .bind(&reference)
            .bind(&title)
            .bind(fields.description.clone().unwrap_or_default())
            .bind(IncidentStatus::New.as_str())
            .bind(&fields.rsit_class)
            .bind(&fields.rsit_type)
            .bind(fields.tlp.unwrap_or(Tlp::Amber).as_str())
            .bind(fields.pap.unwrap_or(Pap::Amber).as_str())
            .bind(fields.severity.unwrap_or(Severity::Medium).as_str())
            .bind(fields.tw_level.filter(|l| *l > 0).map(i32::from))
            .bind(fields.sector.clone().filter(|s| !s.is_empty()))
            .bind(fields.org_id.map(|o| o.to_string()))
            .bind(fields.nis2_significant.unwrap_or(false))
            .bind(fields.assignee_id.filter(|a| !a.is_nil()).map(|a| a.to_string()))
            .bind(actor.to_string())
            .bind(now)
            .bind(fields.team_id.filter(|t| !t.is_nil()).map(|t| t.to_string()))
            .execute(&mut **tx)
            .await
            .map_err($crate::common::conflict("incident"))?;
            milestone_in(tx, id, "created", now).await?;
            link_incident_observables(tx, id, observables).await?;
            let incident = incident_in(tx, id).await?;
            apply_playbook(tx, actor, &incident).await?;
            audit(tx, actor, "incident.create", "incident", &id.to_string(), None, Some($crate::common::json(&incident))).await?;
            Ok(incident)
        }

        async fn insert_task(tx: &mut Tx, actor: &$crate::Actor, incident_id: uuid::Uuid, title: &str, assignee_id: Option<uuid::Uuid>, due_at: Option<chrono::DateTime<chrono::Utc>>) -> $crate::Result<rampart_core::work::Task> {
            use sqlx::Row as _;
            let id = rampart_core::ids::new_id();
            sqlx::query("INSERT INTO tasks (id, incident_id, title, assignee_id, due_at, created_at) VALUES ($1, $2, $3, $4, $5, $6)")
                .bind(id.to_string())
                .bind(incident_id.to_string())
                .bind(title)
                .bind(assignee_id.map(|a| a.to_string()))
                .bind(due_at)
                .bind($crate::types::now_micros())
                .execute(&mut **tx)
                .await
                .map_err($crate::common::conflict("task"))?;
            let row = sqlx::query("SELECT id, incident_id, title, assignee_id, due_at, done_at, created_at FROM tasks WHERE id = $1").bind(id.to_string()).fetch_one(&mut **tx).await?;
            let task = rampart_core::work::Task {
                id,
                incident_id,
                title: row.try_get("title")?,
                assignee_id,
                due_at: row.try_get("due_at")?,
                done_at: row.try_get("done_at")?,
                created_at: row.try_get("created_at")?,
            };
            audit(tx, actor, "task.create", "task", &id.to_string(), None, Some($crate::common::json(&task))).await?;
            Ok(task)
        }

        /// Starts an incident's tasks from the playbook of its RSIT class and type,
        /// unless it has tasks already.
        async fn apply_playbook(tx: &mut Tx, actor: &$crate::Actor, incident: &rampart_core::records::Incident) -> $crate::Result<()> {
            use sqlx::Row as _;
            let (Some(class), Some(rsit_type)) = (&incident.rsit_class, &incident.rsit_type) else { return Ok(()) };
            let Some(playbook) = rampart_core::work::playbook_for(class, rsit_type) else { return Ok(()) };
            let existing: i64 = sqlx::query("SELECT COUNT(*) AS n FROM tasks WHERE incident_id = $1").bind(incident.id.to_string()).fetch_one(&mut **tx).await?.try_get("n")?;
            if existing > 0 {
                return Ok(());
            }
            for t in &playbook.tasks {
                let due = t.due_hours.map(|h| $crate::types::now_micros() + chrono::Duration::hours(h));
                insert_task(tx, actor, incident.id, &t.en, incident.assignee_id, due).await?;
            }
            Ok(())
        }

        fn incident_list_sql(filter: &$crate::IncidentFilter) -> (String, Vec<$crate::incident_sql::Bind>) {
            use $crate::incident_sql::Bind;
            let mut clauses = Vec::new();
            let mut binds = Vec::new();
            let mut push = |clause: &str, bind: Bind, binds: &mut Vec<Bind>| {
                binds.push(bind);
                clauses.push(clause.replace("{}", &format!("${}", binds.len())));
            };
            if let Some(s) = filter.status {
                push("incidents.status = {}", Bind::Text(s.as_str().into()), &mut binds);
            }
            if let Some(o) = filter.org_id {
                push("incidents.org_id = {}", Bind::Text(o.to_string()), &mut binds);
            }
            if let Some(a) = filter.assignee_id {
                push("incidents.assignee_id = {}", Bind::Text(a.to_string()), &mut binds);
            }
            if let Some(u) = filter.assigned_to_or_team_of {
                push(
                    "(incidents.assignee_id = {} OR incidents.team_id IN (SELECT team_id FROM team_members WHERE user_id = {}))",
                    Bind::Text(u.to_string()),
                    &mut binds,
                );
            }
            if let Some(s) = filter.severity {
                push("incidents.severity = {}", Bind::Text(s.as_str().into()), &mut binds);
            }
            let text = filter.text.as_deref().map(str::trim).filter(|t| !t.is_empty());
            if let Some(text) = text {
                let quote: fn(&str) -> String = $quote;
                push($fts, Bind::Text(quote(text)), &mut binds);
            }
            if let Some(c) = filter.after {
                binds.push(Bind::Time(c.created_at));
                binds.push(Bind::Text(c.id.to_string()));
                let (a, b) = (binds.len() - 1, binds.len());
                clauses.push(format!("(incidents.created_at < ${a} OR (incidents.created_at = ${a} AND incidents.id < ${b}))"));
            }
            binds.push(Bind::Int(filter.limit.clamp(1, 500)));
            let wher = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
            let columns = INCIDENT_COLUMNS.split(", ").map(|c| format!("incidents.{c}")).collect::<Vec<_>>().join(", ");
            let (from, order) = if text.is_some() { ($fts_from, $fts_order) } else { ("incidents", "incidents.created_at DESC, incidents.id DESC") };
            (format!("SELECT {columns} FROM {from} {wher} ORDER BY {order} LIMIT ${}", binds.len()), binds)
        }

        #[async_trait::async_trait]
        impl $crate::incidents::IncidentStore for $store {
            async fn create_report(&self, actor: &$crate::Actor, new: rampart_core::records::NewReport, observables: &[rampart_core::observables::Observable]) -> $crate::Result<rampart_core::records::Report> {
                use rampart_core::incident::{RefKind, ReportStatus};
                use rampart_core::records::{Channel, TimelineKind};
                let new = new.validate().map_err(|e| $crate::StoreError::Invalid(e.to_string()))?;
                let now = $crate::types::now_micros();
                let id = rampart_core::ids::new_id();
                let mut tx = self.writer().await?;
                let reference = next_reference(&mut tx, RefKind::Report, now).await?;
                sqlx::query(
                    "INSERT INTO reports (id, reference, status, channel, quarantined, reporter_name, reporter_email, reporter_org, submitted_by, org_id, \
                     title, description, started_at, noticed_at, affected, suggested_category, tw_level, impact, ci_services, tlp, status_secret_digest, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $22)",
                )
                .bind(id.to_string())
                .bind(&reference)
                .bind(ReportStatus::New.as_str())
                .bind(new.channel.unwrap_or(Channel::Api).as_str())
                .bind(new.quarantined)
                .bind(&new.reporter_name)
                .bind(&new.reporter_email)
                .bind(&new.reporter_org)
                .bind(new.submitted_by.map(|u| u.to_string()))
                .bind(new.org_id.map(|o| o.to_string()))
                .bind(&new.title)
                .bind(&new.description)
                .bind(new.started_at)
                .bind(new.noticed_at)
                .bind(&new.affected)
                .bind(&new.suggested_category)
                .bind(new.tw_level.map(|l| i32::from(l.get())))
                .bind(new.impact.map(|i| $crate::common::json(&i)))
                .bind(&new.ci_services)
                .bind(new.tlp.unwrap_or(rampart_core::tlp::Tlp::Amber).as_str())
                .bind(&new.status_secret_digest)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err($crate::common::conflict("report"))?;
                for oid in observable_ids(&mut tx, observables).await? {
                    sqlx::query("INSERT INTO report_observables (report_id, observable_id) VALUES ($1, $2) ON CONFLICT DO NOTHING").bind(id.to_string()).bind(oid).execute(&mut *tx).await?;
                }
                let entry = $crate::NewTimelineEntry { kind: TimelineKind::Status, event_at: now, actor: actor.to_string(), body: format!("report received via {}", new.channel.unwrap_or(Channel::Api)) };
                timeline_in(&mut tx, actor, None, Some(id), entry).await?;
                let report = report_in(&mut tx, id).await?;
                audit(&mut tx, actor, "report.create", "report", &id.to_string(), None, Some($crate::common::json(&report))).await?;
                tx.commit().await?;
                Ok(report)
            }

            async fn get_report(&self, id: uuid::Uuid) -> $crate::Result<Option<rampart_core::records::Report>> {
                let row = sqlx::query(&format!("SELECT {REPORT_COLUMNS} FROM reports WHERE id = $1")).bind(id.to_string()).fetch_optional(self.reader()).await?;
                row.as_ref().map(report_from_row).transpose()
            }

            async fn find_report_by_reference(&self, reference: &str) -> $crate::Result<Option<rampart_core::records::Report>> {
                let row = sqlx::query(&format!("SELECT {REPORT_COLUMNS} FROM reports WHERE reference = $1")).bind(reference.trim().to_ascii_uppercase()).fetch_optional(self.reader()).await?;
                row.as_ref().map(report_from_row).transpose()
            }

            async fn find_report_by_status_secret(&self, digest: &str) -> $crate::Result<Option<rampart_core::records::Report>> {
                let row = sqlx::query(&format!("SELECT {REPORT_COLUMNS} FROM reports WHERE status_secret_digest = $1")).bind(digest).fetch_optional(self.reader()).await?;
                row.as_ref().map(report_from_row).transpose()
            }

            async fn list_reports(&self, filter: &$crate::ReportFilter) -> $crate::Result<Vec<rampart_core::records::Report>> {
                use $crate::incident_sql::Bind;
                let mut clauses = Vec::new();
                let mut binds = Vec::new();
                if let Some(s) = filter.status {
                    binds.push(Bind::Text(s.as_str().into()));
                    clauses.push(format!("status = ${}", binds.len()));
                }
                if let Some(o) = filter.org_id {
                    binds.push(Bind::Text(o.to_string()));
                    clauses.push(format!("org_id = ${}", binds.len()));
                }
                if let Some(c) = filter.after {
                    binds.push(Bind::Time(c.created_at));
                    binds.push(Bind::Text(c.id.to_string()));
                    let (a, b) = (binds.len() - 1, binds.len());
                    clauses.push(format!("(created_at < ${a} OR (created_at = ${a} AND id < ${b}))"));
                }
                binds.push(Bind::Int(filter.limit.clamp(1, 500)));
                let wher = if clauses.is_empty() { String::new() } else { format!("WHERE {}", clauses.join(" AND ")) };
                let sql = format!("SELECT {REPORT_COLUMNS} FROM reports {wher} ORDER BY created_at DESC, id DESC LIMIT ${}", binds.len());
                let rows = bind_all(sqlx::query(&sql), &binds).fetch_all(self.reader()).await?;
                rows.iter().map(report_from_row).collect()
            }

            async fn report_observables(&self, report_id: uuid::Uuid) -> $crate::Result<Vec<rampart_core::observables::Observable>> {
                let rows = sqlx::query("SELECT o.kind, o.value FROM report_observables r JOIN observables o ON o.id = r.observable_id WHERE r.report_id = $1 ORDER BY o.kind, o.value")
                    .bind(report_id.to_string())
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(observable_from_row).collect()
            }

            async fn triage_report(&self, actor: &$crate::Actor, report_id: uuid::Uuid, triage: $crate::Triage) -> $crate::Result<(rampart_core::records::Report, Option<rampart_core::records::Incident>)> {
                use rampart_core::incident::{transition, ReportStatus};
                use rampart_core::records::TimelineKind;
                use sqlx::Row as _;
                let mut tx = self.writer().await?;
                let before = report_in(&mut tx, report_id).await?;
                let (status, incident) = match triage {
                    $crate::Triage::Accept => (ReportStatus::Triaged, None),
                    $crate::Triage::Reject => (ReportStatus::Rejected, None),
                    $crate::Triage::Link(incident_id) => (ReportStatus::Linked, Some(incident_in(&mut tx, incident_id).await?)),
                    $crate::Triage::Promote(mut fields) => {
                        fields.title = fields.title.or_else(|| Some(before.title.clone()));
                        fields.description = fields.description.or_else(|| Some(before.description.clone()));
                        fields.org_id = fields.org_id.or(before.org_id);
                        fields.tw_level = fields.tw_level.or(before.tw_level.map(|l| l.get()));
                        fields.tlp = fields.tlp.or(Some(before.tlp));
                        let observables: Vec<_> = sqlx::query("SELECT o.kind, o.value FROM report_observables r JOIN observables o ON o.id = r.observable_id WHERE r.report_id = $1")
                            .bind(report_id.to_string())
                            .fetch_all(&mut *tx)
                            .await?
                            .iter()
                            .map(observable_from_row)
                            .collect::<$crate::Result<_>>()?;
                        let incident = insert_incident(&mut tx, actor, fields, &observables).await?;
                        // The clocks run from when the reporter became aware, if they said.
                        let aware = before.noticed_at.unwrap_or(before.created_at);
                        milestone_in(&mut tx, incident.id, "aware", aware).await?;
                        // A constituent's own report through Rampart is its report to
                        // the CERT: the one-hour reporting clock is measured against it.
                        if before.org_id.is_some() {
                            milestone_in(&mut tx, incident.id, "reported", before.created_at).await?;
                        }
                        (ReportStatus::Linked, Some(incident))
                    }
                };
                transition(before.status, status).map_err(|e| $crate::StoreError::Invalid(e.to_string()))?;
                let now = $crate::types::now_micros();
                sqlx::query("UPDATE reports SET status = $1, incident_id = $2, updated_at = $3 WHERE id = $4")
                    .bind(status.as_str())
                    .bind(incident.as_ref().map(|i| i.id.to_string()))
                    .bind(now)
                    .bind(report_id.to_string())
                    .execute(&mut *tx)
                    .await?;
                if let Some(incident) = &incident {
                    let rows = sqlx::query("SELECT observable_id FROM report_observables WHERE report_id = $1").bind(report_id.to_string()).fetch_all(&mut *tx).await?;
                    for row in rows {
                        sqlx::query("INSERT INTO incident_observables (incident_id, observable_id, first_seen) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                            .bind(incident.id.to_string())
                            .bind(row.try_get::<i64, _>("observable_id")?)
                            .bind(now)
                            .execute(&mut *tx)
                            .await?;
                    }
                    sqlx::query("UPDATE timeline SET incident_id = $1 WHERE report_id = $2 AND incident_id IS NULL").bind(incident.id.to_string()).bind(report_id.to_string()).execute(&mut *tx).await?;
                    let entry = $crate::NewTimelineEntry { kind: TimelineKind::Link, event_at: now, actor: actor.to_string(), body: format!("report {} linked", before.reference) };
                    timeline_in(&mut tx, actor, Some(incident.id), None, entry).await?;
                    milestone_in(&mut tx, incident.id, "triaged", now).await.ok();
                }
                let after = report_in(&mut tx, report_id).await?;
                audit(&mut tx, actor, "report.triage", "report", &report_id.to_string(), Some($crate::common::json(&before)), Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok((after, incident))
            }

            async fn create_incident(&self, actor: &$crate::Actor, fields: rampart_core::records::IncidentFields, observables: &[rampart_core::observables::Observable]) -> $crate::Result<rampart_core::records::Incident> {
                let mut tx = self.writer().await?;
                let incident = insert_incident(&mut tx, actor, fields, observables).await?;
                tx.commit().await?;
                Ok(incident)
            }

            async fn get_incident(&self, id: uuid::Uuid) -> $crate::Result<Option<rampart_core::records::Incident>> {
                let row = sqlx::query(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE id = $1")).bind(id.to_string()).fetch_optional(self.reader()).await?;
                row.as_ref().map(incident_from_row).transpose()
            }

            async fn find_incident_by_reference(&self, reference: &str) -> $crate::Result<Option<rampart_core::records::Incident>> {
                let row = sqlx::query(&format!("SELECT {INCIDENT_COLUMNS} FROM incidents WHERE reference = $1")).bind(reference.trim().to_ascii_uppercase()).fetch_optional(self.reader()).await?;
                row.as_ref().map(incident_from_row).transpose()
            }

            async fn update_incident(&self, actor: &$crate::Actor, id: uuid::Uuid, fields: rampart_core::records::IncidentFields) -> $crate::Result<rampart_core::records::Incident> {
                use rampart_core::records::TimelineKind;
                let fields = fields.validate().map_err(|e| $crate::StoreError::Invalid(e.to_string()))?;
                let mut tx = self.writer().await?;
                let before = incident_in(&mut tx, id).await?;
                let level = match fields.tw_level {
                    Some(0) => None,
                    Some(l) => Some(i32::from(l)),
                    None => before.tw_level.map(|l| i32::from(l.get())),
                };
                sqlx::query(
                    "UPDATE incidents SET title = $1, description = $2, rsit_class = $3, rsit_type = $4, tlp = $5, pap = $6, severity = $7, tw_level = $8, \
                     sector = $9, org_id = $10, nis2_significant = $11, assignee_id = $12, updated_at = $13, team_id = $15 WHERE id = $14",
                )
                .bind(fields.title.clone().unwrap_or(before.title.clone()))
                .bind(fields.description.clone().unwrap_or(before.description.clone()))
                .bind(fields.rsit_class.clone().or(before.rsit_class.clone()))
                .bind(fields.rsit_type.clone().or(before.rsit_type.clone()))
                .bind(fields.tlp.unwrap_or(before.tlp).as_str())
                .bind(fields.pap.unwrap_or(before.pap).as_str())
                .bind(fields.severity.unwrap_or(before.severity).as_str())
                .bind(level)
                .bind(match &fields.sector { Some(s) if s.is_empty() => None, Some(s) => Some(s.clone()), None => before.sector.clone() })
                .bind(fields.org_id.or(before.org_id).map(|o| o.to_string()))
                .bind(fields.nis2_significant.unwrap_or(before.nis2_significant))
                .bind(match fields.assignee_id {
                    Some(a) if a.is_nil() => None,
                    Some(a) => Some(a.to_string()),
                    None => before.assignee_id.map(|a| a.to_string()),
                })
                .bind($crate::types::now_micros())
                .bind(id.to_string())
                .bind(match fields.team_id {
                    Some(t) if t.is_nil() => None,
                    Some(t) => Some(t.to_string()),
                    None => before.team_id.map(|t| t.to_string()),
                })
                .execute(&mut *tx)
                .await
                .map_err($crate::common::conflict("incident"))?;
                let after = incident_in(&mut tx, id).await?;
                apply_playbook(&mut tx, actor, &after).await?;
                if before.tw_level != after.tw_level || before.severity != after.severity || before.rsit_type != after.rsit_type || before.tlp != after.tlp {
                    let body = format!(
                        "classification: level {} → {}, severity {} → {}, TLP {} → {}",
                        before.tw_level.map(|l| l.get().to_string()).unwrap_or_else(|| "-".into()),
                        after.tw_level.map(|l| l.get().to_string()).unwrap_or_else(|| "-".into()),
                        before.severity, after.severity, before.tlp, after.tlp
                    );
                    let entry = $crate::NewTimelineEntry { kind: TimelineKind::Classification, event_at: $crate::types::now_micros(), actor: actor.to_string(), body };
                    timeline_in(&mut tx, actor, Some(id), None, entry).await?;
                }
                audit(&mut tx, actor, "incident.update", "incident", &id.to_string(), Some($crate::common::json(&before)), Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn set_incident_status(&self, actor: &$crate::Actor, id: uuid::Uuid, status: rampart_core::incident::IncidentStatus) -> $crate::Result<rampart_core::records::Incident> {
                use rampart_core::incident::IncidentStatus;
                use rampart_core::records::TimelineKind;
                let mut tx = self.writer().await?;
                let before = incident_in(&mut tx, id).await?;
                rampart_core::incident::transition(before.status, status).map_err(|e| $crate::StoreError::Invalid(e.to_string()))?;
                let now = $crate::types::now_micros();
                sqlx::query("UPDATE incidents SET status = $1, updated_at = $2 WHERE id = $3").bind(status.as_str()).bind(now).bind(id.to_string()).execute(&mut *tx).await?;
                if status == IncidentStatus::Resolved {
                    sqlx::query("INSERT INTO incident_milestones (incident_id, name, at) VALUES ($1, 'recovered', $2) ON CONFLICT (incident_id, name) DO NOTHING")
                        .bind(id.to_string())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                let entry = $crate::NewTimelineEntry { kind: TimelineKind::Status, event_at: now, actor: actor.to_string(), body: format!("status: {} → {}", before.status, status) };
                timeline_in(&mut tx, actor, Some(id), None, entry).await?;
                let after = incident_in(&mut tx, id).await?;
                audit(&mut tx, actor, "incident.status", "incident", &id.to_string(), Some($crate::common::json(&before)), Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn list_incidents(&self, filter: &$crate::IncidentFilter) -> $crate::Result<Vec<rampart_core::records::Incident>> {
                let (sql, binds) = incident_list_sql(filter);
                let rows = bind_all(sqlx::query(&sql), &binds).fetch_all(self.reader()).await?;
                rows.iter().map(incident_from_row).collect()
            }

            async fn incident_report_ids(&self, id: uuid::Uuid) -> $crate::Result<Vec<uuid::Uuid>> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT id FROM reports WHERE incident_id = $1 ORDER BY created_at").bind(id.to_string()).fetch_all(self.reader()).await?;
                rows.iter().map(|r| $crate::common::parse_uuid(&r.try_get::<String, _>("id")?)).collect()
            }

            async fn set_milestone(&self, actor: &$crate::Actor, incident_id: uuid::Uuid, name: &str, at: chrono::DateTime<chrono::Utc>) -> $crate::Result<()> {
                use rampart_core::records::TimelineKind;
                let mut tx = self.writer().await?;
                incident_in(&mut tx, incident_id).await?;
                milestone_in(&mut tx, incident_id, name, at).await?;
                let entry = $crate::NewTimelineEntry { kind: TimelineKind::Milestone, event_at: at, actor: actor.to_string(), body: format!("milestone {name}") };
                timeline_in(&mut tx, actor, Some(incident_id), None, entry).await?;
                audit(&mut tx, actor, "incident.milestone", "incident", &incident_id.to_string(), None, Some(format!("{{\"{name}\":\"{}\"}}", at.to_rfc3339()))).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn milestones(&self, incident_id: uuid::Uuid) -> $crate::Result<std::collections::BTreeMap<String, chrono::DateTime<chrono::Utc>>> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT name, at FROM incident_milestones WHERE incident_id = $1").bind(incident_id.to_string()).fetch_all(self.reader()).await?;
                rows.iter().map(|r| Ok((r.try_get::<String, _>("name")?, r.try_get("at")?))).collect()
            }

            async fn add_incident_observables(&self, incident_id: uuid::Uuid, observables: &[rampart_core::observables::Observable]) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                incident_in(&mut tx, incident_id).await?;
                link_incident_observables(&mut tx, incident_id, observables).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn incident_observables(&self, incident_id: uuid::Uuid) -> $crate::Result<Vec<rampart_core::observables::Observable>> {
                let rows = sqlx::query("SELECT o.kind, o.value FROM incident_observables i JOIN observables o ON o.id = i.observable_id WHERE i.incident_id = $1 ORDER BY o.kind, o.value")
                    .bind(incident_id.to_string())
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(observable_from_row).collect()
            }

            async fn related_incidents(&self, incident_id: uuid::Uuid, limit: i64) -> $crate::Result<Vec<(uuid::Uuid, rampart_core::observables::Observable)>> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT other.incident_id, o.kind, o.value FROM incident_observables mine \
                     JOIN incident_observables other ON other.observable_id = mine.observable_id AND other.incident_id <> mine.incident_id \
                     JOIN observables o ON o.id = mine.observable_id WHERE mine.incident_id = $1 ORDER BY other.incident_id LIMIT $2",
                )
                .bind(incident_id.to_string())
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
                rows.iter().map(|r| Ok(($crate::common::parse_uuid(&r.try_get::<String, _>("incident_id")?)?, observable_from_row(r)?))).collect()
            }

            async fn incidents_with_observable(&self, observable: &rampart_core::observables::Observable, limit: i64) -> $crate::Result<Vec<uuid::Uuid>> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT i.incident_id FROM observables o JOIN incident_observables i ON i.observable_id = o.id WHERE o.kind = $1 AND o.value = $2 ORDER BY i.incident_id DESC LIMIT $3",
                )
                .bind(observable.kind.as_str())
                .bind(&observable.value)
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
                rows.iter().map(|r| $crate::common::parse_uuid(&r.try_get::<String, _>("incident_id")?)).collect()
            }

            async fn add_timeline(&self, actor: &$crate::Actor, incident_id: Option<uuid::Uuid>, report_id: Option<uuid::Uuid>, entry: $crate::NewTimelineEntry) -> $crate::Result<rampart_core::records::TimelineEntry> {
                if incident_id.is_some() == report_id.is_some() {
                    return Err($crate::StoreError::Invalid("a timeline entry belongs to an incident or a report".into()));
                }
                let mut tx = self.writer().await?;
                if let Some(i) = incident_id {
                    incident_in(&mut tx, i).await?;
                }
                if let Some(r) = report_id {
                    report_in(&mut tx, r).await?;
                }
                let entry = timeline_in(&mut tx, actor, incident_id, report_id, entry).await?;
                audit(&mut tx, actor, "timeline.add", "timeline", &entry.id.to_string(), None, Some($crate::common::json(&entry))).await?;
                tx.commit().await?;
                Ok(entry)
            }

            async fn incident_timeline(&self, incident_id: uuid::Uuid) -> $crate::Result<Vec<rampart_core::records::TimelineEntry>> {
                let rows = sqlx::query(&format!("SELECT {TIMELINE_COLUMNS} FROM timeline WHERE incident_id = $1 ORDER BY event_at, recorded_at")).bind(incident_id.to_string()).fetch_all(self.reader()).await?;
                rows.iter().map(timeline_from_row).collect()
            }

            async fn report_timeline(&self, report_id: uuid::Uuid) -> $crate::Result<Vec<rampart_core::records::TimelineEntry>> {
                let rows = sqlx::query(&format!("SELECT {TIMELINE_COLUMNS} FROM timeline WHERE report_id = $1 ORDER BY event_at, recorded_at")).bind(report_id.to_string()).fetch_all(self.reader()).await?;
                rows.iter().map(timeline_from_row).collect()
            }

            async fn add_attachment(&self, actor: &$crate::Actor, new: $crate::NewAttachment) -> $crate::Result<rampart_core::records::Attachment> {
                let id = rampart_core::ids::new_id();
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                sqlx::query("INSERT INTO attachments (id, sha256, size, filename, content_type, report_id, incident_id, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)")
                    .bind(id.to_string())
                    .bind(&new.sha256)
                    .bind(new.size)
                    .bind(&new.filename)
                    .bind(&new.content_type)
                    .bind(new.report_id.map(|r| r.to_string()))
                    .bind(new.incident_id.map(|i| i.to_string()))
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::common::conflict("attachment"))?;
                sqlx::query("INSERT INTO custody (id, attachment_id, action, actor, at, detail) VALUES ($1, $2, 'received', $3, $4, $5)")
                    .bind(rampart_core::ids::new_id().to_string())
                    .bind(id.to_string())
                    .bind(actor.to_string())
                    .bind(now)
                    .bind(format!("sha256 {} ({} bytes)", new.sha256, new.size))
                    .execute(&mut *tx)
                    .await?;
                let row = sqlx::query(&format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = $1")).bind(id.to_string()).fetch_one(&mut *tx).await?;
                let attachment = attachment_from_row(&row)?;
                audit(&mut tx, actor, "attachment.create", "attachment", &id.to_string(), None, Some($crate::common::json(&attachment))).await?;
                tx.commit().await?;
                Ok(attachment)
            }

            async fn get_attachment(&self, id: uuid::Uuid) -> $crate::Result<Option<rampart_core::records::Attachment>> {
                let row = sqlx::query(&format!("SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE id = $1")).bind(id.to_string()).fetch_optional(self.reader()).await?;
                row.as_ref().map(attachment_from_row).transpose()
            }

            async fn attachments_of(&self, report_id: Option<uuid::Uuid>, incident_id: Option<uuid::Uuid>) -> $crate::Result<Vec<rampart_core::records::Attachment>> {
                let rows = sqlx::query(&format!(
                    "SELECT {ATTACHMENT_COLUMNS} FROM attachments WHERE report_id = $1 OR incident_id = $2 \
                     OR report_id IN (SELECT id FROM reports WHERE incident_id = $2) ORDER BY created_at"
                ))
                .bind(report_id.map(|r| r.to_string()))
                .bind(incident_id.map(|i| i.to_string()))
                .fetch_all(self.reader())
                .await?;
                rows.iter().map(attachment_from_row).collect()
            }

            async fn record_custody(&self, actor: &$crate::Actor, attachment_id: uuid::Uuid, action: &str, detail: &str) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                sqlx::query("INSERT INTO custody (id, attachment_id, action, actor, at, detail) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(rampart_core::ids::new_id().to_string())
                    .bind(attachment_id.to_string())
                    .bind(action)
                    .bind(actor.to_string())
                    .bind($crate::types::now_micros())
                    .bind(detail)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::common::conflict("custody entry"))?;
                audit(&mut tx, actor, &format!("attachment.{action}"), "attachment", &attachment_id.to_string(), None, None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn custody(&self, attachment_id: uuid::Uuid) -> $crate::Result<Vec<$crate::CustodyEntry>> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT action, actor, at, detail FROM custody WHERE attachment_id = $1 ORDER BY at").bind(attachment_id.to_string()).fetch_all(self.reader()).await?;
                rows.iter().map(|r| Ok($crate::CustodyEntry { action: r.try_get("action")?, actor: r.try_get("actor")?, at: r.try_get("at")?, detail: r.try_get("detail")? })).collect()
            }
        }
    };
}

pub(crate) use impl_incident_store;
