//! Golden files for RFI extraction: each `tests/golden/rfi/NAME.eml` sits beside
//! `NAME.json`, the lead-to-be leadbot reads from it. One test walks the folder.
//! `UPDATE_GOLDEN=1 cargo test --test rfi_golden` rewrites the expectations (review the diff).

use std::path::Path;

use leadbot::domain::directory::Directory;
use leadbot::mail::parse;
use leadbot::mail::rfi::{self, Sender};

const STAFF_DOMAINS: &[&str] = &["microsoft.test"];

/// Staff by domain, partner contacts from the example directory, anyone else public —
/// the same rule ingest applies with the database.
fn sender_kind(email: &str, directory: &Directory) -> Sender {
    let domain = email.rsplit_once('@').map_or("", |(_, d)| d);
    if STAFF_DOMAINS.contains(&domain) {
        Sender::Staff
    } else if directory
        .partners
        .iter()
        .flat_map(|p| &p.contacts)
        .any(|c| c.email.as_str() == email)
    {
        Sender::PartnerContact
    } else {
        Sender::Public
    }
}

#[test]
fn every_rfi_fixture_reads_as_its_expected_lead() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let directory =
        Directory::parse(&std::fs::read_to_string(root.join("examples/partners.toml")).unwrap())
            .unwrap();
    let folder = root.join("tests/golden/rfi");
    let mut fixtures: Vec<_> = std::fs::read_dir(&folder)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    fixtures.sort();
    assert!(
        fixtures.len() >= 10,
        "fixtures missing in {}",
        folder.display()
    );

    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut failures = Vec::new();
    for fixture in &fixtures {
        let mail = parse(&std::fs::read(fixture).unwrap()).expect("fixture parses");
        let sender = sender_kind(&mail.from.as_ref().unwrap().email, &directory);
        let actual = match rfi::extract(&mail, sender) {
            Ok(rfi) => serde_json::to_value(rfi).unwrap(),
            Err(error) => serde_json::json!({ "error": error.to_string() }),
        };
        let expected_path = fixture.with_extension("json");
        if update {
            let text = serde_json::to_string_pretty(&actual).unwrap() + "\n";
            std::fs::write(&expected_path, text).unwrap();
            continue;
        }
        let expected: serde_json::Value = match std::fs::read_to_string(&expected_path) {
            Ok(text) => serde_json::from_str(&text).unwrap(),
            Err(_) => {
                failures.push(format!("{}: no expectation file", expected_path.display()));
                continue;
            }
        };
        if actual != expected {
            failures.push(format!(
                "{}:\n  expected {expected}\n  actual   {actual}",
                fixture.display()
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
