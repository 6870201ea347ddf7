//! The media store behind the real S3 API: s3s-fs serves a folder as a
//! bucket, so the functions' aws-sdk-s3 code runs exactly as against S3.

use std::net::SocketAddr;
use std::path::Path;

use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto::Builder as ConnBuilder;
use s3s::auth::SimpleAuth;
use s3s::service::S3ServiceBuilder;

/// The credentials the functions sign their S3 requests with, locally.
pub const ACCESS_KEY: &str = "local-access-key";
/// See [`ACCESS_KEY`].
pub const SECRET_KEY: &str = "local-secret-key";

/// Serves `root` (whose sub-folders are buckets) on a free loopback port.
pub async fn serve(root: &Path) -> std::io::Result<SocketAddr> {
    let fs = s3s_fs::FileSystem::new(root).map_err(|e| std::io::Error::other(format!("s3s-fs: {e:?}")))?;
    let mut builder = S3ServiceBuilder::new(fs);
    builder.set_auth(SimpleAuth::from_single(ACCESS_KEY, SECRET_KEY));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
    let address = listener.local_addr()?;
    tokio::spawn(async move {
        let http = ConnBuilder::new(TokioExecutor::new());
        while let Ok((socket, _)) = listener.accept().await {
            let mut socket = socket;
            crate::no_delay(&mut socket);
            let connection = http
                .serve_connection(TokioIo::new(socket), service.clone())
                .into_owned();
            tokio::spawn(async move {
                let _ = connection.await;
            });
        }
    });
    Ok(address)
}
