//! The registry store's SQL, the same on both backends. See [`crate::common`].

/// `($1, $2, $3), ($4, $5, $6)` for a multi-row insert.
pub(crate) fn value_rows(rows: usize, cols: usize) -> String {
    let mut out = String::with_capacity(rows * cols * 5);
    for r in 0..rows {
        if r > 0 {
            out.push_str(", ");
        }
        out.push('(');
        for c in 0..cols {
            if c > 0 {
                out.push_str(", ");
            }
            out.push('$');
            out.push_str(&(r * cols + c + 1).to_string());
        }
        out.push(')');
    }
    out
}

/// Rows per multi-row statement: well under both backends' bound-parameter limits.
pub(crate) const BATCH_ROWS: usize = 500;

macro_rules! impl_registry_store {
    ($store:ty) => {
        const CONTACT_COLUMNS: &str =
            "id, org_id, role, name, email, phone, language, pgp_key, pgp_fingerprint, pgp_expires_at, source, created_at, updated_at";
        const ASSET_COLUMNS: &str =
            "id, org_id, kind, value, include_subdomains, source, status, valid_from, valid_until, comment, created_at, updated_at";

        fn contact_from_row(row: &Row) -> $crate::Result<rampart_core::registry::Contact> {
            use $crate::incident_sql::parse_wire;
            use sqlx::Row as _;
            Ok(rampart_core::registry::Contact {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                org_id: $crate::common::parse_uuid(&row.try_get::<String, _>("org_id")?)?,
                role: parse_wire(&row.try_get::<String, _>("role")?)?,
                name: row.try_get("name")?,
                email: row.try_get("email")?,
                phone: row.try_get("phone")?,
                language: row.try_get("language")?,
                pgp_key: row.try_get("pgp_key")?,
                pgp_fingerprint: row.try_get("pgp_fingerprint")?,
                pgp_expires_at: row.try_get("pgp_expires_at")?,
                source: row.try_get("source")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn asset_from_row(row: &Row) -> $crate::Result<rampart_core::registry::Asset> {
            use $crate::incident_sql::parse_wire;
            use sqlx::Row as _;
            Ok(rampart_core::registry::Asset {
                id: $crate::common::parse_uuid(&row.try_get::<String, _>("id")?)?,
                org_id: $crate::common::parse_uuid(&row.try_get::<String, _>("org_id")?)?,
                kind: parse_wire(&row.try_get::<String, _>("kind")?)?,
                value: row.try_get("value")?,
                include_subdomains: row.try_get("include_subdomains")?,
                source: parse_wire(&row.try_get::<String, _>("source")?)?,
                status: parse_wire(&row.try_get::<String, _>("status")?)?,
                valid_from: row.try_get("valid_from")?,
                valid_until: row.try_get("valid_until")?,
                comment: row.try_get("comment")?,
                created_at: row.try_get("created_at")?,
                updated_at: row.try_get("updated_at")?,
            })
        }

        fn peer_from_row(row: &Row) -> $crate::Result<rampart_core::registry::PeerCsirt> {
            use sqlx::Row as _;
            Ok(rampart_core::registry::PeerCsirt {
                org_id: $crate::common::parse_uuid(&row.try_get::<String, _>("org_id")?)?,
                name: row.try_get("name")?,
                country: row.try_get("country")?,
                national: row.try_get("national")?,
                taxii_url: row.try_get("taxii_url")?,
                misp_url: row.try_get("misp_url")?,
                comment: row.try_get("comment")?,
            })
        }

        async fn bump_generation(tx: &mut Tx) -> $crate::Result<()> {
            sqlx::query("UPDATE registry_generation SET generation = generation + 1 WHERE id = 1").execute(&mut **tx).await?;
            Ok(())
        }

        async fn contact_in(tx: &mut Tx, id: uuid::Uuid) -> $crate::Result<rampart_core::registry::Contact> {
            let row = sqlx::query(&format!("SELECT {CONTACT_COLUMNS} FROM org_contacts WHERE id = $1"))
                .bind(id.to_string())
                .fetch_optional(&mut **tx)
                .await?
                .ok_or($crate::StoreError::NotFound)?;
            contact_from_row(&row)
        }

        async fn asset_in(tx: &mut Tx, id: uuid::Uuid) -> $crate::Result<rampart_core::registry::Asset> {
            let row = sqlx::query(&format!("SELECT {ASSET_COLUMNS} FROM org_assets WHERE id = $1"))
                .bind(id.to_string())
                .fetch_optional(&mut **tx)
                .await?
                .ok_or($crate::StoreError::NotFound)?;
            asset_from_row(&row)
        }

        async fn insert_contact(tx: &mut Tx, org_id: uuid::Uuid, c: &$crate::registry::ContactRecord, source: &str) -> $crate::Result<uuid::Uuid> {
            let id = rampart_core::ids::new_id();
            let now = $crate::types::now_micros();
            sqlx::query(
                "INSERT INTO org_contacts (id, org_id, role, name, email, phone, language, pgp_key, pgp_fingerprint, pgp_expires_at, source, created_at, updated_at) \
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $12)",
            )
            .bind(id.to_string())
            .bind(org_id.to_string())
            .bind(c.role.as_str())
            .bind(&c.name)
            .bind(&c.email)
            .bind(&c.phone)
            .bind(&c.language)
            .bind(&c.pgp_key)
            .bind(&c.pgp_fingerprint)
            .bind(c.pgp_expires_at)
            .bind(source)
            .bind(now)
            .execute(&mut **tx)
            .await
            .map_err($crate::common::conflict("contact"))?;
            Ok(id)
        }

        #[async_trait::async_trait]
        impl $crate::registry::RegistryStore for $store {
            async fn add_contact(&self, actor: &$crate::Actor, org_id: uuid::Uuid, contact: &$crate::registry::ContactRecord) -> $crate::Result<rampart_core::registry::Contact> {
                let mut tx = self.writer().await?;
                let id = insert_contact(&mut tx, org_id, contact, "manual").await?;
                let after = contact_in(&mut tx, id).await?;
                audit(&mut tx, actor, "contact.create", "contact", &id.to_string(), None, Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn update_contact(&self, actor: &$crate::Actor, id: uuid::Uuid, c: &$crate::registry::ContactRecord) -> $crate::Result<rampart_core::registry::Contact> {
                let mut tx = self.writer().await?;
                let before = contact_in(&mut tx, id).await?;
                sqlx::query(
                    "UPDATE org_contacts SET role = $1, name = $2, email = $3, phone = $4, language = $5, pgp_key = $6, pgp_fingerprint = $7, \
                     pgp_expires_at = $8, updated_at = $9 WHERE id = $10",
                )
                .bind(c.role.as_str())
                .bind(&c.name)
                .bind(&c.email)
                .bind(&c.phone)
                .bind(&c.language)
                .bind(&c.pgp_key)
                .bind(&c.pgp_fingerprint)
                .bind(c.pgp_expires_at)
                .bind($crate::types::now_micros())
                .bind(id.to_string())
                .execute(&mut *tx)
                .await?;
                let after = contact_in(&mut tx, id).await?;
                audit(&mut tx, actor, "contact.update", "contact", &id.to_string(), Some($crate::common::json(&before)), Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn delete_contact(&self, actor: &$crate::Actor, id: uuid::Uuid) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                let before = contact_in(&mut tx, id).await?;
                sqlx::query("DELETE FROM org_contacts WHERE id = $1").bind(id.to_string()).execute(&mut *tx).await?;
                audit(&mut tx, actor, "contact.delete", "contact", &id.to_string(), Some($crate::common::json(&before)), None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_contact(&self, id: uuid::Uuid) -> $crate::Result<Option<rampart_core::registry::Contact>> {
                let row = sqlx::query(&format!("SELECT {CONTACT_COLUMNS} FROM org_contacts WHERE id = $1")).bind(id.to_string()).fetch_optional(self.reader()).await?;
                row.as_ref().map(contact_from_row).transpose()
            }

            async fn contacts(&self, org_id: uuid::Uuid) -> $crate::Result<Vec<rampart_core::registry::Contact>> {
                let rows = sqlx::query(&format!("SELECT {CONTACT_COLUMNS} FROM org_contacts WHERE org_id = $1 ORDER BY role, created_at, id"))
                    .bind(org_id.to_string())
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(contact_from_row).collect()
            }

            async fn contact_keys(&self) -> $crate::Result<Vec<String>> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT pgp_key FROM org_contacts WHERE pgp_key IS NOT NULL").fetch_all(self.reader()).await?;
                rows.iter().map(|r| Ok(r.try_get::<String, _>("pgp_key")?)).collect()
            }

            async fn add_asset(
                &self,
                actor: &$crate::Actor,
                org_id: uuid::Uuid,
                a: &rampart_core::registry::CheckedAsset,
                source: &rampart_core::constituency::resolve::AssetSource,
                status: rampart_core::registry::AssetStatus,
            ) -> $crate::Result<rampart_core::registry::Asset> {
                let id = rampart_core::ids::new_id();
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;
                sqlx::query(
                    "INSERT INTO org_assets (id, org_id, kind, value, include_subdomains, source, status, valid_from, valid_until, comment, created_at, updated_at) \
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $11)",
                )
                .bind(id.to_string())
                .bind(org_id.to_string())
                .bind(a.kind.as_str())
                .bind(&a.value)
                .bind(a.include_subdomains)
                .bind(source.to_string())
                .bind(status.as_str())
                .bind(a.valid_from)
                .bind(a.valid_until)
                .bind(&a.comment)
                .bind(now)
                .execute(&mut *tx)
                .await
                .map_err($crate::common::conflict("this organisation already holds this asset"))?;
                if status == rampart_core::registry::AssetStatus::Active {
                    bump_generation(&mut tx).await?;
                }
                let after = asset_in(&mut tx, id).await?;
                audit(&mut tx, actor, "asset.create", "asset", &id.to_string(), None, Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn set_asset_status(&self, actor: &$crate::Actor, id: uuid::Uuid, status: rampart_core::registry::AssetStatus) -> $crate::Result<rampart_core::registry::Asset> {
                let mut tx = self.writer().await?;
                let before = asset_in(&mut tx, id).await?;
                sqlx::query("UPDATE org_assets SET status = $1, updated_at = $2 WHERE id = $3")
                    .bind(status.as_str())
                    .bind($crate::types::now_micros())
                    .bind(id.to_string())
                    .execute(&mut *tx)
                    .await?;
                bump_generation(&mut tx).await?;
                let after = asset_in(&mut tx, id).await?;
                audit(&mut tx, actor, "asset.status", "asset", &id.to_string(), Some($crate::common::json(&before)), Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn delete_asset(&self, actor: &$crate::Actor, id: uuid::Uuid) -> $crate::Result<()> {
                let mut tx = self.writer().await?;
                let before = asset_in(&mut tx, id).await?;
                sqlx::query("DELETE FROM org_assets WHERE id = $1").bind(id.to_string()).execute(&mut *tx).await?;
                bump_generation(&mut tx).await?;
                audit(&mut tx, actor, "asset.delete", "asset", &id.to_string(), Some($crate::common::json(&before)), None).await?;
                tx.commit().await?;
                Ok(())
            }

            async fn get_asset(&self, id: uuid::Uuid) -> $crate::Result<Option<rampart_core::registry::Asset>> {
                let row = sqlx::query(&format!("SELECT {ASSET_COLUMNS} FROM org_assets WHERE id = $1")).bind(id.to_string()).fetch_optional(self.reader()).await?;
                row.as_ref().map(asset_from_row).transpose()
            }

            async fn assets(&self, org_id: uuid::Uuid) -> $crate::Result<Vec<rampart_core::registry::Asset>> {
                let rows = sqlx::query(&format!("SELECT {ASSET_COLUMNS} FROM org_assets WHERE org_id = $1 ORDER BY kind, value, source"))
                    .bind(org_id.to_string())
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(asset_from_row).collect()
            }

            async fn assets_with_status(&self, status: rampart_core::registry::AssetStatus) -> $crate::Result<Vec<rampart_core::registry::Asset>> {
                let rows = sqlx::query(&format!("SELECT {ASSET_COLUMNS} FROM org_assets WHERE status = $1 ORDER BY created_at, id"))
                    .bind(status.as_str())
                    .fetch_all(self.reader())
                    .await?;
                rows.iter().map(asset_from_row).collect()
            }

            async fn apply_import(
                &self,
                actor: &$crate::Actor,
                source: &rampart_core::constituency::resolve::AssetSource,
                plan: &$crate::registry::ImportPlan,
            ) -> $crate::Result<($crate::registry::ImportCounts, $crate::registry::ImportCounts)> {
                use sqlx::Row as _;
                use std::collections::HashMap;
                let source_text = source.to_string();
                let now = $crate::types::now_micros();
                let mut tx = self.writer().await?;

                // Assets: keyed by (org, kind, value); the plan is the whole truth for this source.
                let rows = sqlx::query("SELECT id, org_id, kind, value, include_subdomains, comment FROM org_assets WHERE source = $1")
                    .bind(&source_text)
                    .fetch_all(&mut *tx)
                    .await?;
                let mut existing: HashMap<(String, String, String), (String, bool, String)> = HashMap::with_capacity(rows.len());
                for r in &rows {
                    existing.insert(
                        (r.try_get("org_id")?, r.try_get("kind")?, r.try_get("value")?),
                        (r.try_get("id")?, r.try_get("include_subdomains")?, r.try_get("comment")?),
                    );
                }
                let mut assets = $crate::registry::ImportCounts::default();
                let mut to_insert = Vec::new();
                let mut seen = std::collections::HashSet::new();
                for a in &plan.assets {
                    let key = (a.org_id.to_string(), a.kind.as_str().to_string(), a.value.clone());
                    if !seen.insert(key.clone()) {
                        continue;
                    }
                    match existing.remove(&key) {
                        Some((id, subs, comment)) if subs != a.include_subdomains || comment != a.comment => {
                            sqlx::query("UPDATE org_assets SET include_subdomains = $1, comment = $2, updated_at = $3 WHERE id = $4")
                                .bind(a.include_subdomains)
                                .bind(&a.comment)
                                .bind(now)
                                .bind(id)
                                .execute(&mut *tx)
                                .await?;
                            assets.changed += 1;
                        }
                        Some(_) => assets.unchanged += 1,
                        None => to_insert.push(a),
                    }
                }
                for chunk in to_insert.chunks($crate::registry_sql::BATCH_ROWS) {
                    let sql = format!(
                        "INSERT INTO org_assets (id, org_id, kind, value, include_subdomains, source, status, valid_from, valid_until, comment, created_at, updated_at) VALUES {}",
                        $crate::registry_sql::value_rows(chunk.len(), 12)
                    );
                    let mut q = sqlx::query(&sql);
                    for a in chunk {
                        q = q
                            .bind(rampart_core::ids::new_id().to_string())
                            .bind(a.org_id.to_string())
                            .bind(a.kind.as_str())
                            .bind(a.value.clone())
                            .bind(a.include_subdomains)
                            .bind(source_text.clone())
                            .bind(rampart_core::registry::AssetStatus::Active.as_str())
                            .bind(None::<chrono::DateTime<chrono::Utc>>)
                            .bind(None::<chrono::DateTime<chrono::Utc>>)
                            .bind(a.comment.clone())
                            .bind(now)
                            .bind(now);
                    }
                    q.execute(&mut *tx).await.map_err($crate::common::conflict("asset"))?;
                    assets.added += chunk.len() as u64;
                }
                for (_, (id, _, _)) in existing {
                    sqlx::query("DELETE FROM org_assets WHERE id = $1").bind(id).execute(&mut *tx).await?;
                    assets.removed += 1;
                }

                // Contacts: keyed by (org, role, email, phone); imported contacts carry no keys.
                let rows = sqlx::query("SELECT id, org_id, role, email, phone, language, name FROM org_contacts WHERE source = $1")
                    .bind(&source_text)
                    .fetch_all(&mut *tx)
                    .await?;
                let mut existing: HashMap<(String, String, Option<String>, Option<String>), (String, String, Option<String>)> = HashMap::new();
                for r in &rows {
                    existing.insert(
                        (r.try_get("org_id")?, r.try_get("role")?, r.try_get("email")?, r.try_get("phone")?),
                        (r.try_get("id")?, r.try_get("language")?, r.try_get("name")?),
                    );
                }
                let mut contacts = $crate::registry::ImportCounts::default();
                let mut seen = std::collections::HashSet::new();
                for (org_id, c) in &plan.contacts {
                    let key = (org_id.to_string(), c.role.as_str().to_string(), c.email.clone(), c.phone.clone());
                    if !seen.insert(key.clone()) {
                        continue;
                    }
                    match existing.remove(&key) {
                        Some((id, language, name)) if language != c.language || name != c.name => {
                            sqlx::query("UPDATE org_contacts SET language = $1, name = $2, updated_at = $3 WHERE id = $4")
                                .bind(&c.language)
                                .bind(&c.name)
                                .bind(now)
                                .bind(id)
                                .execute(&mut *tx)
                                .await?;
                            contacts.changed += 1;
                        }
                        Some(_) => contacts.unchanged += 1,
                        None => {
                            insert_contact(&mut tx, *org_id, c, &source_text).await?;
                            contacts.added += 1;
                        }
                    }
                }
                for (_, (id, _, _)) in existing {
                    sqlx::query("DELETE FROM org_contacts WHERE id = $1").bind(id).execute(&mut *tx).await?;
                    contacts.removed += 1;
                }
                if assets.added + assets.changed + assets.removed > 0 {
                    bump_generation(&mut tx).await?;
                }
                let summary = serde_json::json!({ "source": source_text, "assets": assets, "contacts": contacts }).to_string();
                audit(&mut tx, actor, "registry.import", "import", &source_text, None, Some(summary)).await?;
                tx.commit().await?;
                Ok((assets, contacts))
            }

            async fn replace_routing(&self, actor: &$crate::Actor, source: &str, rows: &[rampart_core::constituency::resolve::RoutingRow]) -> $crate::Result<$crate::registry::ImportCounts> {
                use sqlx::Row as _;
                use std::collections::HashMap;
                let mut tx = self.writer().await?;
                let current = sqlx::query("SELECT prefix, asn, country FROM routing_prefixes WHERE source = $1").bind(source).fetch_all(&mut *tx).await?;
                let mut existing: HashMap<String, (Option<i64>, Option<String>)> = HashMap::with_capacity(current.len());
                for r in &current {
                    existing.insert(r.try_get("prefix")?, (r.try_get("asn")?, r.try_get("country")?));
                }
                let mut counts = $crate::registry::ImportCounts::default();
                let mut upserts = Vec::new();
                let mut seen = std::collections::HashSet::with_capacity(rows.len());
                for row in rows {
                    let prefix = row.prefix.to_string();
                    if !seen.insert(prefix.clone()) {
                        continue;
                    }
                    let wanted = (row.asn.map(i64::from), row.country.clone());
                    match existing.remove(&prefix) {
                        Some(have) if have == wanted => counts.unchanged += 1,
                        Some(_) => {
                            counts.changed += 1;
                            upserts.push((prefix, wanted));
                        }
                        None => {
                            counts.added += 1;
                            upserts.push((prefix, wanted));
                        }
                    }
                }
                let removed: Vec<String> = existing.into_keys().collect();
                for chunk in removed.chunks($crate::registry_sql::BATCH_ROWS) {
                    let list = (0..chunk.len()).map(|i| format!("${}", i + 2)).collect::<Vec<_>>().join(", ");
                    let sql = format!("DELETE FROM routing_prefixes WHERE source = $1 AND prefix IN ({list})");
                    let mut q = sqlx::query(&sql).bind(source);
                    for p in chunk {
                        q = q.bind(p.clone());
                    }
                    q.execute(&mut *tx).await?;
                    counts.removed += chunk.len() as u64;
                }
                for chunk in upserts.chunks($crate::registry_sql::BATCH_ROWS) {
                    let sql = format!(
                        "INSERT INTO routing_prefixes (source, prefix, asn, country) VALUES {} \
                         ON CONFLICT (source, prefix) DO UPDATE SET asn = excluded.asn, country = excluded.country",
                        $crate::registry_sql::value_rows(chunk.len(), 4)
                    );
                    let mut q = sqlx::query(&sql);
                    for (prefix, (asn, country)) in chunk {
                        q = q.bind(source).bind(prefix.clone()).bind(*asn).bind(country.clone());
                    }
                    q.execute(&mut *tx).await?;
                }
                if counts.added + counts.changed + counts.removed > 0 {
                    bump_generation(&mut tx).await?;
                }
                let summary = serde_json::json!({ "source": source, "routing": counts }).to_string();
                audit(&mut tx, actor, "routing.import", "routing", source, None, Some(summary)).await?;
                tx.commit().await?;
                Ok(counts)
            }

            async fn routing_rows(&self) -> $crate::Result<Vec<rampart_core::constituency::resolve::RoutingRow>> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT prefix, asn, country FROM routing_prefixes").fetch_all(self.reader()).await?;
                rows.iter()
                    .map(|r| {
                        let prefix: String = r.try_get("prefix")?;
                        Ok(rampart_core::constituency::resolve::RoutingRow {
                            prefix: rampart_core::constituency::prefix::IpPrefix::parse(&prefix).map_err(|e| $crate::StoreError::Corrupt(e.to_string()))?,
                            asn: r.try_get::<Option<i64>, _>("asn")?.and_then(|a| u32::try_from(a).ok()),
                            country: r.try_get("country")?,
                        })
                    })
                    .collect()
            }

            async fn routing_sources(&self) -> $crate::Result<Vec<(String, i64)>> {
                use sqlx::Row as _;
                let rows = sqlx::query("SELECT source, COUNT(*) AS n FROM routing_prefixes GROUP BY source ORDER BY source").fetch_all(self.reader()).await?;
                rows.iter().map(|r| Ok((r.try_get("source")?, r.try_get("n")?))).collect()
            }

            async fn upsert_peer(&self, actor: &$crate::Actor, org_id: uuid::Uuid, peer: &rampart_core::registry::NewPeer) -> $crate::Result<rampart_core::registry::PeerCsirt> {
                const PEER_SELECT: &str = "SELECT p.org_id, o.name, o.country, p.national, p.taxii_url, p.misp_url, p.comment \
                     FROM peer_csirts p JOIN organisations o ON o.id = p.org_id WHERE p.org_id = $1";
                let mut tx = self.writer().await?;
                let before = sqlx::query(PEER_SELECT).bind(org_id.to_string()).fetch_optional(&mut *tx).await?.as_ref().map(peer_from_row).transpose()?;
                if peer.national {
                    // One national CERT per country: the new one takes over.
                    sqlx::query("UPDATE peer_csirts SET national = $1 WHERE org_id IN (SELECT id FROM organisations WHERE country = $2) AND org_id <> $3")
                        .bind(false)
                        .bind(&peer.country)
                        .bind(org_id.to_string())
                        .execute(&mut *tx)
                        .await?;
                }
                sqlx::query(
                    "INSERT INTO peer_csirts (org_id, national, taxii_url, misp_url, comment) VALUES ($1, $2, $3, $4, $5) \
                     ON CONFLICT (org_id) DO UPDATE SET national = excluded.national, taxii_url = excluded.taxii_url, misp_url = excluded.misp_url, comment = excluded.comment",
                )
                .bind(org_id.to_string())
                .bind(peer.national)
                .bind(&peer.taxii_url)
                .bind(&peer.misp_url)
                .bind(&peer.comment)
                .execute(&mut *tx)
                .await
                .map_err($crate::common::conflict("peer"))?;
                bump_generation(&mut tx).await?;
                let row = sqlx::query(PEER_SELECT).bind(org_id.to_string()).fetch_one(&mut *tx).await?;
                let after = peer_from_row(&row)?;
                audit(&mut tx, actor, "peer.upsert", "organisation", &org_id.to_string(), before.map(|b| $crate::common::json(&b)), Some($crate::common::json(&after))).await?;
                tx.commit().await?;
                Ok(after)
            }

            async fn peers(&self) -> $crate::Result<Vec<rampart_core::registry::PeerCsirt>> {
                let rows = sqlx::query(
                    "SELECT p.org_id, o.name, o.country, p.national, p.taxii_url, p.misp_url, p.comment \
                     FROM peer_csirts p JOIN organisations o ON o.id = p.org_id ORDER BY o.country, o.name",
                )
                .fetch_all(self.reader())
                .await?;
                rows.iter().map(peer_from_row).collect()
            }

            async fn search_orgs(&self, q: &str, limit: i64) -> $crate::Result<Vec<rampart_core::org::Organisation>> {
                let pattern = format!("%{}%", q.trim().to_lowercase().replace('\\', "\\\\").replace('%', "\\%").replace('_', "\\_"));
                let sql = format!(
                    "SELECT {ORG_COLUMNS} FROM organisations WHERE lower(name) LIKE $1 ESCAPE '\\' \
                     OR id IN (SELECT org_id FROM org_assets WHERE value LIKE $1 ESCAPE '\\') \
                     OR id IN (SELECT org_id FROM org_contacts WHERE email LIKE $1 ESCAPE '\\') \
                     ORDER BY name LIMIT $2"
                );
                let rows = sqlx::query(&sql).bind(pattern).bind(limit).fetch_all(self.reader()).await?;
                rows.iter().map(org_from_row).collect()
            }

            async fn generation(&self) -> $crate::Result<i64> {
                use sqlx::Row as _;
                let row = sqlx::query("SELECT generation FROM registry_generation WHERE id = 1").fetch_one(self.reader()).await?;
                Ok(row.try_get("generation")?)
            }
        }
    };
}

pub(crate) use impl_registry_store;
