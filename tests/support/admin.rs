//! The editor app as a browser without scripts uses it: a session cookie,
//! pages read as HTML, and forms sent back with the fields a browser would
//! send (hidden ones and the form token included).

use std::net::SocketAddr;

use reqwest::StatusCode;
use reqwest::header::{COOKIE, ORIGIN, SET_COOKIE};
use scraper::{Html, Selector};

use super::TestApp;
use beacon::domain::access::Role;

pub const PASSWORD: &str = "correct horse battery staple";

/// A client that shows redirects instead of following them.
pub fn client() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// Posts the sign-in form as a browser on `origin` would.
pub async fn sign_in(
    address: SocketAddr,
    origin: &str,
    email: &str,
    password: &str,
) -> reqwest::Response {
    client()
        .post(format!("http://{address}/admin/sign-in"))
        .header(ORIGIN, origin)
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .unwrap()
}

/// The session cookie a response sets, as `name=value`, and the whole
/// header.
pub fn session_cookie(response: &reqwest::Response) -> Option<(String, String)> {
    let header = response
        .headers()
        .get(SET_COOKIE)?
        .to_str()
        .ok()?
        .to_string();
    let pair = header.split(';').next()?.to_string();
    Some((pair, header))
}

/// The form token of the first form on `page`.
pub fn form_token(page: &str) -> String {
    page.split("name=\"_form\" value=\"")
        .nth(1)
        .and_then(|rest| rest.split('"').next())
        .unwrap_or_default()
        .to_string()
}

/// One person signed in to the app on one server.
#[derive(Clone)]
pub struct Session {
    pub address: SocketAddr,
    pub cookie: String,
}

impl Session {
    /// Creates the account (`email`, `role`, [`PASSWORD`]) and signs in.
    pub async fn open(app: &TestApp, address: SocketAddr, email: &str, role: Role) -> Session {
        let mut conn = app.database.connection().await.unwrap();
        beacon::identity::create_user(&mut conn, email, email, role, PASSWORD)
            .await
            .unwrap();
        drop(conn);
        let signed = sign_in(address, &format!("http://{address}"), email, PASSWORD).await;
        assert_eq!(signed.status(), StatusCode::SEE_OTHER);
        Session {
            address,
            cookie: session_cookie(&signed).unwrap().0,
        }
    }

    /// A server on a database with the seeds, and its first person signed
    /// in: how most admin tests begin.
    pub async fn on_seeded_server(email: &str, role: Role) -> (TestApp, Session) {
        let app = TestApp::seeded().await;
        let address = app.spawn_server().await;
        let session = Session::open(&app, address, email, role).await;
        (app, session)
    }

    pub fn origin(&self) -> String {
        format!("http://{}", self.address)
    }

    /// The page at `path` (which may carry a query), as this person.
    pub async fn get(&self, path: &str) -> (StatusCode, String) {
        let response = client()
            .get(format!("http://{}{path}", self.address))
            .header(COOKIE, &self.cookie)
            .send()
            .await
            .unwrap();
        (response.status(), response.text().await.unwrap())
    }

    /// Sends `fields` to `path` from this server's pages.
    pub async fn post(&self, path: &str, fields: &[(String, String)]) -> reqwest::Response {
        self.post_from(&self.origin(), path, fields).await
    }

    /// Sends `fields` to `path` as a page on `origin` would.
    pub async fn post_from(
        &self,
        origin: &str,
        path: &str,
        fields: &[(String, String)],
    ) -> reqwest::Response {
        client()
            .post(format!("http://{}{path}", self.address))
            .header(COOKIE, &self.cookie)
            .header(ORIGIN, origin)
            .form(fields)
            .send()
            .await
            .unwrap()
    }
}

/// A form read from a page: where it posts and what a browser would send
/// if submitted as it stands (checked boxes only, the text of text areas,
/// no buttons).
#[derive(Clone, Debug)]
pub struct Form {
    pub action: String,
    pub fields: Vec<(String, String)>,
}

impl Form {
    /// The first form on `page` matching the CSS `selector`.
    pub fn on(page: &str, selector: &str) -> Form {
        let html = Html::parse_document(page);
        let form = html
            .select(&Selector::parse(selector).unwrap())
            .next()
            .unwrap_or_else(|| panic!("no form {selector} on the page:\n{page}"));
        let controls = Selector::parse("input, textarea, select").unwrap();
        let mut fields = Vec::new();
        for control in form.select(&controls) {
            let element = control.value();
            let Some(name) = element.attr("name") else {
                continue;
            };
            if element.attr("disabled").is_some() {
                continue;
            }
            let value = match element.name() {
                "textarea" => control.text().collect::<String>(),
                "select" => control
                    .select(&Selector::parse("option[selected]").unwrap())
                    .next()
                    .and_then(|option| option.value().attr("value"))
                    .unwrap_or_default()
                    .to_string(),
                _ => {
                    let kind = element.attr("type").unwrap_or("text");
                    if matches!(kind, "checkbox" | "radio") && element.attr("checked").is_none() {
                        continue;
                    }
                    if matches!(kind, "submit" | "button" | "image" | "reset") {
                        continue;
                    }
                    element.attr("value").unwrap_or_default().to_string()
                }
            };
            fields.push((name.to_string(), value));
        }
        Form {
            action: form.value().attr("action").unwrap_or_default().to_string(),
            fields,
        }
    }

    /// The first value sent under `name`.
    pub fn value(&self, name: &str) -> Option<&str> {
        self.fields
            .iter()
            .find(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
    }

    /// Every value sent under `name`, in order.
    pub fn values(&self, name: &str) -> Vec<&str> {
        self.fields
            .iter()
            .filter(|(field, _)| field == name)
            .map(|(_, value)| value.as_str())
            .collect()
    }

    /// Sets `name` to one `value`, as typing into its box does.
    pub fn set(mut self, name: &str, value: &str) -> Form {
        match self.fields.iter_mut().find(|(field, _)| field == name) {
            Some((_, old)) => *old = value.to_string(),
            None => self.fields.push((name.to_string(), value.to_string())),
        }
        self
    }

    /// Adds a field, as pressing a submit button with a name does.
    pub fn with(mut self, name: &str, value: &str) -> Form {
        self.fields.push((name.to_string(), value.to_string()));
        self
    }

    /// Drops every value of `name` (unticking boxes).
    pub fn without(mut self, name: &str) -> Form {
        self.fields.retain(|(field, _)| field != name);
        self
    }

    /// Submits it as `session`.
    pub async fn submit(&self, session: &Session) -> reqwest::Response {
        session.post(&self.action, &self.fields).await
    }
}

/// The text of the first element matching `selector`, or `None`.
pub fn text_of(page: &str, selector: &str) -> Option<String> {
    let html = Html::parse_document(page);
    html.select(&Selector::parse(selector).unwrap())
        .next()
        .map(|element| element.text().collect::<String>())
}

/// The texts of every element matching `selector`.
pub fn texts_of(page: &str, selector: &str) -> Vec<String> {
    let html = Html::parse_document(page);
    html.select(&Selector::parse(selector).unwrap())
        .map(|element| element.text().collect::<String>().trim().to_string())
        .collect()
}
