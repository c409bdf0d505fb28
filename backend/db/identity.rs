//! Users, sessions, API tokens and failed sign-ins.

use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

use super::DbResult;
use super::schema::{api_tokens, login_failures, sessions, users};

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users)]
pub struct UserRow {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub password_changed_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = users)]
pub struct NewUser<'a> {
    pub id: Uuid,
    pub email: &'a str,
    pub display_name: &'a str,
    pub role: &'a str,
    pub password_hash: &'a str,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = sessions)]
pub struct SessionRow {
    pub id: Uuid,
    pub user_id: Uuid,
    pub secret_hash: Vec<u8>,
    pub expires_at: DateTime<Utc>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = sessions)]
pub struct NewSession<'a> {
    pub id: Uuid,
    pub user_id: Uuid,
    pub secret_hash: &'a [u8],
    pub expires_at: DateTime<Utc>,
    pub client_address: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = api_tokens)]
pub struct ApiTokenRow {
    pub id: Uuid,
    pub name: String,
    pub role: String,
    pub secret_hash: Vec<u8>,
    pub created_by: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub expires_at: Option<DateTime<Utc>>,
    pub last_used_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Insertable)]
#[diesel(table_name = api_tokens)]
pub struct NewApiToken<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub role: &'a str,
    pub secret_hash: &'a [u8],
    pub created_by: Option<Uuid>,
    pub expires_at: Option<DateTime<Utc>>,
}

diesel::define_sql_function!(fn lower(value: diesel::sql_types::Text) -> diesel::sql_types::Text);

pub async fn insert_user(conn: &mut AsyncPgConnection, user: &NewUser<'_>) -> DbResult<UserRow> {
    diesel::insert_into(users::table)
        .values(user)
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn user_by_email(conn: &mut AsyncPgConnection, email: &str) -> DbResult<Option<UserRow>> {
    users::table
        .filter(lower(users::email).eq(email.to_lowercase()))
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn user_by_id(conn: &mut AsyncPgConnection, id: Uuid) -> DbResult<Option<UserRow>> {
    users::table
        .find(id)
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn api_tokens_by_id(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> DbResult<Vec<ApiTokenRow>> {
    api_tokens::table
        .filter(api_tokens::id.eq_any(ids))
        .select(ApiTokenRow::as_select())
        .load(conn)
        .await
}

pub async fn users_by_id(conn: &mut AsyncPgConnection, ids: &[Uuid]) -> DbResult<Vec<UserRow>> {
    users::table
        .filter(users::id.eq_any(ids))
        .select(UserRow::as_select())
        .load(conn)
        .await
}

/// Users by email, after the (lowercased email, id) position `after`.
pub async fn list_users(
    conn: &mut AsyncPgConnection,
    after: Option<&(String, Uuid)>,
    limit: i64,
) -> DbResult<Vec<UserRow>> {
    let mut query = users::table.into_boxed();
    if let Some((email, id)) = after {
        query = query.filter(
            lower(users::email)
                .gt(email.clone())
                .or(lower(users::email).eq(email.clone()).and(users::id.gt(*id))),
        );
    }
    query
        .order((lower(users::email), users::id))
        .limit(limit)
        .select(UserRow::as_select())
        .load(conn)
        .await
}

pub async fn set_role(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    role: &str,
) -> DbResult<Option<UserRow>> {
    diesel::update(users::table.find(id))
        .set((users::role.eq(role), users::updated_at.eq(diesel::dsl::now)))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// Disabling a user also ends their sessions.
pub async fn set_disabled(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    disabled: bool,
) -> DbResult<Option<UserRow>> {
    let user = diesel::update(users::table.find(id))
        .set((
            users::disabled.eq(disabled),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
        .optional()?;
    if disabled && user.is_some() {
        revoke_user_sessions(conn, id).await?;
    }
    Ok(user)
}

/// A new password ends every session the user had.
/// Sets a user's password and ends their sessions; false when there is no
/// such user.
pub async fn set_password(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    password_hash: &str,
) -> DbResult<bool> {
    let changed = diesel::update(users::table.find(id))
        .set((
            users::password_hash.eq(password_hash),
            users::password_changed_at.eq(diesel::dsl::now),
            users::updated_at.eq(diesel::dsl::now),
        ))
        .execute(conn)
        .await?;
    revoke_user_sessions(conn, id).await?;
    Ok(changed == 1)
}

pub async fn insert_session(
    conn: &mut AsyncPgConnection,
    session: &NewSession<'_>,
) -> DbResult<()> {
    diesel::insert_into(sessions::table)
        .values(session)
        .execute(conn)
        .await?;
    Ok(())
}

/// A session and its user, whatever their state: the caller decides.
pub async fn session_with_user(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> DbResult<Option<(SessionRow, UserRow)>> {
    sessions::table
        .inner_join(users::table)
        .filter(sessions::id.eq(id))
        .select((SessionRow::as_select(), UserRow::as_select()))
        .first(conn)
        .await
        .optional()
}

pub async fn touch_session(conn: &mut AsyncPgConnection, id: Uuid) -> DbResult<()> {
    diesel::update(sessions::table.find(id))
        .set(sessions::last_used_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn revoke_session(conn: &mut AsyncPgConnection, id: Uuid) -> DbResult<()> {
    diesel::update(
        sessions::table
            .find(id)
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn revoke_user_sessions(conn: &mut AsyncPgConnection, user_id: Uuid) -> DbResult<()> {
    diesel::update(
        sessions::table
            .filter(sessions::user_id.eq(user_id))
            .filter(sessions::revoked_at.is_null()),
    )
    .set(sessions::revoked_at.eq(diesel::dsl::now))
    .execute(conn)
    .await?;
    Ok(())
}

pub async fn insert_api_token(
    conn: &mut AsyncPgConnection,
    token: &NewApiToken<'_>,
) -> DbResult<ApiTokenRow> {
    diesel::insert_into(api_tokens::table)
        .values(token)
        .returning(ApiTokenRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn api_token(conn: &mut AsyncPgConnection, id: Uuid) -> DbResult<Option<ApiTokenRow>> {
    api_tokens::table
        .find(id)
        .select(ApiTokenRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// What authenticating a token needs of its creator: their role and
/// whether they are disabled.
#[derive(Debug, Clone)]
pub struct TokenCreator {
    pub role: String,
    pub disabled: bool,
}

/// The token with its creator's role and state, in one statement.
pub async fn api_token_with_creator(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> DbResult<Option<(ApiTokenRow, Option<TokenCreator>)>> {
    let found: Option<(ApiTokenRow, Option<String>, Option<bool>)> = api_tokens::table
        .left_join(users::table.on(api_tokens::created_by.eq(users::id.nullable())))
        .filter(api_tokens::id.eq(id))
        .select((
            ApiTokenRow::as_select(),
            users::role.nullable(),
            users::disabled.nullable(),
        ))
        .first(conn)
        .await
        .optional()?;
    Ok(found.map(|(token, role, disabled)| {
        let creator = role
            .zip(disabled)
            .map(|(role, disabled)| TokenCreator { role, disabled });
        (token, creator)
    }))
}

/// Newest first, each with the name of the user who made it (none for
/// tokens made on the command line).
/// Newest first, after the (created_at, id) position `after`.
pub async fn list_api_tokens(
    conn: &mut AsyncPgConnection,
    after: Option<(DateTime<Utc>, Uuid)>,
    limit: i64,
) -> DbResult<Vec<ApiTokenRow>> {
    let mut query = api_tokens::table.into_boxed();
    if let Some((at, id)) = after {
        query = query.filter(
            api_tokens::created_at
                .lt(at)
                .or(api_tokens::created_at.eq(at).and(api_tokens::id.gt(id))),
        );
    }
    query
        .order((api_tokens::created_at.desc(), api_tokens::id))
        .limit(limit)
        .select(ApiTokenRow::as_select())
        .load(conn)
        .await
}

/// The token as it is now; revoking twice keeps the first time.
pub async fn revoke_api_token(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> DbResult<Option<ApiTokenRow>> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::revoked_at.eq(diesel::dsl::sql::<
            diesel::sql_types::Nullable<diesel::sql_types::Timestamptz>,
        >("coalesce(revoked_at, now())")))
        .returning(ApiTokenRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

pub async fn touch_api_token(conn: &mut AsyncPgConnection, id: Uuid) -> DbResult<()> {
    diesel::update(api_tokens::table.find(id))
        .set(api_tokens::last_used_at.eq(diesel::dsl::now))
        .execute(conn)
        .await?;
    Ok(())
}

/// Failures per subject since `since`, with the oldest of them.
pub async fn recent_failures(
    conn: &mut AsyncPgConnection,
    subjects: &[String],
    since: DateTime<Utc>,
) -> DbResult<Vec<(String, i64, Option<DateTime<Utc>>)>> {
    login_failures::table
        .filter(login_failures::subject.eq_any(subjects))
        .filter(login_failures::failed_at.gt(since))
        .group_by(login_failures::subject)
        .select((
            login_failures::subject,
            diesel::dsl::count_star(),
            diesel::dsl::min(login_failures::failed_at),
        ))
        .load(conn)
        .await
}

/// What [`claim_attempt`] found.
#[derive(Debug, Clone, PartialEq)]
pub enum AttemptClaim {
    /// The attempt is recorded as a failure (rows with these ids) until
    /// the caller proves it was not one.
    Claimed(Vec<i64>),
    /// A subject is at its limit; its oldest failure in the window.
    Refused { oldest: Option<DateTime<Utc>> },
}

/// Counts a password attempt *before* the password is checked: under a lock
/// per subject, refuses it when a subject has `limit` failures since
/// `since`, and otherwise records it as a failure. Parallel attempts for one
/// account are so counted one after another, and no more of them reach the
/// password check than the limit allows.
pub async fn claim_attempt(
    conn: &mut AsyncPgConnection,
    limits: &[(String, i64)],
    since: DateTime<Utc>,
) -> DbResult<AttemptClaim> {
    use diesel_async::AsyncConnection;
    let mut subjects: Vec<String> = limits.iter().map(|(subject, _)| subject.clone()).collect();
    // One order for every caller, so two attempts never wait on each other.
    subjects.sort();
    conn.transaction::<_, diesel::result::Error, _>(async |conn| {
        for subject in &subjects {
            diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 7))")
                .bind::<diesel::sql_types::Text, _>(subject)
                .execute(conn)
                .await?;
        }
        diesel::delete(
            login_failures::table
                .filter(login_failures::subject.eq_any(&subjects))
                .filter(login_failures::failed_at.le(since)),
        )
        .execute(conn)
        .await?;
        for (subject, count, oldest) in recent_failures(conn, &subjects, since).await? {
            let limit = limits
                .iter()
                .find(|(name, _)| *name == subject)
                .map_or(i64::MAX, |(_, limit)| *limit);
            if count >= limit {
                return Ok(AttemptClaim::Refused { oldest });
            }
        }
        let rows: Vec<_> = subjects
            .iter()
            .map(|subject| login_failures::subject.eq(subject))
            .collect();
        let ids = diesel::insert_into(login_failures::table)
            .values(rows)
            .returning(login_failures::id)
            .get_results(conn)
            .await?;
        Ok(AttemptClaim::Claimed(ids))
    })
    .await
}

/// Takes back failures [`claim_attempt`] recorded for an attempt that
/// turned out right.
pub async fn forget_attempt(conn: &mut AsyncPgConnection, ids: &[i64]) -> DbResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::id.eq_any(ids)))
        .execute(conn)
        .await?;
    Ok(())
}

pub async fn clear_failures(conn: &mut AsyncPgConnection, subject: &str) -> DbResult<()> {
    diesel::delete(login_failures::table.filter(login_failures::subject.eq(subject)))
        .execute(conn)
        .await?;
    Ok(())
}

/// The fingerprint of the key the database's tokens are made with: the one
/// recorded first, or `fingerprint` when there is none yet or `replace`.
pub async fn record_key_fingerprint(
    conn: &mut AsyncPgConnection,
    fingerprint: &[u8],
    replace: bool,
) -> DbResult<Vec<u8>> {
    use super::schema::server_key;
    let insert =
        diesel::insert_into(server_key::table).values(server_key::fingerprint.eq(fingerprint));
    if replace {
        insert
            .on_conflict(server_key::singleton)
            .do_update()
            .set((
                server_key::fingerprint.eq(fingerprint),
                server_key::recorded_at.eq(diesel::dsl::now),
            ))
            .execute(conn)
            .await?;
    } else {
        insert.on_conflict_do_nothing().execute(conn).await?;
    }
    server_key::table
        .select(server_key::fingerprint)
        .first(conn)
        .await
}
