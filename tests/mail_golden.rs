//! Golden files for the whole mail-understanding path: each
//! `tests/golden/parse/X.eml` goes through `parse`, `reply_text` and
//! `classify`, and the result must equal `X.json` beside it.
//!
//! After a deliberate change, rewrite the expectations with
//! `UPDATE_GOLDEN=1 cargo test --test mail_golden`, then read the diff: the
//! JSON files are the reviewed statement of what leadbot makes of each mail.

use std::path::{Path, PathBuf};

use leadbot::mail::{ClassifyContext, classify, parse, reply_text};
use serde_json::{Value, json};

const BOT_ADDRESS: &str = "leads@leads.example.test";

fn golden_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/golden/parse")
}

/// What leadbot makes of one raw message, as JSON.
fn understand(raw: &[u8]) -> Value {
    let ctx = ClassifyContext {
        bot_address: BOT_ADDRESS.to_string(),
    };
    match parse(raw) {
        Ok(mail) => json!({
            "class": classify(&mail, &ctx),
            "reply_text": reply_text(&mail.text),
            "mail": mail,
        }),
        Err(error) => json!({ "error": error.to_string() }),
    }
}

#[test]
fn golden_messages_are_understood_as_recorded() {
    let update = std::env::var_os("UPDATE_GOLDEN").is_some();
    let mut fixtures: Vec<PathBuf> = std::fs::read_dir(golden_dir())
        .expect("golden folder")
        .flatten()
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|e| e == "eml"))
        .collect();
    fixtures.sort();
    assert!(
        fixtures.len() >= 10,
        "expected the golden set, found {}",
        fixtures.len()
    );

    let mut mismatches = Vec::new();
    for eml in &fixtures {
        let raw = std::fs::read(eml).expect("read fixture");
        let actual = understand(&raw);
        let expected_path = eml.with_extension("json");
        if update {
            let text = serde_json::to_string_pretty(&actual).expect("serialize") + "\n";
            std::fs::write(&expected_path, text).expect("write golden");
            continue;
        }
        let expected: Value = std::fs::read_to_string(&expected_path)
            .ok()
            .and_then(|t| serde_json::from_str(&t).ok())
            .unwrap_or(Value::Null);
        if expected != actual {
            mismatches.push(format!(
                "{}:\n{}",
                eml.display(),
                serde_json::to_string_pretty(&actual).unwrap_or_default()
            ));
        }
    }
    assert!(
        mismatches.is_empty(),
        "golden mismatch (UPDATE_GOLDEN=1 rewrites after review):\n{}",
        mismatches.join("\n\n")
    );
}

/// The behaviour the golden files pin down, stated directly: a quoted
/// command never appears in the new text, whatever the client.
#[test]
fn no_golden_reply_carries_a_quoted_command() {
    for name in [
        "gmail_reply",
        "apple_mail_reply",
        "iphone_reply",
        "outlook_fr_html_only",
    ] {
        let raw = std::fs::read(golden_dir().join(format!("{name}.eml"))).expect("fixture");
        let mail = parse(&raw).expect("parses");
        let reply = reply_text(&mail.text);
        assert!(!reply.is_empty(), "{name}: empty reply");
        let quoted_commands = [
            "Reply ACCEPT or DECLINE",
            "DECLINE\nold",
            "ACCEPTER ou REFUSER",
        ];
        for quoted in quoted_commands {
            assert!(
                !reply.contains(quoted),
                "{name}: kept quoted {quoted:?}: {reply:?}"
            );
        }
        assert!(
            !reply
                .lines()
                .skip(1)
                .any(|l| l == "ACCEPT" || l == "DECLINE"),
            "{name}: a quoted command line survived: {reply:?}"
        );
    }
}

/// HTML-only replies: the signature blocks of Gmail, Outlook and Apple Mail are not part
/// of the new text, so nothing in them is read as a command or a field.
#[test]
fn html_signatures_are_left_out_of_the_reply() {
    for (name, signature_text) in [
        ("gmail_html_only_signature", "Priya Shah"),
        ("outlook_html_only_signature", "Alice Martin"),
        ("apple_mail_html_only_signature", "Sent from my iPhone"),
    ] {
        let raw = std::fs::read(golden_dir().join(format!("{name}.eml"))).expect("fixture");
        let mail = parse(&raw).expect("parses");
        let reply = reply_text(&mail.text);
        assert!(!reply.is_empty(), "{name}: empty reply");
        assert!(
            !reply.contains(signature_text),
            "{name}: signature kept: {reply:?}"
        );
        assert!(!reply.contains("DECLINE is not"), "{name}: {reply:?}");
    }
}
