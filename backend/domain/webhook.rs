//! Webhook rules: which events exist, which URLs may receive them, how a
//! delivery is signed, and when a failed one is tried again. Plain data and
//! functions; the delivery worker (`crate::events::delivery`) applies them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use hmac::{Hmac, Mac};
use sha2::Sha256;

/// What partners can be told about.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EventType {
    Published,
    Unpublished,
    Archived,
    SeedRun,
}

impl EventType {
    pub const ALL: [EventType; 4] = [
        EventType::Published,
        EventType::Unpublished,
        EventType::Archived,
        EventType::SeedRun,
    ];

    /// The name stored, sent in payloads and in the `Beacon-Event-Type` header.
    pub fn as_str(self) -> &'static str {
        match self {
            EventType::Published => "PUBLISHED",
            EventType::Unpublished => "UNPUBLISHED",
            EventType::Archived => "ARCHIVED",
            EventType::SeedRun => "SEED_RUN",
        }
    }

    pub fn parse(value: &str) -> Option<EventType> {
        let value = value.trim().to_ascii_uppercase().replace('-', "_");
        EventType::ALL
            .into_iter()
            .find(|event| event.as_str() == value)
    }
}

/// Shortest webhook secret: receivers verify signatures with it, so it
/// must not be guessable.
pub const MIN_SECRET_CHARS: usize = 16;

/// Why a URL may not receive webhooks.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum UrlRefused {
    #[error("is not a valid URL")]
    Invalid,
    #[error("must be an http or https URL")]
    Scheme,
    #[error("must not carry a user name or password")]
    Credentials,
    #[error(
        "points at a loopback, link-local or private address, which webhooks may not reach (BEACON_WEBHOOK_ALLOW_PRIVATE=1 allows it for development)"
    )]
    PrivateAddress,
}

/// A URL webhooks may be registered for: http(s), no credentials, and (unless
/// private addresses are allowed) no literal address or name that is
/// obviously internal. Names are checked again, resolved, at each delivery.
pub fn check_url(url: &str, allow_private: bool) -> Result<url::Url, UrlRefused> {
    let parsed = url::Url::parse(url.trim()).map_err(|_| UrlRefused::Invalid)?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(UrlRefused::Scheme);
    }
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Err(UrlRefused::Credentials);
    }
    let host = parsed.host().ok_or(UrlRefused::Invalid)?;
    if !allow_private {
        let internal = match host {
            url::Host::Ipv4(address) => !is_public(IpAddr::V4(address)),
            url::Host::Ipv6(address) => !is_public(IpAddr::V6(address)),
            url::Host::Domain(name) => {
                let name = name.trim_end_matches('.').to_ascii_lowercase();
                name == "localhost" || name.ends_with(".localhost") || name.ends_with(".internal")
            }
        };
        if internal {
            return Err(UrlRefused::PrivateAddress);
        }
    }
    Ok(parsed)
}

/// Whether `address` is on the public internet: outside every range of
/// IANA's IPv4 and IPv6 special-purpose address registries (loopback,
/// private, link-local where cloud metadata lives, shared carrier NAT,
/// documentation, benchmarking, reserved...). IPv6 forms that carry an
/// IPv4 address (mapped, compatible, NAT64, 6to4, Teredo) reach whatever
/// that address is through a translator, so only a mapped public address
/// passes; the others are refused outright.
pub fn is_public(address: IpAddr) -> bool {
    match address {
        IpAddr::V4(v4) => is_public_v4(v4),
        IpAddr::V6(v6) => match v6.to_ipv4_mapped() {
            Some(v4) => is_public_v4(v4),
            None => is_public_v6(v6),
        },
    }
}

/// IANA IPv4 special-purpose ranges, as (first octets, prefix length).
const SPECIAL_V4: &[([u8; 4], u8)] = &[
    ([0, 0, 0, 0], 8),       // "this network"
    ([10, 0, 0, 0], 8),      // private
    ([100, 64, 0, 0], 10),   // shared address space (carrier NAT)
    ([127, 0, 0, 0], 8),     // loopback
    ([169, 254, 0, 0], 16),  // link-local
    ([172, 16, 0, 0], 12),   // private
    ([192, 0, 0, 0], 24),    // IETF protocol assignments
    ([192, 0, 2, 0], 24),    // documentation
    ([192, 31, 196, 0], 24), // AS112
    ([192, 52, 193, 0], 24), // AMT
    ([192, 88, 99, 0], 24),  // deprecated 6to4 relay anycast
    ([192, 168, 0, 0], 16),  // private
    ([192, 175, 48, 0], 24), // AS112 direct delegation
    ([198, 18, 0, 0], 15),   // benchmarking
    ([198, 51, 100, 0], 24), // documentation
    ([203, 0, 113, 0], 24),  // documentation
    ([224, 0, 0, 0], 4),     // multicast
    ([240, 0, 0, 0], 4),     // reserved, and broadcast
];

fn is_public_v4(address: Ipv4Addr) -> bool {
    let bits = u32::from(address);
    !SPECIAL_V4.iter().any(|(network, prefix)| {
        let mask = u32::MAX.checked_shl(32 - u32::from(*prefix)).unwrap_or(0);
        bits & mask == u32::from(Ipv4Addr::from(*network)) & mask
    })
}

/// IANA IPv6 special-purpose ranges (and the transition forms that embed
/// an IPv4 address), as (first segments, prefix length).
const SPECIAL_V6: &[([u16; 8], u8)] = &[
    ([0, 0, 0, 0, 0, 0, 0, 0], 96), // unspecified, loopback, IPv4-compatible
    ([0x64, 0xff9b, 0, 0, 0, 0, 0, 0], 96), // NAT64
    ([0x64, 0xff9b, 1, 0, 0, 0, 0, 0], 48), // local-use NAT64
    ([0x100, 0, 0, 0, 0, 0, 0, 0], 64), // discard-only
    ([0x2001, 0, 0, 0, 0, 0, 0, 0], 23), // IETF protocol assignments, Teredo
    ([0x2001, 0xdb8, 0, 0, 0, 0, 0, 0], 32), // documentation
    ([0x2002, 0, 0, 0, 0, 0, 0, 0], 16), // 6to4
    ([0x3fff, 0, 0, 0, 0, 0, 0, 0], 20), // documentation
    ([0x5f00, 0, 0, 0, 0, 0, 0, 0], 16), // segment routing
    ([0xfc00, 0, 0, 0, 0, 0, 0, 0], 7), // unique local
    ([0xfe80, 0, 0, 0, 0, 0, 0, 0], 10), // link-local
    ([0xfec0, 0, 0, 0, 0, 0, 0, 0], 10), // deprecated site-local
    ([0xff00, 0, 0, 0, 0, 0, 0, 0], 8), // multicast
];

fn is_public_v6(address: Ipv6Addr) -> bool {
    let bits = u128::from(address);
    !SPECIAL_V6.iter().any(|(network, prefix)| {
        let mask = u128::MAX.checked_shl(128 - u32::from(*prefix)).unwrap_or(0);
        bits & mask == u128::from(Ipv6Addr::from(*network)) & mask
    })
}

/// The `Beacon-Signature` header of a delivery sent at `timestamp` (Unix
/// seconds): `t=<timestamp>,v1=<hex HMAC-SHA-256 of "<timestamp>.<body>">`.
/// Signing the timestamp with the body lets receivers refuse replays.
pub fn signature(secret: &str, timestamp: i64, body: &[u8]) -> String {
    format!("t={timestamp},v1={}", sign(secret, timestamp, body))
}

fn sign(secret: &str, timestamp: i64, body: &[u8]) -> String {
    let mut mac = Hmac::<Sha256>::new_from_slice(secret.as_bytes()).expect("any key length");
    mac.update(timestamp.to_string().as_bytes());
    mac.update(b".");
    mac.update(body);
    mac.finalize()
        .into_bytes()
        .iter()
        .map(|byte| format!("{byte:02x}"))
        .collect()
}

/// What a receiver does with the header: recompute and compare in constant
/// time. Beacon's tests verify deliveries with it, as receivers would.
pub fn verify(secret: &str, header: &str, body: &[u8]) -> bool {
    let mut timestamp = None;
    let mut given = None;
    for part in header.split(',') {
        match part.trim().split_once('=') {
            Some(("t", value)) => timestamp = value.parse::<i64>().ok(),
            Some(("v1", value)) => given = Some(value),
            _ => {}
        }
    }
    let (Some(timestamp), Some(given)) = (timestamp, given) else {
        return false;
    };
    let expected = sign(secret, timestamp, body);
    expected.len() == given.len()
        && expected
            .bytes()
            .zip(given.bytes())
            .fold(0u8, |difference, (a, b)| difference | (a ^ b))
            == 0
}

/// When to try again and when to stop.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RetryPolicy {
    /// The wait after the first failure; it doubles after each one.
    pub first_delay: Duration,
    /// The longest wait between two attempts.
    pub max_delay: Duration,
    /// How long after the delivery was created it is given up.
    pub give_up_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        RetryPolicy {
            first_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(3600),
            give_up_after: Duration::from_secs(24 * 3600),
        }
    }
}

impl RetryPolicy {
    /// The wait after failed attempt number `attempt` (1 for the first):
    /// exponential, capped, with "equal jitter" (half fixed, half random,
    /// `random` in 0..1) so receivers coming back up are not hit by every
    /// sender at the same instant.
    pub fn delay(&self, attempt: u32, random: f64) -> Duration {
        let exponent = attempt.saturating_sub(1).min(30);
        let full = self
            .first_delay
            .saturating_mul(1u32 << exponent)
            .min(self.max_delay);
        let half = full / 2;
        half + half.mul_f64(random.clamp(0.0, 1.0))
    }

    /// Whether a delivery `age` old whose next attempt would come `delay`
    /// later should be given up instead.
    pub fn gives_up(&self, age: Duration, delay: Duration) -> bool {
        age.saturating_add(delay) > self.give_up_after
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_types_round_trip() {
        for event in EventType::ALL {
            assert_eq!(EventType::parse(event.as_str()), Some(event));
        }
        assert_eq!(EventType::parse("seed-run"), Some(EventType::SeedRun));
        assert_eq!(EventType::parse("DELETED"), None);
    }

    #[test]
    fn only_public_http_urls_are_accepted() {
        for good in [
            "https://hooks.example.org/beacon",
            "http://93.184.216.34:8080/in",
            "https://[2606:4700::1111]/x",
            "http://[::ffff:93.184.216.34]/mapped",
            "http://192.0.3.1/",
        ] {
            assert!(check_url(good, false).is_ok(), "{good}");
        }
        let refused = [
            ("ftp://example.org/", UrlRefused::Scheme),
            ("javascript:alert(1)", UrlRefused::Scheme),
            ("not a url", UrlRefused::Invalid),
            ("https://user:pw@example.org/", UrlRefused::Credentials),
            ("http://127.0.0.1:9000/", UrlRefused::PrivateAddress),
            ("http://localhost/", UrlRefused::PrivateAddress),
            ("http://api.localhost./", UrlRefused::PrivateAddress),
            ("http://10.1.2.3/", UrlRefused::PrivateAddress),
            ("http://172.16.0.1/", UrlRefused::PrivateAddress),
            ("http://192.168.1.1/", UrlRefused::PrivateAddress),
            (
                "http://169.254.169.254/latest/meta-data",
                UrlRefused::PrivateAddress,
            ),
            ("http://100.64.0.1/", UrlRefused::PrivateAddress),
            ("http://0.0.0.0/", UrlRefused::PrivateAddress),
            ("http://[::1]/", UrlRefused::PrivateAddress),
            ("http://[fe80::1]/", UrlRefused::PrivateAddress),
            ("http://[fd00::1]/", UrlRefused::PrivateAddress),
            ("http://[::ffff:127.0.0.1]/", UrlRefused::PrivateAddress),
            // Decimal and hex forms of 127.0.0.1 are normalized by the parser.
            ("http://2130706433/", UrlRefused::PrivateAddress),
            ("http://0x7f.1/", UrlRefused::PrivateAddress),
            // IPv4 inside IPv6: compatible, NAT64, 6to4, Teredo.
            ("http://[::127.0.0.1]/", UrlRefused::PrivateAddress),
            ("http://[::8.8.8.8]/", UrlRefused::PrivateAddress),
            ("http://[64:ff9b::7f00:1]/", UrlRefused::PrivateAddress),
            ("http://[64:ff9b:1::a00:1]/", UrlRefused::PrivateAddress),
            ("http://[2002:7f00:1::1]/", UrlRefused::PrivateAddress),
            (
                "http://[2001:0:4136:e378:8000:63bf:3fff:fdd2]/",
                UrlRefused::PrivateAddress,
            ),
            // Other IANA special-purpose ranges.
            ("http://192.0.0.1/", UrlRefused::PrivateAddress),
            ("http://192.0.0.170/", UrlRefused::PrivateAddress),
            ("http://192.88.99.1/", UrlRefused::PrivateAddress),
            ("http://198.18.0.1/", UrlRefused::PrivateAddress),
            ("http://203.0.113.9/", UrlRefused::PrivateAddress),
            ("http://255.255.255.255/", UrlRefused::PrivateAddress),
            ("http://[100::1]/", UrlRefused::PrivateAddress),
            ("http://[3fff::1]/", UrlRefused::PrivateAddress),
            ("http://[fec0::1]/", UrlRefused::PrivateAddress),
            ("http://[ff02::1]/", UrlRefused::PrivateAddress),
        ];
        for (url, reason) in refused {
            assert_eq!(check_url(url, false).err(), Some(reason), "{url}");
        }
        assert!(check_url("http://127.0.0.1:9000/", true).is_ok());
    }

    #[test]
    fn signatures_verify_only_for_the_same_secret_time_and_body() {
        let header = signature("a-long-enough-secret", 1_700_000_000, b"{\"a\":1}");
        assert!(header.starts_with("t=1700000000,v1="));
        assert!(verify("a-long-enough-secret", &header, b"{\"a\":1}"));
        assert!(!verify("another-long-secret!", &header, b"{\"a\":1}"));
        assert!(!verify("a-long-enough-secret", &header, b"{\"a\":2}"));
        let replayed = header.replace("t=1700000000", "t=1700000001");
        assert!(!verify("a-long-enough-secret", &replayed, b"{\"a\":1}"));
        assert!(!verify("a-long-enough-secret", "garbage", b"{\"a\":1}"));
    }

    #[test]
    fn delays_double_up_to_the_cap_with_bounded_jitter() {
        let policy = RetryPolicy {
            first_delay: Duration::from_secs(10),
            max_delay: Duration::from_secs(60),
            give_up_after: Duration::from_secs(300),
        };
        assert_eq!(policy.delay(1, 0.0), Duration::from_secs(5));
        assert_eq!(policy.delay(1, 1.0), Duration::from_secs(10));
        assert_eq!(policy.delay(2, 1.0), Duration::from_secs(20));
        assert_eq!(policy.delay(3, 0.5), Duration::from_secs(30));
        assert_eq!(policy.delay(4, 1.0), Duration::from_secs(60));
        assert_eq!(policy.delay(40, 1.0), Duration::from_secs(60));
        assert!(!policy.gives_up(Duration::from_secs(200), Duration::from_secs(60)));
        assert!(policy.gives_up(Duration::from_secs(250), Duration::from_secs(60)));
    }
}
