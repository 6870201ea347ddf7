//! Reading playlists: an object store trait, S3 and filesystem implementations.
//!
//! Besides a plain bounded read ([`ObjectStore::get`]), a store answers a
//! conditional one ([`ObjectStore::get_if_changed`]): given the ETag of a
//! copy the caller holds, it says [`Conditional::NotModified`] without
//! sending the body (S3: `If-None-Match`, answered 304), or sends the object
//! with its current ETag.

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

/// What a conditional read ([`ObjectStore::get_if_changed`]) found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Conditional {
    /// The object still has the ETag the caller gave: no body was sent.
    NotModified,
    /// The object (it changed, or the caller gave no ETag).
    Object {
        /// Its bytes, at most the limit.
        bytes: Vec<u8>,
        /// Its current ETag, as the store writes it (S3: a quoted hash),
        /// when the store gives one.
        etag: Option<String>,
    },
}

/// Where playlists are read from.
#[async_trait]
pub trait ObjectStore: Send + Sync {
    /// The whole object `key`, refusing (without reading it all) one over `limit` bytes.
    async fn get(&self, key: &str, limit: u64) -> Result<Vec<u8>, StoreError>;

    /// The object `key` unless its ETag is still `etag`: one request, which
    /// sends no body when the object did not change. With `etag` `None`,
    /// the object and its ETag. Errors and limits as for [`get`](Self::get).
    ///
    /// The default (a store without ETags) reads the whole object every
    /// time and gives no ETag.
    async fn get_if_changed(&self, key: &str, limit: u64, etag: Option<&str>) -> Result<Conditional, StoreError> {
        let _ = etag;
        Ok(Conditional::Object {
            bytes: self.get(key, limit).await?,
            etag: None,
        })
    }

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

/// The ETag [`FsStore`] gives a file: its size and a hash of its bytes,
/// quoted as S3 quotes its ETags. A hash, not the modification time: a file
/// rewritten with the same size within the clock's granularity still gets a
/// new tag. Stable within a process (the tag of a copy held in memory), not
/// meant to be compared across builds.
pub fn content_etag(bytes: &[u8]) -> String {
    use std::hash::{DefaultHasher, Hasher as _};
    let mut hasher = DefaultHasher::new();
    hasher.write(bytes);
    format!("\"{:x}-{:016x}\"", bytes.len(), hasher.finish())
}

#[async_trait]
impl ObjectStore for FsStore {
    async fn get_if_changed(&self, key: &str, limit: u64, etag: Option<&str>) -> Result<Conditional, StoreError> {
        let bytes = self.get(key, limit).await?;
        let current = content_etag(&bytes);
        if etag == Some(current.as_str()) {
            return Ok(Conditional::NotModified);
        }
        Ok(Conditional::Object {
            bytes,
            etag: Some(current),
        })
    }

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

    /// One GetObject, with `If-None-Match: etag` when given.
    async fn get_once(&self, key: &str, limit: u64, etag: Option<&str>) -> Result<Conditional, StoreError> {
        let out = self
            .client
            .get_object()
            .bucket(&self.bucket)
            .key(key)
            .set_if_none_match(etag.map(str::to_owned))
            .send()
            .await;
        let out = match out {
            Ok(out) => out,
            // S3 answers a matching If-None-Match with 304 and no body; the
            // SDK surfaces any status but 2xx as an error.
            Err(e) if e.raw_response().is_some_and(|r| r.status().as_u16() == 304) => {
                return Ok(Conditional::NotModified);
            }
            Err(e) => {
                if let aws_sdk_s3::error::SdkError::ServiceError(se) = &e
                    && se.err().is_no_such_key()
                {
                    return Err(StoreError::NotFound(key.to_owned()));
                }
                return Err(self.classify(key, &e));
            }
        };
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
        Ok(Conditional::Object { bytes, etag: out.e_tag })
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
        match self.get_if_changed(key, limit, None).await? {
            Conditional::Object { bytes, .. } => Ok(bytes),
            // Unreachable without an ETag; an empty read would be a lie.
            Conditional::NotModified => Err(StoreError::Unavailable(format!("{key}: 304 to an unconditional read"))),
        }
    }

    async fn get_if_changed(&self, key: &str, limit: u64, etag: Option<&str>) -> Result<Conditional, StoreError> {
        self.backoff
            .retry(StoreError::is_transient, || self.get_once(key, limit, etag))
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

        // Conditional reads: the ETag of the content, "not modified" while it holds.
        let Conditional::Object { bytes, etag } = store.get_if_changed("movies/a.m3u8", 100, None).await.unwrap()
        else {
            panic!("an unconditional read gives the object")
        };
        let etag = etag.expect("an ETag");
        assert_eq!(
            (bytes.as_slice(), etag.as_str()),
            (&b"#EXTM3U\n"[..], content_etag(b"#EXTM3U\n").as_str())
        );
        assert_eq!(
            store.get_if_changed("movies/a.m3u8", 100, Some(&etag)).await.unwrap(),
            Conditional::NotModified
        );
        // Same size, rewritten at once: a new tag all the same.
        std::fs::write(dir.join("movies/a.m3u8"), b"#EXTM3X\n").unwrap();
        assert!(matches!(
            store.get_if_changed("movies/a.m3u8", 100, Some(&etag)).await.unwrap(),
            Conditional::Object { ref bytes, etag: Some(ref new) } if bytes == b"#EXTM3X\n" && *new != etag
        ));
        assert!(matches!(
            store.get_if_changed("movies/a.m3u8", 3, Some(&etag)).await,
            Err(StoreError::TooLarge { .. })
        ));
        assert!(matches!(
            store.get_if_changed("movies/b.m3u8", 100, Some(&etag)).await,
            Err(StoreError::NotFound(_))
        ));
        std::fs::remove_dir_all(dir).unwrap();
    }
}
