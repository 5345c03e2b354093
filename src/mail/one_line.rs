//! One-line fields (display names, subjects, attachment names, customer fields) come from
//! strangers: an encoded word can carry CR, LF, NUL or escape sequences that would come
//! back as fake header lines in a subject, fake lines in mail text, or garbage in a
//! terminal. They are cleaned once, when read.

use super::parse::{InboundMail, Mailbox};

/// `text` on one line: line breaks and tabs become spaces, other control characters
/// (C0, DEL, C1, and the Unicode line and paragraph separators) go, runs of whitespace
/// shrink to one space, and the ends are trimmed.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut pending_space = false;
    let mut rest = text;
    loop {
        // Printable ASCII is copied a run at a time: a subject can be hundreds of
        // kilobytes, and only runs of spaces, controls and non-ASCII need a look.
        let run = printable_run(rest);
        if run > 0 {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push_str(&rest[..run]);
        }
        let mut chars = rest[run..].chars();
        let Some(c) = chars.next() else {
            break;
        };
        rest = chars.as_str();
        if c.is_whitespace() || matches!(c, '\u{2028}' | '\u{2029}') {
            pending_space = !out.is_empty();
        } else if c.is_control() {
            continue;
        } else {
            if pending_space {
                out.push(' ');
                pending_space = false;
            }
            out.push(c);
        }
    }
    out
}

/// How many bytes at the start of `text` [`one_line`] copies as they are: printable
/// ASCII, with single spaces between printable characters (a space first, last, or
/// beside another whitespace is left to the rule of runs).
fn printable_run(text: &str) -> usize {
    let bytes = text.as_bytes();
    let mut at = 0;
    while let Some(&b) = bytes.get(at) {
        // The byte before a space in the run is printable: a space needs one after it.
        let single_space =
            b == b' ' && at > 0 && bytes.get(at + 1).is_some_and(u8::is_ascii_graphic);
        if !(b.is_ascii_graphic() || single_space) {
            break;
        }
        at += 1;
    }
    at
}

/// [`one_line`] for an optional field; a field left empty by cleaning is no field at all.
pub fn one_line_opt(text: Option<&str>) -> Option<String> {
    text.map(one_line).filter(|t| !t.is_empty())
}

impl InboundMail {
    /// Every one-line field of the message, cleaned with [`one_line`].
    pub(crate) fn with_one_line_fields(mut self) -> Self {
        fn clean_names(list: &mut [Mailbox]) {
            for mailbox in list {
                mailbox.name = one_line_opt(mailbox.name.as_deref());
                mailbox.email = one_line(&mailbox.email);
            }
        }
        if let Some(from) = self.from.as_mut() {
            clean_names(std::slice::from_mut(from));
        }
        clean_names(&mut self.reply_to);
        clean_names(&mut self.to);
        clean_names(&mut self.cc);
        self.subject = one_line(&self.subject);
        for attachment in &mut self.attachments {
            attachment.name = one_line_opt(attachment.name.as_deref());
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// The rule of [`one_line`] one character at a time, as it was written before the
    /// copy by runs: the fast path must give the same text.
    fn one_line_by_chars(text: &str) -> String {
        let mut out = String::new();
        let mut pending_space = false;
        for c in text.chars() {
            if c.is_whitespace() || matches!(c, '\u{2028}' | '\u{2029}') {
                pending_space = !out.is_empty();
            } else if !c.is_control() {
                if pending_space {
                    out.push(' ');
                    pending_space = false;
                }
                out.push(c);
            }
        }
        out
    }

    proptest! {
        #[test]
        fn runs_give_the_same_line_as_characters(
            text in "([a-zA-Z0-9 ]|[\\x00-\\x20\\x7f]|\\PC|[\u{85}\u{a0}\u{2028}\u{2029}é])*"
        ) {
            prop_assert_eq!(one_line(&text), one_line_by_chars(&text));
        }
    }

    #[test]
    fn line_breaks_become_spaces_and_controls_go() {
        assert_eq!(
            one_line("Evil\r\nBcc: x@evil.test"),
            "Evil Bcc: x@evil.test"
        );
        // NEL (U+0085) is a line break: a space, like CR and LF.
        assert_eq!(one_line("a\0b\x1b[31mc\x7f\u{85}d"), "ab[31mc d");
        assert_eq!(one_line("  tab\there \u{2028} end\n"), "tab here end");
        assert_eq!(one_line("Élodie Dupré"), "Élodie Dupré");
        assert_eq!(one_line_opt(Some("\r\n")), None);
    }

    #[test]
    fn an_encoded_display_name_cannot_smuggle_a_header_line() {
        // "Evil\r\nBcc: victim@x.test" as an RFC 2047 encoded word, in the name and subject.
        let raw = b"From: =?utf-8?B?RXZpbA0KQmNjOiB2aWN0aW1AeC50ZXN0?= <evil@x.test>\r\n\
To: leads@leads.example.test\r\n\
Subject: =?utf-8?B?RXZpbA0KQmNjOiB2aWN0aW1AeC50ZXN0?=\r\n\
Message-ID: <one-line@x.test>\r\n\r\nbody\r\n";
        let mail = crate::mail::parse(raw).expect("parses");
        let name = mail.from.and_then(|f| f.name).expect("a display name");
        assert_eq!(name, "Evil Bcc: victim@x.test");
        assert_eq!(mail.subject, "Evil Bcc: victim@x.test");
    }
}
