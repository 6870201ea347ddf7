//! `signurl` Lambda: wiring only (see lib.rs for the handler).
use std::sync::Arc;

use lambda_runtime::{run, service_fn};
use signed_hls_aws::aws::{io_from_env, or_exit};
use signed_hls_aws::{Env, KeyCache, now_epoch};
use signurl::auth::authorizer_from_settings;
use signurl::{Deps, Settings, handler};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    lambda_runtime::tracing::init_default_subscriber();
    let env = Env::from_process();
    let settings = or_exit(Settings::from_env(&env), "configuration");
    let bucket = settings.bucket.as_deref().filter(|_| settings.check_exists);
    let (secret, store) = io_from_env(&env, &settings.common, bucket).await;
    let key = or_exit(KeyCache::load_lazy(secret, &settings.common).await, "signing key");
    let secret_cf_url = key.snapshot().and_then(|k| k.secret_cf_url.clone());
    let base_url = or_exit(
        settings.common.resolve_base_url(secret_cf_url.as_deref()),
        "configuration",
    );
    let auth = or_exit(authorizer_from_settings(&settings.auth).await, "viewer auth");
    auth.warm_up().await;
    let deps = Arc::new(Deps {
        settings,
        base_url,
        key,
        store,
        clock: Box::new(now_epoch),
        auth,
    });
    run(service_fn(move |event| {
        let deps = Arc::clone(&deps);
        async move { handler(event, &deps).await }
    }))
    .await
}
