//! Robustness: every message of the MIME corpora (mail-parser's RFC,
//! third-party and malformed sets, and flanker's messages) goes through
//! `parse`, `classify` and `reply_text` without a panic. Each either parses
//! or gives a `ParseError`; the counts are printed.

use std::path::{Path, PathBuf};

use leadbot::mail::{ClassifyContext, classify, parse, reply_text};

fn eml_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            eml_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "eml") {
            out.push(path);
        }
    }
}

#[test]
fn every_corpus_message_parses_or_fails_cleanly() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus/mime");
    let ctx = ClassifyContext {
        bot_address: "leads@leads.example.test".to_string(),
    };
    for folder in ["mail-parser", "flanker"] {
        let mut files = Vec::new();
        eml_files(&root.join(folder), &mut files);
        files.sort();
        assert!(!files.is_empty(), "no .eml under {folder}");
        let (mut parsed, mut errors) = (0, Vec::new());
        for file in &files {
            let raw = std::fs::read(file).unwrap_or_else(|e| panic!("{}: {e}", file.display()));
            match parse(&raw) {
                Ok(mail) => {
                    parsed += 1;
                    let _ = classify(&mail, &ctx);
                    let _ = reply_text(&mail.text);
                }
                Err(e) => errors.push(format!("{}: {e}", file.display())),
            }
        }
        println!(
            "mime {folder}: {parsed}/{} parsed, {} gave ParseError",
            files.len(),
            errors.len()
        );
        for error in &errors {
            println!("    {error}");
        }
    }
}
