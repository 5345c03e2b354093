//! Throughput of the pure mail pipeline: parse → classify → reply text → command, and RFI
//! extraction, over the project's golden files and the public reply corpora.
//!
//! Run: `cargo bench --bench mail_pipeline` (release build). Prints, per stage, the median
//! time per message over several rounds and the messages per second it implies.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use leadbot::domain::command::parse_command;
use leadbot::mail::rfi::{self, Sender};
use leadbot::mail::{ClassifyContext, classify, parse, reply_text};

const ROUNDS: usize = 15;

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

/// Runs `work` over all inputs `ROUNDS` times; returns the median time per input.
fn measure<T>(inputs: &[T], mut work: impl FnMut(&T)) -> Duration {
    let mut per_round: Vec<Duration> = (0..ROUNDS)
        .map(|_| {
            let start = Instant::now();
            for input in inputs {
                work(input);
            }
            start.elapsed()
        })
        .collect();
    per_round.sort();
    per_round[ROUNDS / 2] / inputs.len().max(1) as u32
}

fn report(stage: &str, count: usize, per_item: Duration) {
    let per_second = 1.0 / per_item.as_secs_f64().max(1e-12);
    println!(
        "{stage:<44} {count:>5} inputs  {:>9.1} µs/msg  {per_second:>10.0} msg/s",
        per_item.as_secs_f64() * 1e6
    );
}

fn main() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let mut eml = Vec::new();
    files(&root.join("tests/golden"), "eml", &mut eml);
    files(&root.join("../shared/corpus/talon"), "eml", &mut eml);
    files(&root.join("../shared/corpus/mime"), "eml", &mut eml);
    let messages: Vec<Vec<u8>> = eml.iter().filter_map(|p| std::fs::read(p).ok()).collect();

    let mut txt = Vec::new();
    for corpus in [
        "email_reply_parser",
        "email_reply_trimmer",
        "crisp_email_reply_parser",
    ] {
        files(&root.join("../shared/corpus").join(corpus), "txt", &mut txt);
    }
    let bodies: Vec<String> = txt
        .iter()
        .filter_map(|p| std::fs::read_to_string(p).ok())
        .collect();

    let context = ClassifyContext {
        bot_address: "leads@leads.example.test".into(),
    };
    let raw_parser = measure(&messages, |raw| {
        let _ = std::hint::black_box(mail_parser::MessageParser::default().parse(raw));
    });
    report(
        "raw mail-parser (MessageParser::parse)",
        messages.len(),
        raw_parser,
    );
    let ours = measure(&messages, |raw| {
        let _ = std::hint::black_box(parse(raw));
    });
    report("parse (MIME, charsets, HTML → text)", messages.len(), ours);
    println!(
        "parse speed / raw mail-parser speed: {:.2} (must stay at or above 0.50)",
        raw_parser.as_secs_f64() / ours.as_secs_f64().max(1e-12)
    );
    let parsed: Vec<_> = messages.iter().filter_map(|raw| parse(raw).ok()).collect();
    report(
        "classify",
        parsed.len(),
        measure(&parsed, |mail| {
            std::hint::black_box(classify(mail, &context));
        }),
    );
    report(
        "reply_text (quotes and signatures removed)",
        bodies.len(),
        measure(&bodies, |body| {
            std::hint::black_box(reply_text(body));
        }),
    );
    let replies: Vec<String> = bodies.iter().map(|b| reply_text(b)).collect();
    report(
        "parse_command on reply text",
        replies.len(),
        measure(&replies, |text| {
            let _ = std::hint::black_box(parse_command(text));
        }),
    );
    report(
        "RFI extraction",
        parsed.len(),
        measure(&parsed, |mail| {
            let _ = std::hint::black_box(rfi::extract(mail, Sender::Public));
        }),
    );
    report(
        "whole pure path (parse+classify+reply+command)",
        messages.len(),
        measure(&messages, |raw| {
            if let Ok(mail) = parse(raw) {
                classify(&mail, &context);
                let _ = parse_command(&reply_text(&mail.text));
            }
        }),
    );
}
