//! Mail loops: leadbot's own mail coming back to it — its notification forwarded to a
//! profile alias with Auto-Submitted stripped, an answer sent to its own address — must
//! never become a lead nor be answered, or it would acknowledge itself forever.

use sqlx::PgConnection;

use crate::config::Config;
use crate::mail::InboundMail;
use crate::mail::identity::{bare_address, looks_generated};
use crate::mail::token;
use crate::store::StoreError;
use crate::workflow::lookups::Lookups;

/// Why this message is leadbot's own mail coming back, if it is: sent from the bot's
/// address or a profile address (any case, plus-addressed or not), or carrying as its own
/// Message-ID one that leadbot generated. (Replies name our Message-IDs only in
/// In-Reply-To and References, and bounces inside the returned original: neither counts.)
pub async fn own_mail(
    tx: &mut PgConnection,
    config: &Config,
    lookups: &mut Lookups,
    mail: &InboundMail,
) -> Result<Option<String>, StoreError> {
    if let Some(from) = &mail.from {
        let sender = bare_address(&from.email);
        if sender == bare_address(config.bot.address.as_str()) {
            return Ok(Some(format!(
                "mail loop: sent from leadbot's own address {sender}; not answered"
            )));
        }
        let profiles = lookups.profiles(tx).await?;
        if let Some(profile) = profiles.iter().find(|p| bare_address(&p.address) == sender) {
            return Ok(Some(format!(
                "mail loop: sent from the address of profile {}; not answered",
                profile.id
            )));
        }
    }
    if let Some(id) = &mail.message_id {
        let secret = config.bot.secret.expose();
        let is_token = |candidate: &str| token::verify(secret, candidate).is_ok();
        if looks_generated(id, config.bot.address.domain(), is_token)
            || lookups.is_ours(tx, id).await?
        {
            return Ok(Some(format!(
                "mail loop: its Message-ID <{id}> is one leadbot generated; not answered"
            )));
        }
    }
    Ok(None)
}
