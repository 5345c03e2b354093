//! Any bytes through everything leadbot does to an inbound message without a database:
//! parse, classify, reply text, command grammar, RFI extraction. None of it may panic.
//!
//! Run: `cargo fuzz run inbound_mail --sanitizer none` (from the repository root).
#![no_main]

use leadbot::domain::command::parse_command;
use leadbot::mail::rfi::{self, Sender};
use leadbot::mail::{ClassifyContext, classify, html_to_text, parse, reply_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let context = ClassifyContext {
        bot_address: "leads@leads.example.test".into(),
    };
    if let Ok(mail) = parse(data) {
        classify(&mail, &context);
        let _ = parse_command(&reply_text(&mail.text));
        for sender in [Sender::Public, Sender::Staff, Sender::PartnerContact] {
            let _ = rfi::extract(&mail, sender);
        }
    }
    let text = String::from_utf8_lossy(data);
    let _ = parse_command(&reply_text(&html_to_text(&text)));
});
