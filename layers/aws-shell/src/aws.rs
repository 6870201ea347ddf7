//! Building the SDK clients.
//!
//! The standard loader reads region and credentials from the environment and
//! honours `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_S3`,
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER`) for local runs against moto or
//! LocalStack. The SDK's own retries are off: [`Backoff`](crate::Backoff)
//! retries, so that attempts and delays are ours to bound.

use std::sync::Arc;
use std::time::Duration;

use crate::config::{CommonConfig, KeySourceConfig};
use crate::key::{KeySource, KmsKey};
use crate::secret::{FileSecret, SecretsManagerSecret};
use crate::store::{FsStore, S3Store};
use crate::{Backoff, ObjectStore};
use aws_config::{BehaviorVersion, SdkConfig, retry::RetryConfig, timeout::TimeoutConfig};

fn timeouts() -> TimeoutConfig {
    TimeoutConfig::builder()
        .connect_timeout(Duration::from_secs(2))
        .operation_attempt_timeout(Duration::from_secs(5))
        .build()
}

/// The SDK configuration from the environment (region, credentials, endpoint).
pub async fn sdk_config_from_env() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts())
        .load()
        .await
}

/// An SDK configuration for a local endpoint (moto, LocalStack) with dummy
/// credentials and region `us-east-1`, ignoring the host's environment.
pub async fn sdk_config_for_endpoint(endpoint_url: &str) -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .empty_test_environment()
        .test_credentials()
        .region(aws_config::Region::new("us-east-1"))
        .endpoint_url(endpoint_url)
        .retry_config(RetryConfig::disabled())
        .timeout_config(timeouts())
        .load()
        .await
}

/// An S3 client; path-style addressing when `path_style` (a local server
/// has no per-bucket host names: [`CommonConfig::s3_path_style`](crate::CommonConfig::s3_path_style)).
pub fn s3_client(config: &SdkConfig, path_style: bool) -> aws_sdk_s3::Client {
    let conf = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(path_style || config.endpoint_url().is_some())
        .build();
    aws_sdk_s3::Client::from_conf(conf)
}

/// A KMS client.
pub fn kms_client(config: &SdkConfig) -> aws_sdk_kms::Client {
    aws_sdk_kms::Client::new(config)
}

/// A Secrets Manager client.
pub fn secrets_client(config: &SdkConfig) -> aws_sdk_secretsmanager::Client {
    aws_sdk_secretsmanager::Client::new(config)
}

/// One line naming an SDK error and its causes (no request or response bodies).
pub fn describe_sdk_error(e: &(dyn std::error::Error + 'static)) -> String {
    let mut out = e.to_string();
    let mut source = e.source();
    while let Some(s) = source {
        out.push_str(": ");
        out.push_str(&s.to_string());
        source = s.source();
    }
    out
}

/// The key's source and the object store for a function, from `config`:
/// Secrets Manager (with retries) or `SIGNING_KEY_FILE`; the bucket
/// `bucket` (with retries) or `LOCAL_MEDIA_DIR`; no store when `bucket` is
/// `None`.
///
/// The SDK configuration (region, credentials) is loaded only when an AWS
/// service is used, so that a local run with a key file and a media folder
/// needs no AWS settings at all.
pub async fn io_from_config(config: &CommonConfig, bucket: Option<&str>) -> (KeySource, Option<Arc<dyn ObjectStore>>) {
    let mut sdk: Option<SdkConfig> = None;
    let source = match &config.key_source {
        KeySourceConfig::File(path) => KeySource::Secret(Arc::new(FileSecret::new(path.clone()))),
        KeySourceConfig::SecretsManager(id) => {
            let loaded = sdk.insert(sdk_config_from_env().await);
            KeySource::Secret(Arc::new(SecretsManagerSecret::new(
                secrets_client(loaded),
                id.clone(),
                Backoff::default(),
            )))
        }
        KeySourceConfig::Kms { key_id, key_pair_id } => {
            let loaded = sdk.insert(sdk_config_from_env().await);
            KeySource::Kms(KmsKey {
                client: kms_client(loaded),
                key_id: key_id.clone(),
                key_pair_id: key_pair_id.clone(),
                max_concurrent: config.kms_max_concurrent,
                backoff: Backoff::default(),
            })
        }
    };
    let store: Option<Arc<dyn ObjectStore>> = match (bucket, &config.local_media_dir) {
        (None, _) => None,
        (Some(_), Some(dir)) => Some(Arc::new(FsStore::new(dir))),
        (Some(bucket), None) => {
            let loaded = match sdk {
                Some(loaded) => loaded,
                None => sdk_config_from_env().await,
            };
            Some(Arc::new(S3Store::new(
                s3_client(&loaded, config.s3_path_style),
                bucket,
                Backoff::default(),
            )))
        }
    };
    (source, store)
}
