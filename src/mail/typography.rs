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

/// Messages quote what a person wrote between backticks (`Value: lots`); a reader sees
/// quotation marks instead: “Value: lots”, « Value: lots ».
pub(crate) fn quotation_marks(locale: Locale, text: &str) -> String {
    let (open, close) = match locale {
        Locale::En => ("\u{201c}", "\u{201d}"),
        Locale::Fr => ("\u{ab}\u{a0}", "\u{a0}\u{bb}"),
    };
    let mut out = String::with_capacity(text.len() + 8);
    for (i, piece) in text.split('`').enumerate() {
        if i > 0 {
            out.push_str(if i % 2 == 1 { open } else { close });
        }
        out.push_str(piece);
    }
    out
}

/// Typesets the mail's own text for `locale` and removes the marks. Works on bytes, a run
/// at a time: it goes over every mail leadbot renders, a backlog's or a sweep's thousands.
pub(crate) fn finish(locale: Locale, rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len() + 64);
    // The own text since the last person's words, typeset whole: a stray closing mark
    // (outside any person's words) must not split "Besoin :" in two.
    let mut own = String::new();
    let mut depth = 0usize;
    let mut rest = rendered;
    loop {
        let (text, mark) = match next_mark(rest) {
            Some((at, opens)) => (&rest[..at], Some(opens)),
            None => (rest, None),
        };
        if depth == 0 {
            own.push_str(text);
        } else {
            out.push_str(text);
        }
        match mark {
            None => break,
            Some(true) => {
                if depth == 0 {
                    locale.typeset_into(&own, &mut out);
                    own.clear();
                }
                depth += 1;
            }
            Some(false) => depth = depth.saturating_sub(1),
        }
        rest = &rest[text.len() + MARK_LEN..];
    }
    locale.typeset_into(&own, &mut out);
    out
}

/// Both marks are three bytes in UTF-8: EE 80 80 and EE 80 81.
const MARK_LEN: usize = 3;

/// Where the next mark is in `text`, and whether it opens a person's words.
fn next_mark(text: &str) -> Option<(usize, bool)> {
    let bytes = text.as_bytes();
    memchr::memchr_iter(0xEE, bytes).find_map(|at| match bytes.get(at + 1..at + MARK_LEN) {
        Some([0x80, 0x80]) => Some((at, true)),
        Some([0x80, 0x81]) => Some((at, false)),
        _ => None,
    })
}

/// Only the mail's own text: what people wrote is left out. For checks over templates.
#[cfg(test)]
pub(crate) fn own_text(rendered: &str) -> String {
    let mut out = String::with_capacity(rendered.len());
    let mut depth = 0usize;
    for ch in rendered.chars() {
        match ch {
            THEIRS_START => {
                depth += 1;
                out.push(' ');
            }
            THEIRS_END => depth = depth.saturating_sub(1),
            _ if depth == 0 => out.push(ch),
            _ => {}
        }
    }
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
    fn backticks_become_quotation_marks() {
        assert_eq!(
            quotation_marks(Locale::Fr, "`Value: lots` ne peut pas être lu"),
            "\u{ab}\u{a0}Value: lots\u{a0}\u{bb} ne peut pas être lu"
        );
        assert_eq!(
            quotation_marks(Locale::En, "`ACEPT` is not a command"),
            "\u{201c}ACEPT\u{201d} is not a command"
        );
    }

    #[test]
    fn a_stray_closing_mark_does_not_split_own_text_and_nested_words_stay_whole() {
        // Other private-use characters (EE 80 82…) are text like any other.
        let mail = format!("Délai \u{e001}: 3 jours \u{e002} ; {}", theirs("vite !"));
        assert_eq!(
            finish(Locale::Fr, &mail),
            "Délai\u{a0}: 3 jours \u{e002}\u{202f}; vite !"
        );
        let nested = "Note : \u{e000}a : \u{e000}b ; \u{e001}c ?\u{e001} fin !";
        assert_eq!(
            finish(Locale::Fr, nested),
            "Note\u{a0}: a : b ; c ? fin\u{202f}!"
        );
    }

    #[test]
    fn marks_never_leak() {
        let mail = format!("{}{}", theirs("a\u{e000}b"), theirs(""));
        assert_eq!(finish(Locale::Fr, &mail), "ab");
        assert_eq!(unmarked(&theirs("x : y")), "x : y");
    }
}
