//! The Ansible Vault envelope and its cipher (Ansible's `VaultAES256`):
//!
//! ```text
//! $ANSIBLE_VAULT;1.1;AES256            (1.2 adds ;LABEL, the vault id)
//! hex( hex(salt) \n hex(hmac) \n hex(ciphertext) ), in lines of 80
//! ```
//!
//! 80 bytes are derived from the password with PBKDF2-HMAC-SHA256 (10000 rounds, the salt):
//! the AES-256 key, the HMAC-SHA256 key and the CTR counter's initial block. The HMAC of the
//! ciphertext is checked (in constant time) before AES-256-CTR decrypts it; the plaintext
//! carries PKCS#7 padding. Built on RustCrypto's `aes`, `ctr`, `pbkdf2`, `hmac`, `sha2`.

use aes::Aes256;
use ctr::Ctr128BE;
use ctr::cipher::{KeyIvInit as _, StreamCipher as _};
use hmac::{Hmac, KeyInit as _, Mac as _};
use sha2::Sha256;
use zeroize::Zeroizing;

use super::keys::VaultKeys;

const HEADER: &str = "$ANSIBLE_VAULT;";
const ROUNDS: u32 = 10_000;

/// Why a vault text cannot be opened.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum VaultError {
    /// Not a vault envelope, or a damaged one.
    #[error("not a valid Ansible Vault text: {0}")]
    Malformed(String),
    /// Format or cipher other than 1.1/1.2 with AES256.
    #[error("unsupported vault {0}: only formats 1.1 and 1.2 with AES256 are read")]
    Unsupported(String),
    /// No password was given at all.
    #[error(
        "it is vault-encrypted and no vault password was given; pass --vault-password-file FILE, --ask-vault-pass or --vault-id LABEL@SOURCE"
    )]
    NoPassword,
    /// None of the given passwords opens it.
    #[error("no vault password given opens it (vault id `{label}`; tried {tried})")]
    WrongPassword { label: String, tried: String },
}

/// Whether `text` is a vault envelope (starts with `$ANSIBLE_VAULT;`).
#[must_use]
pub fn is_vaulted(text: &str) -> bool {
    text.trim_start().starts_with(HEADER)
}

/// Decrypts a vault envelope with the first key that opens it: keys whose label matches a
/// 1.2 envelope's vault id first, then the others (as Ansible does).
pub fn decrypt(text: &str, keys: &VaultKeys) -> Result<Zeroizing<Vec<u8>>, VaultError> {
    let text = text.trim();
    let (header, body) = text.split_once('\n').unwrap_or((text, ""));
    let fields: Vec<&str> = header.trim().split(';').map(str::trim).collect();
    let (version, cipher, label) = match fields.as_slice() {
        ["$ANSIBLE_VAULT", version, cipher] => (*version, *cipher, None),
        ["$ANSIBLE_VAULT", version, cipher, label] => (*version, *cipher, Some(*label)),
        _ => return Err(VaultError::Malformed(format!("bad header `{header}`"))),
    };
    if !matches!(version, "1.1" | "1.2") || cipher != "AES256" {
        return Err(VaultError::Unsupported(format!("{version} {cipher}")));
    }
    let hex_text: String = body.split_whitespace().collect();
    let inner = hex::decode(&hex_text)
        .map_err(|error| VaultError::Malformed(format!("the body is not hexadecimal: {error}")))?;
    let inner = String::from_utf8(inner)
        .map_err(|_| VaultError::Malformed("the decoded body is not text".to_owned()))?;
    let parts: Vec<&str> = inner.split('\n').map(str::trim).collect();
    let [salt, mac, ciphertext] = parts.as_slice() else {
        return Err(VaultError::Malformed(
            "the body must hold salt, HMAC and ciphertext".to_owned(),
        ));
    };
    let decode = |part: &str, what: &str| {
        hex::decode(part)
            .map_err(|_| VaultError::Malformed(format!("the {what} is not hexadecimal")))
    };
    let salt = decode(salt, "salt")?;
    let mac = decode(mac, "HMAC")?;
    let ciphertext = decode(ciphertext, "ciphertext")?;
    if keys.is_empty() {
        return Err(VaultError::NoPassword);
    }
    let ordered = keys.ordered_for(label);
    for key in &ordered {
        if let Some(plain) = open(key.secret(), &salt, &mac, &ciphertext)? {
            return Ok(plain);
        }
    }
    Err(VaultError::WrongPassword {
        label: label.unwrap_or("default").to_owned(),
        tried: ordered
            .iter()
            .map(|key| format!("`{}`", key.label()))
            .collect::<Vec<_>>()
            .join(", "),
    })
}

/// Decrypts with one password; `None` when the HMAC says it is the wrong one.
fn open(
    password: &[u8],
    salt: &[u8],
    mac: &[u8],
    ciphertext: &[u8],
) -> Result<Option<Zeroizing<Vec<u8>>>, VaultError> {
    let mut derived = Zeroizing::new([0_u8; 80]);
    pbkdf2::pbkdf2_hmac::<Sha256>(password, salt, ROUNDS, derived.as_mut_slice());
    let (cipher_key, rest) = derived.split_at(32);
    let (mac_key, iv) = rest.split_at(32);
    let mut check = <Hmac<Sha256>>::new_from_slice(mac_key)
        .map_err(|_| VaultError::Malformed("bad HMAC key length".to_owned()))?;
    check.update(ciphertext);
    if check.verify_slice(mac).is_err() {
        return Ok(None);
    }
    let mut plain = Zeroizing::new(ciphertext.to_vec());
    let mut cipher = <Ctr128BE<Aes256>>::new_from_slices(cipher_key, iv)
        .map_err(|_| VaultError::Malformed("bad key length".to_owned()))?;
    cipher.apply_keystream(plain.as_mut_slice());
    let pad = usize::from(plain.last().copied().unwrap_or(0));
    let valid_pad = (1..=16).contains(&pad)
        && pad <= plain.len()
        && plain[plain.len() - pad..]
            .iter()
            .all(|byte| usize::from(*byte) == pad);
    if !valid_pad {
        return Err(VaultError::Malformed(
            "the decrypted text has bad padding".to_owned(),
        ));
    }
    let length = plain.len() - pad;
    plain.truncate(length);
    Ok(Some(plain))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Made by `ansible-vault encrypt_string --vault-id lab@FILE 'battery staple'`
    /// (ansible-core 2.19.14), FILE holding `correct horse`.
    const LABELLED: &str = "$ANSIBLE_VAULT;1.2;AES256;lab
          30333939303065323333626233643634663663363831353462326161313862663666656532313932
          6439326666653965316435366266396634383561366630660a643133653461393630393439636366
          30303536653630343132623366643466346330396535326431396338353934336132663464633231
          3432376337326461340a333762383461626236626138643365343964323061616237316630366537
          3063";

    /// Made by `ansible-vault encrypt` of a file holding `k: v\n`, same password.
    const FILE: &str = "$ANSIBLE_VAULT;1.1;AES256
62316235303163306163646336386633376163323863626532333663333036366536663039613131
3335333930323764303137623866656531653964373764610a353332303063363434396332633861
32633731313234313661393531633839376234336163626139313664613166663534343938333866
3531383831393461640a376464646235373966326539653039313764326633356366656365336533
3837
";

    #[test]
    fn ansible_vault_output_decrypts() {
        let keys = VaultKeys::from_passwords(&[("other", "nope"), ("lab", "correct horse")]);
        let plain = decrypt(LABELLED, &keys).expect("opens");
        assert_eq!(plain.as_slice(), b"battery staple");
        let plain = decrypt(FILE, &keys).expect("opens");
        assert_eq!(plain.as_slice(), b"k: v\n");
    }

    #[test]
    fn wrong_or_missing_passwords_are_reported() {
        let wrong = VaultKeys::from_passwords(&[("default", "battery")]);
        assert_eq!(
            decrypt(LABELLED, &wrong).expect_err("wrong").to_string(),
            "no vault password given opens it (vault id `lab`; tried `default`)"
        );
        assert_eq!(
            decrypt(FILE, &VaultKeys::default()),
            Err(VaultError::NoPassword)
        );
        let mut damaged = FILE.to_owned();
        damaged.replace_range(30..31, "7");
        assert!(
            decrypt(
                &damaged,
                &VaultKeys::from_passwords(&[("d", "correct horse")])
            )
            .is_err()
        );
    }

    #[test]
    fn headers_are_checked() {
        let keys = VaultKeys::from_passwords(&[("default", "x")]);
        assert!(matches!(
            decrypt("$ANSIBLE_VAULT;1.0;AES\n00", &keys),
            Err(VaultError::Unsupported(_))
        ));
        assert!(matches!(
            decrypt("$ANSIBLE_VAULT\n00", &keys),
            Err(VaultError::Malformed(_))
        ));
        assert!(is_vaulted("  $ANSIBLE_VAULT;1.1;AES256\n"));
    }
}
