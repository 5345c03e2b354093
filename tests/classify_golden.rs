//! Golden files for classification: `tests/golden/classes/CLASS/NAME.eml` is a message
//! whose class is its folder, beside `NAME.json` with what else leadbot must read from
//! it (for a bounce: the mail it reports on, the failed addresses, permanent or not).
//! Sources and licences of the fixtures are in `tests/golden/classes/SOURCES.md`.
//!
//! One test walks the folder, prints the rate per category and fails when a rate falls
//! below the floor reached (`FLOORS`), when a field differs, or when automated mail and
//! people's mail are confused at all: a bounce or auto-reply read as a request or a
//! reply would make a lead or run a command; the other way round loses a person's mail.
//! `UPDATE_GOLDEN=1 cargo test --test classify_golden` rewrites the field files (review
//! the diff); the class in them is always the folder's.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use leadbot::mail::{ClassifyContext, MailClass, bounce, classify, parse};
use serde_json::{Value, json};

const BOT_ADDRESS: &str = "leads@leads.example.test";

/// The share of each category's fixtures classed right, as reached; BENCHMARKS.md
/// records the same figures.
const FLOORS: &[(&str, f64)] = &[
    ("auto_reply", 1.0),
    ("bounce", 1.0),
    ("list", 1.0),
    ("reply", 1.0),
    ("request", 1.0),
];

/// At least this many genuine requests and replies (from public material) are checked.
const MIN_PEOPLES_MAIL: usize = 50;

fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/classes")
}

/// The class leadbot gives a message (None: unreadable) and the fields the golden file
/// records.
fn understand(raw: &[u8], folder: &str) -> (Option<MailClass>, Value) {
    let ctx = ClassifyContext {
        bot_address: BOT_ADDRESS.to_string(),
    };
    let Ok(mail) = parse(raw) else {
        return (None, json!({ "class": folder }));
    };
    let class = classify(&mail, &ctx);
    let mut fields = json!({ "class": folder });
    if class == MailClass::Bounce {
        let report = bounce::read(&mail);
        fields["original_message_id"] = json!(report.original_message_id);
        fields["failed_recipients"] = json!(report.failed_recipients);
        fields["permanent"] = json!(report.permanent);
    }
    (Some(class), fields)
}

fn class_name(class: Option<MailClass>) -> String {
    class.map_or("unreadable".to_string(), |c| {
        serde_json::to_value(c)
            .ok()
            .and_then(|v| v.as_str().map(String::from))
            .unwrap_or_default()
    })
}

#[test]
fn every_category_is_classed_at_or_above_its_floor() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut rates: BTreeMap<String, (usize, usize)> = BTreeMap::new();
    let mut failures = Vec::new();
    let mut peoples_mail = 0;
    for (folder, floor) in FLOORS {
        let mut fixtures: Vec<PathBuf> = std::fs::read_dir(root().join(folder))
            .unwrap_or_else(|e| panic!("{folder}: {e}"))
            .flatten()
            .map(|e| e.path())
            .filter(|p| p.extension().is_some_and(|e| e == "eml"))
            .collect();
        fixtures.sort();
        assert!(!fixtures.is_empty(), "no fixtures in {folder}");
        for eml in &fixtures {
            let raw = std::fs::read(eml).expect("read fixture");
            let (class, fields) = understand(&raw, folder);
            let actual = class_name(class);
            let entry = rates.entry(folder.to_string()).or_default();
            entry.1 += 1;
            if actual == *folder {
                entry.0 += 1;
            }
            let person = matches!(*folder, "request" | "reply");
            let automated_as_person = !person && matches!(actual.as_str(), "request" | "reply");
            let person_as_automated = person && matches!(actual.as_str(), "bounce" | "auto_reply");
            if automated_as_person || person_as_automated {
                failures.push(format!("{}: a {folder} read as {actual}", eml.display()));
            }
            peoples_mail += usize::from(person);
            let expected_path = eml.with_extension("json");
            if update {
                let text = serde_json::to_string_pretty(&fields).expect("json") + "\n";
                std::fs::write(&expected_path, text).expect("write golden");
                continue;
            }
            let expected: Value = std::fs::read_to_string(&expected_path)
                .ok()
                .and_then(|t| serde_json::from_str(&t).ok())
                .unwrap_or(Value::Null);
            if actual == *folder && expected != fields {
                failures.push(format!(
                    "{}: expected {expected}, read {fields}",
                    eml.display()
                ));
            }
        }
        let (right, total) = rates[*folder];
        let rate = right as f64 / total as f64;
        println!("{folder:<11} {right:>3}/{total:<3} {:>6.1}%", rate * 100.0);
        if rate < *floor {
            failures.push(format!(
                "{folder}: {right}/{total} = {:.1}% classed right, below the {:.1}% reached",
                rate * 100.0,
                floor * 100.0
            ));
        }
    }
    assert!(
        peoples_mail >= MIN_PEOPLES_MAIL,
        "only {peoples_mail} genuine requests and replies"
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
