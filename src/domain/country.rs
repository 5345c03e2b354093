//! Country names as leadbot stores them (English, as profiles spell regions) and as a
//! French reader reads them.

/// Stored name → French name, for the countries leadbot reads from requests.
const FRENCH: &[(&str, &str)] = &[
    ("Algeria", "Algérie"),
    ("Australia", "Australie"),
    ("Austria", "Autriche"),
    ("Belgium", "Belgique"),
    ("Brazil", "Brésil"),
    ("Canada", "Canada"),
    ("China", "Chine"),
    ("Denmark", "Danemark"),
    ("Finland", "Finlande"),
    ("France", "France"),
    ("Germany", "Allemagne"),
    ("India", "Inde"),
    ("Ireland", "Irlande"),
    ("Italy", "Italie"),
    ("Japan", "Japon"),
    ("Luxembourg", "Luxembourg"),
    ("Mexico", "Mexique"),
    ("Monaco", "Monaco"),
    ("Morocco", "Maroc"),
    ("Netherlands", "Pays-Bas"),
    ("New Zealand", "Nouvelle-Zélande"),
    ("Norway", "Norvège"),
    ("Poland", "Pologne"),
    ("Portugal", "Portugal"),
    ("Senegal", "Sénégal"),
    ("Spain", "Espagne"),
    ("Sweden", "Suède"),
    ("Switzerland", "Suisse"),
    ("Tunisia", "Tunisie"),
    ("United Kingdom", "Royaume-Uni"),
    ("United States", "États-Unis"),
];

/// The country's name for the reader; a name leadbot does not know is shown as stored.
pub fn country_name(stored: &str, fr: bool) -> &str {
    if !fr {
        return stored;
    }
    FRENCH
        .iter()
        .find(|(en, _)| en.eq_ignore_ascii_case(stored))
        .map_or(stored, |(_, name)| name)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn french_readers_read_french_names() {
        assert_eq!(country_name("United Kingdom", true), "Royaume-Uni");
        assert_eq!(country_name("United Kingdom", false), "United Kingdom");
        assert_eq!(country_name("Atlantis", true), "Atlantis");
    }
}
