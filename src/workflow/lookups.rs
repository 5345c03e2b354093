//! What ingest reads of the directory and of leadbot's own Message-IDs, kept for the length
//! of one transaction. A backlog's batch asks for the profiles, its senders' contacts and
//! its Message-IDs in three statements for all its messages, instead of three per message:
//! on loopback each statement is a round trip that costs more than the work it asks for.
//!
//! Kept answers stay true for the transaction: only `leadbot import` changes the directory
//! (in a transaction of its own), and no mail queued inside a batch has been sent yet, so
//! none of its Message-IDs can come back in the same batch. Whatever was not fetched ahead
//! is asked for when needed, so the answers are the same with or without [`Lookups::prefetch`].

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use sqlx::PgConnection;

use crate::domain::EmailAddress;
use crate::store::StoreError;
use crate::store::directory::{self, ContactRow, ProfileRow};
use crate::store::outbox;

#[derive(Debug, Default)]
pub struct Lookups {
    profiles: Option<Arc<[ProfileRow]>>,
    /// By address as stored (`EmailAddress::as_str`); `None`: no contact has it.
    contacts: HashMap<String, Option<ContactRow>>,
    profile_contacts: HashMap<String, Arc<[ContactRow]>>,
    /// Message-IDs already looked up among the outbox's, and those found there.
    checked_ids: HashSet<String>,
    our_ids: HashSet<String>,
}

impl Lookups {
    /// Reads ahead, in three statements, what handling these messages will ask: the
    /// profiles, the contacts with these sender addresses, and which of these Message-IDs
    /// leadbot generated.
    pub async fn prefetch(
        &mut self,
        conn: &mut PgConnection,
        senders: &[EmailAddress],
        message_ids: &[&str],
    ) -> Result<(), StoreError> {
        self.profiles(conn).await?;
        let emails: Vec<&str> = senders
            .iter()
            .map(EmailAddress::as_str)
            .filter(|email| !self.contacts.contains_key(*email))
            .collect();
        if !emails.is_empty() {
            let found = directory::contacts_by_email(conn, &emails).await?;
            for email in emails {
                let contact = found.iter().find(|c| c.email == email).cloned();
                self.contacts.insert(email.to_owned(), contact);
            }
        }
        let ids: Vec<&str> = message_ids
            .iter()
            .map(|id| bare_id(id))
            .filter(|id| !self.checked_ids.contains(*id))
            .collect();
        if !ids.is_empty() {
            self.our_ids.extend(outbox::ours_among(conn, &ids).await?);
            self.checked_ids.extend(ids.into_iter().map(str::to_owned));
        }
        Ok(())
    }

    /// Every profile of the directory.
    pub async fn profiles(
        &mut self,
        conn: &mut PgConnection,
    ) -> Result<Arc<[ProfileRow]>, StoreError> {
        if let Some(profiles) = &self.profiles {
            return Ok(Arc::clone(profiles));
        }
        let profiles: Arc<[ProfileRow]> = directory::profiles(conn).await?.into();
        self.profiles = Some(Arc::clone(&profiles));
        Ok(profiles)
    }

    /// The contact with this address, if there is one.
    pub async fn contact_by_email(
        &mut self,
        conn: &mut PgConnection,
        email: &EmailAddress,
    ) -> Result<Option<ContactRow>, StoreError> {
        if let Some(known) = self.contacts.get(email.as_str()) {
            return Ok(known.clone());
        }
        let contact = directory::contact_by_email(conn, email).await?;
        self.contacts
            .insert(email.as_str().to_owned(), contact.clone());
        Ok(contact)
    }

    /// The contacts who receive this profile's leads.
    pub async fn profile_contacts(
        &mut self,
        conn: &mut PgConnection,
        profile_id: &str,
    ) -> Result<Arc<[ContactRow]>, StoreError> {
        if let Some(contacts) = self.profile_contacts.get(profile_id) {
            return Ok(Arc::clone(contacts));
        }
        let contacts: Arc<[ContactRow]> =
            directory::profile_contacts(conn, profile_id).await?.into();
        self.profile_contacts
            .insert(profile_id.to_owned(), Arc::clone(&contacts));
        Ok(contacts)
    }

    /// Whether leadbot sent mail under this Message-ID.
    pub async fn is_ours(
        &mut self,
        conn: &mut PgConnection,
        message_id: &str,
    ) -> Result<bool, StoreError> {
        let id = bare_id(message_id);
        if self.checked_ids.contains(id) {
            return Ok(self.our_ids.contains(id));
        }
        let ours = outbox::is_ours(conn, id).await?;
        self.checked_ids.insert(id.to_owned());
        if ours {
            self.our_ids.insert(id.to_owned());
        }
        Ok(ours)
    }
}

/// A Message-ID as the outbox stores it: without its angle brackets.
fn bare_id(message_id: &str) -> &str {
    message_id.trim_matches(['<', '>'])
}
