//! Reading playlists: an object store trait, S3 and filesystem implementations.

use std::path::PathBuf;

use async_trait::async_trait;
use thiserror::Error;

use aws_sdk_s3::config::http::HttpResponse;

use crate::Backoff;

/// Why an object could not be read.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// No such object (S3 also answers so, with 403, when the role may not list the bucket).
    #[error("object not found: {0}")]
    NotFound(String),
    /// The object is larger than the caller allows; nothing more was read.
    #[error("object {key} is larger than {limit} bytes")]
    TooLarge {
        /// The object's key.
        key: String,
        /// The limit that it exceeds.
        limit: u64,
    },
    /// The store could not be reached or failed (after retries).
    #[error("object store unavailable: {0}")]
    Unavailable(String),
}

impl StoreError {
    /// Whether a retry may succeed.
    pub fn is_transient(&self) -> bool {
        matches!(self, StoreError::Unavailable(_))
    }
}

/// Where playlists are read from.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// The whole object `key`, refusing (without reading it all) one over `limit` bytes.
    async fn get(&self, key: &str, limit: u64) -> Result<Vec<u8>, StoreError>;

    /// Whether `key` exists.
    async fn exists(&self, key: &str) -> Result<bool, StoreError>;
}

/// A directory as an object store: key `a/b` is the file `ROOT/a/b` (local runs).
#[derive(Debug, Clone)]
pub struct FsStore {
    root: PathBuf,
}

impl FsStore {
    /// The store rooted at `root`.
    pub fn new(root: impl Into<PathBuf>) -> Self {
        FsStore { root: root.into() }
    }

    fn path(&self, key: &str) -> Result<PathBuf, StoreError> {
        // Callers validate keys; this is a second fence, not the first.
        if key.starts_with('/') || key.split('/').any(|s| s.is_empty() || s == "." || s == "..") {
            return Err(StoreError::NotFound(key.to_owned()));
        }
        Ok(self.root.join(key))
    }
}

#[async_trait]
impl ObjectStore for FsStore {
    async fn get(&self, key: &str, limit: u64) -> Result<Vec<u8>, StoreError> {
        use tokio::io::AsyncReadExt as _;
        let io = |e: std::io::Error| match e.kind() {
            std::io::ErrorKind::NotFound => StoreError::NotFound(key.to_owned()),
            _ => StoreError::Unavailable(format!("{key}: {e}")),
        };
        let file = tokio::fs::File::open(self.path(key)?).await.map_err(io)?;
        let meta = file.metadata().await.map_err(io)?;
        if !meta.is_file() {
            return Err(StoreError::NotFound(key.to_owned()));
        }
        if meta.len() > limit {
            return Err(StoreError::TooLarge {
                key: key.to_owned(),
                limit,
            });
        }
        let mut body = Vec::with_capacity(meta.len() as usize);
        // One byte over the limit tells a file that grew while we read it.
        file.take(limit.saturating_add(1))
            .read_to_end(&mut body)
            .await
            .map_err(io)?;
        if body.len() as u64 > limit {
            return Err(StoreError::TooLarge {
                key: key.to_owned(),
                limit,
            });
        }
        Ok(body)
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        match tokio::fs::metadata(self.path(key)?).await {
            Ok(m) => Ok(m.is_file()),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
            Err(e) => Err(StoreError::Unavailable(format!("{key}: {e}"))),
        }
    }
}

/// An S3 bucket, read with retries.
#[derive(Debug, Clone)]
pub struct S3Store {
    client: aws_sdk_s3::Client,
    bucket: String,
    backoff: Backoff,
}

impl S3Store {
    /// The bucket `bucket`, with transient failures retried per `backoff`.
    pub fn new(client: aws_sdk_s3::Client, bucket: impl Into<String>, backoff: Backoff) -> Self {
        S3Store {
            client,
            bucket: bucket.into(),
            backoff,
        }
    }

    fn classify<E>(&self, key: &str, e: &aws_sdk_s3::error::SdkError<E, HttpResponse>) -> StoreError
    where
        E: aws_sdk_s3::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    {
        use aws_sdk_s3::error::SdkError;
        match e {
            SdkError::ServiceError(se) => {
                let code = se.err().code().unwrap_or("");
                let status = se.raw().status().as_u16();
                // HeadObject answers 404 with no code; without s3:ListBucket S3
                // answers a missing key with 403 AccessDenied.
                if matches!(code, "NoSuchKey" | "NotFound" | "AccessDenied" | "Forbidden") || status == 404 {
                    StoreError::NotFound(key.to_owned())
                } else {
                    StoreError::Unavailable(format!("{key}: {code} (HTTP {status})"))
                }
            }
            other => StoreError::Unavailable(format!("{key}: {}", crate::aws::describe_sdk_error(other))),
        }
    }

    async fn get_once(&self, key: &str, limit: u64) -> Result<Vec<u8>, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .send()
            .await
            .map_err(|e| {
                if let aws_sdk_s3::error::SdkError::ServiceError(se) = &e
                    && se.err().is_no_such_key()
                {
                    return StoreError::NotFound(key.to_owned());
                }
                self.classify(key, &e)
            })?;
        let too_large = || StoreError::TooLarge {
            key: key.to_owned(),
            limit,
        };
        if out.content_length().is_some_and(|n| n < 0 || n as u64 > limit) {
            return Err(too_large());
        }
        let mut body = out.body;
        let mut bytes = Vec::with_capacity(out.content_length.unwrap_or(0).clamp(0, 1 << 24) as usize);
        while let Some(chunk) = body
            .try_next()
            .await
            .map_err(|e| StoreError::Unavailable(format!("{key}: reading the body: {e}")))?
        {
            if (bytes.len() + chunk.len()) as u64 > limit {
                return Err(too_large());
            }
            bytes.extend_from_slice(&chunk);
        }
        Ok(bytes)
    }

    async fn exists_once(&self, key: &str) -> Result<bool, StoreError> {
        match self.client.head_object().bucket(&self.bucket).key(key).send().await {
            Ok(_) => Ok(true),
            Err(e) => {
                if let aws_sdk_s3::error::SdkError::ServiceError(se) = &e
                    && (se.err().is_not_found() || matches!(se.raw().status().as_u16(), 403 | 404))
                {
                    return Ok(false);
                }
                Err(self.classify(key, &e))
            }
        }
    }
}

#[async_trait]
impl ObjectStore for S3Store {
    async fn get(&self, key: &str, limit: u64) -> Result<Vec<u8>, StoreError> {
        self.backoff
            .retry(StoreError::is_transient, || self.get_once(key, limit))
            .await
    }

    async fn exists(&self, key: &str) -> Result<bool, StoreError> {
        self.backoff
            .retry(StoreError::is_transient, || self.exists_once(key))
            .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn fs_store_bounds_and_fences() {
        let dir = std::env::temp_dir().join(format!("signed-hls-fs-{}", std::process::id()));
        std::fs::create_dir_all(dir.join("movies")).unwrap();
        std::fs::write(dir.join("movies/a.m3u8"), b"#EXTM3U\n").unwrap();
        let store = FsStore::new(&dir);
        assert_eq!(store.get("movies/a.m3u8", 100).await.unwrap(), b"#EXTM3U\n");
        assert!(matches!(
            store.get("movies/a.m3u8", 3).await,
            Err(StoreError::TooLarge { .. })
        ));
        assert!(matches!(
            store.get("movies/b.m3u8", 100).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(
            store.get("../etc/passwd", 100).await,
            Err(StoreError::NotFound(_))
        ));
        assert!(matches!(store.get("movies", 100).await, Err(StoreError::NotFound(_))));
        assert!(store.exists("movies/a.m3u8").await.unwrap());
        assert!(!store.exists("movies/b.m3u8").await.unwrap());
        std::fs::remove_dir_all(dir).unwrap();
    }
}
