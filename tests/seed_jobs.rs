//! Seed-loading jobs against a real database.

use serde_json::{Value, json};

use crate::support::{TestApp, counts, repo_path, run_sql, seed_options};

fn page(name: &str) -> std::path::PathBuf {
    repo_path(&format!("tests/pages/{name}"))
}

#[tokio::test]
async fn the_seeds_folder_loads_the_knowledge_lab_module() {
    let app = TestApp::new().await;
    let report = app.seed(&[repo_path("seeds")]).await.unwrap();
    assert_eq!(counts(&report, "topic"), (5, 0, 0));
    assert_eq!(counts(&report, "resource_type"), (4, 0, 0));
    assert_eq!(counts(&report, "resource"), (8, 0, 0));
    assert_eq!(counts(&report, "module"), (1, 0, 0));
    assert_eq!(counts(&report, "tag"), (0, 0, 0));
    assert_eq!(report.files.len(), 2, "the page and topics.toml");
    assert!(report.warnings.is_empty(), "{:?}", report.warnings);
}

#[tokio::test]
async fn running_the_same_seeds_again_changes_nothing() {
    let app = TestApp::seeded().await;
    let before = app.snapshot().await;
    let report = app.seed(&[repo_path("seeds")]).await.unwrap();
    assert!(!report.changed());
    assert_eq!(counts(&report, "resource"), (0, 0, 8));
    assert_eq!(counts(&report, "topic"), (0, 0, 5));
    assert!(report.to_string().contains("Nothing changed"));
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn a_broken_file_fails_the_whole_job_and_writes_nothing() {
    let app = TestApp::seeded().await;
    let before = app.snapshot().await;
    // A good page that would add content, then a broken one.
    let error = app
        .seed(&[page("use-of-force.txt"), page("broken-year.txt")])
        .await
        .unwrap_err();
    let message = error.to_string();
    assert!(message.contains("broken-year.txt:9"), "{message}");
    assert!(message.contains("20x1"), "{message}");
    assert_eq!(app.snapshot().await, before);

    let error = app.seed(&[page("not-a-module.txt")]).await.unwrap_err();
    assert!(error.to_string().contains("not-a-module.txt:1"), "{error}");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn an_invalid_value_fails_with_its_place() {
    let app = TestApp::seeded().await;
    let before = app.snapshot().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("bad.json");
    let text = serde_json::to_string_pretty(&json!({"resources": [
        {"title": "Fine", "types": ["Report"], "year": 2020},
        {"title": "Too old", "types": ["Report"], "year": 1200}
    ]}))
    .unwrap();
    std::fs::write(&file, &text).unwrap();
    let message = app.seed(&[file]).await.unwrap_err().to_string();
    // The line where the bad record starts.
    let record_start = text[..text.find("Too old").unwrap()].rfind('{').unwrap();
    let line = text[..record_start].matches('\n').count() + 1;
    assert!(message.contains(&format!("bad.json:{line}: ")), "{message}");
    assert!(message.contains("year"), "{message}");
    assert_eq!(app.snapshot().await, before);

    let unparseable = dir.path().join("broken.toml");
    std::fs::write(
        &unparseable,
        "[[topics]]\nname = \"A\"\n\n[[topics]]\nname = \n",
    )
    .unwrap();
    let message = app.seed(&[unparseable]).await.unwrap_err().to_string();
    assert!(message.contains("broken.toml:5"), "{message}");
    assert_eq!(app.snapshot().await, before);
}

/// One run names every mistake in its files, each with its file and line;
/// a JSON file's type error reads like a TOML one (one place, no Rust type
/// names).
#[tokio::test]
async fn a_run_reports_every_mistake_with_its_file_and_line() {
    let app = TestApp::seeded().await;
    let before = app.snapshot().await;
    let dir = tempfile::tempdir().unwrap();
    let toml = dir.path().join("more.toml");
    std::fs::write(
        &toml,
        "[[resources]]\ntitle = \"One\"\ntypes = [\"Vidoe\", \"Reprot\"]\n\n\
         [[resources]]\ntitle = \"Two\"\ntypes = [\"video\"]\ntopics = [\"use-of-forse\"]\nyear = 1200\n",
    )
    .unwrap();
    let json = dir.path().join("more.json");
    std::fs::write(
        &json,
        "{\n  \"resources\": [\n    {\"title\": \"Three\", \"types\": [\"video\"]},\n    {\"title\": \"Four\",\n     \"types\": [\"Webnar\"]}\n  ]\n}\n",
    )
    .unwrap();
    let error = app.seed(&[toml, json]).await.unwrap_err().to_string();
    for expected in [
        "5 errors:",
        "more.toml:1: types: there is no resource type \"Vidoe\"",
        "more.toml:1: types: there is no resource type \"Reprot\"; did you mean `report`?",
        "more.toml:5: topics: there is no topic \"use-of-forse\"",
        "more.toml:5: year",
        "more.json:4: types: there is no resource type \"Webnar\"",
    ] {
        assert!(error.contains(expected), "{expected} in {error}");
    }
    assert_eq!(app.snapshot().await, before);

    // Files that do not parse are all named too; JSON's own location and
    // serde's type names stay out of the message.
    let typed = dir.path().join("typed.json");
    std::fs::write(
        &typed,
        "{\"resources\": [\n  {\"title\": \"Five\", \"types\": [\"video\"],\n   \"year\": \"soon\"}\n]}\n",
    )
    .unwrap();
    let typed_toml = dir.path().join("typed.toml");
    std::fs::write(
        &typed_toml,
        "[[resources]]\ntitle = \"Six\"\ntypes = [\"video\"]\nyear = \"soon\"\n",
    )
    .unwrap();
    let error = app
        .seed(&[typed, typed_toml])
        .await
        .unwrap_err()
        .to_string();
    assert!(error.contains("2 errors:"), "{error}");
    assert!(
        error.contains("typed.json:3: invalid type: string \"soon\", expected a whole number"),
        "{error}"
    );
    assert!(error.contains("typed.toml:4: "), "{error}");
    assert!(!error.contains("at line"), "{error}");
    assert!(!error.contains("i32"), "{error}");
    assert_eq!(app.snapshot().await, before);
}

#[tokio::test]
async fn a_dry_run_reports_changes_and_writes_nothing() {
    let app = TestApp::seeded().await;
    let before = app.snapshot().await;
    let report = app.dry_run(&[page("use-of-force.txt")]).await.unwrap();
    assert!(report.dry_run);
    assert_eq!(counts(&report, "module"), (1, 0, 1));
    assert_eq!(
        counts(&report, "resource"),
        (4, 1, 7),
        "the crisis report is merged"
    );
    assert!(report.to_string().contains("nothing written"));
    // Each item is listed with what would change, not only counted.
    let listed = report.to_string();
    assert!(
        listed.contains("\n  create module use-of-force\n"),
        "{listed}"
    );
    assert!(
        listed.contains("\n  create resource de-escalation-what-works-what-doesnt-and-why\n"),
        "{listed}"
    );
    let updates: Vec<String> = report
        .changes
        .iter()
        .filter(|change| !change.created)
        .map(ToString::to_string)
        .collect();
    assert_eq!(updates.len(), 1, "{updates:?}");
    assert!(updates[0].starts_with("update resource "), "{updates:?}");
    assert!(updates[0].contains(": topics"), "{updates:?}");
    assert_eq!(
        report.changes.len() as u64,
        ["topic", "resource_type", "tag", "resource", "module"]
            .iter()
            .map(|kind| {
                let (created, updated, _) = counts(&report, kind);
                created + updated
            })
            .sum::<u64>()
    );
    assert_eq!(app.snapshot().await, before);
    let mut conn = app.database.connection().await.unwrap();
    let runs = beacon::db::seed_runs::history(&mut conn, None, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 1, "a dry run is not recorded as a run");
}

#[tokio::test]
async fn pages_merge_shared_resources_resolve_aliases_and_create_new_types() {
    let app = TestApp::seeded().await;
    let report = app
        .seed(&[
            page("use-of-force.txt"),
            page("crime-and-violence-reduction.txt"),
        ])
        .await
        .unwrap();
    assert_eq!(counts(&report, "module"), (2, 0, 1));
    // Webinar, After Action Report, Podcast are new; Report, Video exist.
    assert_eq!(counts(&report, "resource_type").0, 3);
    // Stops, Searches, and Arrests; Accountability and Transparency.
    assert_eq!(counts(&report, "topic").0, 2);
    assert_eq!(report.warnings.len(), 1, "{:?}", report.warnings);
    assert!(report.warnings[0].contains("use-of-force.txt:28"));

    let data = app
        .query(
            r#"{
              crime: module(slug: "crime-and-violence-response") {
                title topic { slug } heroImageAlt
                resources { title year types { slug } topics { slug } }
              }
              force: module(slug: "use-of-force") { title heroImageAlt resources { slug types { slug } year } }
              topics { nodes { slug name } }
              resourceTypes { nodes { slug name } }
            }"#,
            json!({}),
        )
        .await;
    // No title line: the heading names the module's topic, through its alias.
    assert_eq!(data["crime"]["title"], "Crime and Violence Response");
    assert_eq!(
        data["crime"]["topic"]["slug"],
        "crime-and-violence-response"
    );
    assert_eq!(data["crime"]["heroImageAlt"], serde_json::Value::Null);
    let crime_resources = data["crime"]["resources"].as_array().unwrap();
    assert_eq!(crime_resources.len(), 3);
    // The near-identical title stays a resource of its own.
    assert_eq!(
        crime_resources[0]["title"],
        "Building a Comprehensive and Coordinated Crisis Response Plan"
    );
    // The shared resource keeps its type and gains the alias's topic.
    assert_eq!(
        crime_resources[1]["topics"],
        json!([
            {"slug": "community-trust-and-partnerships"},
            {"slug": "mental-health-and-crisis-response"},
            {"slug": "crime-and-violence-response"}
        ])
    );
    let force = &data["force"];
    assert_eq!(force["title"], "Use of Force");
    assert_eq!(
        force["resources"][0]["types"],
        json!([{"slug": "report"}, {"slug": "video"}])
    );
    assert_eq!(force["resources"][1]["year"], serde_json::Value::Null);
    assert_eq!(
        force["resources"][4]["slug"],
        "cafe-conversations-officers-and-residents-on-force"
    );
    let topics: Vec<&str> = data["topics"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert!(topics.contains(&"stops-searches-and-arrests"));
    assert!(
        !topics.contains(&"crime-and-violence-reduction"),
        "alias, not a topic"
    );
    let types: Vec<&str> = data["resourceTypes"]["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["slug"].as_str().unwrap())
        .collect();
    assert_eq!(
        types,
        [
            "after-action-report",
            "guidebook-tool",
            "podcast",
            "report",
            "research-brief",
            "video",
            "webinar"
        ]
    );

    // Loading the same pages again: nothing changes.
    let again = app
        .seed(&[
            repo_path("seeds"),
            page("use-of-force.txt"),
            page("crime-and-violence-reduction.txt"),
        ])
        .await
        .unwrap();
    assert!(!again.changed(), "{again}");
}

#[tokio::test]
async fn a_changed_page_makes_new_versions_attributed_to_the_job() {
    let app = TestApp::seeded().await;
    let dir = tempfile::tempdir().unwrap();
    let original =
        std::fs::read_to_string(repo_path("seeds/community-trust-and-partnerships.txt")).unwrap();
    let edited = original.replace(
        "  • Mental Health and Crisis Response\n\nVideo | 2021",
        "  • Mental Health and Crisis Response\n  • Use of Force\n\nVideo | 2021",
    );
    assert_ne!(original, edited);
    let file = dir.path().join("community-trust-and-partnerships.txt");
    std::fs::write(&file, edited).unwrap();
    let report = app.seed(&[file]).await.unwrap();
    assert_eq!(counts(&report, "resource"), (0, 1, 7));
    assert_eq!(
        counts(&report, "module"),
        (0, 1, 0),
        "the source checksum changed"
    );

    #[derive(diesel::QueryableByName)]
    struct Version {
        #[diesel(sql_type = diesel::sql_types::Integer)]
        version: i32,
        #[diesel(sql_type = diesel::sql_types::Text)]
        author: String,
    }
    let mut conn = app.database.connection().await.unwrap();
    use diesel_async::RunQueryDsl;
    let versions: Vec<Version> = diesel::sql_query(
        "SELECT v.version, v.author FROM document_versions v JOIN documents d ON d.id = v.document_id
         WHERE d.slug = 'tips-for-successfully-implementing-a-911-dispatch-diversion-program'
         ORDER BY v.version",
    )
    .load(&mut conn)
    .await
    .unwrap();
    assert_eq!(
        versions.iter().map(|v| v.version).collect::<Vec<_>>(),
        [1, 2]
    );
    assert!(versions.iter().all(|v| v.author.starts_with("seed:")));
    assert_ne!(
        versions[0].author, versions[1].author,
        "each run signs its own versions"
    );
}

#[tokio::test]
async fn concurrent_jobs_run_one_at_a_time() {
    let app = TestApp::new().await;
    let seeds = [repo_path("seeds")];
    let options = seed_options(&seeds, false);
    let (first, second) = tokio::join!(
        beacon::seed::run(&app.database, &options),
        beacon::seed::run(&app.database, &options)
    );
    let (first, second) = (first.unwrap(), second.unwrap());
    // One created everything, the other found it all in place: never both.
    let created: u64 = [&first, &second]
        .iter()
        .map(|r| counts(r, "resource").0)
        .sum();
    let unchanged: u64 = [&first, &second]
        .iter()
        .map(|r| counts(r, "resource").2)
        .sum();
    assert_eq!((created, unchanged), (8, 8));
}

#[tokio::test]
async fn a_job_that_may_not_wait_refuses_while_another_runs() {
    use diesel_async::{AsyncConnection, RunQueryDsl};
    let app = TestApp::new().await;
    let mut holder = diesel_async::AsyncPgConnection::establish(app.database.url())
        .await
        .unwrap();
    // Hold the seed lock the way a running job does.
    run_sql(&mut holder, "BEGIN").await;
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(beacon::seed::SEED_LOCK_KEY)
        .execute(&mut holder)
        .await
        .unwrap();
    let mut options = seed_options(&[repo_path("seeds")], false);
    options.wait = false;
    let error = beacon::seed::run(&app.database, &options)
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("another seed job is running"),
        "{error}"
    );
    run_sql(&mut holder, "ROLLBACK").await;
    assert!(beacon::seed::run(&app.database, &options).await.is_ok());
}

#[tokio::test]
async fn every_run_is_recorded_with_files_counts_and_errors() {
    let app = TestApp::seeded().await;
    let _ = app.seed(&[page("broken-year.txt")]).await.unwrap_err();
    let mut conn = app.database.connection().await.unwrap();
    let runs = beacon::db::seed_runs::history(&mut conn, None, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 2);
    let (failed, succeeded) = (&runs[0], &runs[1]);
    assert_eq!(failed.outcome, "failed");
    assert!(
        failed
            .error
            .as_deref()
            .unwrap()
            .contains("broken-year.txt:9")
    );
    assert!(failed.finished_at.is_some());
    assert_eq!(succeeded.outcome, "succeeded");
    assert_eq!(succeeded.files.as_array().unwrap().len(), 2);
    assert_eq!(succeeded.counts["resource"]["created"], 8);
    let sha = succeeded.files[0]["sha256"].as_str().unwrap();
    assert_eq!(sha.len(), 64);

    // A file that is not there fails the run, which is recorded too.
    let missing = std::path::PathBuf::from("/nonexistent/seeds-folder");
    let _ = app.seed(&[missing]).await.unwrap_err();
    let runs = beacon::db::seed_runs::history(&mut conn, None, 10)
        .await
        .unwrap();
    assert_eq!(runs.len(), 3);
    assert_eq!(runs[0].outcome, "failed");
    assert!(
        runs[0]
            .error
            .as_deref()
            .unwrap()
            .contains("/nonexistent/seeds-folder"),
        "{:?}",
        runs[0].error
    );
}

#[tokio::test]
async fn an_export_loads_into_an_empty_database_unchanged() {
    let app = TestApp::seeded().await;
    app.seed(&[
        page("use-of-force.txt"),
        page("crime-and-violence-reduction.txt"),
    ])
    .await
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let tagged = dir.path().join("tags.toml");
    std::fs::write(
        &tagged,
        r#"
[[tags]]
name = "De-escalation"

[[tags]]
name = "Training"

[[resources]]
title = "Use-of-Force Reporting in Practice"
types = ["webinar"]
url = "https://example.org/webinar"
publisher = "Example Institute"
summary = "How agencies report and review force."
tags = ["de-escalation", "Training"]
"#,
    )
    .unwrap();
    app.seed(&[tagged]).await.unwrap();

    let mut conn = app.database.connection().await.unwrap();
    let first = beacon::seed::export::build(
        beacon::db::content::load_published_documents(&mut conn)
            .await
            .unwrap(),
        true,
    )
    .0;
    assert_eq!(first.tags.len(), 2);
    let export_file = dir.path().join("content.json");
    std::fs::write(&export_file, serde_json::to_string_pretty(&first).unwrap()).unwrap();

    let copy = TestApp::new().await;
    let report = copy.seed(std::slice::from_ref(&export_file)).await.unwrap();
    assert_eq!(counts(&report, "module"), (3, 0, 0));
    let mut copy_conn = copy.database.connection().await.unwrap();
    let second = beacon::seed::export::build(
        beacon::db::content::load_published_documents(&mut copy_conn)
            .await
            .unwrap(),
        true,
    )
    .0;
    assert_eq!(first, second);
    let webinar = second
        .resources
        .iter()
        .find(|r| r.title == "Use-of-Force Reporting in Practice")
        .unwrap();
    assert_eq!(webinar.tags, ["de-escalation", "training"]);
    assert_eq!(webinar.publisher.as_deref(), Some("Example Institute"));
    // And loading it again into the copy changes nothing.
    assert!(!copy.seed(&[export_file]).await.unwrap().changed());
}

#[tokio::test]
async fn a_large_load_refreshes_planner_statistics() {
    use diesel_async::RunQueryDsl;
    let app = TestApp::new().await;
    let report = app
        .seed_synthetic(beacon::seed::synthetic::Sizes {
            resources: 1_000,
            topics: 10,
            types: 5,
            tags: 10,
            modules: 2,
            resources_per_module: 10,
        })
        .await;
    assert_eq!(counts(&report, "resource"), (1_000, 0, 0));

    #[derive(diesel::QueryableByName)]
    struct Vacuumed {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        vacuumed: bool,
    }
    let mut conn = app.database.connection().await.unwrap();
    let row: Vacuumed = diesel::sql_query(
        "SELECT last_vacuum IS NOT NULL AND last_analyze IS NOT NULL AS vacuumed
           FROM pg_stat_user_tables WHERE relname = 'resources'",
    )
    .get_result(&mut conn)
    .await
    .unwrap();
    assert!(
        row.vacuumed,
        "the job ran VACUUM (ANALYZE) after a large load"
    );
}

/// Each resource's stored search vector, by slug and stage.
async fn search_vectors(
    database: &beacon::db::Database,
) -> std::collections::BTreeMap<(String, String), String> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Vector {
        #[diesel(sql_type = diesel::sql_types::Text)]
        stage: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        slug: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        vector: String,
    }
    let mut conn = database.connection().await.unwrap();
    let rows: Vec<Vector> =
        diesel::sql_query("SELECT stage, slug, search_vector::text AS vector FROM resources")
            .load(&mut conn)
            .await
            .unwrap();
    rows.into_iter()
        .map(|row| ((row.stage, row.slug), row.vector))
        .collect()
}

#[tokio::test]
async fn search_vectors_computed_beside_a_large_job_match_those_computed_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let file = crate::support::synthetic_file(
        dir.path(),
        beacon::seed::synthetic::Sizes {
            resources: 1_200,
            topics: 10,
            types: 5,
            tags: 10,
            modules: 2,
            resources_per_module: 10,
        },
    );

    // A pool with room computes the vectors on a second connection...
    let app = TestApp::new().await;
    app.seed(std::slice::from_ref(&file)).await.unwrap();
    // ...a pool of one cannot, and must neither wait for itself nor fail.
    let url = crate::support::fresh_database().await.url().to_string();
    let single = beacon::db::Database::connect_with(url, None, 1, None)
        .await
        .unwrap();
    beacon::seed::run(&single, &seed_options(std::slice::from_ref(&file), false))
        .await
        .unwrap();

    let beside = search_vectors(&app.database).await;
    let in_place = search_vectors(&single).await;
    assert_eq!(beside.len(), 2_400, "both stages of every resource");
    assert_eq!(beside, in_place);

    // And each resource is found by its own title: vectors computed apart
    // went back to the rows they were computed for.
    let data = app
        .query(
            "{ resources(first: 5, orderBy: {field: TITLE, direction: DESC}) { nodes { slug title } } }",
            json!({}),
        )
        .await;
    for node in data["resources"]["nodes"].as_array().unwrap() {
        let hits = app
            .query(
                "query ($q: String!) { resources(first: 100, filter: {query: $q}) { nodes { slug } } }",
                json!({ "q": node["title"] }),
            )
            .await;
        let slugs: Vec<&Value> = hits["resources"]["nodes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|hit| &hit["slug"])
            .collect();
        assert!(
            slugs.contains(&&node["slug"]),
            "{node} not found by its title"
        );
    }
}

/// The resources table's indexes: name and definition.
async fn resource_indexes(database: &beacon::db::Database) -> Vec<(String, String)> {
    use diesel_async::RunQueryDsl;
    #[derive(diesel::QueryableByName)]
    struct Index {
        #[diesel(sql_type = diesel::sql_types::Text)]
        indexname: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        indexdef: String,
    }
    let mut conn = database.connection().await.unwrap();
    let rows: Vec<Index> = diesel::sql_query(
        "SELECT indexname::text, indexdef FROM pg_indexes
          WHERE tablename = 'resources' ORDER BY indexname",
    )
    .load(&mut conn)
    .await
    .unwrap();
    rows.into_iter()
        .map(|row| (row.indexname, row.indexdef))
        .collect()
}

#[tokio::test]
async fn a_large_first_load_builds_the_resource_indexes_after_loading_and_keeps_them() {
    let app = TestApp::new().await;
    let before = resource_indexes(&app.database).await;
    assert!(before.len() >= 10, "the migrations' indexes: {before:?}");
    let dir = tempfile::tempdir().unwrap();
    let sizes = beacon::seed::synthetic::Sizes {
        resources: 10_000,
        topics: 20,
        types: 5,
        tags: 30,
        modules: 2,
        resources_per_module: 10,
    };
    let file = crate::support::synthetic_file(dir.path(), sizes);
    let report = app.seed(std::slice::from_ref(&file)).await.unwrap();
    assert_eq!(counts(&report, "resource"), (10_000, 0, 0));
    assert_eq!(resource_indexes(&app.database).await, before);

    // The rebuilt indexes answer: a filtered, searched page and its total.
    let data = app
        .query(
            r#"{ resources(first: 5, filter: {query: "community"}) { totalCount nodes { slug } } }"#,
            json!({}),
        )
        .await;
    assert!(data["resources"]["totalCount"].as_i64().unwrap() > 0);
    assert_eq!(data["resources"]["nodes"].as_array().unwrap().len(), 5);

    // A job into a table with rows keeps its indexes in place throughout.
    let file = crate::support::synthetic_file(
        dir.path(),
        beacon::seed::synthetic::Sizes {
            resources: 10_500,
            ..sizes
        },
    );
    let report = app.seed(std::slice::from_ref(&file)).await.unwrap();
    assert_eq!(counts(&report, "resource").0, 500);
    assert_eq!(resource_indexes(&app.database).await, before);
}

/// A mistyped reference in a structured file is an error naming the file,
/// the record and the nearest slugs, and writes nothing; a file that
/// declares the label, or `--create-missing`, creates it.
#[tokio::test]
async fn a_mistyped_reference_in_a_structured_file_is_refused_with_suggestions() {
    let app = TestApp::seeded().await;
    let before = app.snapshot().await;
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("typos.toml");
    let typo = |types: &str, topics: &str, tags: &str| {
        format!(
            "[[resources]]\ntitle = \"A guide with a typo\"\nyear = 2024\ntypes = [{types}]\ntopics = [{topics}]\ntags = [{tags}]\n"
        )
    };
    for (text, expected) in [
        (
            typo("\"Vidoe\"", "", ""),
            "types: there is no resource type \"Vidoe\"; did you mean `video`?",
        ),
        (
            typo("\"video\"", "\"use-of-forse\"", ""),
            "topics: there is no topic \"use-of-forse\"; did you mean `use-of-force`?",
        ),
        (
            typo("\"video\"", "\"use-of-force\"", "\"Undeclared\""),
            "tags: there is no tag \"Undeclared\" (declare it",
        ),
    ] {
        std::fs::write(&file, &text).unwrap();
        let error = app
            .seed(std::slice::from_ref(&file))
            .await
            .unwrap_err()
            .to_string();
        assert!(error.contains("typos.toml:1: "), "{error}");
        assert!(error.contains(expected), "{error}");
        assert_eq!(app.snapshot().await, before, "nothing written for {text}");
    }

    // Declared in the file: created.
    std::fs::write(
        &file,
        format!(
            "[[tags]]\nname = \"Undeclared\"\n\n{}",
            typo("\"video\"", "", "\"undeclared\"")
        ),
    )
    .unwrap();
    app.seed(std::slice::from_ref(&file)).await.unwrap();

    // Or with --create-missing.
    std::fs::write(&file, typo("\"Webinar\"", "", "")).unwrap();
    let mut options = crate::support::seed_options(std::slice::from_ref(&file), false);
    options.create_missing = true;
    beacon::seed::run(&app.database, &options).await.unwrap();
    let types = app
        .query(
            "{ resourceTypes { nodes { slug } } }",
            serde_json::json!({}),
        )
        .await;
    assert!(types.to_string().contains("\"webinar\""), "{types}");
}
