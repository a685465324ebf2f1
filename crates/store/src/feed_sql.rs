//! The feed store's SQL, the same on both backends. See [`crate::common`].

macro_rules! impl_feed_store {
    ($store:ty) => {
        fn quarantine_from_row(row: &Row) -> $crate::Result<$crate::feeds::QuarantineEntry> {
            use sqlx::Row as _;
            Ok($crate::feeds::QuarantineEntry {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                feed: row.try_get("feed")?,
                source: row.try_get("source")?,
                line: row.try_get("line")?,
                reason: row.try_get("reason")?,
                raw: row.try_get("raw")?,
                created_at: row.try_get("created_at")?,
                replayed_at: row.try_get("replayed_at")?,
            })
        }

        #[async_trait::async_trait]
        impl $crate::feeds::FeedStore for $store {
            async fn checkpoint(&self, feed: &str, source: &str) -> $crate::Result<Option<$crate::feeds::Checkpoint>> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT bytes_done, lines_done, output_bytes, finished FROM feed_checkpoints WHERE feed = $1 AND source = $2")
                    .bind(feed)
                    .bind(source)
                    .fetch_optional(self.reader())
                    .await?;
                row.map(|r| Ok($crate::feeds::Checkpoint { bytes_done: r.try_get("bytes_done")?, lines_done: r.try_get("lines_done")?, output_bytes: r.try_get("output_bytes")?, finished: r.try_get("finished")? }))
                    .transpose()
            }

            async fn commit_batch(&self, b: &$crate::feeds::BatchCommit) -> $crate::Result<()> {
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                if !b.fingerprints.is_empty() {
                    let packed: Vec<u8> = b.fingerprints.iter().flat_map(|f| f.to_le_bytes()).collect();
                    // Numbered per feed, so workers can load only what is new to them.
                    sqlx::query(
                        "INSERT INTO feed_fingerprints (id, feed, expires_at, fingerprints, seq) \
                         VALUES ($1, $2, $3, $4, (SELECT COALESCE(MAX(seq), 0) + 1 FROM feed_fingerprints WHERE feed = $2))",
                    )
                    .bind(rampart_core::ids::new_id().to_string())
                    .bind(&b.feed)
                    .bind(b.fingerprints_expire)
                    .bind(packed)
                        .execute(&mut *tx)
                        .await?;
                }
                for chunk in b.quarantined.chunks($crate::registry_sql::BATCH_ROWS) {
                    let sql = format!(
                        "INSERT INTO feed_quarantine (id, feed, source, line, reason, raw, created_at) VALUES {}",
                        $crate::registry_sql::value_rows(chunk.len(), 7)
                    );
                    let mut q = sqlx::query(&sql);
                    for (line, reason, raw) in chunk {
                        q = q.bind(rampart_core::ids::new_id().to_string()).bind(&b.feed).bind(&b.source).bind(*line).bind(reason).bind(raw).bind(now);
                    }
                    q.execute(&mut *tx).await?;
                }
                for chunk in b.counts.chunks($crate::registry_sql::BATCH_ROWS) {
                    let sql = format!(
                        "INSERT INTO feed_counts (day, feed, org_id, classification_type, events) VALUES {} \
                         ON CONFLICT (day, feed, org_id, classification_type) DO UPDATE SET events = feed_counts.events + excluded.events",
                        $crate::registry_sql::value_rows(chunk.len(), 5)
                    );
                    let mut q = sqlx::query(&sql);
                    for (org, kind, n) in chunk {
                        q = q.bind(&b.day).bind(&b.feed).bind(org.map(|o| o.to_string()).unwrap_or_default()).bind(kind).bind(*n);
                    }
                    q.execute(&mut *tx).await?;
                }
                sqlx::query(
                    "INSERT INTO feed_checkpoints (feed, source, bytes_done, lines_done, output_bytes, finished, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
                     ON CONFLICT (feed, source) DO UPDATE SET bytes_done = excluded.bytes_done, lines_done = excluded.lines_done, \
                     output_bytes = excluded.output_bytes, finished = excluded.finished, updated_at = excluded.updated_at",
                )
                .bind(&b.feed)
                .bind(&b.source)
                .bind(b.bytes_done)
                .bind(b.lines_done)
                .bind(b.output_bytes)
                .bind(b.finished)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(())
            }

            async fn quarantine(&self, feed: Option<&str>, limit: i64) -> $crate::Result<Vec<$crate::feeds::QuarantineEntry>> {
                let rows = match feed {
                    Some(f) => sqlx::query("SELECT * FROM feed_quarantine WHERE feed = $1 ORDER BY created_at DESC, line LIMIT $2").bind(f).bind(limit).fetch_all(self.reader()).await?,
                    None => sqlx::query("SELECT * FROM feed_quarantine ORDER BY created_at DESC, line LIMIT $1").bind(limit).fetch_all(self.reader()).await?,
                };
                rows.iter().map(quarantine_from_row).collect()
            }

            async fn get_quarantined(&self, id: uuid::Uuid) -> $crate::Result<Option<$crate::feeds::QuarantineEntry>> {
                let row = sqlx::query("SELECT * FROM feed_quarantine WHERE id = $1").bind(id.to_string()).fetch_optional(self.reader()).await?;
                row.as_ref().map(quarantine_from_row).transpose()
            }

            async fn mark_replayed(&self, id: uuid::Uuid) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                let done = sqlx::query("UPDATE feed_quarantine SET replayed_at = $1 WHERE id = $2").bind($crate::types::now_micros()).bind(id.to_string()).execute(&mut *tx).await?;
                if done.rows_affected() == 0 {
                    return Err($crate::StoreError::NotFound);
                }
                tx.commit().await?;
                Ok(())
            }

            async fn counts(&self, feed: Option<&str>, since_day: &str) -> $crate::Result<Vec<$crate::feeds::FeedCount>> {
                use sqlx::Row as _;
                let rows = match feed {
                    Some(f) => sqlx::query("SELECT * FROM feed_counts WHERE feed = $1 AND day >= $2 ORDER BY day, feed, org_id, classification_type").bind(f).bind(since_day).fetch_all(self.reader()).await?,
                    None => sqlx::query("SELECT * FROM feed_counts WHERE day >= $1 ORDER BY day, feed, org_id, classification_type").bind(since_day).fetch_all(self.reader()).await?,
                };
                rows.iter()
                    .map(|r| {
                        let org: String = r.try_get("org_id")?;
                        Ok($crate::feeds::FeedCount {
                            day: r.try_get("day")?,
                            feed: r.try_get("feed")?,
                            org_id: if org.is_empty() { None } else { Some($crate::common::parse_uuid(&org)?) },
                            classification_type: r.try_get("classification_type")?,
                            events: r.try_get("events")?,
                        })
                    })
                    .collect()
            }

            async fn expire_fingerprints(&self, now: chrono::DateTime<chrono::Utc>) -> $crate::Result<u64> {
                let mut tx = self.writer().await?;
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT length(fingerprints) AS n FROM feed_fingerprints WHERE expires_at <= $1").bind(now).fetch_all(&mut *tx).await?;
                let mut gone = 0u64;
                for r in &rows {
                    gone += r.try_get::<i32, _>("n").map(i64::from).or_else(|_| r.try_get::<i64, _>("n"))? as u64 / 8;
                }
                sqlx::query("DELETE FROM feed_fingerprints WHERE expires_at <= $1").bind(now).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(gone)
            }

            async fn fingerprints_since(&self, feed: &str, now: chrono::DateTime<chrono::Utc>, after_seq: i64) -> $crate::Result<(Vec<u64>, i64)> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT seq, expires_at, fingerprints FROM feed_fingerprints WHERE feed = $1 AND seq > $2 ORDER BY seq")
                    .bind(feed)
                    .bind(after_seq)
                    .fetch_all(self.reader())
                    .await?;
                let mut out = Vec::new();
                let mut last = after_seq;
                for r in &rows {
                    last = last.max(r.try_get("seq")?);
                    let expires: chrono::DateTime<chrono::Utc> = r.try_get("expires_at")?;
                    if expires <= now {
                        continue;
                    }
                    let packed: Vec<u8> = r.try_get("fingerprints")?;
                    out.extend(packed.chunks_exact(8).map(|c| u64::from_le_bytes([c[0], c[1], c[2], c[3], c[4], c[5], c[6], c[7]])));
                }
                Ok((out, last))
            }

            async fn take_lease(&self, feed: &str, holder: &str, now: chrono::DateTime<chrono::Utc>, until: chrono::DateTime<chrono::Utc>) -> $crate::Result<bool> {
                let mut tx = self.writer().await?;
                let taken = sqlx::query(
                    "INSERT INTO feed_leases (feed, holder, expires_at) VALUES ($1, $2, $3) \
                     ON CONFLICT (feed) DO UPDATE SET holder = excluded.holder, expires_at = excluded.expires_at \
                     WHERE feed_leases.holder = excluded.holder OR feed_leases.expires_at <= $4",
                )
                .bind(feed)
                .bind(holder)
                .bind(until)
                .bind(now)
                .execute(&mut *tx)
                .await?;
                tx.commit().await?;
                Ok(taken.rows_affected() == 1)
            }

            async fn release_lease(&self, feed: &str, holder: &str) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                sqlx::query("DELETE FROM feed_leases WHERE feed = $1 AND holder = $2").bind(feed).bind(holder).execute(&mut *tx).await?;
                tx.commit().await?;
                Ok(())
            }
        }
    };
}

pub(crate) use impl_feed_store;
