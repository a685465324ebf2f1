//! The intelligence store's SQL, the same on both backends. See [`crate::common`].

use crate::intel::{IntelQuery, VersionFilter};

/// A value to bind to a query built at run time.
pub(crate) enum Arg {
    Text(String),
    Int(i64),
}

pub(crate) const INTEL_COLUMNS: &str = "seq, stix_id, stix_type, spec_version, version_key, version, date_added, producer_org, tlp, pap, \
                                        audience, audience_ref, status, latest, source, submission, body";

/// Objects of the intelligence store go in at most this many per statement.
pub(crate) const INSERT_ROWS: usize = 200;

fn placeholders(args: &mut Vec<Arg>, values: &[String]) -> String {
    let mut out = Vec::with_capacity(values.len());
    for v in values {
        args.push(Arg::Text(v.clone()));
        out.push(format!("${}", args.len()));
    }
    out.join(", ")
}

/// The condition selecting versions, on table alias `o`; `None` for every version.
pub(crate) fn version_condition(filter: &VersionFilter, args: &mut Vec<Arg>) -> Option<String> {
    if filter.all {
        return None;
    }
    let mut any = Vec::new();
    if filter.last {
        any.push("o.latest".to_string());
    }
    if filter.first {
        any.push(
            "o.version_key = (SELECT MIN(f.version_key) FROM intel_objects f WHERE f.stix_id = o.stix_id AND f.status = 'published')"
                .to_string(),
        );
    }
    if !filter.at.is_empty() {
        any.push(format!("o.version_key IN ({})", placeholders(args, &filter.at)));
    }
    if any.is_empty() {
        any.push("o.latest".to_string());
    }
    Some(format!("({})", any.join(" OR ")))
}

/// Conditions on table alias `o` for an audience.
pub(crate) fn audience_condition(audience: &rampart_core::policy::Audience, args: &mut Vec<Arg>) -> String {
    let (kind, reference) = crate::intel::audience_columns(audience);
    args.push(Arg::Text(kind.to_string()));
    args.push(Arg::Text(reference));
    format!("o.audience = ${} AND o.audience_ref = ${}", args.len() - 1, args.len())
}

pub(crate) fn query_sql(q: &IntelQuery) -> (String, Vec<Arg>) {
    let mut args = vec![Arg::Int(q.after_seq)];
    let mut sql = format!("SELECT {INTEL_COLUMNS} FROM intel_objects o WHERE o.seq > $1");
    if let Some(audience) = &q.audience {
        sql.push_str(" AND ");
        sql.push_str(&audience_condition(audience, &mut args));
    }
    if let Some(status) = q.status {
        args.push(Arg::Text(status.as_str().to_string()));
        sql.push_str(&format!(" AND o.status = ${}", args.len()));
    }
    for (column, values) in [("stix_id", &q.ids), ("stix_type", &q.types), ("spec_version", &q.spec_versions)] {
        if !values.is_empty() {
            sql.push_str(&format!(" AND o.{column} IN ({})", placeholders(&mut args, values)));
        }
    }
    if let Some(after) = &q.added_after {
        args.push(Arg::Text(after.clone()));
        sql.push_str(&format!(" AND o.date_added > ${}", args.len()));
    }
    if let Some(condition) = version_condition(&q.versions, &mut args) {
        sql.push_str(" AND ");
        sql.push_str(&condition);
    }
    args.push(Arg::Int(q.limit.max(0)));
    sql.push_str(&format!(" ORDER BY o.seq LIMIT ${}", args.len()));
    (sql, args)
}

/// Marks the newest published version of each of `count` ids bound from `$first`.
pub(crate) fn refresh_latest_sql(first: usize, count: usize) -> String {
    let list = (first..first + count).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
    format!(
        "UPDATE intel_objects SET latest = COALESCE(status = 'published' AND version_key = \
         (SELECT MAX(f.version_key) FROM intel_objects f WHERE f.stix_id = intel_objects.stix_id AND f.status = 'published'), FALSE) \
         WHERE stix_id IN ({list})"
    )
}

macro_rules! impl_intel_store {
    ($store:ty, $db:ty) => {
        fn bind_args<'q>(
            mut query: sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>>,
            args: &'q [$crate::intel_sql::Arg],
        ) -> sqlx::query::Query<'q, $db, <$db as sqlx::Database>::Arguments<'q>> {
            for a in args {
                query = match a {
                    $crate::intel_sql::Arg::Text(t) => query.bind(t.as_str()),
                    $crate::intel_sql::Arg::Int(i) => query.bind(*i),
                };
            }
            query
        }

        fn intel_from_row(row: &Row) -> $crate::Result<$crate::intel::IntelObject> {
            use sqlx::Row as _;
            let wire = |e: rampart_core::ParseEnumError| $crate::StoreError::Corrupt(e.to_string());
            Ok($crate::intel::IntelObject {
                seq: row.try_get("seq")?,
                stix_id: row.try_get("stix_id")?,
                stix_type: row.try_get("stix_type")?,
                spec_version: row.try_get("spec_version")?,
                version_key: row.try_get("version_key")?,
                version: row.try_get("version")?,
                date_added: row.try_get("date_added")?,
                producer_org: $crate::common::parse_uuid(&row.try_get::<String, _>("producer_org")?)?,
                tlp: row.try_get::<String, _>("tlp")?.parse().map_err(wire)?,
                pap: row.try_get::<String, _>("pap")?.parse().map_err(wire)?,
                audience: $crate::intel::audience_from_columns(&row.try_get::<String, _>("audience")?, &row.try_get::<String, _>("audience_ref")?)?,
                status: row.try_get::<String, _>("status")?.parse().map_err(wire)?,
                latest: row.try_get("latest")?,
                source: row.try_get("source")?,
                submission: $crate::common::parse_uuid(&row.try_get::<String, _>("submission")?)?,
                body: row.try_get("body")?,
            })
        }

        fn group_from_rows(group: &Row, members: &[Row]) -> $crate::Result<$crate::intel::SharingGroup> {
            use sqlx::Row as _;
            Ok($crate::intel::SharingGroup {
                id: $crate::common::parse_uuid(&group.try_get::<String, _>("id")?)?,
                name: group.try_get("name")?,
                description: group.try_get("description")?,
                members: members.iter().map(|m| $crate::common::parse_uuid(&m.try_get::<String, _>("org_id")?)).collect::<$crate::Result<_>>()?,
                created_at: group.try_get("created_at")?,
            })
        }

        async fn refresh_latest(tx: &mut Tx, ids: &[String]) -> $crate::Result<()> {
            for chunk in ids.chunks($crate::intel_sql::INSERT_ROWS) {
                let sql = $crate::intel_sql::refresh_latest_sql(1, chunk.len());
                let mut q = sqlx::query(&sql);
                for id in chunk {
                    q = q.bind(id.as_str());
                }
                q.execute(&mut **tx).await?;
            }
            Ok(())
        }

        async fn group_in(tx: &mut Tx, id: uuid::Uuid) -> $crate::Result<$crate::intel::SharingGroup> {
            let group = sqlx::query("SELECT * FROM sharing_groups WHERE id = $1").bind(id.to_string()).fetch_optional(&mut **tx).await?.ok_or($crate::StoreError::NotFound)?;
            let members = sqlx::query("SELECT org_id FROM sharing_group_members WHERE group_id = $1 ORDER BY org_id").bind(id.to_string()).fetch_all(&mut **tx).await?;
            group_from_rows(&group, &members)
        }

        #[async_trait::async_trait]
        impl $crate::intel::IntelStore for $store {
            async fn add_intel(&self, actor: &$crate::Actor, s: &$crate::intel::IntelSubmission) -> $crate::Result<$crate::intel::IntelAdded> {
                use sqlx::Row as _;
                let mut tx = self.writer().await?;
                // Writers queue here, so date_added grows with seq on every backend.
                <$store>::lock_audit_chain(&mut tx).await?;
                let last: Option<String> = sqlx::query("SELECT MAX(date_added) AS last FROM intel_objects").fetch_one(&mut *tx).await?.try_get("last")?;
                let now = $crate::types::now_micros();
                let after_last = last
                    .and_then(|l| chrono::DateTime::parse_from_rfc3339(&l).ok())
                    .map(|l| l.with_timezone(&chrono::Utc) + chrono::Duration::microseconds(1));
                let start = after_last.filter(|l| *l > now).unwrap_or(now);
                let (audience, audience_ref) = $crate::intel::audience_columns(&s.audience);
                let mut added = $crate::intel::IntelAdded::default();
                let mut inserted = std::collections::HashMap::new();
                let mut offset = 0i64;
                for chunk in s.objects.chunks($crate::intel_sql::INSERT_ROWS) {
                    let sql = format!(
                        "INSERT INTO intel_objects (stix_id, stix_type, spec_version, version_key, version, date_added, producer_org, tlp, pap, \
                         audience, audience_ref, status, latest, source, submission, body) VALUES {} \
                         ON CONFLICT (stix_id, version_key) DO NOTHING RETURNING seq, stix_id, version_key",
                        $crate::registry_sql::value_rows(chunk.len(), 16)
                    );
                    let mut q = sqlx::query(&sql);
                    for o in chunk {
                        let date_added = (start + chrono::Duration::microseconds(offset)).to_rfc3339_opts(chrono::SecondsFormat::Micros, true);
                        offset += 1;
                        q = q
                            .bind(o.stix_id.as_str())
                            .bind(o.stix_type.as_str())
                            .bind(o.spec_version.as_str())
                            .bind(o.version_key.as_str())
                            .bind(o.version.as_str())
                            .bind(date_added)
                            .bind(s.producer_org.to_string())
                            .bind(o.tlp.as_str())
                            .bind(o.pap.as_str())
                            .bind(audience)
                            .bind(audience_ref.as_str())
                            .bind(s.status.as_str())
                            .bind(false)
                            .bind(s.source.as_str())
                            .bind(s.id.to_string())
                            .bind(o.body.as_str());
                    }
                    for row in q.fetch_all(&mut *tx).await? {
                        inserted.insert((row.try_get::<String, _>("stix_id")?, row.try_get::<String, _>("version_key")?), row.try_get::<i64, _>("seq")?);
                    }
                }
                let mut refs: Vec<(i64, &(String, String, String))> = Vec::new();
                for o in &s.objects {
                    let pair = (o.stix_id.clone(), o.version.clone());
                    // A version sent twice in one submission is stored once; the repeat is "present".
                    if let Some(seq) = inserted.remove(&(o.stix_id.clone(), o.version_key.clone())) {
                        added.added.push(pair);
                        refs.extend(o.refs.iter().map(|r| (seq, r)));
                    } else {
                        added.present.push(pair);
                    }
                }
                for chunk in refs.chunks($crate::intel_sql::INSERT_ROWS) {
                    let sql = format!("INSERT INTO intel_refs (seq, from_id, to_id, kind) VALUES {}", $crate::registry_sql::value_rows(chunk.len(), 4));
                    let mut q = sqlx::query(&sql);
                    for (seq, (from, to, kind)) in chunk {
                        q = q.bind(*seq).bind(from.as_str()).bind(to.as_str()).bind(kind.as_str());
                    }
                    q.execute(&mut *tx).await?;
                }
                let mut ids: Vec<String> = added.added.iter().map(|(id, _)| id.clone()).collect();
                ids.sort();
                ids.dedup();
                refresh_latest(&mut tx, &ids).await?;
                sqlx::query("INSERT INTO intel_submissions (id, org_id, created_at, total, failures, present) VALUES ($1, $2, $3, $4, $5, $6)")
                    .bind(s.id.to_string())
                    .bind(s.producer_org.to_string())
                    .bind(now)
                    .bind(s.total as i64)
                    .bind($crate::common::json(&s.refused))
                    .bind($crate::common::json(&added.present))
                    .execute(&mut *tx)
                    .await?;
                let summary = serde_json::json!({
                    "source": s.source, "status": s.status, "audience": audience, "audience_ref": audience_ref,
                    "added": added.added.len(), "present": added.present.len(), "refused": s.refused.len(),
                    "ids": added.added.iter().take(100).map(|(id, _)| id).collect::<Vec<_>>(),
                });
                audit(&mut tx, actor, "intel.add", "intel_submission", &s.id.to_string(), None, Some(summary.to_string())).await?;
                tx.commit().await?;
                Ok(added)
            }

            async fn query_intel(&self, query: &$crate::intel::IntelQuery) -> $crate::Result<Vec<$crate::intel::IntelObject>> {
                let (sql, args) = $crate::intel_sql::query_sql(query);
                let rows = bind_args(sqlx::query(&sql), &args).fetch_all(self.reader()).await?;
                rows.iter().map(intel_from_row).collect()
            }

            async fn get_intel(&self, seq: i64) -> $crate::Result<Option<$crate::intel::IntelObject>> {
                let sql = format!("SELECT {} FROM intel_objects WHERE seq = $1", $crate::intel_sql::INTEL_COLUMNS);
                let row = sqlx::query(&sql).bind(seq).fetch_optional(self.reader()).await?;
                row.as_ref().map(intel_from_row).transpose()
            }

            async fn delete_intel(
                &self,
                actor: &$crate::Actor,
                audience: &rampart_core::policy::Audience,
                stix_id: &str,
                versions: &$crate::intel::VersionFilter,
                spec_versions: &[String],
            ) -> $crate::Result<u64> {
                let mut args = vec![$crate::intel_sql::Arg::Text(stix_id.to_string())];
                let mut sql = format!("DELETE FROM intel_objects WHERE seq IN (SELECT o.seq FROM intel_objects o WHERE o.stix_id = $1 AND o.status = 'published' AND {}", $crate::intel_sql::audience_condition(audience, &mut args));
                if let Some(condition) = $crate::intel_sql::version_condition(versions, &mut args) {
                    sql.push_str(" AND ");
                    sql.push_str(&condition);
                }
                if !spec_versions.is_empty() {
                    let start = args.len();
                    args.extend(spec_versions.iter().map(|v| $crate::intel_sql::Arg::Text(v.clone())));
                    let list = (start + 1..=args.len()).map(|i| format!("${i}")).collect::<Vec<_>>().join(", ");
                    sql.push_str(&format!(" AND o.spec_version IN ({list})"));
                }
                sql.push(')');
                let mut tx = self.writer().await?;
                let gone = bind_args(sqlx::query(&sql), &args).execute(&mut *tx).await?.rows_affected();
                if gone > 0 {
                    refresh_latest(&mut tx, &[stix_id.to_string()]).await?;
                    let after = serde_json::json!({"deleted_versions": gone});
                    audit(&mut tx, actor, "intel.delete", "stix_object", stix_id, None, Some(after.to_string())).await?;
                }
                tx.commit().await?;
                Ok(gone)
            }

            async fn review_intel(&self, actor: &$crate::Actor, seq: i64, accept: bool) -> $crate::Result<$crate::intel::IntelObject> {
                let status = if accept { $crate::intel::ReviewStatus::Published } else { $crate::intel::ReviewStatus::Rejected };
                let mut tx = self.writer().await?;
                let select = format!("SELECT {} FROM intel_objects WHERE seq = $1", $crate::intel_sql::INTEL_COLUMNS);
                let before = sqlx::query(&select).bind(seq).fetch_optional(&mut *tx).await?.ok_or($crate::StoreError::NotFound)?;
                let before = intel_from_row(&before)?;
                if before.status != $crate::intel::ReviewStatus::Pending {
                    return Err($crate::StoreError::Invalid(format!("{} is {}, not waiting for review", before.stix_id, before.status)));
                }
                sqlx::query("UPDATE intel_objects SET status = $1 WHERE seq = $2").bind(status.as_str()).bind(seq).execute(&mut *tx).await?;
                refresh_latest(&mut tx, std::slice::from_ref(&before.stix_id)).await?;
                let after = intel_from_row(&sqlx::query(&select).bind(seq).fetch_one(&mut *tx).await?)?;
                let action = if accept { "intel.accept" } else { "intel.reject" };
                let summary = |o: &$crate::intel::IntelObject| serde_json::json!({"seq": o.seq, "version": o.version, "status": o.status}).to_string();
                audit(&mut tx, actor, action, "stix_object", &before.stix_id, Some(summary(&before)), Some(summary(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn submission(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::intel::SubmissionState>> {
                use sqlx::Row as _;
                let Some(row) = sqlx::query("SELECT * FROM intel_submissions WHERE id = $1").bind(id.to_string()).fetch_optional(self.reader()).await? else {
                    return Ok(None);
                };
                let corrupt = |e: serde_json::Error| $crate::StoreError::Corrupt(format!("submission: {e}"));
                let refused: Vec<(String, String, String)> = serde_json::from_str(&row.try_get::<String, _>("failures")?).map_err(corrupt)?;
                let present: Vec<(String, String)> = serde_json::from_str(&row.try_get::<String, _>("present")?).map_err(corrupt)?;
                let stored = sqlx::query("SELECT stix_id, version, status FROM intel_objects WHERE submission = $1 ORDER BY seq").bind(id.to_string()).fetch_all(self.reader()).await?;
                let mut objects = Vec::with_capacity(stored.len() + present.len());
                for r in &stored {
                    let status = r.try_get::<String, _>("status")?.parse().map_err(|e: rampart_core::ParseEnumError| $crate::StoreError::Corrupt(e.to_string()))?;
                    objects.push((r.try_get("stix_id")?, r.try_get("version")?, status));
                }
                objects.extend(present.into_iter().map(|(id, v)| (id, v, $crate::intel::ReviewStatus::Published)));
                Ok(Some($crate::intel::SubmissionState {
                    id,
                    org_id: $crate::common::parse_uuid(&row.try_get::<String, _>("org_id")?)?,
                    created_at: row.try_get("created_at")?,
                    total: row.try_get::<i64, _>("total")? as u64,
                    objects,
                    refused,
                }))
            }

            async fn intel_refs(&self, stix_id: &str, limit: i64) -> $crate::Result<Vec<$crate::intel::IntelRef>> {
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT r.seq, r.from_id, r.to_id, r.kind FROM intel_refs r JOIN intel_objects o ON o.seq = r.seq \
                     WHERE (r.to_id = $1 OR r.from_id = $1) AND o.latest ORDER BY r.seq LIMIT $2",
                )
                .bind(stix_id)
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
                rows.iter()
                    .map(|r| Ok($crate::intel::IntelRef { seq: r.try_get("seq")?, from_id: r.try_get("from_id")?, to_id: r.try_get("to_id")?, kind: r.try_get("kind")? }))
                    .collect()
            }

            async fn create_sharing_group(&self, actor: &$crate::Actor, name: &str, description: &str, members: &[uuid::Uuid]) -> $crate::Result<$crate::intel::SharingGroup> {
                let name = name.trim();
                if name.is_empty() || name.chars().count() > 200 {
                    return Err($crate::StoreError::Invalid("a sharing group needs a name of 1 to 200 characters".into()));
                }
                let id = rampart_core::ids::new_id();
                let mut tx = self.writer().await?;
                sqlx::query("INSERT INTO sharing_groups (id, name, description, created_at) VALUES ($1, $2, $3, $4)")
                    .bind(id.to_string())
                    .bind(name)
                    .bind(description)
                    .bind($crate::types::now_micros())
                    .execute(&mut *tx)
                    .await
                    .map_err($crate::common::conflict("sharing group name"))?;
                for org in members.iter().collect::<std::collections::BTreeSet<_>>() {
                    sqlx::query("INSERT INTO sharing_group_members (group_id, org_id) VALUES ($1, $2)")
                        .bind(id.to_string())
                        .bind(org.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::common::conflict("sharing group member"))?;
                }
                let after = group_in(&mut tx, id).await?;
                audit(&mut tx, actor, "sharing_group.create", "sharing_group", &id.to_string(), None, Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn list_sharing_groups(&self) -> $crate::Result<Vec<$crate::intel::SharingGroup>> {
                use sqlx::Row as _;
                let groups = sqlx::query("SELECT * FROM sharing_groups ORDER BY name").fetch_all(self.reader()).await?;
                let members = sqlx::query("SELECT group_id, org_id FROM sharing_group_members ORDER BY org_id").fetch_all(self.reader()).await?;
                let mut out = Vec::with_capacity(groups.len());
                for g in &groups {
                    let mut group = group_from_rows(g, &[])?;
                    let id = group.id.to_string();
                    for m in &members {
                        if m.try_get::<String, _>("group_id")? == id {
                            group.members.push($crate::common::parse_uuid(&m.try_get::<String, _>("org_id")?)?);
                        }
                    }
                    out.push(group);
                }
                Ok(out)
            }

            async fn get_sharing_group(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::intel::SharingGroup>> {
                let Some(group) = sqlx::query("SELECT * FROM sharing_groups WHERE id = $1").bind(id.to_string()).fetch_optional(self.reader()).await? else {
                    return Ok(None);
                };
                let members = sqlx::query("SELECT org_id FROM sharing_group_members WHERE group_id = $1 ORDER BY org_id").bind(id.to_string()).fetch_all(self.reader()).await?;
                group_from_rows(&group, &members).map(Some)
            }

            async fn set_sharing_group_member(&self, actor: &$crate::Actor, group: uuid::Uuid, org: uuid::Uuid, member: bool) -> $crate::Result<$crate::intel::SharingGroup> {
                let mut tx = self.writer().await?;
                let before = group_in(&mut tx, group).await?;
                if member {
                    sqlx::query("INSERT INTO sharing_group_members (group_id, org_id) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(group.to_string())
                        .bind(org.to_string())
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::common::conflict("sharing group member"))?;
                } else {
                    sqlx::query("DELETE FROM sharing_group_members WHERE group_id = $1 AND org_id = $2").bind(group.to_string()).bind(org.to_string()).execute(&mut *tx).await?;
                }
                let after = group_in(&mut tx, group).await?;
                if after != before {
                    audit(&mut tx, actor, "sharing_group.members", "sharing_group", &group.to_string(), Some($crate::common::json(&before)), Some($crate::common::json(&after))).await?;
                }
                tx.commit().await?;
                Ok(after)
            }

            async fn sharing_groups_of(&self, org: uuid::Uuid) -> $crate::Result<Vec<uuid::Uuid>> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT group_id FROM sharing_group_members WHERE org_id = $1").bind(org.to_string()).fetch_all(self.reader()).await?;
                rows.iter().map(|r| $crate::common::parse_uuid(&r.try_get::<String, _>("group_id")?)).collect()
            }

            async fn set_intel_publisher(&self, actor: &$crate::Actor, org: uuid::Uuid, trusted: bool) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                let changed = if trusted {
                    sqlx::query("INSERT INTO intel_publishers (org_id, created_at) VALUES ($1, $2) ON CONFLICT DO NOTHING")
                        .bind(org.to_string())
                        .bind($crate::types::now_micros())
                        .execute(&mut *tx)
                        .await
                        .map_err($crate::common::conflict("publisher"))?
                        .rows_affected()
                } else {
                    sqlx::query("DELETE FROM intel_publishers WHERE org_id = $1").bind(org.to_string()).execute(&mut *tx).await?.rows_affected()
                };
                if changed > 0 {
                    let after = serde_json::json!({"trusted_publisher": trusted}).to_string();
                    audit(&mut tx, actor, "intel.publisher", "organisation", &org.to_string(), None, Some(after)).await?;
                }
                tx.commit().await?;
                Ok(())
            }

            async fn is_intel_publisher(&self, org: uuid::Uuid) -> $crate::Result<bool> {
                Ok(sqlx::query("SELECT org_id FROM intel_publishers WHERE org_id = $1").bind(org.to_string()).fetch_optional(self.reader()).await?.is_some())
            }
        }
    };
}

pub(crate) use impl_intel_store;
