//! Signed indexes. Checksums catch damage, not tampering: whoever can edit an index file can
//! recompute them and make a listed item pass as clean. So an index can be signed with
//! minisign's format (Ed25519; a key made by `minisign -G`, a signature `minisign -V`
//! verifies), and a scan told `--trusted-key` refuses an index whose signature is missing or
//! does not verify, before it answers anything.
//!
//! The signature covers the index file's bytes exactly as opened (the memory map the searches
//! read), prehashed with BLAKE2b-512 as minisign writes it by default; its trusted comment
//! (signed too) says what was signed.

use std::io::Cursor;
use std::path::{Path, PathBuf};

use minisign::{PublicKey, PublicKeyBox, SecretKey, SecretKeyBox, SignatureBox};

use super::Index;

/// Why signing or verifying failed.
#[derive(Debug, thiserror::Error)]
pub enum SignError {
    /// The key could not be read (not a minisign key, or the wrong password).
    #[error("{0}")]
    Key(String),
    /// The signature file could not be read.
    #[error("not a minisign signature: {0}")]
    Malformed(String),
    /// The signature does not verify: another key, or bytes that changed since signing.
    #[error("{0}")]
    Verify(String),
}

/// Where the signature of `index` is looked for by default: `INDEX.minisig`, as minisign
/// names it.
pub fn signature_path(index: &Path) -> PathBuf {
    let mut p = index.as_os_str().to_owned();
    p.push(".minisig");
    PathBuf::from(p)
}

/// A public key: a minisign public key file's text, or the base64 key alone (as `minisign
/// -P` takes it).
///
/// # Errors
/// [`SignError::Key`] when it is neither.
pub fn public_key(text: &str) -> Result<PublicKey, SignError> {
    let t = text.trim();
    let key = if t.lines().count() > 1 {
        PublicKeyBox::from_string(t).and_then(PublicKeyBox::into_public_key)
    } else {
        PublicKey::from_base64(t)
    };
    key.map_err(|e| SignError::Key(format!("not a minisign public key: {e}")))
}

/// Signs `bytes` (an index file's) with a minisign secret key (its file's text), with
/// `trusted_comment` signed along; see [`Index::sign`].
fn sign(
    bytes: &[u8],
    secret_key: &str,
    password: Option<String>,
    trusted_comment: &str,
) -> Result<String, SignError> {
    let bad = |e: minisign::PError| SignError::Key(e.to_string());
    let key = match password {
        Some(p) => SecretKeyBox::from_string(secret_key)
            .and_then(|b| SecretKey::from_box(b, Some(p)))
            .map_err(bad)?,
        None => unencrypted(secret_key)?,
    };
    let public = PublicKey::from_secret_key(&key).map_err(bad)?;
    let sig = minisign::sign(
        Some(&public),
        &key,
        Cursor::new(bytes),
        Some(trusted_comment),
        Some("signature of a vigie index"),
    )
    .map_err(bad)?;
    // minisign::sign checks its own signature with the key's public half: a damaged key
    // (whose halves disagree) fails there rather than write a signature nobody verifies.
    Ok(sig.into_string())
}

/// An unencrypted secret key (`minisign -G -W`). minisign 0.11 leaves such a key's checksum
/// zero, which the minisign crate refuses as corrupted, so the key's bytes are read directly
/// (a damaged key then fails when its signature is checked).
fn unencrypted(text: &str) -> Result<SecretKey, SignError> {
    use base64::Engine as _;
    let line = text
        .lines()
        .map(str::trim)
        .find(|l| !l.is_empty() && !l.starts_with("untrusted comment:"))
        .ok_or_else(|| SignError::Key("not a minisign secret key: no key line".into()))?;
    let bytes = base64::engine::general_purpose::STANDARD
        .decode(line)
        .map_err(|e| SignError::Key(format!("not a minisign secret key: {e}")))?;
    // sig_alg (2 bytes), then kdf_alg: two zero bytes when the key is not encrypted.
    if bytes.get(2..4) != Some(&[0, 0][..]) {
        return Err(SignError::Key(
            "the key is encrypted: give its password (--password-file or VIGIE_KEY_PASSWORD)"
                .into(),
        ));
    }
    SecretKey::from_bytes(&bytes).map_err(|e| SignError::Key(format!("bad secret key: {e}")))
}

impl Index {
    /// Signs this index's bytes with a minisign secret key (its file's text), with
    /// `trusted_comment` signed along. `password` opens an encrypted key (`minisign -G`'s
    /// default); an unencrypted one (`minisign -G -W`) needs none. Returns the signature
    /// file's text.
    ///
    /// # Errors
    /// [`SignError::Key`]: not a secret key, encrypted without a password, or the wrong
    /// password.
    pub fn sign(
        &self,
        secret_key: &str,
        password: Option<String>,
        trusted_comment: &str,
    ) -> Result<String, SignError> {
        sign(self.data.bytes(), secret_key, password, trusted_comment)
    }

    /// Verifies `signature` (a minisign signature file's text) of this index's bytes with
    /// `key`, and returns its trusted comment. Legacy (not prehashed) signatures are refused,
    /// as minisign refuses them by default.
    ///
    /// # Errors
    /// [`SignError::Malformed`] or [`SignError::Verify`].
    pub fn verify_signature(&self, signature: &str, key: &PublicKey) -> Result<String, SignError> {
        let sig = SignatureBox::from_string(signature)
            .map_err(|e| SignError::Malformed(e.to_string()))?;
        minisign::verify(
            key,
            &sig,
            Cursor::new(self.data.bytes()),
            true,
            false,
            false,
        )
        .map_err(|e| SignError::Verify(e.to_string()))?;
        sig.trusted_comment()
            .map_err(|e| SignError::Malformed(e.to_string()))
    }
}
