//! Which lead a reply is about, and how strongly that is known. In order (DESIGN.md): the
//! plus-address token, the token inside In-Reply-To/References, the stored Message-IDs of
//! mail leadbot sent, and last the subject tag `[L-1042]`, which finds a lead but never
//! authorizes a change. A token is obeyed only inside its own lead's thread.

use sqlx::PgConnection;

use super::handled::IngestError;
use crate::config::Config;
use crate::domain::{EmailAddress, LeadId};
use crate::mail::token::{self, ReplyToken};
use crate::mail::{InboundMail, lead_tag, plus_token};
use crate::store::outbox;

/// How a reply found its lead, strongest first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) enum Correlation {
    /// A valid signed token: names the lead and the contact it was sent to.
    Token(ReplyToken),
    /// A plus-address token that does not verify: someone edited it.
    Tampered,
    /// A valid token for one lead in a reply threaded under another lead's mail (its
    /// In-Reply-To, References or subject tag): a pasted or reused token, never obeyed.
    Crossed {
        token: LeadId,
        thread: LeadId,
    },
    /// It answers a message leadbot sent about this lead to this very sender.
    Thread(LeadId),
    /// Only a `[L-1042]` tag: enough to read, never to change.
    Tag(LeadId),
    Nothing,
}

impl Correlation {
    pub(super) fn lead(&self) -> Option<LeadId> {
        match self {
            Self::Token(token) => Some(token.lead),
            Self::Thread(id) | Self::Tag(id) => Some(*id),
            Self::Tampered | Self::Crossed { .. } | Self::Nothing => None,
        }
    }
}

/// Which lead `mail` is about, and how strongly (see the module documentation).
pub(super) async fn correlate(
    tx: &mut PgConnection,
    config: &Config,
    mail: &InboundMail,
    sender: &EmailAddress,
    command_tag: Option<LeadId>,
) -> Result<Correlation, IngestError> {
    let bot = config.bot.address.as_str();
    let secret = config.bot.secret.expose();
    let recipients = mail
        .to
        .iter()
        .chain(&mail.cc)
        .map(|m| m.email.clone())
        .chain(mail.delivered_to.iter().cloned());
    let mut tampered = false;
    let thread = Thread::of(mail, secret);
    for recipient in recipients {
        if let Some(candidate) = plus_token(&recipient, bot) {
            match token::verify(secret, &candidate) {
                Ok(token) => return token_in_thread(tx, mail, &thread, token).await,
                Err(_) => tampered = true,
            }
        }
    }
    if tampered {
        return Ok(Correlation::Tampered);
    }
    if let Some(token) = thread.tokens.first().cloned() {
        return token_in_thread(tx, mail, &thread, token).await;
    }
    let referenced = &thread.referenced;
    if let Some((lead, recipient)) = outbox::sent_message(tx, referenced).await? {
        // Answering mail that went to somebody else (a customer's acknowledgement, another
        // contact's transcript) proves nothing about this sender: it only names the lead.
        return Ok(if recipient == sender.as_str() {
            Correlation::Thread(LeadId(lead))
        } else {
            Correlation::Tag(LeadId(lead))
        });
    }
    let tag = command_tag
        .or_else(|| lead_tag(&mail.subject).and_then(|n| i64::try_from(n).ok().map(LeadId)));
    Ok(tag.map_or(Correlation::Nothing, Correlation::Tag))
}

/// Another lead than the token's that the reply's thread is about: named by a token in
/// In-Reply-To/References, by leadbot's stored mail there, or by the subject tag.
async fn other_lead_in_thread(
    tx: &mut PgConnection,
    mail: &InboundMail,
    thread: &Thread,
    token: &ReplyToken,
) -> Result<Option<LeadId>, IngestError> {
    let stored = outbox::leads_of_messages(tx, &thread.referenced).await?;
    let tagged = lead_tag(&mail.subject).and_then(|n| i64::try_from(n).ok());
    Ok(thread
        .tokens
        .iter()
        .map(|t| t.lead)
        .chain(stored.into_iter().chain(tagged).map(LeadId))
        .find(|lead| *lead != token.lead))
}

/// The Message-IDs a reply answers (In-Reply-To, then References newest first) and the
/// valid tokens inside them.
struct Thread {
    referenced: Vec<String>,
    tokens: Vec<ReplyToken>,
}

impl Thread {
    fn of(mail: &InboundMail, secret: &str) -> Self {
        let referenced: Vec<String> = mail
            .in_reply_to
            .iter()
            .chain(mail.references.iter().rev())
            .map(|id| id.trim_matches(['<', '>']).to_string())
            .collect();
        let tokens = referenced
            .iter()
            .filter_map(|id| {
                let local = id.split('@').next().unwrap_or_default();
                let candidate = local.split('.').next().unwrap_or_default();
                token::verify(secret, candidate).ok()
            })
            .collect();
        Self { referenced, tokens }
    }
}

/// The token's correlation, unless the thread is about another lead.
async fn token_in_thread(
    tx: &mut PgConnection,
    mail: &InboundMail,
    thread: &Thread,
    token: ReplyToken,
) -> Result<Correlation, IngestError> {
    Ok(
        match other_lead_in_thread(tx, mail, thread, &token).await? {
            Some(other) => Correlation::Crossed {
                token: token.lead,
                thread: other,
            },
            None => Correlation::Token(token),
        },
    )
}
