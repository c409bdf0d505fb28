//! Media end to end over real HTTP: an editor uploads a hero image, it is
//! private while drafted, served in renditions once published, gone from
//! public URLs once unpublished; hostile files are refused and change
//! nothing; files are served in ranges.

use crate::support::SendAndRead;
use std::io::Cursor;
use std::net::SocketAddr;

use beacon::domain::access::Role;
use beacon::http::{Runtime, router};
use beacon::identity::credentials::ServerKey;
use beacon::media::{IntakeLimits, Media, MediaStore};
use serde_json::{Value, json};

use crate::support::{TestApp, assert_succeeded, serve_on_loopback};

/// A server on a real socket whose files live in `dir`, signing with the
/// test key (two servers made with the same `dir` share files, as two
/// servers on one bucket do).
async fn media_server(app: &TestApp, dir: &std::path::Path, max_upload: u64) -> SocketAddr {
    media_server_on(app, MediaStore::local(dir).unwrap(), max_upload).await
}

/// As [`media_server`], on any store.
async fn media_server_on(app: &TestApp, store: MediaStore, max_upload: u64) -> SocketAddr {
    let media = Media::new(
        store,
        ServerKey::new(b"test media key, test media key, 32+".to_vec()),
        IntakeLimits {
            max_bytes: max_upload,
            ..IntakeLimits::default()
        },
        "",
    );
    let runtime = Runtime {
        media,
        ..Runtime::default()
    };
    serve_on_loopback(router(app.state_with(runtime))).await
}

struct Client {
    base: String,
    http: reqwest::Client,
}

impl Client {
    fn new(address: SocketAddr) -> Client {
        Client {
            base: format!("http://{address}"),
            http: reqwest::Client::new(),
        }
    }

    async fn graphql(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let mut request = self
            .http
            .post(format!("{}/graphql", self.base))
            .json(&json!({ "query": query, "variables": variables }));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        request.answer().await
    }

    /// `data`, which must come without errors.
    async fn data(&self, token: Option<&str>, query: &str, variables: Value) -> Value {
        let body = self.graphql(token, query, variables).await;
        assert!(body.get("errors").is_none(), "{body}");
        body["data"].clone()
    }

    /// A GraphQL multipart request uploading `bytes` as `$file`.
    async fn upload(
        &self,
        token: Option<&str>,
        query: &str,
        variables: Value,
        name: &str,
        bytes: Vec<u8>,
    ) -> (reqwest::StatusCode, Value) {
        let operations = json!({ "query": query, "variables": variables });
        let form = reqwest::multipart::Form::new()
            .text("operations", operations.to_string())
            .text("map", json!({ "0": ["variables.file"] }).to_string())
            .part(
                "0",
                reqwest::multipart::Part::bytes(bytes)
                    .file_name(name.to_string())
                    .mime_str("image/png")
                    .unwrap(),
            );
        let mut request = self
            .http
            .post(format!("{}/graphql", self.base))
            .multipart(form);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        let response = request.send().await.unwrap();
        let status = response.status();
        (status, response.json().await.unwrap_or(Value::Null))
    }

    async fn get(&self, url: &str, headers: &[(&str, &str)]) -> reqwest::Response {
        let mut request = self.http.get(format!("{}{url}", self.base));
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        request.send().await.unwrap()
    }

    /// The item's current draft version.
    async fn version(&self, token: &str, id: &str) -> Value {
        self.data(
            Some(token),
            "query($id: ID!) { node(id: $id, preview: true) { ... on Content { version } } }",
            json!({ "id": id }),
        )
        .await["node"]["version"]
            .clone()
    }

    /// A workflow action that must succeed.
    async fn act(&self, token: &str, action: &str, id: &str, version: &Value) {
        self.data(
            Some(token),
            &format!(
                "mutation($id: ID!, $v: Int!) {{ {action}(id: $id, expectedVersion: $v) {{ id }} }}"
            ),
            json!({ "id": id, "v": version }),
        )
        .await;
    }

    /// Takes an item from DRAFT to PUBLISHED as an admin.
    async fn publish(&self, token: &str, id: &str) {
        for action in ["submitForReview", "approve", "publish"] {
            let version = self.version(token, id).await;
            self.act(token, action, id, &version).await;
        }
    }
}

const UPLOAD: &str = "mutation($file: Upload!, $input: AssetInput) {
    uploadAsset(file: $file, input: $input) { id slug version mimeType width height size blurhash filename url }
}";

/// A photo-like PNG.
fn png(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, ((x + y) % 256) as u8])
    });
    let mut out = Cursor::new(Vec::new());
    image
        .write_with_encoder(image::codecs::png::PngEncoder::new(&mut out))
        .unwrap();
    out.into_inner()
}

/// A JPEG carrying EXIF with a GPS position, as phones write them.
fn jpeg_with_gps(width: u32, height: u32) -> Vec<u8> {
    let image = image::RgbImage::from_fn(width, height, |x, _| image::Rgb([x as u8, 90, 160]));
    let mut out = Cursor::new(Vec::new());
    image
        .write_with_encoder(image::codecs::jpeg::JpegEncoder::new_with_quality(
            &mut out, 90,
        ))
        .unwrap();
    let plain = out.into_inner();
    // An APP1 segment right after SOI: "Exif\0\0", a little-endian TIFF
    // header, and a payload a reader would find.
    let mut payload = b"Exif\0\0II*\0\x08\0\0\0".to_vec();
    payload.extend_from_slice(b"GPSLatitude 38.8977 N GPSLongitude 77.0365 W");
    let length = (payload.len() + 2) as u16;
    let mut jpeg = plain[..2].to_vec();
    jpeg.extend_from_slice(&[0xFF, 0xE1]);
    jpeg.extend_from_slice(&length.to_be_bytes());
    jpeg.extend_from_slice(&payload);
    jpeg.extend_from_slice(&plain[2..]);
    jpeg
}

fn dimensions(bytes: &[u8]) -> (u32, u32) {
    let image = image::load_from_memory(bytes).unwrap();
    (image.width(), image.height())
}

#[tokio::test]
async fn a_hero_image_is_private_while_drafted_public_once_published_and_gone_when_unpublished() {
    let app = TestApp::seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let client = Client::new(media_server(&app, dir.path(), 5 << 20).await);
    let admin = app.api_token(Role::Admin).await;

    let (status, body) = client
        .upload(
            Some(&admin),
            UPLOAD,
            json!({ "file": null, "input": { "credit": "Knowledge Lab", "focalPoint": { "x": 0.5, "y": 0.3 } } }),
            "homeowner-and-officer.jpg",
            jpeg_with_gps(400, 300),
        )
        .await;
    assert_eq!(status, 200, "{body}");
    assert!(body.get("errors").is_none(), "{body}");
    let asset = body["data"]["uploadAsset"].clone();
    assert_eq!(asset["slug"], "homeowner-and-officer");
    assert_eq!(asset["mimeType"], "image/jpeg");
    assert_eq!(
        (asset["width"].clone(), asset["height"].clone()),
        (json!(400), json!(300))
    );
    assert_eq!(asset["filename"], "homeowner-and-officer.jpg");
    assert!(
        asset["blurhash"]
            .as_str()
            .is_some_and(|hash| hash.len() >= 6)
    );
    let id = asset["id"].as_str().unwrap().to_string();

    // Drafted: no public answer names it, no public URL serves it.
    let public = client
        .data(
            None,
            r#"{ asset(slug: "homeowner-and-officer") { id } }"#,
            json!({}),
        )
        .await;
    assert_eq!(public["asset"], Value::Null);
    let preview_url = asset["url"].as_str().unwrap().to_string();
    assert!(
        preview_url.contains("exp="),
        "a draft's URL is a preview URL: {preview_url}"
    );
    let public_url = preview_url.split('?').next().unwrap().to_string();
    assert_eq!(client.get(&public_url, &[]).await.status(), 404);
    // The editor's preview URL works, and is kept out of shared caches.
    let preview = client.get(&preview_url, &[]).await;
    assert_eq!(preview.status(), 200);
    assert_eq!(preview.headers()["cache-control"], "private, max-age=3600");
    let stored = preview.bytes().await.unwrap();
    // Re-encoded: the pixels are there, the GPS position is not.
    assert_eq!(dimensions(&stored), (400, 300));
    let text = String::from_utf8_lossy(&stored);
    assert!(
        !text.contains("GPSLatitude") && !text.contains("Exif"),
        "metadata survived"
    );
    // A preview URL whose expiry was changed is refused.
    let forged = preview_url.replace("exp=", "exp=9");
    assert_eq!(client.get(&forged, &[]).await.status(), 403);

    // An image without alternative text cannot be published.
    let version = asset["version"].clone();
    for action in ["submitForReview", "approve"] {
        client.act(&admin, action, &id, &version).await;
    }
    let refused = client
        .graphql(
            Some(&admin),
            "mutation($id: ID!, $v: Int!) { publish(id: $id, expectedVersion: $v) { id } }",
            json!({ "id": id, "v": version }),
        )
        .await;
    assert_eq!(
        refused["errors"][0]["extensions"]["code"], "VALIDATION_FAILED",
        "{refused}"
    );
    assert_eq!(
        refused["errors"][0]["extensions"]["field"], "alt",
        "{refused}"
    );

    let updated = client
        .data(
            Some(&admin),
            "mutation($id: ID!, $v: Int!) { updateAsset(id: $id, expectedVersion: $v, input: { alt: \"homeowner pointing out an issue to a police officer\", focalPoint: { x: 0.25, y: 0.3 } }) { version diff(from: 1) { field from to } } }",
            json!({ "id": id, "v": version }),
        )
        .await;
    assert_eq!(updated["updateAsset"]["version"], 2);
    // A version's changes show the focal point as the input takes it.
    let changes = updated["updateAsset"]["diff"].as_array().unwrap();
    let focal = changes
        .iter()
        .find(|change| change["field"] == "focalPoint")
        .unwrap_or_else(|| panic!("{changes:?}"));
    assert_eq!(focal["from"], json!({ "x": 0.5, "y": 0.3 }));
    assert_eq!(focal["to"], json!({ "x": 0.25, "y": 0.3 }));
    client.publish(&admin, &id).await;

    // The module shows it once the module's draft naming it is published.
    let module = client
        .data(
            Some(&admin),
            r#"{ module(slug: "community-trust-and-partnerships", preview: true) { id version } }"#,
            json!({}),
        )
        .await["module"]
        .clone();
    client
        .data(
            Some(&admin),
            "mutation($id: ID!, $v: Int!) { updateModule(id: $id, expectedVersion: $v, input: { heroImage: \"homeowner-and-officer\" }) { id } }",
            json!({ "id": module["id"], "v": module["version"] }),
        )
        .await;
    let hero_query = r#"{ module(slug: "community-trust-and-partnerships") {
        heroImage { alt focalPoint { x y } url
            small: image(width: 150) wide: image(width: 640, height: 200, format: JPEG)
            square: image(width: 96, height: 96, fit: CONTAIN, format: AVIF) } } }"#;
    let before = client.data(None, hero_query, json!({})).await;
    assert_eq!(
        before["module"]["heroImage"],
        Value::Null,
        "the module is not published yet"
    );
    client.publish(&admin, module["id"].as_str().unwrap()).await;
    let hero = client.data(None, hero_query, json!({})).await["module"]["heroImage"].clone();
    assert_eq!(
        hero["alt"],
        "homeowner pointing out an issue to a police officer"
    );
    assert_eq!(hero["focalPoint"], json!({ "x": 0.25, "y": 0.3 }));
    let original = client.get(hero["url"].as_str().unwrap(), &[]).await;
    assert_eq!(original.status(), 200);
    assert_eq!(
        original.headers()["cache-control"],
        "public, max-age=31536000, immutable"
    );

    // Three renditions: the sizes asked for (on the ladder, never larger
    // than the original), in the formats asked for.
    let renditions = [
        ("small", "image/webp", (160, 120)),
        ("wide", "image/jpeg", (400, 160)),
        ("square", "image/avif", (96, 72)),
    ];
    for (name, mime, size) in renditions {
        let url = hero[name].as_str().unwrap();
        let response = client.get(url, &[]).await;
        assert_eq!(response.status(), 200, "{name}: {url}");
        assert_eq!(response.headers()["content-type"], mime, "{name}");
        assert_eq!(
            response.headers()["cache-control"],
            "public, max-age=31536000, immutable"
        );
        let tag = response.headers()["etag"].to_str().unwrap().to_string();
        let bytes = response.bytes().await.unwrap();
        if mime != "image/avif" {
            assert_eq!(dimensions(&bytes), size, "{name}");
        } else {
            assert!(bytes.len() > 20 && &bytes[4..8] == b"ftyp", "an AVIF file");
        }
        // Kept: asked again, the same bytes; revalidated, nothing.
        let again = client.get(url, &[]).await.bytes().await.unwrap();
        assert_eq!(again, bytes);
        let revalidated = client.get(url, &[("if-none-match", &tag)]).await;
        assert_eq!(revalidated.status(), 304);
    }

    // Only URLs the server signed are rendered.
    let small = hero["small"].as_str().unwrap();
    let unsigned = small.split('?').next().unwrap();
    assert_eq!(client.get(unsigned, &[]).await.status(), 403);
    let other_size = unsigned.replace("w160-", "w320-") + &small[unsigned.len()..];
    assert_eq!(client.get(&other_size, &[]).await.status(), 403);
    let off_ladder = unsigned.replace("w160-", "w161-");
    assert_eq!(client.get(&off_ladder, &[]).await.status(), 404);

    // Unpublished: gone from every public URL and answer at once.
    let version = client.version(&admin, &id).await;
    client.act(&admin, "unpublish", &id, &version).await;
    for url in [hero["url"].as_str().unwrap(), small] {
        assert_eq!(client.get(url, &[]).await.status(), 404, "{url}");
    }
    let after = client.data(None, hero_query, json!({})).await;
    assert_eq!(after["module"]["heroImage"], Value::Null);
}

/// A PNG that claims to be `width`×`height` pixels: a few hundred bytes
/// that would decode to gigabytes.
fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut bytes = png(1, 1);
    // IHDR's data starts at byte 16: width, height, then the rest.
    bytes[16..20].copy_from_slice(&width.to_be_bytes());
    bytes[20..24].copy_from_slice(&height.to_be_bytes());
    let mut crc = flate2::Crc::new();
    crc.update(&bytes[12..29]);
    bytes[29..33].copy_from_slice(&crc.sum().to_be_bytes());
    bytes
}

#[tokio::test]
async fn hostile_files_are_refused_and_change_nothing() {
    let app = TestApp::seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let address = media_server(&app, dir.path(), 1 << 20).await;
    let client = Client::new(address);
    let admin = app.api_token(Role::Admin).await;
    let before = app.snapshot().await;

    let refused = |body: &Value| body["errors"][0]["extensions"]["code"].clone();
    let svg =
        br#"<?xml version="1.0"?><svg xmlns="http://www.w3.org/2000/svg" onload="alert(1)"/>"#;
    let cases: [(&str, Vec<u8>, &str); 4] = [
        (
            "cat.png",
            b"<!doctype html><script>alert(document.cookie)</script>".to_vec(),
            "UNSUPPORTED_FILE",
        ),
        ("logo.svg", svg.to_vec(), "UNSUPPORTED_FILE"),
        (
            "bomb.png",
            png_claiming(100_000, 100_000),
            "UNSUPPORTED_FILE",
        ),
        ("big.png", vec![0x89; (1 << 20) + 1], "PAYLOAD_TOO_LARGE"),
    ];
    for (name, bytes, code) in cases {
        let (_, body) = client
            .upload(Some(&admin), UPLOAD, json!({ "file": null }), name, bytes)
            .await;
        assert_eq!(refused(&body), code, "{name}: {body}");
        let message = body["errors"][0]["message"].as_str().unwrap_or_default();
        assert!(
            !message.contains("image::") && !message.contains("panicked"),
            "{message}"
        );
    }
    let (_, bomb) = client
        .upload(
            Some(&admin),
            UPLOAD,
            json!({ "file": null }),
            "bomb.png",
            png_claiming(100_000, 100_000),
        )
        .await;
    assert!(
        bomb["errors"][0]["message"]
            .as_str()
            .unwrap()
            .contains("100000×100000"),
        "{bomb}"
    );

    // Without credentials, and from an HTML form (no Authorization header
    // can be added by one): refused, the second before GraphQL sees it.
    let (_, anonymous) = client
        .upload(None, UPLOAD, json!({ "file": null }), "a.png", png(4, 4))
        .await;
    assert!(anonymous.get("errors").is_some(), "{anonymous}");
    assert_eq!(refused(&anonymous), "UNAUTHENTICATED", "{anonymous}");
    let (_, reader) = client
        .upload(
            Some(&app.api_token(Role::Partner).await),
            UPLOAD,
            json!({ "file": null }),
            "a.png",
            png(4, 4),
        )
        .await;
    assert_eq!(refused(&reader), "FORBIDDEN", "{reader}");

    // A 1 GB upload is refused from its headers, before its body is read.
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let mut socket = tokio::net::TcpStream::connect(address).await.unwrap();
    let head = format!(
        "POST /graphql HTTP/1.1\r\nHost: beacon\r\nAuthorization: Bearer {admin}\r\n\
         Content-Type: multipart/form-data; boundary=x\r\nContent-Length: 1073741824\r\n\r\n--x\r\n"
    );
    socket.write_all(head.as_bytes()).await.unwrap();
    let mut answer = vec![0u8; 4096];
    let read = tokio::time::timeout(std::time::Duration::from_secs(10), socket.read(&mut answer))
        .await
        .expect("answered without waiting for the gigabyte")
        .unwrap();
    let answer = String::from_utf8_lossy(&answer[..read]);
    assert!(answer.starts_with("HTTP/1.1 413"), "{answer}");
    assert!(answer.contains("PAYLOAD_TOO_LARGE"), "{answer}");

    assert_eq!(
        app.snapshot().await,
        before,
        "a refused upload changed content"
    );
    assert_eq!(
        std::fs::read_dir(dir.path()).unwrap().count(),
        0,
        "a refused file was stored"
    );
}

#[tokio::test]
async fn files_are_served_in_ranges_and_shared_by_servers_on_one_store() {
    let app = TestApp::seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let first = Client::new(media_server(&app, dir.path(), 1 << 20).await);
    let second = Client::new(media_server(&app, dir.path(), 1 << 20).await);
    let admin = app.api_token(Role::Admin).await;
    let mut pdf = b"%PDF-1.4\n".to_vec();
    pdf.extend((0..2000u32).map(|n| b'a' + (n % 26) as u8));
    pdf.extend_from_slice(b"\n%%EOF\n");
    let (_, body) = first
        .upload(
            Some(&admin),
            UPLOAD,
            json!({ "file": null, "input": { "title": "Guidebook (PDF)" } }),
            "guidebook.pdf",
            pdf.clone(),
        )
        .await;
    let asset = body["data"]["uploadAsset"].clone();
    assert_eq!(asset["mimeType"], "application/pdf", "{body}");
    assert_eq!(asset["size"], pdf.len());
    // A file other than an image needs no alternative text.
    second.publish(&admin, asset["id"].as_str().unwrap()).await;
    let public = second
        .data(
            None,
            r#"{ asset(slug: "guidebook-pdf") { url image(width: 100) } }"#,
            json!({}),
        )
        .await["asset"]
        .clone();
    assert_eq!(public["image"], Value::Null, "no renditions of a PDF");
    let url = public["url"].as_str().unwrap();
    for client in [&first, &second] {
        let whole = client.get(url, &[]).await;
        assert_eq!(whole.status(), 200);
        assert_eq!(whole.headers()["accept-ranges"], "bytes");
        assert_eq!(whole.headers()["content-type"], "application/pdf");
        assert_eq!(whole.bytes().await.unwrap(), pdf);
        let part = client.get(url, &[("range", "bytes=9-18")]).await;
        assert_eq!(part.status(), 206);
        assert_eq!(
            part.headers()["content-range"],
            format!("bytes 9-18/{}", pdf.len()).as_str()
        );
        assert_eq!(part.bytes().await.unwrap(), pdf[9..19]);
        let beyond = client.get(url, &[("range", "bytes=99999-")]).await;
        assert_eq!(beyond.status(), 416);
    }
}

/// A local S3-compatible server (s3s-fs, over a folder) on a real port,
/// with one bucket.
async fn s3_server(root: &std::path::Path, bucket: &str) -> String {
    std::fs::create_dir_all(root.join(bucket)).unwrap();
    let mut builder = s3s::service::S3ServiceBuilder::new(s3s_fs::FileSystem::new(root).unwrap());
    builder.set_auth(s3s::auth::SimpleAuth::from_single(S3_KEY, S3_SECRET));
    let service = builder.build();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let address = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((socket, _)) = listener.accept().await else {
                continue;
            };
            let service = service.clone();
            tokio::spawn(async move {
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(hyper_util::rt::TokioIo::new(socket), service)
                    .await;
            });
        }
    });
    format!("http://{address}")
}

const S3_KEY: &str = "beacon-test-access-key";
const S3_SECRET: &str = "beacon-test-secret-key";

/// Two servers on one bucket serve the same asset: uploaded through one,
/// published, its file and a rendition read through the other.
#[tokio::test]
async fn two_servers_on_one_s3_bucket_serve_the_same_asset() {
    let app = TestApp::seeded().await;
    let root = tempfile::tempdir().unwrap();
    let endpoint = s3_server(root.path(), "media").await;
    let server = async || {
        let store = MediaStore::s3(&beacon::media::S3Settings {
            bucket: "media".into(),
            endpoint: Some(endpoint.clone()),
            region: "us-east-1".into(),
            access_key_id: S3_KEY.into(),
            secret_access_key: S3_SECRET.into(),
        })
        .unwrap();
        media_server_on(&app, store, 1 << 20).await
    };
    let first = Client::new(server().await);
    let second = Client::new(server().await);
    let admin = app.api_token(Role::Admin).await;
    let (_, body) = first
        .upload(
            Some(&admin),
            UPLOAD,
            json!({ "file": null, "input": { "alt": "a test pattern" } }),
            "pattern.png",
            png(300, 200),
        )
        .await;
    let asset = body["data"]["uploadAsset"].clone();
    assert!(asset["id"].is_string(), "{body}");
    second.publish(&admin, asset["id"].as_str().unwrap()).await;
    let public = second
        .data(
            None,
            r#"{ asset(slug: "pattern") { url card: image(width: 128) } }"#,
            json!({}),
        )
        .await["asset"]
        .clone();
    let mut originals = Vec::new();
    for client in [&first, &second] {
        let file = client.get(public["url"].as_str().unwrap(), &[]).await;
        assert_eq!(file.status(), 200);
        originals.push(file.bytes().await.unwrap());
        let card = client.get(public["card"].as_str().unwrap(), &[]).await;
        assert_eq!(card.status(), 200);
        assert_eq!(dimensions(&card.bytes().await.unwrap()), (128, 85));
    }
    assert_eq!(originals[0], originals[1]);
    // The bytes went through the bucket: the file and the rendition made
    // by the first server to be asked are objects in it.
    let stored: Vec<_> = walk(&root.path().join("media"));
    assert!(
        stored.iter().any(|path| path.contains("files/")),
        "{stored:?}"
    );
    assert!(
        stored.iter().any(|path| path.contains("renditions/")),
        "{stored:?}"
    );
}

fn walk(dir: &std::path::Path) -> Vec<String> {
    let mut found = Vec::new();
    for entry in std::fs::read_dir(dir).into_iter().flatten().flatten() {
        let path = entry.path();
        if path.is_dir() {
            found.extend(walk(&path));
        } else {
            found.push(path.display().to_string());
        }
    }
    found
}

/// Seeds loaded with files kept in `store`, as `beacon seed --media-dir`.
async fn seed_with_files(
    app: &TestApp,
    paths: &[std::path::PathBuf],
    store: &std::path::Path,
) -> Result<beacon::seed::SeedReport, beacon::seed::SeedError> {
    let mut options = crate::support::seed_options(paths, false);
    options.media = Media::unsigned(MediaStore::local(store).unwrap(), IntakeLimits::default());
    beacon::seed::run(&app.database, &options).await
}

/// The published content as an export with files has it.
async fn exported(app: &TestApp) -> beacon::seed::format::ContentFile {
    let mut conn = app.database.connection().await.unwrap();
    let documents = beacon::db::content::load_published_documents(&mut conn)
        .await
        .unwrap();
    beacon::seed::export::build(documents, true).0
}

const SEEDED_MEDIA: &str = r#"{
    module(slug: "community-trust-and-partnerships") {
        heroImage { slug alt mimeType width height url image(width: 320, format: WEBP) }
    }
    resource(slug: "how-to-successfully-implement-a-mobile-crisis-team") {
        thumbnail { slug credit focalPoint { x y } }
        files { slug mimeType url }
    }
}"#;

/// Seeds carry images and files: the image beside a module page becomes
/// its hero image (alt text from the page), a structured file's assets
/// (the one docs/operators.md shows) are linked by slug, every file is
/// checked as an upload is, and `beacon export --out` writes the files
/// beside `content.json` so that loading it elsewhere reproduces them.
#[tokio::test]
async fn seeds_and_exports_carry_images_and_files() {
    let app = TestApp::new().await;
    let store = tempfile::tempdir().unwrap();
    let seeds = tempfile::tempdir().unwrap();
    for name in ["community-trust-and-partnerships.txt", "topics.toml"] {
        std::fs::copy(
            crate::support::repo_path(&format!("seeds/{name}")),
            seeds.path().join(name),
        )
        .unwrap();
    }
    std::fs::write(
        seeds.path().join("community-trust-and-partnerships.jpg"),
        jpeg_with_gps(640, 480),
    )
    .unwrap();
    let example = crate::docs::documented_blocks()
        .into_iter()
        .find(|block| block.language == "toml" && block.text.contains("[[assets]]"))
        .expect("docs/operators.md shows a content file with assets");
    std::fs::write(seeds.path().join("more.toml"), &example.text).unwrap();
    std::fs::create_dir_all(seeds.path().join("images")).unwrap();
    std::fs::write(
        seeds.path().join("images/officer-and-homeowner.jpg"),
        jpeg_with_gps(800, 600),
    )
    .unwrap();
    std::fs::create_dir_all(seeds.path().join("files")).unwrap();
    let pdf = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n";
    std::fs::write(seeds.path().join("files/mobile-crisis-guide.pdf"), pdf).unwrap();

    let report = seed_with_files(&app, &[seeds.path().to_path_buf()], store.path())
        .await
        .unwrap();
    assert_eq!(crate::support::counts(&report, "asset"), (3, 0, 0));
    assert!(
        report
            .files
            .iter()
            .any(|file| file.path.ends_with("community-trust-and-partnerships.jpg")),
        "the run records the files it read: {:?}",
        report.files
    );

    let client = Client::new(media_server(&app, store.path(), 1 << 20).await);
    let seeded = client.data(None, SEEDED_MEDIA, json!({})).await;
    let hero = &seeded["module"]["heroImage"];
    assert_eq!(hero["slug"], "community-trust-and-partnerships");
    assert_eq!(
        hero["alt"], "homeowner pointing out an issue to a police officer",
        "the page's alt text describes its image"
    );
    assert_eq!(
        (hero["width"].clone(), hero["height"].clone()),
        (json!(640), json!(480))
    );
    let original = client.get(hero["url"].as_str().unwrap(), &[]).await;
    assert_eq!(original.status(), 200);
    let stored = original.bytes().await.unwrap();
    assert!(
        !String::from_utf8_lossy(&stored).contains("GPSLatitude"),
        "a seeded photo loses its metadata as an upload does"
    );
    let rendition = client.get(hero["image"].as_str().unwrap(), &[]).await;
    assert_eq!(rendition.status(), 200);
    assert_eq!(rendition.headers()["content-type"], "image/webp");
    let resource = &seeded["resource"];
    assert_eq!(resource["thumbnail"]["slug"], "officer-and-homeowner");
    assert_eq!(resource["thumbnail"]["credit"], "Photo: Example Agency");
    assert_eq!(
        resource["thumbnail"]["focalPoint"],
        json!({ "x": 0.4, "y": 0.3 })
    );
    assert_eq!(resource["files"][0]["mimeType"], "application/pdf");
    let file = client
        .get(resource["files"][0]["url"].as_str().unwrap(), &[])
        .await;
    assert_eq!(
        file.bytes().await.unwrap().as_ref(),
        pdf,
        "a PDF is kept as sent"
    );

    // The same files again change nothing.
    let again = seed_with_files(&app, &[seeds.path().to_path_buf()], store.path())
        .await
        .unwrap();
    assert!(!again.changed(), "{again}");

    // `beacon export --out` copies the files out of the store beside
    // content.json, under each asset's slug and upload name.
    let out = tempfile::tempdir().unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let export = std::process::Command::new(env!("CARGO_BIN_EXE_beacon"))
        .args(["export", "--out"])
        .arg(out.path())
        .arg("--media-dir")
        .arg(store.path())
        .env("DATABASE_URL", app.database.url())
        .env("BEACON_DATA_DIR", data_dir.path())
        .env("BEACON_LOG", "warn")
        .output()
        .unwrap();
    assert_succeeded(&export);
    let written: beacon::seed::format::ContentFile =
        serde_json::from_slice(&std::fs::read(out.path().join("content.json")).unwrap()).unwrap();
    assert_eq!(written.assets.len(), 3);
    for asset in &written.assets {
        let path = out.path().join(asset.file.as_ref().unwrap());
        let bytes = std::fs::read(&path).unwrap();
        use sha2::Digest as _;
        let sha256: String = sha2::Sha256::digest(&bytes)
            .iter()
            .map(|byte| format!("{byte:02x}"))
            .collect();
        assert_eq!(Some(sha256), asset.sha256, "{}", path.display());
    }
    assert!(
        out.path()
            .join("media/mobile-crisis-guide-pdf/mobile-crisis-guide.pdf")
            .is_file()
    );

    // Loaded into an empty database with a store of its own, the export
    // reproduces the content, the assets' bytes included (no JPEG is
    // encoded once more).
    let copy = TestApp::new().await;
    let copy_store = tempfile::tempdir().unwrap();
    seed_with_files(&copy, &[out.path().join("content.json")], copy_store.path())
        .await
        .unwrap();
    assert_eq!(exported(&copy).await, exported(&app).await);
    let copy_client = Client::new(media_server(&copy, copy_store.path(), 1 << 20).await);
    let copied = copy_client.data(None, SEEDED_MEDIA, json!({})).await;
    let copied_original = copy_client
        .get(copied["module"]["heroImage"]["url"].as_str().unwrap(), &[])
        .await;
    assert_eq!(copied_original.bytes().await.unwrap(), stored);
}

/// A seed file's files are checked as uploads are: a page that is really
/// HTML, an image without alternative text; every problem is named with its
/// record's line, and nothing is written or stored.
#[tokio::test]
async fn a_seed_with_a_hostile_or_undescribed_file_writes_nothing() {
    let app = TestApp::seeded().await;
    let store = tempfile::tempdir().unwrap();
    let seeds = tempfile::tempdir().unwrap();
    std::fs::write(
        seeds.path().join("photo.png"),
        b"<html><script>alert(document.cookie)</script></html>",
    )
    .unwrap();
    std::fs::write(seeds.path().join("chart.png"), png(60, 40)).unwrap();
    let file = seeds.path().join("assets.toml");
    std::fs::write(
        &file,
        "[[assets]]\nslug = \"photo\"\ntitle = \"Photo\"\nfile = \"photo.png\"\nalt = \"a photo\"\n\n\
         [[assets]]\nslug = \"chart\"\ntitle = \"Chart\"\nfile = \"chart.png\"\n\n\
         [[assets]]\nslug = \"gone\"\ntitle = \"Gone\"\nfile = \"missing.pdf\"\n\n\
         [[modules]]\ntitle = \"Use of Force\"\nheroImage = \"chrat\"\n",
    )
    .unwrap();
    let before = exported(&app).await;

    let error = seed_with_files(&app, std::slice::from_ref(&file), store.path())
        .await
        .unwrap_err()
        .to_string();
    let place = file.display().to_string();
    assert!(
        error.contains(&format!("{place}:1: file")) && error.contains("not a type Beacon accepts"),
        "{error}"
    );
    assert!(error.contains(&format!("{place}:12: file")), "{error}");
    // Files are checked before anything is resolved: the other mistakes
    // come once the files are right.
    std::fs::write(seeds.path().join("photo.png"), png(30, 20)).unwrap();
    std::fs::write(seeds.path().join("missing.pdf"), b"%PDF-1.4\n%%EOF\n").unwrap();
    let error = seed_with_files(&app, std::slice::from_ref(&file), store.path())
        .await
        .unwrap_err()
        .to_string();
    assert!(
        error.contains(&format!("{place}:7: alt: an image needs alternative text")),
        "{error}"
    );
    assert!(
        error.contains("heroImage: there is no asset \"chrat\"; did you mean `chart`?"),
        "{error}"
    );
    assert_eq!(exported(&app).await, before, "nothing was written");
    assert!(walk(store.path()).is_empty(), "nothing was stored");
}

/// A seed file may name an asset's file by URL: fetched once, within the
/// upload limit, checked as any file; a failed fetch or an oversized file
/// is named and nothing is written.
#[tokio::test]
async fn seed_files_fetch_assets_named_by_url() {
    use axum::routing::get;
    let photo = jpeg_with_gps(120, 80);
    let served = photo.clone();
    let files = axum::Router::new()
        .route(
            "/images/patrol.jpg",
            get(move || async move { served.clone() }),
        )
        .route("/huge.jpg", get(|| async { vec![0xFFu8; 300_000] }));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, files).await.unwrap() });

    let app = TestApp::seeded().await;
    let store = tempfile::tempdir().unwrap();
    let dir = tempfile::tempdir().unwrap();
    let seed = |body: String| {
        let file = dir.path().join("assets.toml");
        std::fs::write(&file, body).unwrap();
        let mut options = crate::support::seed_options(&[file], false);
        options.media = Media::unsigned(
            MediaStore::local(store.path()).unwrap(),
            IntakeLimits {
                max_bytes: 200_000,
                ..IntakeLimits::default()
            },
        );
        let database = app.database.clone();
        async move { beacon::seed::run(&database, &options).await }
    };
    let before = exported(&app).await;
    let error = seed(format!(
        "[[assets]]\nslug = \"gone\"\ntitle = \"Gone\"\nurl = \"{base}/images/missing.jpg\"\n\n\
         [[assets]]\nslug = \"huge\"\ntitle = \"Huge\"\nurl = \"{base}/huge.jpg\"\n\n\
         [[assets]]\nslug = \"local\"\ntitle = \"Local\"\nurl = \"file:///etc/passwd\"\n"
    ))
    .await
    .unwrap_err()
    .to_string();
    assert!(
        error.contains(":1: url ") && error.contains("404"),
        "{error}"
    );
    assert!(
        error.contains(":6: url ") && error.contains("larger than the 200000 bytes"),
        "{error}"
    );
    assert!(
        error.contains(":11: url file:///etc/passwd: only http and https"),
        "{error}"
    );
    assert_eq!(exported(&app).await, before, "nothing was written");

    let report = seed(format!(
        "[[assets]]\nslug = \"patrol\"\ntitle = \"On patrol\"\nalt = \"two officers on a street\"\nurl = \"{base}/images/patrol.jpg\"\n"
    ))
    .await
    .unwrap();
    assert_eq!(crate::support::counts(&report, "asset"), (1, 0, 0));
    assert!(
        report
            .files
            .iter()
            .any(|file| file.path.ends_with("/images/patrol.jpg"))
    );
    let client = Client::new(media_server(&app, store.path(), 1 << 20).await);
    let asset = client
        .data(
            None,
            r#"{ asset(slug: "patrol") { url width filename } }"#,
            json!({}),
        )
        .await["asset"]
        .clone();
    assert_eq!(
        (asset["width"].clone(), asset["filename"].clone()),
        (json!(120), json!("patrol.jpg"))
    );
    let stored = client
        .get(asset["url"].as_str().unwrap(), &[])
        .await
        .bytes()
        .await
        .unwrap();
    assert!(
        !String::from_utf8_lossy(&stored).contains("GPSLatitude"),
        "stripped as uploads are"
    );
}
