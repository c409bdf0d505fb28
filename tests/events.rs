//! Events and operations: the outbox, webhook deliveries to a real local
//! receiver, live preview over WebSocket, metrics, and several `beacon
//! serve` processes sharing one database.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum::extract::State as AxumState;
use axum::http::{HeaderMap, StatusCode};
use beacon::db::outbox;
use beacon::domain::webhook::{self, EventType, RetryPolicy};
use beacon::editorial::{Arguments, Editorial};
use beacon::events::delivery::{DeliverySettings, Worker};
use beacon::events::webhooks::{self as service, NewWebhook};
use beacon::graphql::ids;
use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::workflow::State;

const SECRET: &str = "a webhook secret for tests";
/// Webhooks registered as the operator would, at the command line.
const OPERATOR: service::Admin<'static> = service::Admin {
    actor: &beacon::domain::access::Actor::Operator,
    request_id: None,
};
/// The key `support::test_identity` signs tokens with, for child servers.
const SERVER_SECRET: &str = "test key, test key, test key, test key";

/// One request a receiver got.
#[derive(Debug, Clone)]
struct Received {
    headers: HeaderMap,
    body: Vec<u8>,
}

impl Received {
    fn header(&self, name: &str) -> String {
        self.headers
            .get(name)
            .and_then(|value| value.to_str().ok())
            .unwrap_or_default()
            .to_string()
    }

    fn json(&self) -> Value {
        serde_json::from_slice(&self.body).unwrap()
    }
}

#[derive(Default)]
struct Behaviour {
    received: Mutex<Vec<Received>>,
    /// Answer 500 to this many requests first.
    failures_left: AtomicUsize,
    /// Hold requests without answering while set.
    hang: AtomicBool,
    /// Take half a second to answer: long enough for another server to
    /// look for due deliveries meanwhile.
    slow: AtomicBool,
}

/// A webhook receiver on a real loopback socket.
struct Receiver {
    address: SocketAddr,
    behaviour: Arc<Behaviour>,
}

impl Receiver {
    async fn start() -> Receiver {
        let behaviour = Arc::new(Behaviour::default());
        let router = axum::Router::new()
            .route("/hook", axum::routing::post(receive))
            .with_state(behaviour.clone());
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let address = listener.local_addr().unwrap();
        tokio::spawn(async move { axum::serve(listener, router).await.unwrap() });
        Receiver { address, behaviour }
    }

    fn url(&self) -> String {
        format!("http://{}/hook", self.address)
    }

    fn received(&self) -> Vec<Received> {
        self.behaviour.received.lock().unwrap().clone()
    }

    /// Waits until at least `count` requests came in.
    async fn wait_for(&self, count: usize, timeout: Duration) -> Vec<Received> {
        let deadline = Instant::now() + timeout;
        loop {
            let received = self.received();
            if received.len() >= count || Instant::now() > deadline {
                return received;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
}

async fn receive(
    AxumState(behaviour): AxumState<Arc<Behaviour>>,
    headers: HeaderMap,
    body: axum::body::Bytes,
) -> (StatusCode, &'static str) {
    behaviour.received.lock().unwrap().push(Received {
        headers,
        body: body.to_vec(),
    });
    while behaviour.hang.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    if behaviour.slow.load(Ordering::SeqCst) {
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let failing = behaviour
        .failures_left
        .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |left| {
            left.checked_sub(1)
        })
        .is_ok();
    if failing {
        (StatusCode::INTERNAL_SERVER_ERROR, "not now")
    } else {
        (StatusCode::OK, "thanks")
    }
}

async fn register(app: &TestApp, url: &str, events: &[EventType]) -> uuid::Uuid {
    let mut conn = app.database.connection().await.unwrap();
    service::create(
        &mut conn,
        OPERATOR,
        &NewWebhook {
            url,
            events,
            secret: SECRET,
            description: "test receiver",
        },
        true,
    )
    .await
    .unwrap()
    .id
}

fn fast_settings() -> DeliverySettings {
    DeliverySettings {
        retry: RetryPolicy {
            first_delay: Duration::from_millis(40),
            max_delay: Duration::from_millis(200),
            give_up_after: Duration::from_secs(60),
        },
        timeout: Duration::from_secs(5),
        poll_interval: Duration::from_millis(50),
        concurrency: 8,
        allow_private: true,
        retention: Some(Duration::from_secs(30 * 24 * 3600)),
    }
}

/// A delivery worker on the test's database, driven by the test.
fn worker(app: &TestApp, settings: DeliverySettings) -> Worker {
    Worker::new(
        app.database.pool.clone(),
        settings,
        beacon::metrics::Metrics::default(),
    )
    .unwrap()
}

/// Every delivery row and its attempts, as `(state, [status or error])`.
async fn deliveries(app: &TestApp, event: uuid::Uuid) -> Vec<(String, Vec<String>)> {
    let mut conn = app.database.connection().await.unwrap();
    let rows = outbox::deliveries_of_events(&mut conn, &[event])
        .await
        .unwrap();
    let mut out = Vec::new();
    for row in rows {
        let attempts = outbox::attempts_of(&mut conn, &[row.id]).await.unwrap();
        out.push((
            row.state,
            attempts
                .iter()
                .map(|attempt| match attempt.status_code {
                    Some(code) => code.to_string(),
                    None => attempt.error.clone().unwrap_or_default(),
                })
                .collect(),
        ));
    }
    out
}

async fn events_of(app: &TestApp) -> Vec<outbox::EventRow> {
    let mut conn = app.database.connection().await.unwrap();
    outbox::list_events(&mut conn, None, None, 1000)
        .await
        .unwrap()
}

#[tokio::test]
async fn publishing_writes_its_event_in_the_same_transaction_and_nothing_else_does() {
    let app = TestApp::new().await;
    let receiver = Receiver::start().await;
    let webhook = register(&app, &receiver.url(), &EventType::ALL).await;

    // Drafts, review and approval are not events.
    let approved = app.tag_in(State::Approved).await;
    assert!(events_of(&app).await.is_empty());

    // A refused publish (stale version) writes nothing.
    let who = app.admin_who().await;
    let editorial = Editorial::default();
    let (_, id) = ids::decode(&approved.id).unwrap();
    let mut conn = app.database.connection().await.unwrap();
    let stale = editorial
        .act(
            &mut conn,
            &who,
            id,
            Some(approved.version + 5),
            beacon::domain::workflow::WorkflowAction::Publish,
            Arguments::default(),
        )
        .await;
    assert!(stale.is_err());
    assert!(events_of(&app).await.is_empty());

    editorial
        .act(
            &mut conn,
            &who,
            id,
            Some(approved.version),
            beacon::domain::workflow::WorkflowAction::Publish,
            Arguments::default(),
        )
        .await
        .unwrap();
    let events = events_of(&app).await;
    assert_eq!(events.len(), 1);
    let event = &events[0];
    assert_eq!(event.event_type, "PUBLISHED");
    assert_eq!(event.payload["type"], "PUBLISHED");
    assert_eq!(event.payload["id"], event.id.to_string());
    assert_eq!(event.payload["item"]["id"], approved.id);
    assert_eq!(event.payload["item"]["kind"], "Tag");
    assert_eq!(event.payload["item"]["version"], 1);
    assert!(
        event.payload["snapshot"]["name"]
            .as_str()
            .unwrap()
            .starts_with("Tag ")
    );
    assert_eq!(event.payload["actor"], who.actor.label());
    // Its delivery was queued with it.
    let queued = deliveries(&app, event.id).await;
    assert_eq!(queued, vec![("PENDING".to_string(), vec![])]);

    // Unpublishing and archiving are events too, with what the public saw;
    // archiving what the public no longer sees changes nothing public.
    for action in [
        beacon::domain::workflow::WorkflowAction::Unpublish,
        beacon::domain::workflow::WorkflowAction::Archive,
    ] {
        editorial
            .act(&mut conn, &who, id, None, action, Arguments::default())
            .await
            .unwrap();
    }
    let other = app.tag_in(State::Published).await;
    let (_, other_id) = ids::decode(&other.id).unwrap();
    editorial
        .act(
            &mut conn,
            &who,
            other_id,
            None,
            beacon::domain::workflow::WorkflowAction::Archive,
            Arguments::default(),
        )
        .await
        .unwrap();
    let events = events_of(&app).await;
    let types: Vec<&str> = events
        .iter()
        .map(|event| event.event_type.as_str())
        .collect();
    assert_eq!(types, ["ARCHIVED", "PUBLISHED", "UNPUBLISHED", "PUBLISHED"]);
    assert_eq!(events[0].payload["item"]["id"], other.id);
    assert_eq!(
        events[0].payload["snapshot"]["slug"],
        events[1].payload["snapshot"]["slug"]
    );

    // A seed run is one event listing what it changed.
    app.seed(&[crate::support::repo_path("seeds")])
        .await
        .unwrap();
    let seed_event = &events_of(&app).await[0];
    assert_eq!(seed_event.event_type, "SEED_RUN");
    let items = seed_event.payload["items"].as_array().unwrap();
    assert!(items.len() > 10, "{}", seed_event.payload);
    assert!(
        items
            .iter()
            .any(|item| item["slug"] == "community-trust-and-partnerships")
    );
    assert_eq!(seed_event.payload["itemsTruncated"], false);
    // Loading the same seeds again changes nothing and lists nothing.
    app.seed(&[crate::support::repo_path("seeds")])
        .await
        .unwrap();
    assert_eq!(events_of(&app).await[0].payload["items"], json!([]));

    // One delivery per event; a disabled webhook is sent nothing new.
    let mut conn = app.database.connection().await.unwrap();
    outbox::set_webhook_enabled(&mut conn, webhook, false)
        .await
        .unwrap();
    app.tag_in(State::Published).await;
    assert_eq!(events_of(&app).await.len(), 7);
    let total: i64 = {
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        beacon::db::schema::webhook_deliveries::table
            .count()
            .get_result(&mut conn)
            .await
            .unwrap()
    };
    assert_eq!(total, 6, "one delivery per event while it was enabled");
}

#[tokio::test]
async fn a_failing_receiver_gets_the_event_again_after_each_failure_then_succeeds() {
    let app = TestApp::new().await;
    let receiver = Receiver::start().await;
    receiver.behaviour.failures_left.store(3, Ordering::SeqCst);
    register(&app, &receiver.url(), &[EventType::Published]).await;
    app.tag_in(State::Published).await;
    let event = events_of(&app).await[0].clone();

    let worker = worker(&app, fast_settings());
    let deadline = Instant::now() + Duration::from_secs(20);
    while receiver.received().len() < 4 && Instant::now() < deadline {
        worker.run_due().await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    // Nothing more once delivered.
    tokio::time::sleep(Duration::from_millis(300)).await;
    worker.run_due().await.unwrap();

    let received = receiver.received();
    assert_eq!(received.len(), 4, "three failures and one success");
    for (index, request) in received.iter().enumerate() {
        assert_eq!(request.header("beacon-event-id"), event.id.to_string());
        assert_eq!(request.header("beacon-event-type"), "PUBLISHED");
        assert_eq!(
            request.header("beacon-delivery-attempt"),
            (index + 1).to_string()
        );
        assert_eq!(request.header("content-type"), "application/json");
        // The signature verifies as a receiver would check it, and the
        // timestamp it signs is the one sent.
        let signature = request.header("beacon-signature");
        assert!(webhook::verify(SECRET, &signature, &request.body));
        assert!(signature.starts_with(&format!("t={},", request.header("beacon-timestamp"))));
        assert!(!webhook::verify(
            "another secret entirely",
            &signature,
            &request.body
        ));
        assert_eq!(request.json(), event.payload);
    }
    assert_eq!(
        deliveries(&app, event.id).await,
        vec![(
            "DELIVERED".to_string(),
            vec!["500".into(), "500".into(), "500".into(), "200".into()]
        )]
    );
    // Each attempt records its latency and the receiver's answer.
    let mut conn = app.database.connection().await.unwrap();
    let delivery = outbox::deliveries_of_events(&mut conn, &[event.id])
        .await
        .unwrap()
        .remove(0);
    let attempts = outbox::attempts_of(&mut conn, &[delivery.id])
        .await
        .unwrap();
    assert_eq!(attempts[0].response_excerpt.as_deref(), Some("not now"));
    assert_eq!(attempts[3].response_excerpt.as_deref(), Some("thanks"));
    assert!(
        attempts
            .windows(2)
            .all(|pair| pair[0].attempted_at < pair[1].attempted_at)
    );
}

#[tokio::test]
async fn a_delivery_failing_too_long_is_given_up_and_an_admin_can_redeliver_it() {
    let app = TestApp::new().await;
    let receiver = Receiver::start().await;
    receiver
        .behaviour
        .failures_left
        .store(usize::MAX, Ordering::SeqCst);
    register(&app, &receiver.url(), &[EventType::Published]).await;
    app.tag_in(State::Published).await;
    let event = events_of(&app).await[0].clone();
    let mut settings = fast_settings();
    settings.retry.give_up_after = Duration::from_millis(400);
    let worker = worker(&app, settings);
    let deadline = Instant::now() + Duration::from_secs(10);
    while deliveries(&app, event.id).await[0].0 == "PENDING" && Instant::now() < deadline {
        worker.run_due().await.unwrap();
        tokio::time::sleep(Duration::from_millis(30)).await;
    }
    let given_up = deliveries(&app, event.id).await;
    assert_eq!(given_up[0].0, "FAILED");
    assert!(given_up[0].1.len() >= 2, "{given_up:?}");

    // The admin API shows it and redelivers it; the receiver is back.
    receiver.behaviour.failures_left.store(0, Ordering::SeqCst);
    let admin = app.sign_in_as(beacon::domain::access::Role::Admin).await;
    let listed = app
        .query_as(
            &admin,
            "{ events(type: PUBLISHED) { id type deliveries { state attemptCount attempts { statusCode } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["events"][0]["id"], event.id.to_string());
    assert_eq!(listed["events"][0]["deliveries"][0]["state"], "FAILED");
    let redelivered = app
        .query_as(
            &admin,
            "mutation($id: ID!) { redeliver(eventId: $id) }",
            json!({ "id": event.id.to_string() }),
        )
        .await;
    assert_eq!(redelivered["redeliver"], 1);
    let before = receiver.received().len();
    worker.run_due().await.unwrap();
    assert_eq!(receiver.received().len(), before + 1);
    let after = deliveries(&app, event.id).await;
    assert_eq!(after.len(), 2);
    assert_eq!(after[1], ("DELIVERED".to_string(), vec!["200".to_string()]));
    // The same event id: receivers can tell it is a repeat.
    assert_eq!(
        receiver
            .received()
            .last()
            .unwrap()
            .header("beacon-event-id"),
        event.id.to_string()
    );

    // Unknown ids are NOT_FOUND and queue nothing.
    let (_, body) = app
        .post_as(
            Some(&admin),
            "mutation($id: ID!) { redeliver(eventId: $id) }",
            json!({ "id": uuid::Uuid::now_v7().to_string() }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "NOT_FOUND");
}

#[tokio::test]
async fn webhooks_are_for_admins_and_refuse_private_addresses_unless_allowed() {
    let app = TestApp::new().await;
    let create = "mutation($url: String!) { createWebhook(url: $url, events: [PUBLISHED], description: \"site\") { secret webhook { id url events enabled } } }";
    let editor = app
        .sign_in_as(beacon::domain::access::Role::Publisher)
        .await;
    let (_, body) = app
        .post_as(
            Some(&editor),
            create,
            json!({ "url": "https://hooks.example.org/x" }),
        )
        .await;
    assert_eq!(body["errors"][0]["extensions"]["code"], "FORBIDDEN");

    let admin = app.sign_in_as(beacon::domain::access::Role::Admin).await;
    for (url, field) in [
        ("http://127.0.0.1:9/hook", "url"),
        ("http://169.254.169.254/latest", "url"),
        ("http://localhost/hook", "url"),
        ("ftp://example.org/", "url"),
    ] {
        let (_, body) = app
            .post_as(Some(&admin), create, json!({ "url": url }))
            .await;
        let error = &body["errors"][0];
        assert_eq!(
            error["extensions"]["code"], "VALIDATION_FAILED",
            "{url}: {body}"
        );
        assert_eq!(error["extensions"]["field"], field);
        // Errors carry the request id, as the audit log and logs do.
        assert!(
            error["extensions"]["requestId"]
                .as_str()
                .is_some_and(|id| !id.is_empty())
        );
    }
    let mut conn = app.database.connection().await.unwrap();
    assert!(outbox::list_webhooks(&mut conn).await.unwrap().is_empty());

    let created = app
        .query_as(
            &admin,
            create,
            json!({ "url": "https://hooks.example.org/x" }),
        )
        .await;
    let secret = created["createWebhook"]["secret"].as_str().unwrap();
    assert!(secret.starts_with("whsec_") && secret.len() > 40);
    let id = created["createWebhook"]["webhook"]["id"].as_str().unwrap();
    let listed = app
        .query_as(
            &admin,
            "{ webhooks { id url events enabled description } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["webhooks"][0]["id"], id);
    assert_eq!(listed["webhooks"][0]["events"], json!(["PUBLISHED"]));
    // The secret is never shown again.
    assert!(!listed.to_string().contains(secret));
    let disabled = app
        .query_as(
            &admin,
            "mutation($id: ID!) { setWebhookEnabled(id: $id, enabled: false) { enabled } }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(disabled["setWebhookEnabled"]["enabled"], false);
    let deleted = app
        .query_as(
            &admin,
            "mutation($id: ID!) { deleteWebhook(id: $id) }",
            json!({ "id": id }),
        )
        .await;
    assert_eq!(deleted["deleteWebhook"], true);
    let listed = app.query_as(&admin, "{ webhooks { id } }", json!({})).await;
    assert_eq!(listed["webhooks"], json!([]));

    // A worker that does not allow private addresses refuses to deliver
    // to one even when it was registered (say, by a server that did).
    let receiver = Receiver::start().await;
    register(&app, &receiver.url(), &[EventType::Published]).await;
    app.tag_in(State::Published).await;
    let mut settings = fast_settings();
    settings.allow_private = false;
    let worker = worker(&app, settings);
    worker.run_due().await.unwrap();
    assert!(receiver.received().is_empty());
    let event = events_of(&app).await[0].id;
    let attempts = deliveries(&app, event).await;
    assert!(
        attempts[0].1[0].contains("private"),
        "the attempt says why: {attempts:?}"
    );
}

/// A `beacon serve` process on the test's database.
struct Process {
    child: tokio::process::Child,
    port: u16,
    /// Where its `--metrics-bind` listener is.
    metrics_port: u16,
}

impl Process {
    async fn start(database_url: &str, extra: &[&str]) -> Process {
        Process::start_with(database_url, extra, std::process::Stdio::null()).await
    }

    async fn start_with(
        database_url: &str,
        extra: &[&str],
        stderr: std::process::Stdio,
    ) -> Process {
        Process::start_in(database_url, extra, stderr, &[]).await
    }

    /// With these environment variables besides the usual ones.
    async fn start_in(
        database_url: &str,
        extra: &[&str],
        stderr: std::process::Stdio,
        environment: &[(&str, &str)],
    ) -> Process {
        let free_port = || {
            std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port()
        };
        let (port, metrics_port) = (free_port(), free_port());
        let child = tokio::process::Command::new(env!("CARGO_BIN_EXE_beacon"))
            .current_dir(crate::support::repo_path(""))
            .env("DATABASE_URL", database_url)
            .env("BEACON_SECRET", SERVER_SECRET)
            .env("BEACON_LOG", "warn")
            .env("BEACON_WEBHOOK_ALLOW_PRIVATE", "1")
            .envs(environment.iter().copied())
            .args(["serve", "--no-seed", "--bind", &format!("127.0.0.1:{port}")])
            .args(["--metrics-bind", &format!("127.0.0.1:{metrics_port}")])
            .args(extra)
            .stdout(std::process::Stdio::null())
            .stderr(stderr)
            .kill_on_drop(true)
            .spawn()
            .unwrap();
        let process = Process {
            child,
            port,
            metrics_port,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if let Ok(response) = reqwest::get(process.url("/readyz")).await
                && response.status() == 200
            {
                return process;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("beacon serve did not come up");
    }

    fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{path}", self.port)
    }

    async fn kill(mut self) {
        self.child.kill().await.unwrap();
    }

    async fn graphql(&self, token: &str, query: &str, variables: Value) -> Value {
        reqwest::Client::new()
            .post(self.url("/graphql"))
            .bearer_auth(token)
            .json(&json!({ "query": query, "variables": variables }))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

#[tokio::test]
async fn two_servers_publish_a_scheduled_item_and_deliver_its_webhook_exactly_once() {
    let app = TestApp::new().await;
    let receiver = Receiver::start().await;
    receiver.behaviour.slow.store(true, Ordering::SeqCst);
    register(&app, &receiver.url(), &[EventType::Published]).await;
    let fast = [
        "--scheduler-interval",
        "100ms",
        "--webhook-poll-interval",
        "100ms",
    ];
    let first = Process::start(app.database.url(), &fast).await;
    let second = Process::start(app.database.url(), &fast).await;

    let items = [
        app.tag_in(State::Approved).await,
        app.tag_in(State::Approved).await,
        app.tag_in(State::Approved).await,
    ];
    let who = app.admin_who().await;
    let at = chrono::Utc::now() + chrono::TimeDelta::milliseconds(1500);
    let mut conn = app.database.connection().await.unwrap();
    for item in &items {
        let (_, id) = ids::decode(&item.id).unwrap();
        Editorial::default()
            .act(
                &mut conn,
                &who,
                id,
                Some(item.version),
                beacon::domain::workflow::WorkflowAction::SchedulePublish,
                Arguments {
                    at: Some(at),
                    ..Default::default()
                },
            )
            .await
            .unwrap();
    }
    let received = receiver.wait_for(3, Duration::from_secs(30)).await;
    assert_eq!(received.len(), 3);
    let events = crate::support::wait::until(
        "three events with their deliveries recorded",
        Duration::from_secs(30),
        || async {
            let events = events_of(&app).await;
            let mut recorded = events.len() == 3;
            for event in &events {
                recorded &= deliveries(&app, event.id).await[0].0 != "PENDING";
            }
            recorded.then_some(events)
        },
    )
    .await;
    // Time for a duplicate to show, if there were one: the absence of a
    // request can only be waited out.
    tokio::time::sleep(Duration::from_secs(1)).await;
    let received = receiver.received();
    let mut published: Vec<String> = received
        .iter()
        .map(|request| request.json()["item"]["id"].as_str().unwrap().to_string())
        .collect();
    published.sort();
    let mut expected: Vec<String> = items.iter().map(|item| item.id.clone()).collect();
    expected.sort();
    assert_eq!(
        published, expected,
        "each item published and delivered once"
    );
    for event in &events {
        assert_eq!(event.payload["actor"], "scheduler");
        assert_eq!(
            deliveries(&app, event.id).await,
            vec![("DELIVERED".to_string(), vec!["200".to_string()])]
        );
    }
    drop((first, second));
}

#[tokio::test]
async fn deliveries_in_flight_when_a_server_is_killed_are_made_after_a_restart() {
    let app = TestApp::new().await;
    let receiver = Receiver::start().await;
    register(&app, &receiver.url(), &[EventType::Published]).await;
    for _ in 0..3 {
        app.tag_in(State::Published).await;
    }
    receiver.behaviour.hang.store(true, Ordering::SeqCst);
    let settings = ["--webhook-timeout", "1s", "--webhook-retry-delay", "100ms"];
    let server = Process::start(app.database.url(), &settings).await;
    // The server took all three and is waiting for answers: kill it.
    let in_flight = receiver.wait_for(3, Duration::from_secs(20)).await;
    assert_eq!(in_flight.len(), 3);
    server.kill().await;
    receiver.behaviour.hang.store(false, Ordering::SeqCst);
    let before_restart = receiver.received().len();

    let restarted = Process::start(app.database.url(), &settings).await;
    let received = receiver
        .wait_for(before_restart + 3, Duration::from_secs(20))
        .await;
    let mut redelivered: Vec<String> = received[before_restart..]
        .iter()
        .map(|request| request.header("beacon-event-id"))
        .collect();
    redelivered.sort();
    let mut expected: Vec<String> = events_of(&app)
        .await
        .iter()
        .map(|event| event.id.to_string())
        .collect();
    expected.sort();
    assert_eq!(
        redelivered, expected,
        "every event delivered after the restart"
    );
    // The receiver saw the requests before the server recorded their
    // answers: wait for the record, which is what this test is about.
    for event in &expected {
        let event = event.parse().unwrap();
        let states = crate::support::wait::until(
            "every delivery to be recorded as made after the restart",
            Duration::from_secs(30),
            || async {
                let states = deliveries(&app, event).await;
                (states[0].0 != "PENDING").then_some(states)
            },
        )
        .await;
        assert_eq!(states[0].0, "DELIVERED", "{states:?}");
    }
    drop(restarted);
}

#[tokio::test]
async fn a_subscription_hears_a_change_made_through_another_server() {
    let app = TestApp::new().await;
    let listening = Process::start(app.database.url(), &["--subscription-recheck", "200ms"]).await;
    let other = Process::start(app.database.url(), &[]).await;
    let mut conn = app.database.connection().await.unwrap();
    let (subscriber, editor) = app
        .identity
        .create_api_token(
            &mut conn,
            "subscriber",
            beacon::domain::access::Role::Editor,
            None,
            None,
        )
        .await
        .unwrap();
    let partner = app.api_token(beacon::domain::access::Role::Partner).await;
    let ws_url = format!("ws://127.0.0.1:{}/graphql", listening.port);

    // A bad token on the upgrade request is refused like on any request.
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut bad = ws_url.as_str().into_client_request().unwrap();
    bad.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    bad.headers_mut()
        .insert("authorization", "Bearer bcn_pat_bogus".parse().unwrap());
    match tokio_tungstenite::connect_async(bad).await {
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            assert_eq!(response.status(), 401)
        }
        other => panic!("a bad token opened a socket: {other:?}"),
    }

    // Anonymous connections are refused at connection_init.
    let mut anonymous = connect(&ws_url).await;
    anonymous
        .send(text(json!({ "type": "connection_init" })))
        .await
        .unwrap();
    let (code, reason) = close_frame(&mut anonymous).await;
    assert_eq!(code, 4401, "{reason}");
    assert!(reason.contains("need credentials"), "{reason}");

    // So is a token that is not valid.
    let mut bogus = connect(&ws_url).await;
    bogus
        .send(text(json!({ "type": "connection_init", "payload": { "Authorization": "Bearer bcn_pat_bogus" } })))
        .await
        .unwrap();
    let (code, reason) = close_frame(&mut bogus).await;
    assert_eq!(code, 4401, "{reason}");

    // A partner token may connect but not preview.
    let mut partner_socket = connect(&ws_url).await;
    init(&mut partner_socket, &partner).await;
    subscribe(
        &mut partner_socket,
        "1",
        "subscription { contentChanged { id } }",
    )
    .await;
    let answer = next_json(&mut partner_socket).await;
    assert_eq!(
        answer["payload"]["errors"][0]["extensions"]["code"], "FORBIDDEN",
        "{answer}"
    );

    // Queries are for HTTP.
    let mut editor_socket = connect(&ws_url).await;
    init(&mut editor_socket, &editor).await;
    subscribe(&mut editor_socket, "q", "{ topics { name } }").await;
    let answer = next_json(&mut editor_socket).await;
    assert!(
        answer.to_string().contains("OPERATION_NOT_ALLOWED"),
        "{answer}"
    );
    assert_eq!(next_json(&mut editor_socket).await["type"], "complete");

    subscribe(
        &mut editor_socket,
        "2",
        "subscription { contentChanged(kinds: [TAG]) { id kind action status version actor } }",
    )
    .await;
    // The protocol does not say when a subscription is listening: make
    // changes until one is heard (a change made before it listened is not).
    let mut created = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(30);
    let change = loop {
        assert!(
            Instant::now() < deadline,
            "gave up waiting for the subscription to hear a change made through the other server"
        );
        let answer = other
            .graphql(
                &editor,
                "mutation($n: String!) { createTag(input: { name: $n }) { id version } }",
                json!({ "n": format!("Live preview {}", created.len()) }),
            )
            .await;
        created.push(
            answer["data"]["createTag"]["id"]
                .as_str()
                .unwrap()
                .to_string(),
        );
        if let Ok(change) =
            tokio::time::timeout(Duration::from_millis(500), next_json(&mut editor_socket)).await
        {
            break change;
        }
    };
    let payload = &change["payload"]["data"]["contentChanged"];
    assert!(created.iter().any(|id| payload["id"] == *id), "{payload}");
    assert_eq!(payload["kind"], "TAG");
    assert_eq!(payload["action"], "create");
    assert_eq!(payload["status"], "DRAFT");
    assert_eq!(payload["version"], 1);
    assert!(payload["actor"].as_str().unwrap().starts_with("token:"));

    // Its token revoked, the subscription ends at the next change after
    // its re-check interval.
    beacon::db::identity::revoke_api_token(&mut conn, subscriber.id)
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(300)).await;
    let colleague = app.api_token(beacon::domain::access::Role::Editor).await;
    other
        .graphql(
            &colleague,
            "mutation { createTag(input: { name: \"After revocation\" }) { id } }",
            json!({}),
        )
        .await;
    // Changes made while it was being heard may still be queued ahead of
    // the end.
    let ended = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let message = next_json(&mut editor_socket).await;
            if message["type"] != "next" {
                return message;
            }
        }
    })
    .await
    .expect("the subscription ends");
    assert_eq!(ended, json!({ "id": "2", "type": "complete" }));
}

type Socket =
    tokio_tungstenite::WebSocketStream<tokio_tungstenite::MaybeTlsStream<tokio::net::TcpStream>>;

async fn connect(url: &str) -> Socket {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    tokio_tungstenite::connect_async(request).await.unwrap().0
}

fn text(value: Value) -> tokio_tungstenite::tungstenite::Message {
    tokio_tungstenite::tungstenite::Message::Text(value.to_string().into())
}

/// The code and reason of the frame that closes `socket`.
async fn close_frame(socket: &mut Socket) -> (u16, String) {
    use tokio_tungstenite::tungstenite::Message;
    loop {
        match tokio::time::timeout(Duration::from_secs(10), socket.next()).await {
            Ok(Some(Ok(Message::Close(Some(frame))))) => {
                return (frame.code.into(), frame.reason.to_string());
            }
            Ok(Some(Ok(Message::Close(None)))) | Ok(None) => panic!("closed with no code"),
            Ok(Some(Ok(_))) => continue,
            Ok(Some(Err(error))) => panic!("socket failed: {error}"),
            Err(_) => panic!("not closed within 10 s"),
        }
    }
}

async fn init(socket: &mut Socket, token: &str) {
    socket
        .send(text(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })))
        .await
        .unwrap();
    assert_eq!(next_json(socket).await["type"], "connection_ack");
}

async fn subscribe(socket: &mut Socket, id: &str, query: &str) {
    socket
        .send(text(
            json!({ "id": id, "type": "subscribe", "payload": { "query": query } }),
        ))
        .await
        .unwrap();
}

async fn next_json(socket: &mut Socket) -> Value {
    loop {
        match socket.next().await {
            Some(Ok(tokio_tungstenite::tungstenite::Message::Text(text))) => {
                let value: Value = serde_json::from_str(&text).unwrap();
                if value["type"] != "ping" && value["type"] != "pong" {
                    return value;
                }
            }
            Some(Ok(_)) => continue,
            other => panic!("the socket ended: {other:?}"),
        }
    }
}

#[tokio::test]
async fn metrics_report_requests_statements_pool_and_the_outbox() {
    let app = TestApp::new().await;
    let server = Process::start(app.database.url(), &[]).await;
    let client = reqwest::Client::new();
    for _ in 0..3 {
        let response = client
            .post(server.url("/graphql"))
            .json(&json!({ "query": "query TopicList { topics { name } }" }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200);
    }
    client
        .post(server.url("/graphql"))
        .json(&json!({ "query": "{ nope }" }))
        .send()
        .await
        .unwrap();
    // Refused before any operation was read: a form post.
    let form = client
        .post(server.url("/graphql"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body("query=%7Btopics%7Bname%7D%7D")
        .send()
        .await
        .unwrap();
    assert_eq!(form.status(), 415);
    // Not on the API's listener: the figures name editors' operations.
    let public = client.get(server.url("/metrics")).send().await.unwrap();
    assert_eq!(public.status(), 404);
    let text = client
        .get(format!("http://127.0.0.1:{}/metrics", server.metrics_port))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let value = |prefix: &str| -> f64 {
        text.lines()
            .find(|line| line.starts_with(prefix))
            .and_then(|line| line.rsplit(' ').next())
            .and_then(|number| number.parse().ok())
            .unwrap_or_else(|| panic!("no {prefix} in\n{text}"))
    };
    assert_eq!(
        value("beacon_graphql_requests_total{operation=\"TopicList\",outcome=\"ok\"}"),
        3.0
    );
    assert_eq!(
        value("beacon_graphql_requests_total{operation=\"anonymous\",outcome=\"request_error\"}"),
        1.0
    );
    assert_eq!(
        value("beacon_graphql_requests_total{operation=\"unread\",outcome=\"refused\"}"),
        1.0
    );
    assert_eq!(
        value("beacon_graphql_request_duration_seconds_count{operation=\"TopicList\"}"),
        3.0
    );
    // One statement per `topics` request.
    assert_eq!(value("beacon_graphql_sql_statements_sum"), 3.0);
    assert!(value("beacon_db_pool_connections") >= 1.0);
    assert_eq!(value("beacon_webhook_deliveries_pending"), 0.0);
    assert!(text.contains("beacon_scheduler_runs_total{outcome=\"ok\"}"));
    assert!(text.ends_with("# EOF\n"));
}

#[tokio::test]
async fn published_reads_go_to_the_replica_and_everything_else_to_the_primary() {
    // A different database stands in for the replica, so the test can tell
    // which one answered.
    let primary = TestApp::new().await;
    let replica = TestApp::new().await;
    let on_primary = primary.tag_in(State::Published).await;
    let on_replica = replica.tag_in(State::Published).await;
    let server = Process::start(
        primary.database.url(),
        &["--read-database-url", replica.database.url()],
    )
    .await;
    let editor = primary
        .api_token(beacon::domain::access::Role::Editor)
        .await;
    let client = reqwest::Client::new();
    let anonymous: Value = client
        .post(server.url("/graphql"))
        .json(&json!({
            "query": "query($id: ID!) { tags { id } node(id: $id) { id } }",
            "variables": { "id": on_replica.id },
        }))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        anonymous["data"],
        json!({ "tags": [{ "id": on_replica.id }], "node": { "id": on_replica.id } }),
        "{anonymous}"
    );
    // Credentials are checked on the primary; previews read it.
    let preview = server
        .graphql(&editor, "{ tags(preview: true) { id } }", json!({}))
        .await;
    assert_eq!(preview["data"]["tags"], json!([{ "id": on_primary.id }]));
    // Writes land on the primary.
    let created = server
        .graphql(
            &editor,
            "mutation { createTag(input: { name: \"Written\" }) { id } }",
            json!({}),
        )
        .await;
    let id = created["data"]["createTag"]["id"].as_str().unwrap();
    let (_, uuid) = ids::decode(id).unwrap();
    let mut conn = primary.database.connection().await.unwrap();
    assert!(
        beacon::db::editorial::lock(&mut conn, uuid)
            .await
            .unwrap()
            .is_some()
    );
}

#[tokio::test]
async fn json_logs_errors_and_the_audit_log_share_the_request_id() {
    let app = TestApp::new().await;
    let mut server = Process::start_with(
        app.database.url(),
        &["--log-format", "json", "--log", "info,tower_http=debug"],
        std::process::Stdio::piped(),
    )
    .await;
    let editor = app.api_token(beacon::domain::access::Role::Editor).await;
    let client = reqwest::Client::new();
    let send = |query: &'static str| {
        client
            .post(server.url("/graphql"))
            .bearer_auth(&editor)
            .header("x-request-id", "trace-me-42")
            .json(&json!({ "query": query }))
            .send()
    };
    let refused: Value = send("mutation { createTag(input: { name: \"\" }) { id } }")
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        refused["errors"][0]["extensions"]["requestId"],
        "trace-me-42"
    );
    let response = send("mutation { createTag(input: { name: \"Traced\" }) { id } }")
        .await
        .unwrap();
    assert_eq!(response.headers()["x-request-id"], "trace-me-42");
    let mut conn = app.database.connection().await.unwrap();
    let entries = beacon::db::editorial::audit_entries(&mut conn, &Default::default(), None, 10)
        .await
        .unwrap();
    assert_eq!(entries[0].request_id.as_deref(), Some("trace-me-42"));

    server.child.start_kill().unwrap();
    let mut stderr = String::new();
    use tokio::io::AsyncReadExt;
    server
        .child
        .stderr
        .take()
        .unwrap()
        .read_to_string(&mut stderr)
        .await
        .unwrap();
    let lines: Vec<Value> = stderr
        .lines()
        .map(|line| serde_json::from_str(line).unwrap_or_else(|_| panic!("not JSON: {line}")))
        .collect();
    assert!(
        lines
            .iter()
            .any(|line| line["span"]["request_id"] == "trace-me-42"),
        "{stderr}"
    );
}

#[tokio::test]
async fn a_server_with_another_key_than_the_database_refuses_to_start() {
    let app = TestApp::new().await;
    let editor = app.api_token(beacon::domain::access::Role::Editor).await;
    drop(Process::start(app.database.url(), &[]).await);
    const OTHER: &str = "another server key, long enough to use";
    let refused = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(env!("CARGO_BIN_EXE_beacon"))
            .current_dir(crate::support::repo_path(""))
            .env("DATABASE_URL", app.database.url())
            .env("BEACON_SECRET", OTHER)
            .args(["serve", "--no-seed", "--bind", "127.0.0.1:0"])
            .output(),
    )
    .await
    .expect("it exits")
    .unwrap();
    assert!(!refused.status.success());
    let stderr = String::from_utf8_lossy(&refused.stderr);
    assert!(stderr.contains("same BEACON_SECRET"), "{stderr}");

    // Tokens made with the first key work on a server with it...
    let same = Process::start(app.database.url(), &[]).await;
    let me = same.graphql(&editor, "{ me { role } }", json!({})).await;
    assert_eq!(me["data"]["me"]["role"], "EDITOR");
    drop(same);
    // ...and stop working once a new key is accepted on purpose.
    let rekeyed = Process::start(
        app.database.url(),
        &["--secret", OTHER, "--accept-new-secret"],
    )
    .await;
    let status = reqwest::Client::new()
        .post(rekeyed.url("/graphql"))
        .bearer_auth(&editor)
        .json(&json!({ "query": "{ me { role } }" }))
        .send()
        .await
        .unwrap()
        .status();
    assert_eq!(status, 401);
}

#[tokio::test]
async fn old_events_are_pruned_with_their_history_unless_a_delivery_is_pending() {
    let app = TestApp::new().await;
    let receiver = Receiver::start().await;
    register(&app, &receiver.url(), &[EventType::Published]).await;
    for _ in 0..3 {
        app.tag_in(State::Published).await;
    }
    let worker = worker(&app, fast_settings());
    worker.run_due().await.unwrap();
    assert_eq!(receiver.received().len(), 3);
    // One more event, whose delivery is still pending.
    app.tag_in(State::Published).await;
    let events = events_of(&app).await;
    let pending = events[0].id;
    // All four are backdated past the retention time, and one recent one.
    let mut conn = app.database.connection().await.unwrap();
    {
        use diesel_async::RunQueryDsl;
        diesel::sql_query("UPDATE events SET occurred_at = now() - interval '40 days'")
            .execute(&mut conn)
            .await
            .unwrap();
    }
    app.tag_in(State::Published).await;
    let recent = events_of(&app).await[0].id;

    assert_eq!(worker.prune().await.unwrap(), 3);
    let mut left: Vec<uuid::Uuid> = events_of(&app).await.iter().map(|event| event.id).collect();
    left.sort();
    let mut expected = vec![pending, recent];
    expected.sort();
    assert_eq!(left, expected);
    // Their deliveries and attempts went with them; the rest is untouched.
    let (deliveries, attempts): (i64, i64) = {
        use beacon::db::schema::{webhook_attempts, webhook_deliveries};
        use diesel::prelude::*;
        use diesel_async::RunQueryDsl;
        (
            webhook_deliveries::table
                .count()
                .get_result(&mut conn)
                .await
                .unwrap(),
            webhook_attempts::table
                .count()
                .get_result(&mut conn)
                .await
                .unwrap(),
        )
    };
    assert_eq!((deliveries, attempts), (2, 0));
    assert_eq!(worker.prune().await.unwrap(), 0);
}

#[tokio::test]
async fn bad_input_to_the_webhook_api_is_a_typed_error_and_writes_nothing() {
    let app = TestApp::new().await;
    let admin = app.sign_in_as(beacon::domain::access::Role::Admin).await;
    let cases = [
        (
            "mutation { createWebhook(url: \"https://hooks.example.org/x\", events: [], secret: \"long enough secret!\") { secret } }",
            "VALIDATION_FAILED",
        ),
        (
            "mutation { createWebhook(url: \"https://hooks.example.org/x\", events: [PUBLISHED], secret: \"short\") { secret } }",
            "VALIDATION_FAILED",
        ),
        (
            "mutation { setWebhookEnabled(id: \"not-a-uuid\", enabled: true) { id } }",
            "BAD_USER_INPUT",
        ),
        (
            "mutation { setWebhookEnabled(id: \"01936f3e-0000-7000-8000-000000000000\", enabled: true) { id } }",
            "NOT_FOUND",
        ),
        (
            "mutation { deleteWebhook(id: \"01936f3e-0000-7000-8000-000000000000\") }",
            "NOT_FOUND",
        ),
        (
            "mutation { redeliver(eventId: \"nope\") }",
            "BAD_USER_INPUT",
        ),
        ("{ events(first: 101) { id } }", "BAD_USER_INPUT"),
        (
            "{ events(after: \"01936f3e-0000-7000-8000-000000000000\") { id } }",
            "BAD_USER_INPUT",
        ),
        (
            "{ webhooks { deliveries(first: -1) { id } } }",
            "BAD_USER_INPUT",
        ),
    ];
    // A webhook for the last case to reach its `deliveries` argument.
    let receiver = Receiver::start().await;
    register(&app, &receiver.url(), &[EventType::Published]).await;
    let before = app.snapshot().await;
    for (query, code) in cases {
        let (_, body) = app.post_as(Some(&admin), query, json!({})).await;
        assert_eq!(
            body["errors"][0]["extensions"]["code"], code,
            "{query}: {body}"
        );
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            !message.contains("SQL") && !message.contains("webhook_"),
            "{message}"
        );
    }
    let mut conn = app.database.connection().await.unwrap();
    assert_eq!(outbox::list_webhooks(&mut conn).await.unwrap().len(), 1);
    assert_eq!(app.snapshot().await, before);
}

/// The answer to a WebSocket upgrade that was refused, or `None` if it opened.
async fn refused_upgrade(url: &str) -> Option<u16> {
    use tokio_tungstenite::tungstenite::client::IntoClientRequest;
    let mut request = url.into_client_request().unwrap();
    request.headers_mut().insert(
        "sec-websocket-protocol",
        "graphql-transport-ws".parse().unwrap(),
    );
    match tokio_tungstenite::connect_async(request).await {
        Ok(_) => None,
        Err(tokio_tungstenite::tungstenite::Error::Http(response)) => {
            Some(response.status().as_u16())
        }
        Err(other) => panic!("the upgrade failed: {other}"),
    }
}

#[tokio::test]
async fn one_client_gets_a_bounded_number_of_sockets_and_subscriptions() {
    let app = TestApp::new().await;
    let editor = app.api_token(beacon::domain::access::Role::Editor).await;
    let address = app.spawn_server().await;
    let url = format!("ws://{address}/graphql");

    // Subscriptions per socket.
    let mut socket = connect(&url).await;
    init(&mut socket, &editor).await;
    let limit = beacon::http::SUBSCRIPTIONS_PER_SOCKET;
    for id in 0..limit {
        subscribe(
            &mut socket,
            &id.to_string(),
            "subscription { contentChanged { id } }",
        )
        .await;
    }
    subscribe(
        &mut socket,
        "one too many",
        "subscription { contentChanged { id } }",
    )
    .await;
    let refused = tokio::time::timeout(Duration::from_secs(10), next_json(&mut socket))
        .await
        .expect("the subscription past the limit is refused");
    assert_eq!(refused["id"], "one too many", "{refused}");
    assert_eq!(
        refused["payload"]["errors"][0]["extensions"]["code"], "RATE_LIMITED",
        "{refused}"
    );

    // Sockets per address: the first one above is still open.
    let mut sockets = vec![socket];
    for _ in 1..beacon::http::SOCKETS_PER_ADDRESS {
        let mut socket = connect(&url).await;
        init(&mut socket, &editor).await;
        sockets.push(socket);
    }
    assert_eq!(refused_upgrade(&url).await, Some(429));
    // Closing one frees its place.
    let mut closed = sockets.pop().unwrap();
    closed.close(None).await.unwrap();
    crate::support::wait::until_true(
        "a closed socket's place to be free",
        Duration::from_secs(10),
        || async {
            match refused_upgrade(&url).await {
                None => true,
                Some(429) => false,
                Some(other) => panic!("refused with {other}"),
            }
        },
    )
    .await;
}

#[tokio::test]
async fn bad_tokens_in_connection_init_count_against_the_address() {
    let app = TestApp::new().await;
    let address = app.spawn_server().await;
    let url = format!("ws://{address}/graphql");
    // Opened before the address is held off; its connection_init comes after.
    let mut opened_before = connect(&url).await;
    let attempts = beacon::http::rate_limit::FAILED_CREDENTIALS_PER_MINUTE as usize + 1;
    for attempt in 0..attempts {
        // Each socket is refused at its connection_init; its place may take
        // a moment to be given back once the server closes it.
        let mut socket =
            crate::support::wait::until("a socket to open", Duration::from_secs(10), || async {
                use tokio_tungstenite::tungstenite::client::IntoClientRequest;
                let mut request = url.as_str().into_client_request().unwrap();
                request.headers_mut().insert(
                    "sec-websocket-protocol",
                    "graphql-transport-ws".parse().unwrap(),
                );
                tokio_tungstenite::connect_async(request)
                    .await
                    .ok()
                    .map(|(socket, _)| socket)
            })
            .await;
        socket
            .send(text(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer bcn_pat_bogus{attempt}") } })))
            .await
            .unwrap();
        let (code, reason) = close_frame(&mut socket).await;
        assert_eq!(code, 4401, "{reason}");
    }
    let token = app.api_token(beacon::domain::access::Role::Editor).await;
    opened_before
        .send(text(json!({ "type": "connection_init", "payload": { "Authorization": format!("Bearer {token}") } })))
        .await
        .unwrap();
    let (code, reason) = close_frame(&mut opened_before).await;
    assert_eq!(code, 4429, "{reason}");
    // The address is now held off before any token is looked at, on HTTP
    // and on the upgrade alike.
    assert_eq!(refused_upgrade(&url).await, Some(429));
    let answer = reqwest::Client::new()
        .post(format!("http://{address}/graphql"))
        .bearer_auth("bcn_pat_another_bogus")
        .json(&json!({ "query": "{ __typename }" }))
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 429);
}

#[tokio::test]
async fn webhooks_ignore_the_proxy_in_the_servers_environment() {
    let app = TestApp::new().await;
    // A "proxy" that counts who connects to it and answers nothing.
    let proxy = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let proxy_url = format!("http://{}", proxy.local_addr().unwrap());
    let proxied = Arc::new(AtomicUsize::new(0));
    let counter = proxied.clone();
    tokio::spawn(async move {
        while let Ok((connection, _)) = proxy.accept().await {
            counter.fetch_add(1, Ordering::SeqCst);
            drop(connection);
        }
    });
    let receiver = Receiver::start().await;
    // By name: a proxy would resolve it itself, past the address check.
    let url = receiver.url().replace("127.0.0.1", "localhost");
    register(&app, &url, &[EventType::Published]).await;
    let _server = Process::start_in(
        app.database.url(),
        &["--webhook-poll-interval", "100ms"],
        std::process::Stdio::null(),
        &[
            ("HTTP_PROXY", proxy_url.as_str()),
            ("http_proxy", proxy_url.as_str()),
            ("HTTPS_PROXY", proxy_url.as_str()),
            ("ALL_PROXY", proxy_url.as_str()),
            ("NO_PROXY", ""),
        ],
    )
    .await;
    app.tag_in(State::Published).await;
    let event = events_of(&app).await[0].id;
    crate::support::wait::until_true(
        "the delivery to be recorded as made",
        Duration::from_secs(20),
        || async { deliveries(&app, event).await[0].0 != "PENDING" },
    )
    .await;
    assert_eq!(deliveries(&app, event).await[0].0, "DELIVERED");
    assert_eq!(receiver.received().len(), 1);
    assert_eq!(
        proxied.load(Ordering::SeqCst),
        0,
        "nothing went through the proxy"
    );
}
