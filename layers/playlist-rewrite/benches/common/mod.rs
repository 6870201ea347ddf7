//! What both benches share: the distribution, a VOD media playlist of any
//! length, and the operator's grant over `movies/*` for a test key.

use cloudfront_sign::{HashAlgorithm, SigningKey, UrlSigner};
use playlist_rewrite::Incoming;

pub const HOST: &str = "d111111abcdef8.cloudfront.net";
pub const EXPIRES: u64 = 1_900_000_000;

/// A VOD media playlist of `segments` 6-second segments.
pub fn media(segments: usize) -> Vec<u8> {
    let mut text = String::from(
        "#EXTM3U\n#EXT-X-VERSION:3\n#EXT-X-TARGETDURATION:6\n#EXT-X-MEDIA-SEQUENCE:0\n#EXT-X-PLAYLIST-TYPE:VOD\n",
    );
    for i in 0..segments {
        text.push_str(&format!("#EXTINF:6.000000,\nseg_{i:05}.ts\n"));
    }
    text.push_str("#EXT-X-ENDLIST\n");
    text.into_bytes()
}

/// A SHA-1 signer for the private key `pem` and the grant it gives over
/// every movie until [`EXPIRES`].
pub fn signer_and_grant(pem: &str) -> (UrlSigner, Incoming) {
    let signer = UrlSigner::new(
        "K2JCJMDEHXQW5F".parse().unwrap(),
        SigningKey::from_pem(pem).unwrap(),
        HashAlgorithm::Sha1,
    );
    let incoming = Incoming::operator(&signer, &format!("https://{HOST}/movies/*"), EXPIRES).unwrap();
    (signer, incoming)
}
