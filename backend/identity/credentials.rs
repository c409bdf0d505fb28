//! Bearer credentials: session tokens and API tokens.
//!
//! A token is a visible prefix (`bcn_ses_` or `bcn_pat_`, so secret
//! scanners and people can tell what leaked), a public id and a 256-bit
//! random secret. The database keeps only HMAC-SHA-256(server key, token):
//! a dump of it is useless without the key, which never enters the
//! database. The id finds the row; the secret is then checked in constant
//! time.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use rand::RngCore;
use sha2::Sha256;
use uuid::Uuid;

/// What a token opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TokenKind {
    Session,
    ApiToken,
}

impl TokenKind {
    pub fn prefix(self) -> &'static str {
        match self {
            TokenKind::Session => "bcn_ses_",
            TokenKind::ApiToken => "bcn_pat_",
        }
    }
}

const ID_CHARS: usize = 22; // 16 bytes, base64url
const SECRET_BYTES: usize = 32;
const SECRET_CHARS: usize = 43;

/// The key every stored token hash is made with.
#[derive(Clone)]
pub struct ServerKey(Vec<u8>);

impl std::fmt::Debug for ServerKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ServerKey(…)")
    }
}

impl ServerKey {
    pub fn new(bytes: impl Into<Vec<u8>>) -> Self {
        ServerKey(bytes.into())
    }

    fn mac(&self, token: &str) -> Hmac<Sha256> {
        let mut mac =
            Hmac::<Sha256>::new_from_slice(&self.0).expect("HMAC takes keys of any length");
        mac.update(token.as_bytes());
        mac
    }

    /// Identifies the key without revealing it: processes sharing a
    /// database compare fingerprints to be sure they share the key.
    pub fn fingerprint(&self) -> Vec<u8> {
        self.mac("beacon server key fingerprint, v1")
            .finalize()
            .into_bytes()
            .to_vec()
    }

    /// The value stored for `token`.
    pub fn hash(&self, token: &str) -> Vec<u8> {
        self.mac(token).finalize().into_bytes().to_vec()
    }

    /// Whether `token` is the one `stored` was made from, in constant time.
    pub fn verify(&self, token: &str, stored: &[u8]) -> bool {
        self.mac(token).verify_slice(stored).is_ok()
    }
}

/// A freshly made token: shown once, then only its hash is kept.
pub struct NewToken {
    pub id: Uuid,
    pub token: String,
    pub hash: Vec<u8>,
}

pub fn mint(key: &ServerKey, kind: TokenKind) -> NewToken {
    let id = Uuid::new_v4();
    let mut secret = [0u8; SECRET_BYTES];
    rand::rngs::OsRng.fill_bytes(&mut secret);
    let token = format!(
        "{}{}{}",
        kind.prefix(),
        URL_SAFE_NO_PAD.encode(id.as_bytes()),
        URL_SAFE_NO_PAD.encode(secret)
    );
    NewToken {
        id,
        hash: key.hash(&token),
        token,
    }
}

/// The kind and row id a presented token claims; `None` when it is not
/// shaped like one of ours. Whether it is genuine is for [`ServerKey::verify`].
pub fn parse(token: &str) -> Option<(TokenKind, Uuid)> {
    let (kind, rest) = [TokenKind::Session, TokenKind::ApiToken]
        .into_iter()
        .find_map(|kind| token.strip_prefix(kind.prefix()).map(|rest| (kind, rest)))?;
    if rest.len() != ID_CHARS + SECRET_CHARS || !rest.is_ascii() {
        return None;
    }
    let (id, secret) = rest.split_at(ID_CHARS);
    let id = Uuid::from_slice(&URL_SAFE_NO_PAD.decode(id).ok()?).ok()?;
    if URL_SAFE_NO_PAD.decode(secret).ok()?.len() != SECRET_BYTES {
        return None;
    }
    Some((kind, id))
}

/// The first characters of a token, enough to recognize it in a list.
pub fn display_prefix(kind: TokenKind, id: Uuid) -> String {
    let encoded = URL_SAFE_NO_PAD.encode(id.as_bytes());
    format!("{}{}", kind.prefix(), &encoded[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minted_tokens_parse_and_verify_only_under_their_key() {
        let key = ServerKey::new(b"key one".to_vec());
        let minted = mint(&key, TokenKind::ApiToken);
        assert!(minted.token.starts_with("bcn_pat_"));
        assert_eq!(parse(&minted.token), Some((TokenKind::ApiToken, minted.id)));
        assert!(
            minted
                .token
                .starts_with(&display_prefix(TokenKind::ApiToken, minted.id))
        );
        assert!(key.verify(&minted.token, &minted.hash));
        assert!(!ServerKey::new(b"key two".to_vec()).verify(&minted.token, &minted.hash));

        let mut tampered = minted.token.clone();
        let last = tampered.pop().unwrap();
        tampered.push(if last == 'A' { 'B' } else { 'A' });
        assert!(!key.verify(&tampered, &minted.hash));
    }

    #[test]
    fn tokens_are_unique_and_carry_256_random_bits() {
        let key = ServerKey::new(b"k".to_vec());
        let a = mint(&key, TokenKind::Session);
        let b = mint(&key, TokenKind::Session);
        assert_ne!(a.token, b.token);
        assert_ne!(a.hash, b.hash);
        let secret = &a.token[TokenKind::Session.prefix().len() + ID_CHARS..];
        assert_eq!(URL_SAFE_NO_PAD.decode(secret).unwrap().len(), 32);
    }

    #[test]
    fn malformed_tokens_are_rejected_before_any_lookup() {
        let key = ServerKey::new(b"k".to_vec());
        let good = mint(&key, TokenKind::Session).token;
        for bad in [
            "",
            "bcn_ses_",
            "bearer",
            &good[..good.len() - 1],
            &format!("{good}A"),
            &good.replacen("bcn_ses_", "bcn_xxx_", 1),
            // Same byte length as a genuine token, but not ASCII.
            &format!("{}é", &good[..good.len() - 2]),
        ] {
            assert_eq!(parse(bad), None, "{bad}");
        }
    }
}
