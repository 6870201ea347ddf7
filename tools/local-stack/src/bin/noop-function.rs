//! `noop-function`: a Lambda function that does nothing, the floor of
//! `local-stack bench`. It runs on the same runtime client as the real
//! functions (`lambda_runtime`, the same payload-2.0 event type) and answers
//! every invocation with a fixed answer: a tiny playlist, or the answer in
//! the file `NOOP_ANSWER_FILE` (a JSON function URL response, e.g. one the
//! rewriter gave), held once and serialised per invocation as the runtime
//! serialises any answer: the runtime's own cost of posting it.

use std::sync::Arc;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use lambda_runtime::{Error, LambdaEvent, run, service_fn};
use serde::{Serialize, Serializer};

/// The answer, shared by every invocation (no copy per invocation).
struct Answer(Arc<ApiGatewayV2httpResponse>);

impl Serialize for Answer {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.0.serialize(serializer)
    }
}

fn fixed() -> ApiGatewayV2httpResponse {
    let mut answer = ApiGatewayV2httpResponse::default();
    answer.status_code = 200;
    answer.headers.insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/vnd.apple.mpegurl"),
    );
    answer.body = Some(Body::Text("#EXTM3U\n".into()));
    answer
}

#[tokio::main]
async fn main() -> Result<(), Error> {
    let answer = match std::env::var_os("NOOP_ANSWER_FILE") {
        Some(path) => serde_json::from_slice(&std::fs::read(path)?)?,
        None => fixed(),
    };
    let answer = Arc::new(answer);
    run(service_fn(move |_: LambdaEvent<ApiGatewayV2httpRequest>| {
        let answer = Answer(Arc::clone(&answer));
        async move { Ok::<_, Error>(answer) }
    }))
    .await
}
