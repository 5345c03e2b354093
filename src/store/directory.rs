//! Partners, profiles and contacts: the import (an idempotent upsert) and the look-ups that
//! routing and authorization need.

use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use super::{Doing, StoreError};
use crate::domain::directory::{Directory, Partner};
use crate::domain::{ContactRole, EmailAddress};

/// What an import did, for the operator.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct ImportSummary {
    pub partners: usize,
    pub profiles: usize,
    pub contacts: usize,
    /// Rows whose content actually changed (0 when re-importing the same file).
    pub changed: u64,
}

/// Upserts the whole file in one transaction: all of it, or nothing.
pub async fn import(pool: &PgPool, directory: &Directory) -> Result<ImportSummary, StoreError> {
    let mut tx = pool.begin().await.doing("starting the import")?;
    let mut summary = ImportSummary::default();
    for partner in &directory.partners {
        summary.changed += upsert_partner(&mut tx, partner).await?;
        summary.partners += 1;
        summary.profiles += partner.profiles.len();
        summary.contacts += partner.contacts.len();
    }
    tx.commit().await.doing("committing the import")?;
    Ok(summary)
}

async fn upsert_partner(tx: &mut PgConnection, partner: &Partner) -> Result<u64, StoreError> {
    let mut changed = sqlx::query(
        "INSERT INTO partners (id, name) VALUES ($1, $2)
         ON CONFLICT (id) DO UPDATE SET name = EXCLUDED.name, updated_at = now()
         WHERE partners.name IS DISTINCT FROM EXCLUDED.name",
    )
    .bind(&partner.id)
    .bind(&partner.name)
    .execute(&mut *tx)
    .await
    .doing("importing a partner")?
    .rows_affected();

    for profile in &partner.profiles {
        changed += sqlx::query(
            "INSERT INTO profiles (id, partner_id, address, regions, keywords, company_sizes, locale)
             VALUES ($1, $2, $3, $4, $5, $6, $7)
             ON CONFLICT (id) DO UPDATE SET partner_id = EXCLUDED.partner_id,
                 address = EXCLUDED.address, regions = EXCLUDED.regions,
                 keywords = EXCLUDED.keywords, company_sizes = EXCLUDED.company_sizes,
                 locale = EXCLUDED.locale, updated_at = now()
             WHERE (profiles.partner_id, profiles.address, profiles.regions, profiles.keywords,
                    profiles.company_sizes, profiles.locale)
                 IS DISTINCT FROM (EXCLUDED.partner_id, EXCLUDED.address, EXCLUDED.regions,
                    EXCLUDED.keywords, EXCLUDED.company_sizes, EXCLUDED.locale)",
        )
        .bind(&profile.id)
        .bind(&partner.id)
        .bind(profile.address.as_str())
        .bind(&profile.regions)
        .bind(&profile.keywords)
        .bind(&profile.company_sizes)
        .bind(&profile.locale)
        .execute(&mut *tx)
        .await
        .doing("importing a profile")?
        .rows_affected();
    }

    for contact in &partner.contacts {
        let (contact_id, was_changed): (i64, bool) = sqlx::query_as(
            "WITH upsert AS (
                 INSERT INTO contacts (partner_id, email, name, phone, role, locale)
                 VALUES ($1, $2, $3, $4, $5, $6)
                 ON CONFLICT (email) DO UPDATE SET partner_id = EXCLUDED.partner_id,
                     name = EXCLUDED.name, phone = EXCLUDED.phone, role = EXCLUDED.role,
                     locale = EXCLUDED.locale, updated_at = now()
                 WHERE (contacts.partner_id, contacts.name, contacts.phone, contacts.role,
                        contacts.locale)
                     IS DISTINCT FROM (EXCLUDED.partner_id, EXCLUDED.name, EXCLUDED.phone,
                        EXCLUDED.role, EXCLUDED.locale)
                 RETURNING id)
             SELECT id, true FROM upsert
             UNION ALL
             SELECT id, false FROM contacts WHERE email = $2 AND NOT EXISTS (SELECT 1 FROM upsert)",
        )
        .bind(&partner.id)
        .bind(contact.email.as_str())
        .bind(&contact.name)
        .bind(&contact.phone)
        .bind(contact.role.as_str())
        .bind(&contact.locale)
        .fetch_one(&mut *tx)
        .await
        .doing("importing a contact")?;
        changed += u64::from(was_changed);

        changed += sqlx::query(
            "DELETE FROM profile_contacts WHERE contact_id = $1 AND NOT (profile_id = ANY($2))",
        )
        .bind(contact_id)
        .bind(&contact.profiles)
        .execute(&mut *tx)
        .await
        .doing("updating a contact's profiles")?
        .rows_affected();
        changed += sqlx::query(
            "INSERT INTO profile_contacts (profile_id, contact_id)
             SELECT unnest($1::text[]), $2 ON CONFLICT DO NOTHING",
        )
        .bind(&contact.profiles)
        .bind(contact_id)
        .execute(&mut *tx)
        .await
        .doing("updating a contact's profiles")?
        .rows_affected();
    }
    Ok(changed)
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ProfileRow {
    pub id: String,
    pub partner_id: String,
    pub address: String,
    pub regions: Vec<String>,
    pub keywords: Vec<String>,
    pub company_sizes: Vec<String>,
    pub locale: String,
}

#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ContactRow {
    pub id: i64,
    pub partner_id: String,
    pub email: String,
    pub name: String,
    pub phone: Option<String>,
    pub role: String,
    pub locale: String,
}

impl ContactRow {
    pub fn role(&self) -> ContactRole {
        // The CHECK constraint keeps this column to the three known spellings.
        self.role.parse().unwrap_or(ContactRole::Member)
    }
}

const PROFILE_COLUMNS: &str = "id, partner_id, address, regions, keywords, company_sizes, locale";
const CONTACT_COLUMNS: &str = "id, partner_id, email, name, phone, role, locale";

pub async fn profiles(conn: &mut PgConnection) -> Result<Vec<ProfileRow>, StoreError> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PROFILE_COLUMNS} FROM profiles ORDER BY id"
    )))
    .fetch_all(conn)
    .await
    .doing("listing profiles")
}

pub async fn profile(conn: &mut PgConnection, id: &str) -> Result<Option<ProfileRow>, StoreError> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {PROFILE_COLUMNS} FROM profiles WHERE id = $1"
    )))
    .bind(id)
    .fetch_optional(conn)
    .await
    .doing("reading a profile")
}

pub async fn contact_by_email(
    conn: &mut PgConnection,
    email: &EmailAddress,
) -> Result<Option<ContactRow>, StoreError> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE email = $1"
    )))
    .bind(email.as_str())
    .fetch_optional(conn)
    .await
    .doing("looking up a contact")
}

/// The contacts with any of these addresses (spelled as stored).
pub async fn contacts_by_email(
    conn: &mut PgConnection,
    emails: &[&str],
) -> Result<Vec<ContactRow>, StoreError> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts WHERE email = ANY($1)"
    )))
    .bind(emails)
    .fetch_all(conn)
    .await
    .doing("looking up contacts")
}

/// The contacts who receive a profile's leads.
pub async fn profile_contacts(
    conn: &mut PgConnection,
    profile_id: &str,
) -> Result<Vec<ContactRow>, StoreError> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts
         WHERE id IN (SELECT contact_id FROM profile_contacts WHERE profile_id = $1)
         ORDER BY id"
    )))
    .bind(profile_id)
    .fetch_all(conn)
    .await
    .doing("listing a profile's contacts")
}

/// A partner's admins (digest recipients).
pub async fn partner_admins(
    conn: &mut PgConnection,
    partner_id: &str,
) -> Result<Vec<ContactRow>, StoreError> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {CONTACT_COLUMNS} FROM contacts
         WHERE partner_id = $1 AND role = 'partner_admin' ORDER BY id"
    )))
    .bind(partner_id)
    .fetch_all(conn)
    .await
    .doing("listing a partner's admins")
}
