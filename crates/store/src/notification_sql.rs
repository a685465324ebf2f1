//! The notification store's SQL, the same on both backends. See [`crate::common`].

macro_rules! impl_notification_store {
    ($store:ty) => {
        const NOTIFICATION_COLUMNS: &str = "id, reference, org_id, recipient, cc, template_kind, language, format, aggregation_key, subject, message_id, \
            event_count, signed, encrypted, status, attempts, next_attempt_at, last_error, incident_id, created_at, sent_at";
        const DIRECTIVE_COLUMNS: &str = "id, org_id, recipient, template_kind, language, format, aggregation_key, interval_secs, event_key, event_json, \
            source, source_id, incident_id, created_at, notification_id";

        fn notification_from_row(row: &Row) -> $crate::Result<rampart_core::notification::Notification> {
            use $crate::incident_sql::{opt_uuid, parse_wire};
            use sqlx::Row as _;
            let cc: String = row.try_get("cc")?;
            Ok(rampart_core::notification::Notification {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                reference: row.try_get("reference")?,
                org_id: opt_uuid(row.try_get("org_id")?)?,
                recipient: row.try_get("recipient")?,
                cc: cc.split(',').filter(|c| !c.is_empty()).map(str::to_string).collect(),
                template_kind: row.try_get("template_kind")?,
                language: row.try_get("language")?,
                format: parse_wire(&row.try_get::<String, _>("format")?)?,
                aggregation_key: row.try_get("aggregation_key")?,
                subject: row.try_get("subject")?,
                message_id: row.try_get("message_id")?,
                event_count: row.try_get("event_count")?,
                signed: row.try_get("signed")?,
                encrypted: row.try_get("encrypted")?,
                status: parse_wire(&row.try_get::<String, _>("status")?)?,
                attempts: row.try_get("attempts")?,
                next_attempt_at: row.try_get("next_attempt_at")?,
                last_error: row.try_get("last_error")?,
                incident_id: opt_uuid(row.try_get("incident_id")?)?,
                created_at: row.try_get("created_at")?,
                sent_at: row.try_get("sent_at")?,
            })
        }

        fn directive_from_row(row: &Row) -> $crate::Result<rampart_core::notification::Directive> {
            use $crate::incident_sql::{opt_uuid, parse_wire};
            use sqlx::Row as _;
            let event: String = row.try_get("event_json")?;
            Ok(rampart_core::notification::Directive {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                org_id: opt_uuid(row.try_get("org_id")?)?,
                recipient: row.try_get("recipient")?,
                template_kind: row.try_get("template_kind")?,
                language: row.try_get("language")?,
                format: parse_wire(&row.try_get::<String, _>("format")?)?,
                aggregation_key: row.try_get("aggregation_key")?,
                interval_secs: row.try_get("interval_secs")?,
                event_key: row.try_get("event_key")?,
                event: serde_json::from_str(&event).map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?,
                source: parse_wire(&row.try_get::<String, _>("source")?)?,
                source_id: row.try_get("source_id")?,
                incident_id: opt_uuid(row.try_get("incident_id")?)?,
                created_at: row.try_get("created_at")?,
                notification_id: opt_uuid(row.try_get("notification_id")?)?,
            })
        }

        fn rule_from_row(row: &Row) -> $crate::Result<rampart_core::notification::SuppressionRule> {
            use $crate::incident_sql::{opt_uuid, parse_wire};
            use sqlx::Row as _;
            Ok(rampart_core::notification::SuppressionRule {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                org_id: opt_uuid(row.try_get("org_id")?)?,
                sector: row.try_get("sector")?,
                classification_type: row.try_get("classification_type")?,
                action: parse_wire(&row.try_get::<String, _>("action")?)?,
                copy_to: row.try_get("copy_to")?,
                comment: row.try_get("comment")?,
                created_at: row.try_get("created_at")?,
            })
        }

        async fn notification_in(tx: &mut Tx, id: uuid::Uuid) -> $crate::Result<rampart_core::notification::Notification> {
            let row = sqlx::query(&format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1"))
                .bind(id.to_string())
                .fetch_optional(&mut **tx)
                .await?
                .ok_or($crate::StoreError::NotFound)?;
            notification_from_row(&row)
        }

        async fn log_in(tx: &mut Tx, id: uuid::Uuid, status: &str, detail: &str) -> $crate::Result<()> {
            let detail: String = detail.chars().take(2000).collect();
            sqlx::query("INSERT INTO notification_log (notification_id, at, status, detail) VALUES ($1, $2, $3, $4)")
                .bind(id.to_string())
                .bind($crate::types::now_micros())
                .bind(status)
                .bind(detail)
                .execute(&mut **tx)
                .await?;
            Ok(())
        }

        #[async_trait::async_trait]
        impl $crate::notifications::NotificationStore for $store {
            async fn templates(&self) -> $crate::Result<Vec<rampart_core::notification::StoredTemplate>> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT kind, language, subject, body, updated_at FROM notification_templates ORDER BY kind, language")
                    .fetch_all(self.reader())
                    .await?;
                rows.iter()
                    .map(|r| {
                        Ok(rampart_core::notification::StoredTemplate {
                            kind: r.try_get("kind")?,
                            language: r.try_get("language")?,
                            subject: r.try_get("subject")?,
                            body: r.try_get("body")?,
                            updated_at: Some(r.try_get("updated_at")?),
                            customised: true,
                        })
                    })
                    .collect()
            }

            async fn save_template(&self, actor: &$crate::Actor, kind: &str, language: &str, subject: &str, body: &str) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                sqlx::query(
                    "INSERT INTO notification_templates (kind, language, subject, body, updated_at) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (kind, language) DO UPDATE SET subject = excluded.subject, body = excluded.body, updated_at = excluded.updated_at",
                )
                .bind(kind)
                .bind(language)
                .bind(subject)
                .bind(body)
                .bind($crate::types::now_micros())
                .execute(&mut *tx)
                .await?;
                let after = serde_json::json!({ "subject": subject, "body": body }).to_string();
                audit(&mut tx, actor, "template.save", "template", &format!("{kind}.{language}"), None, Some(after)).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn reset_template(&self, actor: &$crate::Actor, kind: &str, language: &str) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                sqlx::query("DELETE FROM notification_templates WHERE kind = $1 AND language = $2").bind(kind).bind(language).execute(&mut *tx).await?;
                audit(&mut tx, actor, "template.reset", "template", &format!("{kind}.{language}"), None, None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn add_rule(&self, actor: &$crate::Actor, rule: &rampart_core::notification::SuppressionRule) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                sqlx::query(
                    "INSERT INTO suppression_rules (id, org_id, sector, classification_type, action, copy_to, comment, created_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                )
                .bind(rule.id.to_string())
                .bind(rule.org_id.map(|o| o.to_string()))
                .bind(&rule.sector)
                .bind(&rule.classification_type)
                .bind(rule.action.as_str())
                .bind(&rule.copy_to)
                .bind(&rule.comment)
                .bind(rule.created_at)
                .execute(&mut *tx)
                .await
                .map_err($crate::common::conflict("rule"))?;
                audit(&mut tx, actor, "rule.create", "suppression_rule", &rule.id.to_string(), None, Some($crate::common::json(rule))).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn rules(&self) -> $crate::Result<Vec<rampart_core::notification::SuppressionRule>> {
                let rows = sqlx::query("SELECT id, org_id, sector, classification_type, action, copy_to, comment, created_at FROM suppression_rules ORDER BY created_at, id")
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(rule_from_row).collect()
            }

            async fn delete_rule(&self, actor: &$crate::Actor, id: uuid::Uuid) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                let done = sqlx::query("DELETE FROM suppression_rules WHERE id = $1").bind(id.to_string()).execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                audit(&mut tx, actor, "rule.delete", "suppression_rule", &id.to_string(), None, None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn add_directives(
                &self,
                actor: &$crate::Actor,
                directives: &[$crate::notifications::DirectiveRecord],
            ) -> $crate::Result<(Vec<rampart_core::notification::Directive>, usize)> {
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                let mut stored = Vec::new();
                let mut skipped = 0usize;
                // What each recipient was told: one query per recipient and up to 100 event
                // keys, not one per directive (a feed hands over thousands at once).
                // (recipient, event key, template) → (latest created_at, one still waiting)
                let mut told: std::collections::HashMap<(String, String, String), (chrono::DateTime<chrono::Utc>, bool)> =
                    std::collections::HashMap::new();
                let mut by_recipient: std::collections::BTreeMap<&str, Vec<&str>> = std::collections::BTreeMap::new();
                for d in directives {
                    by_recipient.entry(d.recipient.as_str()).or_default().push(d.event_key.as_str());
                }
                for (recipient, mut keys) in by_recipient {
                    keys.sort_unstable();
                    keys.dedup();
                    for chunk in keys.chunks(100) {
                        use sqlx::Row as _;
                        let placeholders: Vec<String> = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect();
                        let sql = format!(
                            "SELECT event_key, template_kind, created_at, notification_id FROM notification_directives \
                             WHERE recipient = $1 AND event_key IN ({})",
                            placeholders.join(", ")
                        );
                        let mut q = sqlx::query(&sql).bind(recipient);
                        for key in chunk {
                            q = q.bind(*key);
                        }
                        for row in q.fetch_all(&mut *tx).await? {
                            let at: chrono::DateTime<chrono::Utc> = row.try_get("created_at")?;
                            let waiting = row.try_get::<Option<String>, _>("notification_id")?.is_none();
                            let entry = told
                                .entry((recipient.to_string(), row.try_get("event_key")?, row.try_get("template_kind")?))
                                .or_insert((at, waiting));
                            entry.0 = entry.0.max(at);
                            entry.1 |= waiting;
                        }
                    }
                }
                let mut batch_seen = std::collections::HashSet::new();
                for d in directives {
                    // Within the interval, or still waiting: the same event is told once.
                    let since = now - chrono::Duration::seconds(d.interval_secs);
                    let key = (d.recipient.clone(), d.event_key.clone(), d.template_kind.clone());
                    let seen = told.get(&key).is_some_and(|(latest, waiting)| *waiting || *latest > since);
                    if seen || !batch_seen.insert(key) {
                        skipped += 1;
                        continue;
                    }
                    stored.push(rampart_core::notification::Directive {
                        id: rampart_core::ids::new_id(),
                        org_id: d.org_id,
                        recipient: d.recipient.clone(),
                        template_kind: d.template_kind.clone(),
                        language: d.language.clone(),
                        format: d.format,
                        aggregation_key: d.aggregation_key.clone(),
                        interval_secs: d.interval_secs,
                        event_key: d.event_key.clone(),
                        event: d.event.clone(),
                        source: d.source,
                        source_id: d.source_id.clone(),
                        incident_id: d.incident_id,
                        created_at: now,
                        notification_id: None,
                    });
                }
                // Stored many rows per statement: a feed may hand over thousands at once.
                for chunk in stored.chunks(50) {
                    let sql = format!("INSERT INTO notification_directives ({DIRECTIVE_COLUMNS}) VALUES {}", $crate::registry_sql::value_rows(chunk.len(), 15));
                    let mut q = sqlx::query(&sql);
                    for d in chunk {
                        q = q
                            .bind(d.id.to_string())
                            .bind(d.org_id.map(|o| o.to_string()))
                            .bind(d.recipient.clone())
                            .bind(d.template_kind.clone())
                            .bind(d.language.clone())
                            .bind(d.format.as_str())
                            .bind(d.aggregation_key.clone())
                            .bind(d.interval_secs)
                            .bind(d.event_key.clone())
                            .bind($crate::common::json(&d.event))
                            .bind(d.source.as_str())
                            .bind(d.source_id.clone())
                            .bind(d.incident_id.map(|i| i.to_string()))
                            .bind(d.created_at)
                            .bind(None::<String>);
                    }
                    q.execute(&mut *tx).await.map_err($crate::common::conflict("directive"))?;
                }
                if !stored.is_empty() {
                    let summary = serde_json::json!({ "stored": stored.len(), "skipped": skipped }).to_string();
                    audit(&mut tx, actor, "directive.create", "directive", &stored[0].id.to_string(), None, Some(summary)).await?;
                }
                tx.commit().await?;
                Ok((stored, skipped))
            }

            async fn due_groups(&self, now: chrono::DateTime<chrono::Utc>) -> $crate::Result<Vec<$crate::notifications::GroupKey>> {
                use $crate::incident_sql::parse_wire;
                use sqlx::Row as _;
                let rows = sqlx::query(
                    "SELECT recipient, template_kind, format, aggregation_key, MIN(interval_secs) AS interval_secs FROM notification_directives \
                     WHERE notification_id IS NULL GROUP BY recipient, template_kind, format, aggregation_key ORDER BY MIN(created_at)",
                )
                .fetch_all(self.reader())
                .await?;
                let mut due = Vec::new();
                for r in &rows {
                    let key = $crate::notifications::GroupKey {
                        recipient: r.try_get("recipient")?,
                        template_kind: r.try_get("template_kind")?,
                        format: parse_wire(&r.try_get::<String, _>("format")?)?,
                        aggregation_key: r.try_get("aggregation_key")?,
                    };
                    let interval: i64 = r.try_get("interval_secs")?;
                    let recent = sqlx::query(
                        "SELECT 1 FROM notifications WHERE recipient = $1 AND template_kind = $2 AND format = $3 AND aggregation_key = $4 AND created_at > $5 LIMIT 1",
                    )
                    .bind(&key.recipient)
                    .bind(&key.template_kind)
                    .bind(key.format.as_str())
                    .bind(&key.aggregation_key)
                    .bind(now - chrono::Duration::seconds(interval))
                    .fetch_optional(self.reader())
                    .await?;
                    if recent.is_none() {
                        due.push(key);
                    }
                }
                Ok(due)
            }

            async fn waiting_directives(&self, key: &$crate::notifications::GroupKey) -> $crate::Result<Vec<rampart_core::notification::Directive>> {
                let rows = sqlx::query(&format!(
                    "SELECT {DIRECTIVE_COLUMNS} FROM notification_directives WHERE notification_id IS NULL AND recipient = $1 AND template_kind = $2 \
                     AND format = $3 AND aggregation_key = $4 ORDER BY created_at, id LIMIT 10000"
                ))
                .bind(&key.recipient)
                .bind(&key.template_kind)
                .bind(key.format.as_str())
                .bind(&key.aggregation_key)
                .fetch_all(self.reader())
                .await?;
                rows.iter().map(directive_from_row).collect()
            }

            async fn directives_of(&self, notification_id: uuid::Uuid) -> $crate::Result<Vec<rampart_core::notification::Directive>> {
                let rows = sqlx::query(&format!("SELECT {DIRECTIVE_COLUMNS} FROM notification_directives WHERE notification_id = $1 ORDER BY created_at, id"))
                    .bind(notification_id.to_string())
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(directive_from_row).collect()
            }

            async fn next_notification_reference(&self) -> $crate::Result<String> {
                let mut tx = self.writer().await?;
                let reference = next_reference(&mut tx, rampart_core::incident::RefKind::Notification, $crate::types::now_micros()).await?;
                tx.commit().await?;
                Ok(reference)
            }

            async fn enqueue(
                &self,
                actor: &$crate::Actor,
                n: $crate::notifications::NewNotification,
                directive_ids: &[uuid::Uuid],
            ) -> $crate::Result<rampart_core::notification::Notification> {
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                sqlx::query(&format!(
                    "INSERT INTO notifications ({NOTIFICATION_COLUMNS}, raw, lease_until) VALUES \
                     ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16, $17, $18, $19, $20, $21, $22, $23)"
                ))
                .bind(n.id.to_string())
                .bind(&n.reference)
                .bind(n.org_id.map(|o| o.to_string()))
                .bind(&n.recipient)
                .bind(n.cc.join(","))
                .bind(&n.template_kind)
                .bind(&n.language)
                .bind(n.format.as_str())
                .bind(&n.aggregation_key)
                .bind(&n.subject)
                .bind(&n.message_id)
                .bind(directive_ids.len() as i64)
                .bind(n.signed)
                .bind(n.encrypted)
                .bind(rampart_core::notification::NotificationStatus::Queued.as_str())
                .bind(0i64)
                .bind(Some(now))
                .bind(None::<String>)
                .bind(n.incident_id.map(|i| i.to_string()))
                .bind(now)
                .bind(None::<chrono::DateTime<chrono::Utc>>)
                .bind(&n.raw)
                .bind(None::<chrono::DateTime<chrono::Utc>>)
                .execute(&mut *tx)
                .await
                .map_err($crate::common::conflict("notification"))?;
                for chunk in directive_ids.chunks($crate::registry_sql::BATCH_ROWS) {
                    let list = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(", ");
                    let sql = format!("UPDATE notification_directives SET notification_id = $1 WHERE notification_id IS NULL AND id IN ({list})");
                    let mut q = sqlx::query(&sql).bind(n.id.to_string());
                    for id in chunk {
                        q = q.bind(id.to_string());
                    }
                    let done = q.execute(&mut *tx).await?;
                    if done.rows_affected() != chunk.len() as u64 {
                        // Another sender took some of them: this message would repeat them.
                        return Err($crate::StoreError::Conflict("directives already sent in another message".into()));
                    }
                }
                log_in(&mut tx, n.id, "queued", &format!("{} event(s) for {}", directive_ids.len(), n.recipient)).await?;
                let after = notification_in(&mut tx, n.id).await?;
                audit(&mut tx, actor, "notification.queue", "notification", &n.id.to_string(), None, Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn claim_due(
                &self,
                now: chrono::DateTime<chrono::Utc>,
                lease_until: chrono::DateTime<chrono::Utc>,
                limit: i64,
            ) -> $crate::Result<Vec<(rampart_core::notification::Notification, Vec<u8>)>> {
                use sqlx::Row as _;
                let candidates = sqlx::query(
                    "SELECT id FROM notifications WHERE (status IN ('queued', 'deferred') AND next_attempt_at <= $1) \
                     OR (status = 'sending' AND lease_until < $1) ORDER BY next_attempt_at LIMIT $2",
                )
                .bind(now)
                .bind(limit)
                .fetch_all(self.reader())
                .await?;
                let mut claimed = Vec::new();
                for c in &candidates {
                    let id: String = c.try_get("id")?;
                    let mut tx = self.writer().await?;
                    // The conditional update is the claim: of two senders, one gets the row.
                    let done = sqlx::query(
                        "UPDATE notifications SET status = 'sending', lease_until = $1, attempts = attempts + 1 WHERE id = $2 AND \
                         ((status IN ('queued', 'deferred') AND next_attempt_at <= $3) OR (status = 'sending' AND lease_until < $3))",
                    )
                    .bind(lease_until)
                    .bind(&id)
                    .bind(now)
                    .execute(&mut *tx)
                    .await?;
                    if done.rows_affected() == 1 {
                        let row = sqlx::query(&format!("SELECT {NOTIFICATION_COLUMNS}, raw FROM notifications WHERE id = $1")).bind(&id).fetch_one(&mut *tx).await?;
                        claimed.push((notification_from_row(&row)?, row.try_get::<Vec<u8>, _>("raw")?));
                    }
                    tx.commit().await?;
                }
                Ok(claimed)
            }

            async fn record_attempt(
                &self,
                id: uuid::Uuid,
                status: rampart_core::notification::NotificationStatus,
                detail: &str,
                next_attempt_at: Option<chrono::DateTime<chrono::Utc>>,
            ) -> $crate::Result<rampart_core::notification::Notification> {
                use rampart_core::notification::NotificationStatus as S;
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                let sent_at = (status == S::Sent).then_some(now);
                let error = (status != S::Sent).then(|| detail.chars().take(1000).collect::<String>());
                sqlx::query(
                    "UPDATE notifications SET status = $1, next_attempt_at = $2, last_error = $3, sent_at = COALESCE($4, sent_at), lease_until = NULL WHERE id = $5",
                )
                .bind(status.as_str())
                .bind(next_attempt_at)
                .bind(error)
                .bind(sent_at)
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
                log_in(&mut tx, id, status.as_str(), detail).await?;
                let after = notification_in(&mut tx, id).await?;
                audit(&mut tx, &$crate::Actor::System, "notification.attempt", "notification", &id.to_string(), None, Some(serde_json::json!({ "status": status, "detail": detail }).to_string())).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn log_delivery(&self, id: uuid::Uuid, status: &str, detail: &str) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                notification_in(&mut tx, id).await?;
                if status == "bounced" {
                    sqlx::query("UPDATE notifications SET status = 'bounced', last_error = $1 WHERE id = $2")
                        .bind(detail.chars().take(1000).collect::<String>())
                        .bind(id.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                log_in(&mut tx, id, status, detail).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn delivery_log(&self, id: uuid::Uuid) -> $crate::Result<Vec<rampart_core::notification::DeliveryLogEntry>> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT at, status, detail FROM notification_log WHERE notification_id = $1 ORDER BY seq")
                    .bind(id.to_string())
                    .fetch_all(self.reader())
                    .await?;
                rows.iter()
                    .map(|r| Ok(rampart_core::notification::DeliveryLogEntry { notification_id: id, at: r.try_get("at")?, status: r.try_get("status")?, detail: r.try_get("detail")? }))
                    .collect()
            }

            async fn notifications(&self, filter: &$crate::notifications::NotificationFilter) -> $crate::Result<Vec<rampart_core::notification::Notification>> {
                let mut sql = format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE 1 = 1");
                let mut binds = Vec::new();
                if let Some(s) = filter.status {
                    binds.push(s.as_str().to_string());
                    sql.push_str(&format!(" AND status = ${}", binds.len()));
                }
                if let Some(o) = filter.org_id {
                    binds.push(o.to_string());
                    sql.push_str(&format!(" AND org_id = ${}", binds.len()));
                }
                if let Some(i) = filter.incident_id {
                    binds.push(i.to_string());
                    sql.push_str(&format!(" AND incident_id = ${}", binds.len()));
                }
                sql.push_str(&format!(" ORDER BY created_at DESC, id DESC LIMIT {}", filter.limit.clamp(1, 1000)));
                let mut q = sqlx::query(&sql);
                for b in binds {
                    q = q.bind(b);
                }
                let rows = q.fetch_all(self.reader()).await?;
                rows.iter().map(notification_from_row).collect()
            }

            async fn get_notification(&self, id: uuid::Uuid) -> $crate::Result<Option<rampart_core::notification::Notification>> {
                let row = sqlx::query(&format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE id = $1")).bind(id.to_string()).fetch_optional(self.reader()).await?;
                row.as_ref().map(notification_from_row).transpose()
            }

            async fn find_notification(&self, key: &str) -> $crate::Result<Option<rampart_core::notification::Notification>> {
                let row = sqlx::query(&format!("SELECT {NOTIFICATION_COLUMNS} FROM notifications WHERE reference = $1 OR message_id = $1"))
                    .bind(key.trim())
                    .fetch_optional(self.reader())
                    .await?;
                row.as_ref().map(notification_from_row).transpose()
            }

            async fn notification_raw(&self, id: uuid::Uuid) -> $crate::Result<Option<Vec<u8>>> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT raw FROM notifications WHERE id = $1").bind(id.to_string()).fetch_optional(self.reader()).await?;
                row.map(|r| Ok(r.try_get::<Vec<u8>, _>("raw")?)).transpose()
            }
        }
    };
}

pub(crate) use impl_notification_store;
