//! Is any of a list of phrases in a text? Classification and RFI reading ask it of lists
//! of dozens of phrases ("undelivered mail returned to sender", "could you call"…); a
//! `contains` per phrase reads the text once per phrase. [`Phrases`] reads it once.
//!
//! Built once per list (in a `LazyLock`): a table of the byte pairs that start a phrase,
//! and the phrases by their first byte. Most positions of a text start no phrase and cost
//! one table look-up; the others are compared with the few phrases that begin there.
//! Matching is on bytes, which for UTF-8 text and phrases is the same as `str::contains`.

/// `text`'s words with one space between them, as phrases are written: what
/// `split_whitespace().collect::<Vec<_>>().join(" ")` gives, without the list of words.
pub(crate) fn single_spaced(text: &str) -> String {
    // ASCII other than whitespace is copied a run at a time; only the rest is read as
    // characters (Unicode whitespace: no-break space, ideographic space…).
    let is_plain =
        |b: &u8| b.is_ascii() && !matches!(b, b'\t' | b'\n' | 0x0b | 0x0c | b'\r' | b' ');
    let mut out = String::with_capacity(text.len());
    let mut space = false;
    let mut rest = text;
    loop {
        let run = rest
            .bytes()
            .position(|b| !is_plain(&b))
            .unwrap_or(rest.len());
        if run > 0 {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push_str(&rest[..run]);
        }
        let mut chars = rest[run..].chars();
        let Some(c) = chars.next() else {
            break;
        };
        rest = chars.as_str();
        if c.is_whitespace() {
            space = true;
        } else {
            if space && !out.is_empty() {
                out.push(' ');
            }
            space = false;
            out.push(c);
        }
    }
    out
}

/// A list of phrases to look for, all at once.
pub(crate) struct Phrases {
    /// Bit `a * 256 + b` is set when some phrase starts with the bytes `a b`, or is the
    /// one byte `a` alone.
    starts: Vec<u64>,
    /// The phrases (as bytes) by their first byte.
    by_first_byte: Vec<Vec<&'static [u8]>>,
    /// A phrase is empty: every text holds it, as with `contains("")`.
    has_empty: bool,
}

impl Phrases {
    pub(crate) fn new(phrases: &[&'static str]) -> Self {
        let mut starts = vec![0u64; 256 * 256 / 64];
        let mut by_first_byte = vec![Vec::new(); 256];
        let mut has_empty = false;
        for phrase in phrases.iter().map(|p| p.as_bytes()) {
            let (first, second) = match phrase {
                [] => {
                    has_empty = true;
                    continue;
                }
                [first] => (*first, None),
                [first, second, ..] => (*first, Some(*second)),
            };
            let pairs = match second {
                Some(second) => usize::from(second)..usize::from(second) + 1,
                None => 0..256,
            };
            for second in pairs {
                let bit = usize::from(first) * 256 + second;
                starts[bit / 64] |= 1 << (bit % 64);
            }
            by_first_byte[usize::from(first)].push(phrase);
        }
        Self {
            starts,
            by_first_byte,
            has_empty,
        }
    }

    /// Whether `text` holds one of the phrases: `phrases.iter().any(|p| text.contains(p))`.
    pub(crate) fn found_in(&self, text: &str) -> bool {
        if self.has_empty {
            return true;
        }
        let text = text.as_bytes();
        (0..text.len()).any(|at| {
            let first = text[at];
            // After the last byte, only a one-byte phrase can start: its bits are set for
            // every second byte, 0 among them.
            let second = text.get(at + 1).copied().unwrap_or(0);
            let bit = usize::from(first) * 256 + usize::from(second);
            self.starts[bit / 64] & (1 << (bit % 64)) != 0
                && self.by_first_byte[usize::from(first)]
                    .iter()
                    .any(|phrase| text[at..].starts_with(phrase))
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const LIST: &[&str] = &[
        "delivery failed",
        "could not",
        "配信不能",
        "non remis :",
        "x",
        "échec de la remise",
    ];

    #[test]
    fn single_spaced_joins_the_words_with_one_space() {
        assert_eq!(single_spaced("  a\t b\r\n\u{a0}c  "), "a b c");
        assert_eq!(single_spaced(" \n "), "");
        assert_eq!(single_spaced("a\u{0b}b\u{3000}é\u{85}x"), "a b é x");
    }

    #[test]
    fn finds_what_contains_finds() {
        let phrases = Phrases::new(LIST);
        assert!(phrases.found_in("mail delivery failed: returning message"));
        assert!(phrases.found_in("件名: 配信不能"));
        assert!(phrases.found_in("ends with x"));
        assert!(phrases.found_in("Échec: échec de la remise"));
        assert!(!phrases.found_in("delivery faile"));
        assert!(!phrases.found_in(""));
        assert!(Phrases::new(&[""]).found_in(""));
        assert!(!Phrases::new(&[]).found_in("anything"));
    }

    proptest! {
        #[test]
        fn single_spaced_is_split_whitespace_joined(
            text in "([a-z ]|[\\x00-\\x20]|\\PC|[\u{85}\u{a0}\u{2000}\u{3000}é])*"
        ) {
            prop_assert_eq!(
                single_spaced(&text),
                text.split_whitespace().collect::<Vec<_>>().join(" ")
            );
        }

        #[test]
        fn agrees_with_contains(text in "[a-z :xé配信不能]{0,40}") {
            let phrases = Phrases::new(LIST);
            prop_assert_eq!(phrases.found_in(&text), LIST.iter().any(|p| text.contains(p)));
        }
    }
}
