//! Identities and credentials: signing in, sessions, API tokens, and
//! turning a bearer token into an [`Actor`]. What each role may do is the
//! domain's business ([`crate::domain::access`]); this module establishes
//! who is asking.

pub mod admin;
pub mod caller;
pub mod credentials;
pub mod password;
pub mod secret;

pub use caller::Caller;

use std::net::IpAddr;
use std::time::Duration;

use chrono::{DateTime, Utc};
use diesel_async::AsyncPgConnection;
use uuid::Uuid;

use crate::db::identity::{self as store, ApiTokenRow, NewApiToken, NewSession, NewUser, UserRow};
use crate::domain::access::{self, Actor, Role};
use credentials::{ServerKey, TokenKind};

/// Sign-in throttling and session lifetime.
#[derive(Debug, Clone)]
pub struct IdentitySettings {
    pub session_ttl: Duration,
    /// Failed sign-ins allowed per account within `failure_window`.
    pub failures_per_account: i64,
    /// Failed sign-ins allowed per client address within `failure_window`.
    pub failures_per_address: i64,
    pub failure_window: Duration,
}

impl Default for IdentitySettings {
    fn default() -> Self {
        IdentitySettings {
            session_ttl: Duration::from_secs(12 * 3600),
            failures_per_account: 5,
            failures_per_address: 20,
            failure_window: Duration::from_secs(15 * 60),
        }
    }
}

#[derive(Debug, thiserror::Error)]
pub enum IdentityError {
    #[error("{field}: {message}")]
    Invalid {
        field: &'static str,
        message: String,
    },
    #[error("wrong email or password")]
    InvalidCredentials,
    #[error("too many failed sign-ins; try again in {} s", .retry_after.as_secs().max(1))]
    RateLimited { retry_after: Duration },
    #[error("the bearer token is invalid, expired or revoked")]
    Unauthenticated,
    #[error("there is no {0} with that id")]
    NotFound(&'static str),
    #[error("there is no user with the email {0}")]
    NoSuchEmail(String),
    #[error("a user with that email already exists")]
    EmailTaken,
    #[error(transparent)]
    Forbidden(#[from] access::Forbidden),
    /// Allowed in general, but not this change (on one's own account, or a
    /// role above one's own).
    #[error("{0}")]
    NotPermitted(String),
    #[error("database: {0}")]
    Database(#[from] diesel::result::Error),
}

type IdentityResult<T> = Result<T, IdentityError>;

/// Who a request's credentials belong to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Authenticated {
    pub actor: Actor,
    /// The session the request came with, so `logout` can end it.
    pub session_id: Option<Uuid>,
}

impl Authenticated {
    pub fn anonymous() -> Self {
        Authenticated {
            actor: Actor::Anonymous,
            session_id: None,
        }
    }
}

/// A session token, shown to its user once.
#[derive(Debug, Clone)]
pub struct SessionGrant {
    pub token: String,
    pub expires_at: DateTime<Utc>,
    pub user: UserRow,
}

/// How often a credential's last-used time is written: often enough to
/// tell a live token from a dead one, seldom enough not to write on every
/// request.
const TOUCH_INTERVAL: chrono::TimeDelta = chrono::TimeDelta::seconds(60);

fn stale(last_used_at: Option<DateTime<Utc>>, now: DateTime<Utc>) -> bool {
    last_used_at.is_none_or(|at| now - at > TOUCH_INTERVAL)
}

pub fn parse_role(value: &str) -> IdentityResult<Role> {
    Role::parse(value).ok_or_else(|| IdentityError::Invalid {
        field: "role",
        message: format!(
            "unknown role {value:?}; one of {}",
            Role::ALL.map(|role| role.as_str()).join(", ")
        ),
    })
}

/// Roles are stored by name; a name the code does not know is corrupt data.
fn stored_role(value: &str) -> IdentityResult<Role> {
    Role::parse(value).ok_or(IdentityError::Database(
        diesel::result::Error::DeserializationError(format!("unknown role {value:?}").into()),
    ))
}

pub fn normalize_email(email: &str) -> IdentityResult<String> {
    let email = email.trim();
    let valid = email.len() <= 254
        && !email.chars().any(char::is_whitespace)
        && email.split_once('@').is_some_and(|(local, domain)| {
            !local.is_empty() && !domain.is_empty() && !domain.contains('@')
        });
    if valid {
        Ok(email.to_string())
    } else {
        Err(IdentityError::Invalid {
            field: "email",
            message: "must be an email address such as name@example.org".into(),
        })
    }
}

/// A person's or a token's name, trimmed: shown in lists and the audit log.
fn check_display_name(name: &str) -> IdentityResult<&str> {
    let name = name.trim();
    if name.is_empty() || name.chars().count() > 200 {
        return Err(IdentityError::Invalid {
            field: "name",
            message: "must be between 1 and 200 characters".into(),
        });
    }
    Ok(name)
}

fn check_password(password: &str) -> IdentityResult<()> {
    password::check_policy(password).map_err(|message| IdentityError::Invalid {
        field: "password",
        message,
    })
}

/// Argon2 takes tens of milliseconds of CPU: off the async workers.
/// Checks a password an admin or operator sets and hashes it, before the
/// change's transaction opens: hashing is slow on purpose.
async fn new_password_hash(password: &str) -> IdentityResult<String> {
    check_password(password)?;
    Ok(hash_password(password).await)
}

async fn hash_password(password: &str) -> String {
    let password = password.to_string();
    tokio::task::spawn_blocking(move || password::hash(&password))
        .await
        .expect("password hashing does not panic")
}

/// Password checks running at once in this process. Each takes tens of
/// milliseconds of one core and 19 MiB: past the cores there are, more at
/// once only queue in memory, so a flood of sign-ins waits here instead.
static PASSWORD_CHECKS: tokio::sync::Semaphore = tokio::sync::Semaphore::const_new(2);

async fn verify_password(password: &str, stored: Option<String>) -> bool {
    let _turn = PASSWORD_CHECKS
        .acquire()
        .await
        .expect("the semaphore is never closed");
    let password = password.to_string();
    tokio::task::spawn_blocking(move || match stored {
        Some(stored) => password::verify(&password, &stored),
        None => {
            password::verify_nothing(&password);
            false
        }
    })
    .await
    .expect("password verification does not panic")
}

fn is_unique_violation(error: &diesel::result::Error) -> bool {
    matches!(
        error,
        diesel::result::Error::DatabaseError(diesel::result::DatabaseErrorKind::UniqueViolation, _)
    )
}

#[derive(Clone)]
pub struct Identity {
    key: ServerKey,
    pub settings: IdentitySettings,
}

impl Identity {
    pub fn new(key: ServerKey, settings: IdentitySettings) -> Self {
        Identity { key, settings }
    }

    /// The token a page puts in its forms for the session `session_token`
    /// signs in: a form posted from another site cannot carry it, since it
    /// is keyed by the server key and bound to a session only this browser
    /// holds (in an HttpOnly cookie).
    pub fn form_token(&self, session_token: &str) -> String {
        let mac = self
            .key
            .hash(&format!("beacon form token, v1: {session_token}"));
        mac.iter().map(|byte| format!("{byte:02x}")).collect()
    }

    /// Whether `candidate` is the form token of `session_token`, compared in
    /// constant time.
    pub fn verify_form_token(&self, session_token: &str, candidate: &str) -> bool {
        let Some(bytes) = decode_hex(candidate) else {
            return false;
        };
        self.key
            .verify(&format!("beacon form token, v1: {session_token}"), &bytes)
    }

    /// Makes sure this process hashes tokens with the key the database's
    /// tokens were made with (recording it on first use, or when `replace`
    /// says the key was changed on purpose).
    pub async fn check_key(
        &self,
        conn: &mut diesel_async::AsyncPgConnection,
        replace: bool,
    ) -> anyhow::Result<()> {
        let fingerprint = self.key.fingerprint();
        let recorded =
            crate::db::identity::record_key_fingerprint(conn, &fingerprint, replace).await?;
        anyhow::ensure!(
            recorded == fingerprint,
            "this database's sessions and API tokens were made with another server key. Give \
             every process sharing the database the same BEACON_SECRET (without it, each data \
             directory generates its own). If the key was changed on purpose, start once with \
             `beacon serve --accept-new-secret`: sessions and API tokens made with the old key \
             stop working."
        );
        Ok(())
    }

    /// The actor behind `Authorization: Bearer <token>`. A token that is not
    /// genuine, has expired or was revoked is an error, never anonymous.
    pub async fn authenticate(
        &self,
        conn: &mut AsyncPgConnection,
        token: &str,
    ) -> IdentityResult<Authenticated> {
        let (kind, id) = credentials::parse(token).ok_or(IdentityError::Unauthenticated)?;
        let now = Utc::now();
        match kind {
            TokenKind::Session => {
                let (session, user) = store::session_with_user(conn, id)
                    .await?
                    .ok_or(IdentityError::Unauthenticated)?;
                let genuine = self.key.verify(token, &session.secret_hash);
                if !genuine
                    || session.revoked_at.is_some()
                    || session.expires_at <= now
                    || user.disabled
                {
                    return Err(IdentityError::Unauthenticated);
                }
                if stale(session.last_used_at, now) {
                    store::touch_session(conn, id).await?;
                }
                Ok(Authenticated {
                    actor: Actor::User {
                        id: user.id,
                        role: stored_role(&user.role)?,
                    },
                    session_id: Some(id),
                })
            }
            TokenKind::ApiToken => {
                let (row, creator) = store::api_token_with_creator(conn, id)
                    .await?
                    .ok_or(IdentityError::Unauthenticated)?;
                let genuine = self.key.verify(token, &row.secret_hash);
                let expired = row.expires_at.is_some_and(|at| at <= now);
                // A token acts for its creator: it stops with them.
                let creator_disabled = creator.as_ref().is_some_and(|creator| creator.disabled);
                if !genuine || row.revoked_at.is_some() || expired || creator_disabled {
                    return Err(IdentityError::Unauthenticated);
                }
                let creator_role = creator
                    .map(|creator| stored_role(&creator.role))
                    .transpose()?;
                if stale(row.last_used_at, now) {
                    store::touch_api_token(conn, id).await?;
                }
                Ok(Authenticated {
                    actor: Actor::ApiToken {
                        id,
                        role: access::token_role(stored_role(&row.role)?, creator_role),
                        creator: row.created_by,
                    },
                    session_id: None,
                })
            }
        }
    }

    /// Checks a password and opens a session. Failures count against the
    /// account and the client address; past either limit, sign-in is
    /// refused before the password is even looked at.
    pub async fn login(
        &self,
        conn: &mut AsyncPgConnection,
        email: &str,
        password: &str,
        address: Option<IpAddr>,
    ) -> IdentityResult<SessionGrant> {
        let email = email.trim().to_lowercase();
        let user = store::user_by_email(conn, &email).await?;
        let usable = user.as_ref().filter(|user| !user.disabled);
        let stored = usable.map(|user| user.password_hash.clone());
        self.check_password_throttled(conn, &email, address, password, stored)
            .await?;
        let user = user.expect("a verified password has a user");
        self.open_session(conn, user, address).await
    }

    /// A password check counted against the account (by its email) and the
    /// client address, whoever asks for it: signing in, or changing a
    /// password with a session that may have been stolen. The attempt is
    /// counted before the check (see [`store::claim_attempt`]) and taken
    /// back when the password was right.
    async fn check_password_throttled(
        &self,
        conn: &mut AsyncPgConnection,
        email: &str,
        address: Option<IpAddr>,
        password: &str,
        stored: Option<String>,
    ) -> IdentityResult<()> {
        let account = format!("account:{}", email.to_lowercase());
        let mut limits = vec![(account.clone(), self.settings.failures_per_account)];
        if let Some(address) = address {
            limits.push((
                format!("address:{address}"),
                self.settings.failures_per_address,
            ));
        }
        let window = chrono::TimeDelta::from_std(self.settings.failure_window)
            .unwrap_or(chrono::TimeDelta::minutes(15));
        let now = Utc::now();
        let attempt = match store::claim_attempt(conn, &limits, now - window).await? {
            store::AttemptClaim::Claimed(ids) => ids,
            store::AttemptClaim::Refused { oldest } => {
                let retry_after = oldest
                    .map(|oldest| (oldest + window - now).to_std().unwrap_or_default())
                    .unwrap_or(self.settings.failure_window);
                return Err(IdentityError::RateLimited { retry_after });
            }
        };
        if !verify_password(password, stored).await {
            return Err(IdentityError::InvalidCredentials);
        }
        store::forget_attempt(conn, &attempt).await?;
        store::clear_failures(conn, &account).await?;
        Ok(())
    }

    async fn open_session(
        &self,
        conn: &mut AsyncPgConnection,
        user: UserRow,
        address: Option<IpAddr>,
    ) -> IdentityResult<SessionGrant> {
        let minted = credentials::mint(&self.key, TokenKind::Session);
        let ttl = chrono::TimeDelta::from_std(self.settings.session_ttl)
            .unwrap_or(chrono::TimeDelta::hours(12));
        let expires_at = Utc::now() + ttl;
        let address = address.map(|address| address.to_string());
        store::insert_session(
            conn,
            &NewSession {
                id: minted.id,
                user_id: user.id,
                secret_hash: &minted.hash,
                expires_at,
                client_address: address.as_deref(),
            },
        )
        .await?;
        Ok(SessionGrant {
            token: minted.token,
            expires_at,
            user,
        })
    }

    /// Changes the password after checking the current one; every session
    /// of the user ends, and a new one is opened for the caller.
    pub async fn change_password(
        &self,
        conn: &mut AsyncPgConnection,
        user_id: Uuid,
        current: &str,
        new: &str,
        address: Option<IpAddr>,
    ) -> IdentityResult<SessionGrant> {
        check_password(new)?;
        let user = store::user_by_id(conn, user_id)
            .await?
            .ok_or(IdentityError::NotFound("user"))?;
        self.check_password_throttled(
            conn,
            &user.email,
            address,
            current,
            Some(user.password_hash.clone()),
        )
        .await?;
        let hash = hash_password(new).await;
        if !store::set_password(conn, user_id, &hash).await? {
            return Err(IdentityError::NotFound("user"));
        }
        self.open_session(conn, user, address).await
    }

    pub async fn create_api_token(
        &self,
        conn: &mut AsyncPgConnection,
        name: &str,
        role: Role,
        expires_at: Option<DateTime<Utc>>,
        created_by: Option<Uuid>,
    ) -> IdentityResult<(ApiTokenRow, String)> {
        let name = check_display_name(name)?;
        if expires_at.is_some_and(|at| at <= Utc::now()) {
            return Err(IdentityError::Invalid {
                field: "expiresAt",
                message: "must be in the future".into(),
            });
        }
        let minted = credentials::mint(&self.key, TokenKind::ApiToken);
        let row = store::insert_api_token(
            conn,
            &NewApiToken {
                id: minted.id,
                name,
                role: role.as_str(),
                secret_hash: &minted.hash,
                created_by,
                expires_at,
            },
        )
        .await?;
        Ok((row, minted.token))
    }
}

pub async fn create_user(
    conn: &mut AsyncPgConnection,
    email: &str,
    name: &str,
    role: Role,
    password: &str,
) -> IdentityResult<UserRow> {
    let account = NewAccount::check(email, name, role, password).await?;
    account.insert(conn).await
}

/// A new account whose details passed their checks and whose password is
/// hashed. Checking comes apart from inserting so that an audited creation
/// hashes (slow on purpose) before its transaction opens, not inside it.
pub struct NewAccount {
    email: String,
    name: String,
    role: Role,
    password_hash: String,
}

impl NewAccount {
    pub async fn check(
        email: &str,
        name: &str,
        role: Role,
        password: &str,
    ) -> IdentityResult<NewAccount> {
        let email = normalize_email(email)?;
        let name = check_display_name(name)?.to_string();
        Ok(NewAccount {
            email,
            name,
            role,
            password_hash: new_password_hash(password).await?,
        })
    }

    pub async fn insert(&self, conn: &mut AsyncPgConnection) -> IdentityResult<UserRow> {
        let new = NewUser {
            id: Uuid::now_v7(),
            email: &self.email,
            display_name: &self.name,
            role: self.role.as_str(),
            password_hash: &self.password_hash,
        };
        store::insert_user(conn, &new).await.map_err(|error| {
            if is_unique_violation(&error) {
                IdentityError::EmailTaken
            } else {
                error.into()
            }
        })
    }
}

/// A user named by id or by email (case-insensitive), as the CLI accepts.
pub async fn find_user(conn: &mut AsyncPgConnection, who: &str) -> IdentityResult<UserRow> {
    match Uuid::parse_str(who) {
        Ok(id) => store::user_by_id(conn, id)
            .await?
            .ok_or(IdentityError::NotFound("user")),
        Err(_) => store::user_by_email(conn, who.trim())
            .await?
            .ok_or_else(|| IdentityError::NoSuchEmail(who.trim().to_string())),
    }
}

pub fn role_of(user: &UserRow) -> IdentityResult<Role> {
    stored_role(&user.role)
}

pub fn token_role(token: &ApiTokenRow) -> IdentityResult<Role> {
    stored_role(&token.role)
}

fn decode_hex(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) || !text.is_ascii() {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|at| u8::from_str_radix(&text[at..at + 2], 16).ok())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_checked_and_trimmed() {
        assert_eq!(
            normalize_email(" Ada@Example.org ").unwrap(),
            "Ada@Example.org"
        );
        for bad in [
            "",
            "ada",
            "@example.org",
            "ada@",
            "a b@example.org",
            "a@b@c",
        ] {
            assert!(normalize_email(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn last_used_is_written_at_most_once_a_minute() {
        let now = Utc::now();
        assert!(stale(None, now));
        assert!(!stale(Some(now - chrono::TimeDelta::seconds(30)), now));
        assert!(stale(Some(now - chrono::TimeDelta::seconds(61)), now));
    }
}
