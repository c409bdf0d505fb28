//! Live preview: subscriptions over WebSocket (graphql-transport-ws) to a
//! real server, across servers, and their limits per client.

use std::time::{Duration, Instant};

use futures::{SinkExt, StreamExt};
use serde_json::{Value, json};

use crate::support::TestApp;
use crate::support::process::Process;

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
