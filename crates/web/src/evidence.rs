//! Evidence files, stored once per content under their SHA-256
//! (`<data_dir>/evidence/ab/cd/abcd…`). Written to a temporary file while hashing,
//! then renamed into place, so a partial upload never becomes evidence.

use sha2::{Digest, Sha256};
use std::path::{Path, PathBuf};
use tokio::io::AsyncWriteExt;

#[derive(Debug, Clone)]
pub struct EvidenceStore {
    root: PathBuf,
}

#[derive(Debug, thiserror::Error)]
pub enum EvidenceError {
    #[error("the file is larger than {limit} bytes")]
    TooLarge { limit: u64 },
    #[error("storage error: {0}")]
    Io(#[from] std::io::Error),
    #[error("reading the upload failed: {0}")]
    Upload(String),
}

/// A stored file: its digest and size.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stored {
    pub sha256: String,
    pub size: u64,
}

impl EvidenceStore {
    pub fn new(data_dir: &Path) -> Self {
        Self { root: data_dir.join("evidence") }
    }

    pub fn path_of(&self, sha256: &str) -> Option<PathBuf> {
        if sha256.len() != 64 || !sha256.bytes().all(|b| b.is_ascii_hexdigit()) {
            return None;
        }
        Some(self.root.join(&sha256[..2]).join(&sha256[2..4]).join(sha256))
    }

    /// A writer for one file; call [`Upload::write`] per chunk and [`Upload::finish`].
    pub async fn begin(&self, limit: u64) -> Result<Upload, EvidenceError> {
        let tmp_dir = self.root.join("tmp");
        tokio::fs::create_dir_all(&tmp_dir).await?;
        let tmp = tmp_dir.join(rampart_core::ids::new_id().to_string());
        let file = tokio::fs::File::create(&tmp).await?;
        Ok(Upload { store: self.clone(), tmp, file, hasher: Sha256::new(), size: 0, limit })
    }

    /// Stores bytes already in memory (mail attachments).
    pub async fn put(&self, bytes: &[u8], limit: u64) -> Result<Stored, EvidenceError> {
        let mut upload = self.begin(limit).await?;
        upload.write(bytes).await?;
        upload.finish().await
    }
}

pub struct Upload {
    store: EvidenceStore,
    tmp: PathBuf,
    file: tokio::fs::File,
    hasher: Sha256,
    size: u64,
    limit: u64,
}

impl Upload {
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), EvidenceError> {
        self.size += chunk.len() as u64;
        if self.size > self.limit {
            let _ = tokio::fs::remove_file(&self.tmp).await;
            return Err(EvidenceError::TooLarge { limit: self.limit });
        }
        self.hasher.update(chunk);
        self.file.write_all(chunk).await?;
        Ok(())
    }

    pub async fn finish(mut self) -> Result<Stored, EvidenceError> {
        self.file.flush().await?;
        self.file.sync_all().await?;
        let sha256 = rampart_core::credentials::hex(&self.hasher.finalize());
        let target = self.store.path_of(&sha256).expect("a SHA-256 in hex");
        if let Some(dir) = target.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        if tokio::fs::try_exists(&target).await? {
            tokio::fs::remove_file(&self.tmp).await?;
        } else {
            tokio::fs::rename(&self.tmp, &target).await?;
        }
        Ok(Stored { sha256, size: self.size })
    }

    /// Throws the partial upload away.
    pub async fn abort(self) {
        let _ = tokio::fs::remove_file(&self.tmp).await;
    }
}

/// A name safe to show and to offer in `Content-Disposition`: no paths, no control
/// characters, bounded.
pub fn safe_filename(name: &str) -> String {
    let base = name.rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base.chars().filter(|c| !c.is_control() && !matches!(c, '"' | ';')).take(200).collect();
    let cleaned = cleaned.trim().trim_start_matches('.').to_string();
    if cleaned.is_empty() {
        "attachment.bin".into()
    } else {
        cleaned
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn content_addressed_and_bounded() {
        let dir = std::env::temp_dir().join(format!("rampart-evidence-{}", rampart_core::ids::new_id()));
        let store = EvidenceStore::new(&dir);
        let a = store.put(b"hello", 100).await.unwrap();
        assert_eq!(a.sha256, "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824");
        assert_eq!(store.put(b"hello", 100).await.unwrap(), a, "stored once per content");
        assert_eq!(std::fs::read(store.path_of(&a.sha256).unwrap()).unwrap(), b"hello");
        assert!(matches!(store.put(&[0u8; 101], 100).await, Err(EvidenceError::TooLarge { .. })));
        assert_eq!(std::fs::read_dir(dir.join("evidence/tmp")).unwrap().count(), 0, "nothing half-written is left");
        assert!(store.path_of("../../etc/passwd").is_none());
        std::fs::remove_dir_all(dir).unwrap();
    }

    #[test]
    fn filenames() {
        assert_eq!(safe_filename("../../etc/passwd"), "passwd");
        assert_eq!(safe_filename("C:\\Users\\x\\inv\"oice;.pdf"), "invoice.pdf");
        assert_eq!(safe_filename(".."), "attachment.bin");
        assert_eq!(safe_filename("截圖 2026.png"), "截圖 2026.png");
    }
}
