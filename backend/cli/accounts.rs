//! `beacon user …` and `beacon token …`.

use std::io::{BufRead, IsTerminal};
use std::path::Path;
use std::process::ExitCode;

use anyhow::Context;

use super::{identity, migrate_reporting};
use crate::config::{GlobalOptions, TokenCommand, UserCommand};
use crate::db::Database;
use crate::db::identity as store;
use crate::identity::admin::{self, Caller};
use crate::identity::{self as accounts, IdentityError, IdentitySettings, credentials};

/// A password from a file's first line, or from standard input: asked for
/// twice, unechoed, on a terminal; the first line of a pipe otherwise.
fn read_password(file: Option<&Path>) -> anyhow::Result<String> {
    if let Some(file) = file {
        let text = std::fs::read_to_string(file)
            .with_context(|| format!("reading the password from {}", file.display()))?;
        return Ok(text.lines().next().unwrap_or_default().to_string());
    }
    if std::io::stdin().is_terminal() {
        let first = rpassword::prompt_password("Password: ")?;
        let second = rpassword::prompt_password("Password again: ")?;
        anyhow::ensure!(first == second, "the passwords differ");
        return Ok(first);
    }
    let mut line = String::new();
    std::io::stdin().lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\r', '\n']).to_string())
}

/// Identity errors as an operator should read them.
fn explain(error: IdentityError) -> anyhow::Error {
    anyhow::anyhow!("{error}")
}

pub async fn user(database: &Database, command: &UserCommand) -> anyhow::Result<ExitCode> {
    migrate_reporting(database).await?;
    let mut conn = database.connection().await?;
    match command {
        UserCommand::Create {
            email,
            name,
            role,
            password_file,
        } => {
            let role = accounts::parse_role(role).map_err(explain)?;
            let password = read_password(password_file.as_deref())?;
            let user =
                admin::create_user(&mut conn, Caller::operator(), email, name, role, &password)
                    .await
                    .map_err(explain)?;
            println!(
                "Created {} <{}> as {} (id {}).",
                user.display_name,
                user.email,
                user.role.to_uppercase(),
                user.id
            );
        }
        UserCommand::List => {
            let users = store::list_users(&mut conn, None, i64::MAX).await?;
            if users.is_empty() {
                println!("No users yet: `beacon user create --email … --name … --role admin`.");
            }
            for user in users {
                println!(
                    "{}  {:<9}  {}{}  <{}>",
                    user.id,
                    user.role.to_uppercase(),
                    user.display_name,
                    if user.disabled { " (disabled)" } else { "" },
                    user.email
                );
            }
        }
        UserCommand::Disable { user } | UserCommand::Enable { user } => {
            let disabled = matches!(command, UserCommand::Disable { .. });
            let found = accounts::find_user(&mut conn, user)
                .await
                .map_err(explain)?;
            admin::set_user_disabled(&mut conn, Caller::operator(), found.id, disabled)
                .await
                .map_err(explain)?;
            println!(
                "{} <{}> is {}.",
                found.display_name,
                found.email,
                if disabled {
                    "disabled; their sessions have ended"
                } else {
                    "enabled"
                }
            );
        }
        UserCommand::SetRole { user, role } => {
            let role = accounts::parse_role(role).map_err(explain)?;
            let found = accounts::find_user(&mut conn, user)
                .await
                .map_err(explain)?;
            admin::set_user_role(&mut conn, Caller::operator(), found.id, role)
                .await
                .map_err(explain)?;
            println!(
                "{} <{}> is now {}.",
                found.display_name,
                found.email,
                role.as_str().to_uppercase()
            );
        }
        UserCommand::SetPassword {
            user,
            password_file,
        } => {
            let found = accounts::find_user(&mut conn, user)
                .await
                .map_err(explain)?;
            let password = read_password(password_file.as_deref())?;
            admin::reset_password(&mut conn, Caller::operator(), found.id, &password)
                .await
                .map_err(explain)?;
            println!(
                "New password set for {} <{}>; their sessions have ended.",
                found.display_name, found.email
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}

pub async fn token(
    database: &Database,
    global: &GlobalOptions,
    command: &TokenCommand,
) -> anyhow::Result<ExitCode> {
    migrate_reporting(database).await?;
    let mut conn = database.connection().await?;
    match command {
        TokenCommand::Create {
            name,
            role,
            expires_in,
        } => {
            let role = accounts::parse_role(role).map_err(explain)?;
            let expires_at = expires_in
                .map(|lifetime| {
                    chrono::TimeDelta::from_std(lifetime)
                        .ok()
                        .and_then(|lifetime| chrono::Utc::now().checked_add_signed(lifetime))
                        .context("--expires-in is too far in the future")
                })
                .transpose()?;
            let identity = identity(global, IdentitySettings::default())?;
            // A token made with another key than the servers' would never work.
            identity.check_key(&mut conn, false).await?;
            let (row, secret) = identity
                .create_api_token_as(&mut conn, Caller::operator(), name, role, expires_at)
                .await
                .map_err(explain)?;
            eprintln!(
                "Created API token {:?} ({}, id {}{}). Its secret follows; it is shown only \
                 now. Send it as `Authorization: Bearer <secret>`.",
                row.name,
                row.role.to_uppercase(),
                row.id,
                row.expires_at
                    .map(|at| format!(", expires {}", at.to_rfc3339()))
                    .unwrap_or_default()
            );
            println!("{secret}");
        }
        TokenCommand::List => {
            let tokens = store::list_api_tokens(&mut conn, None, i64::MAX).await?;
            if tokens.is_empty() {
                println!("No API tokens yet: `beacon token create --name … --role partner`.");
            }
            let now = chrono::Utc::now();
            for token in tokens {
                let state = match (token.revoked_at, token.expires_at) {
                    (Some(at), _) => format!("revoked {}", at.format("%Y-%m-%d %H:%M")),
                    (None, Some(at)) if at <= now => format!("expired {}", at.format("%Y-%m-%d")),
                    (None, Some(at)) => format!("active until {}", at.format("%Y-%m-%d")),
                    (None, None) => "active".into(),
                };
                let last_used = token
                    .last_used_at
                    .map(|at| format!("last used {}", at.format("%Y-%m-%d %H:%M")))
                    .unwrap_or_else(|| "never used".into());
                println!(
                    "{}  {}…  {:<9}  {:?}  {state}, {last_used}",
                    token.id,
                    credentials::display_prefix(credentials::TokenKind::ApiToken, token.id),
                    token.role.to_uppercase(),
                    token.name
                );
            }
        }
        TokenCommand::Revoke { id } => {
            let token = admin::revoke_api_token(&mut conn, Caller::operator(), *id)
                .await
                .map_err(explain)?;
            println!(
                "Revoked API token {:?} ({}); requests with it are refused from now on.",
                token.name, token.id
            );
        }
    }
    Ok(ExitCode::SUCCESS)
}
