//! French typography for a whole rendered mail, without touching what a person wrote.
//!
//! Templates write their own French text with plain spaces ("Besoin :"); the locale's
//! [`typeset`](crate::domain::Locale::typeset) turns them into the right no-break spaces.
//! Values a person wrote (a customer's need, a contact's echoed reply) are wrapped in
//! [`theirs`] before rendering, so [`finish`] typesets only the text around them and then
//! drops the marks. The marks are Unicode private-use characters, which no mail carries
//! and askama's HTML escaping leaves alone.

use crate::domain::Locale;

const THEIRS_START: char = '\u{e000}';
const THEIRS_END: char = '\u{e001}';

/// Marks `text` as written by a person: [`finish`] leaves it exactly as it is.
pub(crate) fn theirs(text: &str) -> String {
    if text.is_empty() {
        return String::new();
    }
    let clean: String = text
        .chars()
        .filter(|c| *c != THEIRS_START && *c != THEIRS_END)
        .collect();
    format!("{THEIRS_START}{clean}{THEIRS_END}")
}

/// `text` without the marks of [`theirs`], for places that are not typeset (URLs).
pub(crate) fn unmarked(text: &str) -> String {
    text.chars()
        .filter(|c| *c != THEIRS_START && *c != THEIRS_END)
        .collect()
}

/// Typesets the mail's own text for `locale` and removes the marks.
pub(crate) fn finish(locale: Locale, rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len());
    let mut own = String::new();
    let mut depth = 0usize;
    for ch in rendered.chars() {
        match ch {
            THEIRS_START => {
                if depth == 0 {
                    out.push_str(&locale.typeset(&own));
                    own.clear();
                }
                depth += 1;
            }
            THEIRS_END => depth = depth.saturating_sub(1),
            _ if depth == 0 => own.push(ch),
            _ => out.push(ch),
        }
    }
    out.push_str(&locale.typeset(&own));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_own_text_is_typeset_and_a_persons_words_are_kept() {
        let mail = format!(
            "Besoin : {} ! Motif : {}",
            theirs("Migrer : vite !"),
            theirs("trop gros ; désolé")
        );
        assert_eq!(
            finish(Locale::Fr, &mail),
            "Besoin\u{a0}: Migrer : vite !\u{202f}! Motif\u{a0}: trop gros ; désolé"
        );
        assert_eq!(
            finish(Locale::En, &mail),
            "Besoin : Migrer : vite ! ! Motif : trop gros ; désolé"
        );
    }

    #[test]
    fn marks_never_leak() {
        let mail = format!("{}{}", theirs("a\u{e000}b"), theirs(""));
        assert_eq!(finish(Locale::Fr, &mail), "ab");
        assert_eq!(unmarked(&theirs("x : y")), "x : y");
    }
}
