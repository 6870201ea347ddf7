//! CloudFront's base64 variant: standard base64, then `+`→`-`, `=`→`_`, `/`→`~`.
//!
//! Used for the `Policy` and `Signature` parameters. The result needs no
//! percent-encoding in a query string.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::Error;

/// Encodes bytes in CloudFront's base64 variant.
pub fn encode(bytes: &[u8]) -> String {
    STANDARD
        .encode(bytes)
        .chars()
        .map(|c| match c {
            '+' => '-',
            '=' => '_',
            '/' => '~',
            other => other,
        })
        .collect()
}

/// The length of [`encode`]'s output for `bytes` bytes of input (padded
/// base64: 4 characters per started group of 3 bytes).
pub fn encoded_len(bytes: usize) -> usize {
    bytes.div_ceil(3).saturating_mul(4)
}

/// Decodes CloudFront's base64 variant.
///
/// Standard base64 characters (`+`, `/`, `=`) are accepted as well, because
/// some hand-written signers forget the substitution and CloudFront itself
/// accepts them.
pub fn decode(text: &str) -> Result<Vec<u8>, Error> {
    let mut raw = Vec::with_capacity(text.len());
    for &byte in text.as_bytes() {
        raw.push(match byte {
            b'-' => b'+',
            b'_' => b'=',
            b'~' => b'/',
            other => other,
        });
    }
    STANDARD.decode(&raw).map_err(|e| Error::Base64(e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn substitutes_the_three_characters() {
        // 0xfb 0xff encodes to "+/8=" in standard base64.
        assert_eq!(encode(&[0xfb, 0xff]), "-~8_");
        assert_eq!(decode("-~8_").unwrap(), vec![0xfb, 0xff]);
    }

    #[test]
    fn accepts_standard_alphabet_too() {
        assert_eq!(decode("+/8=").unwrap(), vec![0xfb, 0xff]);
    }

    #[test]
    fn rejects_garbage() {
        assert!(matches!(decode("a!b"), Err(Error::Base64(_))));
        assert!(matches!(decode("abcde"), Err(Error::Base64(_))));
    }

    #[test]
    fn round_trips_every_length() {
        for len in 0..64u8 {
            let bytes: Vec<u8> = (0..len).map(|i| i.wrapping_mul(37)).collect();
            assert_eq!(encode(&bytes).len(), encoded_len(bytes.len()));
            assert_eq!(decode(&encode(&bytes)).unwrap(), bytes);
        }
    }
}
