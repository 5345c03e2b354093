//! Customer text quoted in leadbot's mail is bounded: a 10 MB request copied into every
//! notification would make each mail huge and slow to build. The whole text stays with the
//! lead; mail carries its beginning and says so.

use crate::domain::{LeadId, Locale};

/// The most of a customer's text a mail quotes, in bytes.
pub const MAX_QUOTED_BYTES: usize = 20 * 1024;

/// `text` whole when short; else its first [`MAX_QUOTED_BYTES`] (cut after a line or a
/// word), then a note, in the reader's language, that the full text is kept with the lead.
pub fn bounded_quote(text: &str, lead: LeadId, locale: Locale) -> String {
    bounded(text, locale, |kilobytes| match locale {
        Locale::En => format!("[…] The full text ({kilobytes} KB) is kept with {lead}."),
        Locale::Fr => format!(
            "[…] Le texte complet ({kilobytes}\u{a0}Ko) est conservé avec la demande {lead}."
        ),
    })
}

/// The same bound for a request that is no lead yet: its whole text stays with the
/// quarantined message (`leadbot inbound list --quarantined`).
pub fn bounded_for_operator(text: &str, locale: Locale) -> String {
    bounded(text, locale, |kilobytes| match locale {
        Locale::En => {
            format!("[…] The full text ({kilobytes} KB) is kept with the quarantined message.")
        }
        Locale::Fr => format!(
            "[…] Le texte complet ({kilobytes}\u{a0}Ko) est conservé avec le message en quarantaine."
        ),
    })
}

fn bounded(text: &str, locale: Locale, note: impl FnOnce(String) -> String) -> String {
    if text.len() <= MAX_QUOTED_BYTES {
        return text.to_string();
    }
    let mut end = MAX_QUOTED_BYTES;
    while !text.is_char_boundary(end) {
        end -= 1;
    }
    let head = &text[..end];
    let cut = head
        .rfind('\n')
        .or_else(|| head.rfind(' '))
        .filter(|&at| at > MAX_QUOTED_BYTES / 2)
        .unwrap_or(end);
    let kilobytes = locale.integer(i64::try_from(text.len().div_ceil(1024)).unwrap_or(i64::MAX));
    format!("{}\n{}", head[..cut].trim_end(), note(kilobytes))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_text_is_quoted_whole() {
        assert_eq!(
            bounded_quote("Teams, please.", LeadId(1042), Locale::En),
            "Teams, please."
        );
    }

    #[test]
    fn long_text_is_cut_at_a_line_and_says_the_rest_is_kept() {
        let line = "Nous voulons migrer nos boîtes vers Teams.\n";
        let text = line.repeat(250_000); // about 11 MB
        let quoted = bounded_quote(&text, LeadId(1042), Locale::Fr);
        assert!(quoted.len() < MAX_QUOTED_BYTES + 200, "{}", quoted.len());
        let (body, note) = quoted.rsplit_once('\n').unwrap();
        assert!(body.ends_with("Teams."), "cut after a whole line");
        assert_eq!(
            note,
            "[…] Le texte complet (10\u{202f}743\u{a0}Ko) est conservé avec la demande L-1042."
        );
        let english = bounded_quote(&"é".repeat(30_000), LeadId(7), Locale::En);
        assert!(
            english.ends_with("[…] The full text (59 KB) is kept with L-7."),
            "{english}"
        );
    }
}
