//! `rewriter` Lambda: wiring only (see lib.rs for the handler).
use std::sync::Arc;

use lambda_runtime::{run, service_fn};
use rewriter::{Deps, handler};
use signed_hls_aws::shell::or_exit;
use signed_hls_aws::{Env, RewriterConfig, now_epoch, shell};

#[tokio::main]
async fn main() -> Result<(), lambda_runtime::Error> {
    let env = Env::from_process();
    or_exit(shell::start_logging(&env), "configuration");
    let config = or_exit(RewriterConfig::from_env(&env), "configuration");
    let started = or_exit(shell::start(&config.common, Some(&config.bucket)).await, "start");
    let deps = Arc::new(or_exit(
        Deps::new(config, started, Box::new(now_epoch)),
        "configuration",
    ));
    run(service_fn(move |event| {
        let deps = Arc::clone(&deps);
        async move { handler(event, &deps).await }
    }))
    .await
}
