//! Request rates per client: anonymous clients by address, everyone else
//! by credential (API token or user), each with its own allowance.
//!
//! The counts live in this process (GCRA cells, via `governor`): with
//! several instances behind a load balancer each enforces its own share.

use std::net::IpAddr;
use std::num::NonZeroU32;
use std::str::FromStr;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock};
use governor::{DefaultKeyedRateLimiter, Quota};
use uuid::Uuid;

use crate::domain::access::Actor;

/// An allowance such as `600/min`: that many requests per period, all of
/// which may come at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub requests: NonZeroU32,
    pub per: Duration,
}

impl Rate {
    fn quota(self) -> Quota {
        let interval = self.per / self.requests.get();
        Quota::with_period(interval.max(Duration::from_nanos(1)))
            .expect("a positive interval")
            .allow_burst(self.requests)
    }
}

impl std::fmt::Display for Rate {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let unit = match self.per.as_secs() {
            1 => "s",
            60 => "min",
            3600 => "h",
            _ => {
                return write!(
                    f,
                    "{}/{}",
                    self.requests,
                    humantime::format_duration(self.per)
                );
            }
        };
        write!(f, "{}/{unit}", self.requests)
    }
}

/// `off`, or `<count>/<s|min|h>`.
pub fn parse_rate(text: &str) -> Result<Option<Rate>, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("off") || text == "0" {
        return Ok(None);
    }
    let (count, unit) = text
        .split_once('/')
        .ok_or_else(|| format!("`{text}`: write a rate as 600/min, 10/s or 5000/h, or off"))?;
    let requests = NonZeroU32::from_str(count.trim())
        .map_err(|_| format!("`{count}`: the count must be a whole number above 0"))?;
    let per = match unit.trim() {
        "s" | "sec" | "second" => Duration::from_secs(1),
        "m" | "min" | "minute" => Duration::from_secs(60),
        "h" | "hour" => Duration::from_secs(3600),
        other => return Err(format!("`{other}`: the period must be s, min or h")),
    };
    Ok(Some(Rate { requests, per }))
}

/// Allowances by kind of client; `None` is unlimited.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RateLimits {
    /// Per client address, for requests without a bearer token.
    pub anonymous: Option<Rate>,
    /// Per API token or signed-in user.
    pub authenticated: Option<Rate>,
}

impl Default for RateLimits {
    fn default() -> Self {
        RateLimits {
            anonymous: parse_rate("600/min").expect("a valid default"),
            authenticated: parse_rate("6000/min").expect("a valid default"),
        }
    }
}

pub struct RateLimiter {
    by_address: Option<DefaultKeyedRateLimiter<IpAddr>>,
    by_credential: Option<DefaultKeyedRateLimiter<Uuid>>,
    /// Bearer tokens that failed, per address: each costs a database
    /// lookup before any rate applies, so an address sending too many is
    /// refused without one until `blocked` says it may try again.
    failed_credentials: DefaultKeyedRateLimiter<IpAddr>,
    blocked: std::sync::Mutex<std::collections::HashMap<IpAddr, std::time::Instant>>,
    clock: DefaultClock,
}

/// Failed bearer tokens one address may present per minute.
pub const FAILED_CREDENTIALS_PER_MINUTE: u32 = 20;

impl RateLimiter {
    pub fn new(limits: RateLimits) -> Self {
        RateLimiter {
            by_address: limits
                .anonymous
                .map(|rate| governor::RateLimiter::keyed(rate.quota())),
            by_credential: limits
                .authenticated
                .map(|rate| governor::RateLimiter::keyed(rate.quota())),
            failed_credentials: governor::RateLimiter::keyed(
                Rate {
                    requests: NonZeroU32::new(FAILED_CREDENTIALS_PER_MINUTE).expect("nonzero"),
                    per: Duration::from_secs(60),
                }
                .quota(),
            ),
            blocked: Default::default(),
            clock: DefaultClock::default(),
        }
    }

    /// How long `address` must wait before presenting credentials again,
    /// if it has presented too many bad ones.
    pub fn credentials_blocked(&self, address: Option<IpAddr>) -> Option<Duration> {
        let address = address?;
        let blocked = self.blocked.lock().expect("blocked lock");
        let until = *blocked.get(&address)?;
        until.checked_duration_since(std::time::Instant::now())
    }

    /// Counts a bad bearer token against `address`.
    pub fn credentials_failed(&self, address: Option<IpAddr>) {
        let Some(address) = address else {
            return;
        };
        if let Err(not_until) = self.failed_credentials.check_key(&address) {
            let wait = not_until.wait_time_from(self.clock.now());
            self.blocked
                .lock()
                .expect("blocked lock")
                .insert(address, std::time::Instant::now() + wait);
        }
    }

    /// Charges `operations` requests to the client; `Err` holds how long
    /// to wait before they would be allowed.
    pub fn check(
        &self,
        actor: &Actor,
        address: Option<IpAddr>,
        operations: usize,
    ) -> Result<(), Duration> {
        let cells = NonZeroU32::new(u32::try_from(operations).unwrap_or(u32::MAX))
            .unwrap_or(NonZeroU32::MIN);
        let outcome = match actor {
            Actor::User { id, .. } | Actor::ApiToken { id, .. } => match &self.by_credential {
                Some(limiter) => limiter.check_key_n(id, cells),
                None => return Ok(()),
            },
            Actor::Anonymous | Actor::Scheduler | Actor::Operator => match &self.by_address {
                // Requests handed to the router without a socket (tests, a
                // proxy's unix socket) share one allowance.
                Some(limiter) => {
                    limiter.check_key_n(&address.unwrap_or(IpAddr::from([0, 0, 0, 0])), cells)
                }
                None => return Ok(()),
            },
        };
        match outcome {
            Ok(Ok(())) => Ok(()),
            Ok(Err(not_until)) => Err(not_until.wait_time_from(self.clock.now())),
            // More at once than the whole allowance: never allowed.
            Err(_) => Err(Duration::from_secs(60)),
        }
    }

    /// Forgets clients whose allowance is full again, so the tables stay as
    /// small as the set of recently active clients.
    pub fn forget_idle(&self) {
        let now = std::time::Instant::now();
        self.blocked
            .lock()
            .expect("blocked lock")
            .retain(|_, until| *until > now);
        self.failed_credentials.retain_recent();
        if let Some(limiter) = &self.by_address {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
        if let Some(limiter) = &self.by_credential {
            limiter.retain_recent();
            limiter.shrink_to_fit();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rates_parse_and_print() {
        assert_eq!(parse_rate("off"), Ok(None));
        let rate = parse_rate("600/min").unwrap().unwrap();
        assert_eq!(rate.requests.get(), 600);
        assert_eq!(rate.per, Duration::from_secs(60));
        assert_eq!(rate.to_string(), "600/min");
        assert_eq!(parse_rate("10/s").unwrap().unwrap().to_string(), "10/s");
        assert!(parse_rate("ten/s").is_err());
        assert!(parse_rate("10/week").is_err());
        assert!(parse_rate("10").is_err());
    }

    #[test]
    fn each_client_has_its_own_allowance() {
        let limiter = RateLimiter::new(RateLimits {
            anonymous: parse_rate("2/min").unwrap(),
            authenticated: parse_rate("3/min").unwrap(),
        });
        let here = Some(IpAddr::from([192, 0, 2, 1]));
        let there = Some(IpAddr::from([192, 0, 2, 2]));
        assert!(limiter.check(&Actor::Anonymous, here, 1).is_ok());
        assert!(limiter.check(&Actor::Anonymous, here, 1).is_ok());
        let wait = limiter.check(&Actor::Anonymous, here, 1).unwrap_err();
        assert!(wait > Duration::from_secs(20) && wait <= Duration::from_secs(30));
        assert!(limiter.check(&Actor::Anonymous, there, 1).is_ok());

        let token = Actor::ApiToken {
            id: Uuid::new_v4(),
            role: crate::domain::access::Role::Partner,
            creator: None,
        };
        // A batch costs one request per operation.
        assert!(limiter.check(&token, here, 3).is_ok());
        assert!(limiter.check(&token, here, 1).is_err());
        assert!(limiter.check(&token, here, 4).is_err());
    }

    #[test]
    fn an_address_presenting_bad_credentials_is_held_off() {
        let limiter = RateLimiter::new(RateLimits::default());
        let here = Some(IpAddr::from([192, 0, 2, 1]));
        for _ in 0..FAILED_CREDENTIALS_PER_MINUTE {
            assert_eq!(limiter.credentials_blocked(here), None);
            limiter.credentials_failed(here);
        }
        limiter.credentials_failed(here);
        let wait = limiter.credentials_blocked(here).expect("held off");
        assert!(wait > Duration::ZERO && wait <= Duration::from_secs(3));
        assert_eq!(
            limiter.credentials_blocked(Some(IpAddr::from([192, 0, 2, 2]))),
            None
        );
    }
}
