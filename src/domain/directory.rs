//! The partner directory as operators write it: partners, their profiles and contacts
//! (the TOML of `leadbot partner import`), checked whole before anything is stored.

use serde::Deserialize;

use super::address::EmailAddress;
use super::lead::ContactRole;

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Directory {
    pub partners: Vec<Partner>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Partner {
    pub id: String,
    pub name: String,
    pub profiles: Vec<Profile>,
    pub contacts: Vec<Contact>,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Profile {
    pub id: String,
    pub address: EmailAddress,
    pub regions: Vec<String>,
    pub keywords: Vec<String>,
    pub company_sizes: Vec<String>,
    pub locale: String,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Contact {
    pub name: String,
    pub email: EmailAddress,
    pub phone: Option<String>,
    pub role: ContactRole,
    pub profiles: Vec<String>,
    pub locale: String,
}

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DirectoryError {
    #[error("not a valid partner file: {0}")]
    Syntax(String),
    #[error("partner `{partner}`: {problem}")]
    Partner { partner: String, problem: String },
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct FileShape {
    #[serde(default)]
    partner: Vec<PartnerShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct PartnerShape {
    id: String,
    name: String,
    #[serde(default)]
    profile: Vec<ProfileShape>,
    #[serde(default)]
    contact: Vec<ContactShape>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ProfileShape {
    id: String,
    address: String,
    #[serde(default)]
    regions: Vec<String>,
    #[serde(default)]
    keywords: Vec<String>,
    #[serde(default)]
    company_sizes: Vec<String>,
    #[serde(default = "default_locale")]
    locale: String,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct ContactShape {
    name: String,
    email: String,
    phone: Option<String>,
    role: String,
    #[serde(default)]
    profiles: Vec<String>,
    #[serde(default = "default_locale")]
    locale: String,
}

fn default_locale() -> String {
    "en".into()
}

impl Directory {
    /// Parses and checks a whole file: identifiers, addresses, roles, locales, and that
    /// every profile a contact names exists. One error, naming the partner and the item.
    pub fn parse(text: &str) -> Result<Self, DirectoryError> {
        let shape: FileShape = toml::from_str(text)
            .map_err(|e| DirectoryError::Syntax(e.to_string().trim().into()))?;
        if shape.partner.is_empty() {
            return Err(DirectoryError::Syntax(
                "no [[partner]] entries found".into(),
            ));
        }
        let partners = shape
            .partner
            .into_iter()
            .map(Partner::from_shape)
            .collect::<Result<Vec<_>, _>>()?;
        check_unique(&partners)?;
        Ok(Self { partners })
    }
}

impl Partner {
    fn from_shape(shape: PartnerShape) -> Result<Self, DirectoryError> {
        let fail = |problem: String| DirectoryError::Partner {
            partner: shape.id.clone(),
            problem,
        };
        if !is_identifier(&shape.id) {
            return Err(fail(
                "id must be lower-case letters, digits, '-' or '_'".into(),
            ));
        }
        if shape.name.trim().is_empty() {
            return Err(fail("name is empty".into()));
        }
        let mut profiles = Vec::new();
        for profile in &shape.profile {
            if !is_identifier(&profile.id) {
                return Err(fail(format!(
                    "profile id `{}` must be lower-case letters, digits, '-' or '_'",
                    profile.id
                )));
            }
            let address = EmailAddress::parse(&profile.address)
                .map_err(|e| fail(format!("profile `{}`: {e}", profile.id)))?;
            profiles.push(Profile {
                id: profile.id.clone(),
                address,
                regions: trimmed(&profile.regions),
                keywords: trimmed(&profile.keywords),
                company_sizes: trimmed(&profile.company_sizes),
                locale: checked_locale(&profile.locale)
                    .map_err(|e| fail(format!("profile `{}`: {e}", profile.id)))?,
            });
        }
        let mut contacts = Vec::new();
        for contact in &shape.contact {
            let about = |problem: String| fail(format!("contact `{}`: {problem}", contact.email));
            let email = EmailAddress::parse(&contact.email).map_err(|e| about(e.to_string()))?;
            let role = contact.role.parse::<ContactRole>().map_err(about)?;
            for profile in &contact.profiles {
                if !profiles.iter().any(|p| &p.id == profile) {
                    return Err(about(format!(
                        "names unknown profile `{profile}` (profiles of this partner: {})",
                        profiles
                            .iter()
                            .map(|p| p.id.as_str())
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            }
            contacts.push(Contact {
                name: contact.name.trim().into(),
                email,
                phone: contact.phone.clone().filter(|p| !p.trim().is_empty()),
                role,
                profiles: contact.profiles.clone(),
                locale: checked_locale(&contact.locale).map_err(about)?,
            });
        }
        Ok(Self {
            id: shape.id.clone(),
            name: shape.name.trim().into(),
            profiles,
            contacts,
        })
    }
}

/// Ids, profile addresses and contact emails must each be unique across the file.
fn check_unique(partners: &[Partner]) -> Result<(), DirectoryError> {
    let mut seen = std::collections::HashSet::new();
    for partner in partners {
        let fail = |what: String| DirectoryError::Partner {
            partner: partner.id.clone(),
            problem: format!("{what} appears more than once in the file"),
        };
        if !seen.insert(format!("partner:{}", partner.id)) {
            return Err(fail(format!("partner id `{}`", partner.id)));
        }
        for profile in &partner.profiles {
            if !seen.insert(format!("profile:{}", profile.id)) {
                return Err(fail(format!("profile id `{}`", profile.id)));
            }
            if !seen.insert(format!("address:{}", profile.address)) {
                return Err(fail(format!("profile address `{}`", profile.address)));
            }
        }
        for contact in &partner.contacts {
            if !seen.insert(format!("contact:{}", contact.email)) {
                return Err(fail(format!("contact email `{}`", contact.email)));
            }
        }
    }
    Ok(())
}

fn is_identifier(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= 64
        && id
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-' || c == '_')
}

fn trimmed(items: &[String]) -> Vec<String> {
    items
        .iter()
        .map(|item| item.trim().to_string())
        .filter(|item| !item.is_empty())
        .collect()
}

fn checked_locale(raw: &str) -> Result<String, String> {
    match raw.trim().to_ascii_lowercase().as_str() {
        locale @ ("en" | "fr") => Ok(locale.into()),
        _ => Err(format!("locale `{raw}` is not supported (en, fr)")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE: &str = r#"
[[partner]]
id = "contoso"
name = "Contoso Ltd"

  [[partner.profile]]
  id = "contoso-fr"
  address = "Contoso-FR@leads.example.test"
  regions = ["France", "Belgium"]
  keywords = ["azure", "migration", "teams"]
  company_sizes = ["1-49", "50-249", "250-999"]
  locale = "fr"

  [[partner.contact]]
  name = "Alice Martin"
  email = "alice@contoso.test"
  phone = "+33 1 23 45 67 89"
  role = "referrals_admin"
  profiles = ["contoso-fr"]
  locale = "fr"
"#;

    #[test]
    fn reads_the_documented_example() {
        let directory = Directory::parse(EXAMPLE).unwrap();
        let partner = &directory.partners[0];
        assert_eq!(partner.name, "Contoso Ltd");
        assert_eq!(
            partner.profiles[0].address.as_str(),
            "contoso-fr@leads.example.test"
        );
        assert_eq!(partner.profiles[0].regions, ["France", "Belgium"]);
        assert_eq!(partner.contacts[0].role, ContactRole::ReferralsAdmin);
        assert_eq!(partner.contacts[0].profiles, ["contoso-fr"]);
    }

    #[test]
    fn a_contact_naming_an_unknown_profile_is_refused() {
        let text = EXAMPLE.replace("profiles = [\"contoso-fr\"]", "profiles = [\"contoso-de\"]");
        let error = Directory::parse(&text).unwrap_err();
        assert_eq!(
            error.to_string(),
            "partner `contoso`: contact `alice@contoso.test`: names unknown profile \
             `contoso-de` (profiles of this partner: contoso-fr)"
        );
    }

    #[test]
    fn bad_roles_addresses_and_keys_are_named() {
        let bad_role = EXAMPLE.replace("referrals_admin", "boss");
        assert!(
            Directory::parse(&bad_role)
                .unwrap_err()
                .to_string()
                .contains("unknown ContactRole `boss`")
        );
        let bad_address = EXAMPLE.replace("alice@contoso.test", "alice");
        assert!(
            Directory::parse(&bad_address)
                .unwrap_err()
                .to_string()
                .contains("`alice` is not an email address")
        );
        let unknown_key = EXAMPLE.replace(
            "locale = \"fr\"\n\n",
            "locale = \"fr\"\n  colour = \"red\"\n\n",
        );
        assert!(
            Directory::parse(&unknown_key)
                .unwrap_err()
                .to_string()
                .contains("unknown field `colour`")
        );
    }

    #[test]
    fn duplicates_across_the_file_are_refused() {
        let twice = format!(
            "{EXAMPLE}\n{}",
            EXAMPLE.replace("id = \"contoso\"", "id = \"other\"")
        );
        let error = Directory::parse(&twice).unwrap_err().to_string();
        assert!(error.contains("appears more than once"), "{error}");
    }

    #[test]
    fn an_empty_file_is_refused() {
        assert!(Directory::parse("").is_err());
    }
}
