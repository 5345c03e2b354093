//! Folding text for comparison: case, accents, apostrophes, separators.

/// Lower case without accents, typographic apostrophes made plain, so "GAGNÉ", "gagne" and
/// "Gagné" compare equal. Combining accents (decomposed text) are dropped too.
pub(crate) fn fold(text: &str) -> String {
    let mut folded = String::with_capacity(text.len());
    for c in text.chars().flat_map(char::to_lowercase) {
        match c {
            'à' | 'â' | 'ä' | 'á' | 'ã' | 'å' => folded.push('a'),
            'ç' => folded.push('c'),
            'é' | 'è' | 'ê' | 'ë' => folded.push('e'),
            'î' | 'ï' | 'í' | 'ì' => folded.push('i'),
            'ô' | 'ö' | 'ó' | 'ò' | 'õ' => folded.push('o'),
            'ù' | 'û' | 'ü' | 'ú' => folded.push('u'),
            'ÿ' | 'ý' => folded.push('y'),
            'ñ' => folded.push('n'),
            'œ' => folded.push_str("oe"),
            'æ' => folded.push_str("ae"),
            '’' | '‘' | 'ʼ' | '`' | '´' => folded.push('\''),
            '\u{300}'..='\u{36f}' => {}
            other => folded.push(other),
        }
    }
    folded
}

/// A field label folded for lookup: "E-mail" → "e mail", "Tél." → "tel",
/// "Nom de l’affaire" → "nom de l'affaire".
pub(crate) fn fold_label(label: &str) -> String {
    let folded = fold(label);
    let spaced: String = folded
        .chars()
        .map(|c| if "-_.".contains(c) { ' ' } else { c })
        .collect();
    spaced.split_whitespace().collect::<Vec<_>>().join(" ")
}

pub(super) fn is_quoted(line: &str) -> bool {
    line.trim_start().starts_with('>')
}

pub(super) fn is_blank(line: &str) -> bool {
    line.trim().is_empty()
}

/// Strips what people put between a command word and its argument: "REJECT: …", "DECLINE - 2".
pub(super) fn trim_separators(text: &str) -> &str {
    text.trim_start_matches(|c: char| c.is_whitespace() || ":,-–—.;".contains(c))
        .trim_end()
}
