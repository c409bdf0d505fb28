//! The editor app's session: the same session token `login` grants, kept in
//! a cookie the page's scripts cannot read, and the two checks every
//! state-changing request passes (it comes from this server's own pages,
//! and it carries the session's form token).

use axum::http::{HeaderMap, HeaderValue, header};

/// The cookie that holds the session token. Scoped to the app's paths, so
/// the API never sees it (the API takes bearer tokens only: a cookie there
/// would make every partner page a way to send an editor's requests).
pub const COOKIE: &str = "beacon_session";
const PATH: &str = "/admin";

/// The session token the request's cookie carries, if any.
pub fn token(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(name, _)| *name == COOKIE)
        .map(|(_, value)| value.trim().to_string())
        .filter(|value| !value.is_empty())
}

/// Whether the request reached us over HTTPS (directly or as a proxy says):
/// the cookie is then `Secure`, so it never travels in clear text.
fn over_https(headers: &HeaderMap) -> bool {
    headers
        .get("x-forwarded-proto")
        .and_then(|value| value.to_str().ok())
        .is_some_and(|proto| proto.eq_ignore_ascii_case("https"))
}

/// `Set-Cookie` for a session that lasts `max_age`: HttpOnly (no script
/// reads it), SameSite=Strict (no other site's page sends it), the app's
/// path only, Secure over HTTPS.
pub fn set(headers: &HeaderMap, token: &str, max_age: std::time::Duration) -> HeaderValue {
    let secure = if over_https(headers) { "; Secure" } else { "" };
    let cookie = format!(
        "{COOKIE}={token}; Path={PATH}; Max-Age={}; HttpOnly; SameSite=Strict{secure}",
        max_age.as_secs()
    );
    HeaderValue::from_str(&cookie).expect("tokens are ASCII")
}

/// `Set-Cookie` that removes the session cookie.
pub fn clear(headers: &HeaderMap) -> HeaderValue {
    let secure = if over_https(headers) { "; Secure" } else { "" };
    HeaderValue::from_str(&format!(
        "{COOKIE}=; Path={PATH}; Max-Age=0; HttpOnly; SameSite=Strict{secure}"
    ))
    .expect("ASCII")
}

/// Whether a state-changing request comes from a page of this server: its
/// `Origin` (or, when a browser sends none, its `Referer`) names the host
/// the request was sent to. A request naming neither is refused: every
/// browser that could carry the cookie sends one of them on a POST.
pub fn same_origin(headers: &HeaderMap) -> bool {
    let Some(host) = headers
        .get(header::HOST)
        .and_then(|value| value.to_str().ok())
    else {
        return false;
    };
    let source = headers
        .get(header::ORIGIN)
        .or_else(|| headers.get(header::REFERER))
        .and_then(|value| value.to_str().ok());
    let Some(source) = source else {
        return false;
    };
    let Ok(url) = url::Url::parse(source) else {
        return false;
    };
    let Some(source_host) = url.host_str() else {
        return false;
    };
    let source_authority = match url.port() {
        Some(port) => format!("{source_host}:{port}"),
        None => source_host.to_string(),
    };
    source_authority.eq_ignore_ascii_case(host)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &str)]) -> HeaderMap {
        let mut headers = HeaderMap::new();
        for (name, value) in pairs {
            headers.append(*name, HeaderValue::from_str(value).unwrap());
        }
        headers
    }

    #[test]
    fn only_this_servers_pages_may_post() {
        let host = ("host", "127.0.0.1:8080");
        assert!(same_origin(&headers(&[
            host,
            ("origin", "http://127.0.0.1:8080")
        ])));
        assert!(same_origin(&headers(&[
            host,
            ("referer", "http://127.0.0.1:8080/admin/sign-in")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://evil.example")
        ])));
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://127.0.0.1:9090")
        ])));
        assert!(!same_origin(&headers(&[host, ("origin", "null")])));
        assert!(!same_origin(&headers(&[host])), "neither header");
        // An Origin that disagrees is not rescued by a Referer that agrees.
        assert!(!same_origin(&headers(&[
            host,
            ("origin", "http://evil.example"),
            ("referer", "http://127.0.0.1:8080/admin")
        ])));
    }

    #[test]
    fn the_cookie_is_http_only_strict_and_secure_over_https() {
        let plain = set(
            &HeaderMap::new(),
            "s_abc",
            std::time::Duration::from_secs(60),
        );
        let plain = plain.to_str().unwrap();
        assert!(plain.contains("HttpOnly") && plain.contains("SameSite=Strict"));
        assert!(plain.contains("Path=/admin") && !plain.contains("Secure"));
        let https = set(
            &headers(&[("x-forwarded-proto", "https")]),
            "s_abc",
            std::time::Duration::from_secs(60),
        );
        assert!(https.to_str().unwrap().ends_with("; Secure"));
        assert_eq!(
            token(&headers(&[("cookie", "a=1; beacon_session=s_abc; b=2")])),
            Some("s_abc".to_string())
        );
        assert_eq!(token(&headers(&[("cookie", "beacon_session=")])), None);
    }
}
