//! The wiring `main` uses, driven by environment variables only: the SDK's
//! standard loader honours `AWS_ENDPOINT_URL`, S3 goes path-style, the key
//! comes from Secrets Manager and the existence check reads S3 (moto).
//! In its own test binary because it sets process environment variables.

use signed_hls_aws::aws::{s3_client, sdk_config_for_endpoint, secrets_client};
use signed_hls_aws::testing::{MotoServer, PEM};
use signed_hls_aws::{Env, SignurlConfig, shell};

#[tokio::test(flavor = "current_thread")]
async fn aws_endpoint_url_drives_both_clients() {
    let moto = MotoServer::start(env!("CARGO_MANIFEST_DIR"));
    let sdk = sdk_config_for_endpoint(&moto.endpoint).await;
    secrets_client(&sdk)
        .create_secret()
        .name("wired")
        .secret_string(PEM)
        .send()
        .await
        .unwrap();
    let s3 = s3_client(&sdk, true);
    s3.create_bucket().bucket("wired-media").send().await.unwrap();
    s3.put_object()
        .bucket("wired-media")
        .key("movies/movie_9/index.m3u8")
        .body(b"#EXTM3U\n".to_vec().into())
        .send()
        .await
        .unwrap();

    let vars = [
        ("AWS_ENDPOINT_URL", moto.endpoint.as_str()),
        ("AWS_REGION", "us-east-1"),
        ("AWS_ACCESS_KEY_ID", "testing"),
        ("AWS_SECRET_ACCESS_KEY", "testing"),
        // Never look for instance metadata, on this machine or any other.
        ("AWS_EC2_METADATA_DISABLED", "true"),
        ("SM_SECRET_NAME", "wired"),
        ("CF_URL", "https://d111111abcdef8.cloudfront.net"),
        ("CF_KEY_ID", "K2JCJMDEHXQW5F"),
        ("CHECK_PLAYLIST_EXISTS", "true"),
        ("S3_BUCKET", "wired-media"),
    ];
    for (k, v) in vars {
        // SAFETY: this test binary has this one test, on one thread; nothing
        // else reads the environment concurrently.
        unsafe { std::env::set_var(k, v) };
    }
    // What main does: one read of the environment, then the shared start-up.
    let config = SignurlConfig::from_env(&Env::from_process()).unwrap();
    assert!(config.common.s3_path_style, "AWS_ENDPOINT_URL makes S3 path-style");
    let started = shell::start(&config.common, config.check_bucket.as_deref())
        .await
        .unwrap();
    let key = started.key.snapshot().expect("the key loaded at start");
    assert_eq!(key.signer.signatory().key_pair_id().as_str(), "K2JCJMDEHXQW5F");
    let store = started.store.expect("an S3 store");
    assert!(store.exists("movies/movie_9/index.m3u8").await.unwrap());
    assert!(!store.exists("movies/movie_8/index.m3u8").await.unwrap());
    assert_eq!(store.get("movies/movie_9/index.m3u8", 100).await.unwrap(), b"#EXTM3U\n");
}
