//! Criterion benchmarks of the pure code, no I/O: parse + classify + RFI extraction beside raw
//! mail-parser 0.11 on the same messages, reply extraction, the command grammar, and
//! rendering a lead notification.
//!
//! Run: `cargo bench --bench pure` (add `-- --quick` for a short run). The inputs are the
//! golden files, the talon and MIME corpora (`.eml`) and the plain-text reply corpora of
//! `../shared/corpus`. At the end it prints the ratio the issue tracks, leadbot's
//! throughput as a fraction of raw mail-parser's, twice: for the pipeline as ingest runs
//! it (RFI extraction only for mail classified as a request), and for extraction from
//! every message (this bench's definition before issue 14's second round).

use std::hint::black_box;
use std::path::{Path, PathBuf};

use chrono::{DateTime, TimeDelta, Utc};
use criterion::{Criterion, Throughput};
use leadbot::domain::command::parse_command;
use leadbot::domain::{Customer, Deal, Lead, LeadId, LeadKind, LeadState, Locale};
use leadbot::mail::rfi::{self, Sender};
use leadbot::mail::templates::{Notification, render};
use leadbot::mail::{ClassifyContext, MailClass, classify, parse, reply_text};

/// Criterion's group and function names for the ratio printed at the end.
const PIPELINE: &str = "parse_classify_extract";
const RAW_PARSER: &str = "mail_parser_alone";
const LEADBOT_PATH: &str = "leadbot";
const LEADBOT_EXTRACT_ALL: &str = "leadbot_extract_all";

fn files(dir: &Path, extension: &str, out: &mut Vec<PathBuf>) {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return;
    };
    for entry in entries.flatten() {
        let path = entry.path();
        if path.is_dir() {
            files(&path, extension, out);
        } else if path.extension().is_some_and(|e| e == extension) {
            out.push(path);
        }
    }
}

/// Every `.eml` of the golden files and the shared MIME corpora, as raw bytes.
fn messages() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut paths = Vec::new();
    files(&root.join("tests/golden"), "eml", &mut paths);
    files(&root.join("../shared/corpus/talon"), "eml", &mut paths);
    files(&root.join("../shared/corpus/mime"), "eml", &mut paths);
    paths.sort();
    paths.iter().filter_map(|p| std::fs::read(p).ok()).collect()
}

/// The plain-text reply corpora: mail bodies with quotes and signatures.
fn reply_bodies() -> Vec<String> {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/corpus");
    let mut paths = Vec::new();
    for name in [
        "email_reply_parser",
        "email_reply_trimmer",
        "crisp_email_reply_parser",
    ] {
        files(&corpus.join(name), "txt", &mut paths);
    }
    paths.sort();
    paths
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect()
}

fn classify_context() -> ClassifyContext {
    ClassifyContext {
        bot_address: "leads@leads.example.test".into(),
    }
}

/// Raw mail-parser 0.11 over every message: the yardstick.
fn raw_parser(messages: &[Vec<u8>]) {
    for raw in messages {
        black_box(mail_parser::MessageParser::default().parse(black_box(raw.as_slice())));
    }
}

/// Leadbot's parse + classify + RFI extraction as ingest runs them
/// (`workflow::ingest`): only a request is read as an RFI; bounces, automatic answers,
/// lists and replies never are. (Ingest also skips a request without a From address or
/// that is a partner's command; the bench still reads those, which only costs it.)
fn leadbot_path(messages: &[Vec<u8>], context: &ClassifyContext) {
    for raw in messages {
        if let Ok(mail) = parse(black_box(raw))
            && black_box(classify(&mail, context)) == MailClass::Request
        {
            let _ = black_box(rfi::extract(&mail, Sender::Public));
        }
    }
}

/// Parse + classify + RFI extraction from every message whatever its class: the
/// bench's definition before issue 14's second round, kept to compare with.
fn leadbot_extract_all(messages: &[Vec<u8>], context: &ClassifyContext) {
    for raw in messages {
        if let Ok(mail) = parse(black_box(raw)) {
            black_box(classify(&mail, context));
            let _ = black_box(rfi::extract(&mail, Sender::Public));
        }
    }
}

fn pipeline(c: &mut Criterion, messages: &[Vec<u8>]) {
    let context = classify_context();
    let mut group = c.benchmark_group(PIPELINE);
    group.throughput(Throughput::Elements(messages.len() as u64));
    group.bench_function(RAW_PARSER, |b| b.iter(|| raw_parser(messages)));
    group.bench_function(LEADBOT_PATH, |b| {
        b.iter(|| leadbot_path(messages, &context))
    });
    group.bench_function(LEADBOT_EXTRACT_ALL, |b| {
        b.iter(|| leadbot_extract_all(messages, &context))
    });
    group.finish();
}

fn replies(c: &mut Criterion, bodies: &[String]) {
    let mut group = c.benchmark_group("replies");
    group.throughput(Throughput::Elements(bodies.len() as u64));
    group.bench_function("reply_text", |b| {
        b.iter(|| {
            for body in bodies {
                black_box(reply_text(black_box(body)));
            }
        });
    });
    let new_texts: Vec<String> = bodies.iter().map(|b| reply_text(b)).collect();
    group.bench_function("parse_command", |b| {
        b.iter(|| {
            for text in &new_texts {
                let _ = black_box(parse_command(black_box(text)));
            }
        });
    });
    group.finish();
}

fn received_at() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2026-11-02T09:30:00Z")
        .expect("a valid instant")
        .with_timezone(&Utc)
}

/// A fresh, hot lead with every customer field filled: the notification that says the most.
fn fresh_lead() -> Lead {
    Lead {
        id: LeadId(1042),
        kind: LeadKind::CustomerInquiry,
        state: LeadState::Received,
        partner_id: "contoso".into(),
        profile_id: "contoso-fr".into(),
        customer: Customer {
            name: Some("Chloé Dubois".into()),
            email: Some("chloe@client.test".into()),
            company: Some("Fabrikam SA".into()),
            phone: Some("+33 6 12 34 56 78".into()),
        },
        context: leadbot::domain::LeadContext {
            region: Some("France".into()),
            city: Some("Lyon".into()),
            company_size: Some("400".into()),
            referrer_note: None,
            customer_email_failure: None,
        },
        need: "Migrate 200 mailboxes to Teams before March.".into(),
        hot_until: Some(received_at() + TimeDelta::hours(72)),
        favorite: false,
        deal: Deal::default(),
        decline: None,
        contacts: Vec::new(),
        referrer: None,
        registration: None,
        received_at: received_at(),
        expires_at: received_at() + TimeDelta::days(14),
        first_response_at: None,
        closed_at: None,
        version: 1,
    }
}

fn rendering(c: &mut Criterion) {
    let lead = fresh_lead();
    let notification = Notification::NewLead {
        lead: &lead,
        reply_to: "leads+l1042c7-abcdefghijklmnop@leads.example.test",
        now: received_at(),
    };
    let mut group = c.benchmark_group("render_new_lead");
    for locale in [Locale::En, Locale::Fr] {
        group.bench_function(locale.as_str(), |b| {
            b.iter(|| black_box(render(black_box(&notification), locale)));
        });
    }
    group.finish();
}

/// The median time criterion recorded for `group/function`, in nanoseconds.
fn median_ns(output: &Path, group: &str, function: &str) -> Option<f64> {
    let path = output.join(group).join(function).join("new/estimates.json");
    let estimates: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
    estimates["median"]["point_estimate"].as_f64()
}

/// Profiling aid: `LEADBOT_PURE_PROFILE=leadbot` (or `=leadbot_extract_all`, or
/// `=mail_parser_alone`) runs that path
/// once over the messages and nothing else, so that `valgrind --tool=callgrind` counts the
/// instructions of that path alone (criterion's timing loop would vary the count).
const PROFILE: &str = "LEADBOT_PURE_PROFILE";

fn main() {
    let messages = messages();
    let bodies = reply_bodies();
    assert!(
        !messages.is_empty(),
        "no .eml inputs under tests/golden (run from the project folder)"
    );
    if let Ok(path) = std::env::var(PROFILE) {
        let context = classify_context();
        match path.as_str() {
            RAW_PARSER => raw_parser(&messages),
            LEADBOT_PATH => leadbot_path(&messages, &context),
            LEADBOT_EXTRACT_ALL => leadbot_extract_all(&messages, &context),
            other => panic!(
                "{PROFILE}={other}: expected {RAW_PARSER}, {LEADBOT_PATH} or {LEADBOT_EXTRACT_ALL}"
            ),
        }
        return;
    }
    let output = criterion_output_dir();
    let mut c = Criterion::default()
        .output_directory(&output)
        .configure_from_args();
    pipeline(&mut c, &messages);
    replies(&mut c, &bodies);
    rendering(&mut c);
    c.final_summary();

    println!(
        "\ninputs: {} messages, {} reply bodies",
        messages.len(),
        bodies.len()
    );
    let Some(raw) = median_ns(&output, PIPELINE, RAW_PARSER) else {
        return;
    };
    for (function, what) in [
        (
            LEADBOT_PATH,
            "parse + classify + extract as ingest runs it (requests only)",
        ),
        (
            LEADBOT_EXTRACT_ALL,
            "parse + classify + extract from every message",
        ),
    ] {
        if let Some(ours) = median_ns(&output, PIPELINE, function) {
            println!(
                "{what}: {:.1} µs/msg, raw mail-parser 0.11: {:.1} µs/msg → {:.2} of raw mail-parser's throughput (goal: keep ≥ 0.5)",
                ours / 1e3 / messages.len() as f64,
                raw / 1e3 / messages.len() as f64,
                raw / ours
            );
        }
    }
}

/// Where criterion keeps its results: `$CRITERION_HOME`, else `criterion/` in the target folder.
fn criterion_output_dir() -> PathBuf {
    if let Some(home) = std::env::var_os("CRITERION_HOME") {
        return PathBuf::from(home);
    }
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("target"));
    target.join("criterion")
}
