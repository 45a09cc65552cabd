//! Standard base64 (RFC 4648, with padding): encoding for `Sec-WebSocket-Accept`, and
//! decoding with the strictness of Python's `base64.b64decode(key, validate=True)`.

const ALPHABET: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/// Encodes `data` with `=` padding.
pub fn encode(data: &[u8]) -> String {
    let mut out = String::with_capacity(data.len().div_ceil(3) * 4);
    for chunk in data.chunks(3) {
        let b0 = u32::from(chunk[0]);
        let b1 = chunk.get(1).map_or(0, |b| u32::from(*b));
        let b2 = chunk.get(2).map_or(0, |b| u32::from(*b));
        let triple = (b0 << 16) | (b1 << 8) | b2;
        for (i, shift) in [18u32, 12, 6, 0].into_iter().enumerate() {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[((triple >> shift) & 0x3F) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

fn value_of(symbol: u8) -> Option<u32> {
    ALPHABET
        .iter()
        .position(|&c| c == symbol)
        .and_then(|p| u32::try_from(p).ok())
}

/// Decodes strictly: only alphabet characters, then at most two `=`, and exactly the padding
/// the length calls for. Returns `None` for anything else.
pub fn decode(text: &str) -> Option<Vec<u8>> {
    let bytes = text.as_bytes();
    let data_end = bytes.iter().position(|&c| c == b'=').unwrap_or(bytes.len());
    let (data, padding) = bytes.split_at(data_end);
    if padding.len() > 2 || padding.iter().any(|&c| c != b'=') {
        return None;
    }
    let remainder = data.len() % 4;
    if remainder == 1
        || (remainder != 0 && padding.len() != 4 - remainder)
        || (remainder == 0 && !padding.is_empty())
    {
        return None;
    }
    let mut out = Vec::with_capacity(data.len() * 3 / 4);
    let mut accumulator: u32 = 0;
    let mut bits = 0u32;
    for &symbol in data {
        accumulator = (accumulator << 6) | value_of(symbol)?;
        bits += 6;
        if bits >= 8 {
            bits -= 8;
            out.push(((accumulator >> bits) & 0xFF) as u8);
        }
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::{decode, encode};

    #[test]
    fn encodes_rfc4648_vectors() {
        let cases = [
            ("", ""),
            ("f", "Zg=="),
            ("fo", "Zm8="),
            ("foo", "Zm9v"),
            ("foob", "Zm9vYg=="),
            ("fooba", "Zm9vYmE="),
            ("foobar", "Zm9vYmFy"),
        ];
        for (plain, encoded) in cases {
            assert_eq!(encode(plain.as_bytes()), encoded);
            assert_eq!(decode(encoded).as_deref(), Some(plain.as_bytes()));
        }
    }

    #[test]
    fn rejects_what_python_validate_rejects() {
        for bad in [
            "Zg", "Zg=", "Zm9v=", "Z", "Zm9v!", "Zm 9v", "Zg===", "=Zg=", "Zg=a",
        ] {
            assert_eq!(decode(bad), None, "{bad}");
        }
    }

    #[test]
    fn websocket_sample_key_is_16_bytes() {
        assert_eq!(
            decode("dGhlIHNhbXBsZSBub25jZQ==").map(|k| k.len()),
            Some(16)
        );
    }
}
