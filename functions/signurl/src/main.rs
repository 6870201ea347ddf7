//! `signurl` Lambda: wiring only (see lib.rs for the handler).
use std::sync::Arc;

use lambda_runtime::{run, service_fn};
use signed_hls_aws::shell::or_exit;
use signed_hls_aws::{Env, SignurlConfig, now_epoch, shell};
use signurl::auth::authorizer_from_settings;
use signurl::{Deps, handler};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let env = Env::from_process();
    or_exit(shell::start_logging(&env), "configuration");
    let config = or_exit(SignurlConfig::from_env(&env), "configuration");
    let started = or_exit(
        shell::start(&config.common, config.check_bucket.as_deref()).await,
        "start",
    );
    let auth = or_exit(authorizer_from_settings(&config.auth).await, "viewer auth");
    auth.warm_up().await;
    let deps = Arc::new(Deps::new(config, started, auth, Box::new(now_epoch)));
    run(service_fn(move |event| {
        let deps = Arc::clone(&deps);
        async move { handler(event, &deps).await }
    }))
    .await
}
