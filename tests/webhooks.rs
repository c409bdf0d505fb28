//! Webhooks: the outbox written with each change, deliveries to a real
//! local receiver (retries, giving up, redelivery), several `beacon serve`
//! processes sharing one database, pruning, and typed refusals.

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
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::process::Process;
use crate::support::workflow::State;

const SECRET: &str = "a webhook secret for tests";
/// Webhooks registered as the operator would, at the command line.
const OPERATOR: beacon::identity::Caller<'static> = beacon::identity::Caller::operator();

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
            "{ events(type: PUBLISHED) { nodes { id type deliveries { state attemptCount attempts { statusCode } } } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["events"]["nodes"][0]["id"], event.id.to_string());
    assert_eq!(
        listed["events"]["nodes"][0]["deliveries"][0]["state"],
        "FAILED"
    );
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
    assert!(
        outbox::list_webhooks(&mut conn, None, 100)
            .await
            .unwrap()
            .is_empty()
    );

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
            "{ webhooks { nodes { id url events enabled description } } }",
            json!({}),
        )
        .await;
    assert_eq!(listed["webhooks"]["nodes"][0]["id"], id);
    assert_eq!(
        listed["webhooks"]["nodes"][0]["events"],
        json!(["PUBLISHED"])
    );
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
    let listed = app
        .query_as(&admin, "{ webhooks { nodes { id } } }", json!({}))
        .await;
    assert_eq!(listed["webhooks"]["nodes"], json!([]));

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
        ("{ events(first: 101) { nodes { id } } }", "BAD_USER_INPUT"),
        (
            "{ events(after: \"01936f3e-0000-7000-8000-000000000000\") { nodes { id } } }",
            "BAD_USER_INPUT",
        ),
        (
            "{ webhooks { nodes { deliveries(first: -1) { nodes { id } } } } }",
            "BAD_USER_INPUT",
        ),
        (
            "{ webhooks { nodes { deliveries(after: \"bm90IGEgY3Vyc29y\") { nodes { id } } } } }",
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
    assert_eq!(
        outbox::list_webhooks(&mut conn, None, 100)
            .await
            .unwrap()
            .len(),
        1
    );
    assert_eq!(app.snapshot().await, before);
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

/// A webhook change and its audit entry are one write: when the entry
/// cannot be written, the change is not made either.
#[tokio::test]
async fn a_webhook_change_whose_audit_entry_fails_is_not_made() {
    let app = TestApp::new().await;
    let id = register(
        &app,
        "https://hooks.example.org/audited",
        &[EventType::Published],
    )
    .await;
    let admin = app.sign_in_as(beacon::domain::access::Role::Admin).await;
    app.refuse_audit_entries().await;
    let variables = json!({ "id": id.to_string() });
    for mutation in [
        "mutation($id: ID!) { setWebhookEnabled(id: $id, enabled: false) { enabled } }",
        "mutation($id: ID!) { deleteWebhook(id: $id) }",
    ] {
        let (_, answer) = app.post_as(Some(&admin), mutation, variables.clone()).await;
        assert_eq!(
            answer["errors"][0]["extensions"]["code"], "INTERNAL",
            "{answer}"
        );
    }
    let listed = app
        .query_as(&admin, "{ webhooks { nodes { id enabled } } }", json!({}))
        .await;
    assert_eq!(
        listed["webhooks"]["nodes"],
        json!([{ "id": id.to_string(), "enabled": true }]),
        "neither change was made"
    );
}
