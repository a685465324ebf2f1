//! The work store's SQL, the same on both backends. See [`crate::common`].

macro_rules! impl_work_store {
    ($store:ty) => {
        const TASK_COLUMNS: &str = "id, incident_id, title, assignee_id, due_at, done_at, created_at";
        const INVESTIGATION_COLUMNS: &str = "id, incident_id, party, contact, org_id, status, created_at, updated_at";
        const COUNTERMEASURE_COLUMNS: &str = "id, incident_id, kind, target, status, created_at, updated_at";

        fn task_from_row(row: &Row) -> $crate::Result<rampart_core::work::Task> {
            use $crate::incident_sql::opt_uuid;
            use sqlx::Row as _;
            Ok(rampart_core::work::Task {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                incident_id: $crate::common::parse_uuid(&row.try_get::<String, _>("incident_id")?)?,
                title: row.try_get("title")?,
                assignee_id: opt_uuid(row.try_get("assignee_id")?)?,
                due_at: row.try_get("due_at")?,
                done_at: row.try_get("done_at")?,
                created_at: row.try_get("created_at")?,
            })
        }

        fn investigation_from_row(row: &Row) -> $crate::Result<rampart_core::work::Investigation> {
            use $crate::incident_sql::{opt_uuid, parse_wire};
            use sqlx::Row as _;
            Ok(rampart_core::work::Investigation {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                incident_id: $crate::common::parse_uuid(&row.try_get::<String, _>("incident_id")?)?,
                party: row.try_get("party")?,
                contact: row.try_get("contact")?,
                org_id: opt_uuid(row.try_get("org_id")?)?,
                status: parse_wire(&row.try_get::<String, _>("status")?)?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn countermeasure_from_row(row: &Row) -> $crate::Result<rampart_core::work::Countermeasure> {
            use $crate::incident_sql::parse_wire;
            use sqlx::Row as _;
            Ok(rampart_core::work::Countermeasure {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                incident_id: $crate::common::parse_uuid(&row.try_get::<String, _>("incident_id")?)?,
                kind: parse_wire(&row.try_get::<String, _>("kind")?)?,
                target: row.try_get("target")?,
                status: parse_wire(&row.try_get::<String, _>("status")?)?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        async fn one<T>(tx: &mut Tx, sql: &str, id: uuid::Uuid, decode: fn(&Row) -> $crate::Result<T>) -> $crate::Result<T> {
            let row = sqlx::query(sql).bind(id.to_string()).fetch_optional(&mut **tx).await?.ok_or($crate::StoreError::NotFound)?;
            decode(&row)
        }

        async fn note(tx: &mut Tx, actor: &$crate::Actor, incident_id: uuid::Uuid, body: String) -> $crate::Result<()> {
            let entry = $crate::NewTimelineEntry { kind: rampart_core::records::TimelineKind::Status, event_at: $crate::types::now_micros(), actor: actor.to_string(), body };
            timeline_in(tx, actor, Some(incident_id), None, entry).await.map(|_| ())
        }

        #[async_trait::async_trait]
        impl $crate::work::WorkStore for $store {
            async fn add_task(&self, actor: &$crate::Actor, incident_id: uuid::Uuid, title: &str, assignee_id: Option<uuid::Uuid>, due_at: Option<chrono::DateTime<chrono::Utc>>) -> $crate::Result<rampart_core::work::Task> {
                let title = rampart_core::work::check_line(title, 300).ok_or_else(|| $crate::StoreError::Invalid("a task needs a title of at most 300 characters".into()))?;
                let mut tx = self.writer().await?;
                incident_in(&mut tx, incident_id).await?;
                let task = insert_task(&mut tx, actor, incident_id, &title, assignee_id, due_at).await?;
                tx.commit().await?;
                Ok(task)
            }

            async fn tasks(&self, incident_id: uuid::Uuid) -> $crate::Result<Vec<rampart_core::work::Task>> {
                let rows = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE incident_id = $1 ORDER BY created_at, id")).bind(incident_id.to_string()).fetch_all(self.reader()).await?;
                rows.iter().map(task_from_row).collect()
            }

            async fn get_task(&self, id: uuid::Uuid) -> $crate::Result<Option<rampart_core::work::Task>> {
                let row = sqlx::query(&format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1")).bind(id.to_string()).fetch_optional(self.reader()).await?;
                row.as_ref().map(task_from_row).transpose()
            }

            async fn set_task_done(&self, actor: &$crate::Actor, task_id: uuid::Uuid, done: bool) -> $crate::Result<rampart_core::work::Task> {
                let mut tx = self.writer().await?;
                let before = one(&mut tx, &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"), task_id, task_from_row).await?;
                let done_at = done.then($crate::types::now_micros);
                sqlx::query("UPDATE tasks SET done_at = $1 WHERE id = $2").bind(done_at).bind(task_id.to_string()).execute(&mut *tx).await?;
                let after = one(&mut tx, &format!("SELECT {TASK_COLUMNS} FROM tasks WHERE id = $1"), task_id, task_from_row).await?;
                note(&mut tx, actor, after.incident_id, format!("task {}: {}", if done { "done" } else { "reopened" }, after.title)).await?;
                audit(&mut tx, actor, "task.update", "task", &task_id.to_string(), Some($crate::common::json(&before)), Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn add_investigation(&self, actor: &$crate::Actor, incident_id: uuid::Uuid, party: &str, contact: Option<&str>, org_id: Option<uuid::Uuid>) -> $crate::Result<rampart_core::work::Investigation> {
                let party = rampart_core::work::check_line(party, 300).ok_or_else(|| $crate::StoreError::Invalid("name the party (at most 300 characters)".into()))?;
                let contact = match contact.map(str::trim).filter(|c| !c.is_empty()) {
                    Some(c) => Some(rampart_core::account::normalise_email(c).map_err(|_| $crate::StoreError::Invalid("the contact address is not valid".into()))?),
                    None => None,
                };
                let id = rampart_core::ids::new_id();
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                incident_in(&mut tx, incident_id).await?;
                sqlx::query("INSERT INTO investigations (id, incident_id, party, contact, org_id, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $7)")
                    .bind(id.to_string())
                    .bind(incident_id.to_string())
                    .bind(&party)
                    .bind(&contact)
                    .bind(org_id.map(|o| o.to_string()))
                    .bind(rampart_core::incident::InvestigationStatus::Open.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::common::conflict("investigation"))?;
                let inv = one(&mut tx, &format!("SELECT {INVESTIGATION_COLUMNS} FROM investigations WHERE id = $1"), id, investigation_from_row).await?;
                note(&mut tx, actor, incident_id, format!("investigation opened with {party}")).await?;
                audit(&mut tx, actor, "investigation.create", "investigation", &id.to_string(), None, Some($crate::common::json(&inv))).await?;
                tx.commit().await?;
                Ok(inv)
            }

            async fn investigations(&self, incident_id: uuid::Uuid) -> $crate::Result<Vec<rampart_core::work::Investigation>> {
                let rows = sqlx::query(&format!("SELECT {INVESTIGATION_COLUMNS} FROM investigations WHERE incident_id = $1 ORDER BY created_at")).bind(incident_id.to_string()).fetch_all(self.reader()).await?;
                rows.iter().map(investigation_from_row).collect()
            }

            async fn get_investigation(&self, id: uuid::Uuid) -> $crate::Result<Option<rampart_core::work::Investigation>> {
                let row = sqlx::query(&format!("SELECT {INVESTIGATION_COLUMNS} FROM investigations WHERE id = $1")).bind(id.to_string()).fetch_optional(self.reader()).await?;
                row.as_ref().map(investigation_from_row).transpose()
            }

            async fn set_investigation_status(&self, actor: &$crate::Actor, id: uuid::Uuid, status: rampart_core::incident::InvestigationStatus) -> $crate::Result<rampart_core::work::Investigation> {
                let mut tx = self.writer().await?;
                let before = one(&mut tx, &format!("SELECT {INVESTIGATION_COLUMNS} FROM investigations WHERE id = $1"), id, investigation_from_row).await?;
                rampart_core::incident::transition(before.status, status).map_err(|e| $crate::StoreError::Invalid(e.to_string()))?;
                sqlx::query("UPDATE investigations SET status = $1, updated_at = $2 WHERE id = $3").bind(status.as_str()).bind($crate::types::now_micros()).bind(id.to_string()).execute(&mut *tx).await?;
                let after = one(&mut tx, &format!("SELECT {INVESTIGATION_COLUMNS} FROM investigations WHERE id = $1"), id, investigation_from_row).await?;
                note(&mut tx, actor, after.incident_id, format!("investigation with {}: {}", after.party, status)).await?;
                audit(&mut tx, actor, "investigation.status", "investigation", &id.to_string(), Some($crate::common::json(&before)), Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn add_countermeasure(&self, actor: &$crate::Actor, incident_id: uuid::Uuid, kind: rampart_core::work::CountermeasureKind, target: &str) -> $crate::Result<rampart_core::work::Countermeasure> {
                let target = rampart_core::work::check_line(target, 2048).ok_or_else(|| $crate::StoreError::Invalid("name what the countermeasure is against".into()))?;
                let id = rampart_core::ids::new_id();
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                incident_in(&mut tx, incident_id).await?;
                sqlx::query("INSERT INTO countermeasures (id, incident_id, kind, target, status, created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $6)")
                    .bind(id.to_string())
                    .bind(incident_id.to_string())
                    .bind(kind.as_str())
                    .bind(&target)
                    .bind(rampart_core::incident::CountermeasureStatus::PendingActivation.as_str())
                    .bind(now)
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::common::conflict("countermeasure"))?;
                let cm = one(&mut tx, &format!("SELECT {COUNTERMEASURE_COLUMNS} FROM countermeasures WHERE id = $1"), id, countermeasure_from_row).await?;
                note(&mut tx, actor, incident_id, format!("countermeasure {kind} against {target}: pending activation")).await?;
                audit(&mut tx, actor, "countermeasure.create", "countermeasure", &id.to_string(), None, Some($crate::common::json(&cm))).await?;
                tx.commit().await?;
                Ok(cm)
            }

            async fn countermeasures(&self, incident_id: uuid::Uuid) -> $crate::Result<Vec<rampart_core::work::Countermeasure>> {
                let rows = sqlx::query(&format!("SELECT {COUNTERMEASURE_COLUMNS} FROM countermeasures WHERE incident_id = $1 ORDER BY created_at")).bind(incident_id.to_string()).fetch_all(self.reader()).await?;
                rows.iter().map(countermeasure_from_row).collect()
            }

            async fn get_countermeasure(&self, id: uuid::Uuid) -> $crate::Result<Option<rampart_core::work::Countermeasure>> {
                let row = sqlx::query(&format!("SELECT {COUNTERMEASURE_COLUMNS} FROM countermeasures WHERE id = $1")).bind(id.to_string()).fetch_optional(self.reader()).await?;
                row.as_ref().map(countermeasure_from_row).transpose()
            }

            async fn set_countermeasure_status(&self, actor: &$crate::Actor, id: uuid::Uuid, status: rampart_core::incident::CountermeasureStatus) -> $crate::Result<rampart_core::work::Countermeasure> {
                let mut tx = self.writer().await?;
                let before = one(&mut tx, &format!("SELECT {COUNTERMEASURE_COLUMNS} FROM countermeasures WHERE id = $1"), id, countermeasure_from_row).await?;
                rampart_core::incident::transition(before.status, status).map_err(|e| $crate::StoreError::Invalid(e.to_string()))?;
                sqlx::query("UPDATE countermeasures SET status = $1, updated_at = $2 WHERE id = $3").bind(status.as_str()).bind($crate::types::now_micros()).bind(id.to_string()).execute(&mut *tx).await?;
                let after = one(&mut tx, &format!("SELECT {COUNTERMEASURE_COLUMNS} FROM countermeasures WHERE id = $1"), id, countermeasure_from_row).await?;
                note(&mut tx, actor, after.incident_id, format!("countermeasure {} against {}: {} → {}", after.kind, after.target, before.status, status)).await?;
                audit(&mut tx, actor, "countermeasure.status", "countermeasure", &id.to_string(), Some($crate::common::json(&before)), Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn link_incidents(&self, actor: &$crate::Actor, a: uuid::Uuid, b: uuid::Uuid) -> $crate::Result<()> {
                if a == b {
                    return Err($crate::StoreError::Invalid("an incident cannot be linked to itself".into()));
                }
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                let (ia, ib) = (incident_in(&mut tx, a).await?, incident_in(&mut tx, b).await?);
                for (x, y) in [(a, b), (b, a)] {
                    sqlx::query("INSERT INTO incident_links (incident_id, other_id, created_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING")
                        .bind(x.to_string())
                        .bind(y.to_string())
                        .bind(now)
                        .execute(&mut *tx)
                        .await?;
                }
                note(&mut tx, actor, a, format!("linked with {}", ib.reference)).await?;
                note(&mut tx, actor, b, format!("linked with {}", ia.reference)).await?;
                audit(&mut tx, actor, "incident.link", "incident", &a.to_string(), None, Some(format!("{{\"other\":\"{b}\"}}"))).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn linked_incidents(&self, id: uuid::Uuid) -> $crate::Result<Vec<uuid::Uuid>> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT other_id FROM incident_links WHERE incident_id = $1 ORDER BY created_at").bind(id.to_string()).fetch_all(self.reader()).await?;
                rows.iter().map(|r| $crate::common::parse_uuid(&r.try_get::<String, _>("other_id")?)).collect()
            }

            async fn merge_incident(&self, actor: &$crate::Actor, from: uuid::Uuid, into: uuid::Uuid) -> $crate::Result<()> {
                use rampart_core::incident::IncidentStatus;
                if from == into {
                    return Err($crate::StoreError::Invalid("an incident cannot be merged into itself".into()));
                }
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                let (source, target) = (incident_in(&mut tx, from).await?, incident_in(&mut tx, into).await?);
                if source.merged_into.is_some() || target.merged_into.is_some() {
                    return Err($crate::StoreError::Invalid("one of the incidents was merged already".into()));
                }
                sqlx::query("UPDATE reports SET incident_id = $1 WHERE incident_id = $2").bind(into.to_string()).bind(from.to_string()).execute(&mut *tx).await?;
                sqlx::query("UPDATE attachments SET incident_id = $1 WHERE incident_id = $2").bind(into.to_string()).bind(from.to_string()).execute(&mut *tx).await?;
                sqlx::query(
                    "INSERT INTO incident_observables (incident_id, observable_id, first_seen) SELECT $1, observable_id, first_seen FROM incident_observables WHERE incident_id = $2 ON CONFLICT DO NOTHING",
                )
                .bind(into.to_string())
                .bind(from.to_string())
                .execute(&mut *tx)
                .await?;
                sqlx::query("UPDATE incidents SET merged_into = $1, status = $2, updated_at = $3 WHERE id = $4")
                    .bind(into.to_string())
                    .bind(IncidentStatus::Closed.as_str())
                    .bind(now)
                    .bind(from.to_string())
                    .execute(&mut *tx)
                    .await?;
                note(&mut tx, actor, from, format!("merged into {}", target.reference)).await?;
                note(&mut tx, actor, into, format!("{} merged into this incident", source.reference)).await?;
                let after = incident_in(&mut tx, from).await?;
                audit(&mut tx, actor, "incident.merge", "incident", &from.to_string(), Some($crate::common::json(&source)), Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn create_team(&self, actor: &$crate::Actor, name: &str) -> $crate::Result<rampart_core::work::Team> {
                let name = rampart_core::work::check_line(name, 100).ok_or_else(|| $crate::StoreError::Invalid("a team needs a name of at most 100 characters".into()))?;
                let id = rampart_core::ids::new_id();
                let mut tx = self.writer().await?;
                sqlx::query("INSERT INTO teams (id, name, created_at) VALUES ($1, $2, $3)")
                    .bind(id.to_string())
                    .bind(&name)
                    .bind($crate::types::now_micros())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::common::conflict("a team with this name"))?;
                let team = rampart_core::work::Team { id, name, members: Vec::new() };
                audit(&mut tx, actor, "team.create", "team", &id.to_string(), None, Some($crate::common::json(&team))).await?;
                tx.commit().await?;
                Ok(team)
            }

            async fn teams(&self) -> $crate::Result<Vec<rampart_core::work::Team>> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT id, name FROM teams ORDER BY lower(name)").fetch_all(self.reader()).await?;
                let members = sqlx::query("SELECT team_id, user_id FROM team_members").fetch_all(self.reader()).await?;
                let mut teams = Vec::with_capacity(rows.len());
                for r in &rows {
                    let id: String = r.try_get("id")?;
                    let mut member_ids = Vec::new();
                    for m in members.iter().filter(|m| m.try_get::<String, _>("team_id").is_ok_and(|t| t == id)) {
                        member_ids.push($crate::common::parse_uuid(&m.try_get::<String, _>("user_id")?)?);
                    }
                    teams.push(rampart_core::work::Team { id: $crate::common::parse_uuid(&id)?, name: r.try_get("name")?, members: member_ids });
                }
                Ok(teams)
            }

            async fn add_team_member(&self, actor: &$crate::Actor, team_id: uuid::Uuid, user_id: uuid::Uuid) -> $crate::Result<rampart_core::work::Team> {
                let mut tx = self.writer().await?;
                sqlx::query("INSERT INTO team_members (team_id, user_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                    .bind(team_id.to_string())
                    .bind(user_id.to_string())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::common::conflict("team member"))?;
                audit(&mut tx, actor, "team.member_add", "team", &team_id.to_string(), None, Some(format!("{{\"user\":\"{user_id}\"}}"))).await?;
                tx.commit().await?;
                self.teams().await?.into_iter().find(|t| t.id == team_id).ok_or($crate::StoreError::NotFound)
            }

            async fn record_notice(&self, incident_id: uuid::Uuid, regime: &str, obligation: &str, kind: &str, due_at: chrono::DateTime<chrono::Utc>) -> $crate::Result<bool> {
                let mut tx = self.writer().await?;
                let done = sqlx::query(
                    "INSERT INTO deadline_notices (incident_id, regime, obligation, kind, due_at, sent_at) VALUES ($1, $2, $3, $4, $5, $6) ON CONFLICT DO NOTHING",
                )
                .bind(incident_id.to_string())
                .bind(regime)
                .bind(obligation)
                .bind(kind)
                .bind(due_at)
                .bind($crate::types::now_micros())
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(done.rows_affected() == 1)
            }
        }
    };
}

pub(crate) use impl_work_store;
