//! Building the SDK clients.
//!
//! The standard loader reads region and credentials from the environment and
//! honours `AWS_ENDPOINT_URL` (and `AWS_ENDPOINT_URL_S3`,
//! `AWS_ENDPOINT_URL_SECRETS_MANAGER`) for local runs against moto or
//! LocalStack. The SDK's own retries are off: [`Backoff`](crate::Backoff)
//! retries, so that attempts and delays are ours to bound.

use std::time::Duration;

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

/// An S3 client; path-style addressing when an endpoint override is set
/// (a local server has no per-bucket host names).
pub fn s3_client(config: &SdkConfig) -> aws_sdk_s3::Client {
    let local = config.endpoint_url().is_some() || std::env::var_os("AWS_ENDPOINT_URL_S3").is_some();
    let conf = aws_sdk_s3::config::Builder::from(config)
        .force_path_style(local)
        .build();
    aws_sdk_s3::Client::from_conf(conf)
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
/// Secrets Manager (with retries) or `SIGNING_KEY_FILE`; S3 bucket `bucket`
/// (with retries) or `LOCAL_MEDIA_DIR`; no store when `bucket` is `None`.
///
/// The SDK configuration (region, credentials) is loaded only when an AWS
/// service is used, so that a local run with a key file and a media folder
/// needs no AWS settings at all.
pub async fn io_from_env(
    env: &crate::Env,
    config: &crate::CommonConfig,
    bucket: Option<&str>,
) -> (
    std::sync::Arc<dyn crate::SecretSource>,
    Option<std::sync::Arc<dyn crate::ObjectStore>>,
) {
    use std::sync::Arc;
    let local_media = env.get("LOCAL_MEDIA_DIR");
    let needs_sdk = matches!(config.key_source, crate::KeySourceConfig::SecretsManager(_))
        || (bucket.is_some() && local_media.is_none());
    let sdk = if needs_sdk {
        Some(sdk_config_from_env().await)
    } else {
        None
    };
    let source: Arc<dyn crate::SecretSource> =
        match (&config.key_source, &sdk) {
            (crate::KeySourceConfig::SecretsManager(id), Some(sdk)) => Arc::new(
                crate::secret::SecretsManagerSecret::new(secrets_client(sdk), id.clone(), crate::Backoff::default()),
            ),
            (crate::KeySourceConfig::SecretsManager(_), None) | (crate::KeySourceConfig::File(_), _) => {
                let path = match &config.key_source {
                    crate::KeySourceConfig::File(path) => path.clone(),
                    crate::KeySourceConfig::SecretsManager(_) => String::new(),
                };
                Arc::new(crate::secret::FileSecret::new(path))
            }
        };
    let store: Option<Arc<dyn crate::ObjectStore>> = match (bucket, local_media, &sdk) {
        (None, _, _) => None,
        (Some(_), Some(dir), _) => Some(Arc::new(crate::store::FsStore::new(dir))),
        (Some(bucket), None, Some(sdk)) => Some(Arc::new(crate::store::S3Store::new(
            s3_client(sdk),
            bucket,
            crate::Backoff::default(),
        ))),
        (Some(_), None, None) => None,
    };
    (source, store)
}

/// Unwraps a cold-start result, or logs the error and exits with status 1
/// (Lambda then reports an init failure with this message).
pub fn or_exit<T, E: std::fmt::Display>(result: Result<T, E>, what: &str) -> T {
    match result {
        Ok(v) => v,
        Err(e) => {
            tracing::error!(error = %e, "cold start failed ({what})");
            std::process::exit(1)
        }
    }
}
