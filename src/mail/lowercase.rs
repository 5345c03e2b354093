//! Lower-casing the words that pattern lists are matched against, without a copy when
//! the word is lower-case already (most words of most mail are).

use std::borrow::Cow;

/// `word.to_lowercase()`, borrowed when that would change nothing.
pub(crate) fn lowercase(word: &str) -> Cow<'_, str> {
    if !word.is_ascii() {
        return Cow::Owned(word.to_lowercase());
    }
    if word.bytes().any(|b| b.is_ascii_uppercase()) {
        Cow::Owned(word.to_ascii_lowercase())
    } else {
        Cow::Borrowed(word)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_words_with_capitals_are_copied() {
        assert!(matches!(lowercase("staff"), Cow::Borrowed("staff")));
        assert_eq!(lowercase("Staff"), "staff");
        assert_eq!(lowercase("SALARIÉS"), "salariés");
        assert_eq!(lowercase("ΟΔΟΣ"), "ΟΔΟΣ".to_lowercase());
    }
}
