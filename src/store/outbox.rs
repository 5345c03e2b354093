//! The outbox table: mail written in the transaction that causes it, sent later by a worker.
//!
//! A row is `queued` until sent, then `sent`; or `failed` after a permanent refusal or once
//! out of attempts. Workers claim due rows with `FOR UPDATE SKIP LOCKED` and keep the lock
//! while sending, so no two workers ever send the same row.

use chrono::{DateTime, Utc};
use sqlx::postgres::PgListener;
use sqlx::{AssertSqlSafe, PgConnection, PgPool};

use super::{Doing, StoreError};
use crate::domain::address::InvalidAddress;
use crate::domain::{EmailAddress, LeadId};
use crate::mail::outgoing::{InlinePart, OutgoingMail};

/// One outbox row as stored.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct OutboxRow {
    pub id: i64,
    pub lead_id: Option<i64>,
    pub template: String,
    pub recipient: String,
    pub subject: String,
    pub message_id: String,
    pub reply_to: Option<String>,
    pub in_reply_to: Option<String>,
    pub refs: Vec<String>,
    pub text_body: String,
    pub html_body: Option<String>,
    pub state: String,
    pub attempts: i32,
    pub run_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub sent_at: Option<DateTime<Utc>>,
}

const OUTBOX_COLUMNS: &str = "id, lead_id, template, recipient, subject, message_id, reply_to, \
    in_reply_to, refs, text_body, html_body, state, attempts, run_at, last_error, created_at, \
    sent_at";

impl OutboxRow {
    /// The message to send, as it was queued, with its inline parts ([`inline_parts`]).
    pub fn to_mail(&self, inline: Vec<InlinePart>) -> Result<OutgoingMail, InvalidAddress> {
        Ok(OutgoingMail {
            to: EmailAddress::parse(&self.recipient)?,
            subject: self.subject.clone(),
            text: self.text_body.clone(),
            html: self.html_body.clone(),
            message_id: self.message_id.clone(),
            reply_to: self.reply_to.clone(),
            in_reply_to: self.in_reply_to.clone(),
            references: self.refs.clone(),
            inline,
        })
    }
}

/// Queues `mail`, due at once. The Message-ID is stored now, before any send, so replies
/// can be matched to it whatever happens to the delivery.
///
/// "At once" is the earlier of `now` and the database's clock: an operator who runs the
/// scheduler for a later instant (`tick --now`) still wants its mail sent today.
pub async fn insert(
    conn: &mut PgConnection,
    mail: &OutgoingMail,
    lead: Option<LeadId>,
    template: &str,
    now: DateTime<Utc>,
) -> Result<i64, StoreError> {
    let id: i64 = sqlx::query_scalar(
        "INSERT INTO outbox (lead_id, template, recipient, subject, message_id, reply_to,
             in_reply_to, refs, text_body, html_body, run_at, created_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, LEAST($11, now()), $11)
         RETURNING id",
    )
    .bind(lead.map(|l| l.0))
    .bind(template)
    .bind(mail.to.as_str())
    .bind(&mail.subject)
    .bind(&mail.message_id)
    .bind(&mail.reply_to)
    .bind(&mail.in_reply_to)
    .bind(&mail.references)
    .bind(&mail.text)
    .bind(&mail.html)
    .bind(now)
    .fetch_one(&mut *conn)
    .await
    .doing("queueing a mail")?;
    insert_inline_parts(conn, id, &mail.inline).await?;
    Ok(id)
}

async fn insert_inline_parts(
    conn: &mut PgConnection,
    id: i64,
    parts: &[InlinePart],
) -> Result<(), StoreError> {
    for (position, part) in parts.iter().enumerate() {
        sqlx::query(
            "INSERT INTO outbox_inline_parts
                 (outbox_id, position, content_id, content_type, filename, data)
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(id)
        .bind(position as i32)
        .bind(&part.content_id)
        .bind(&part.content_type)
        .bind(&part.filename)
        .bind(&part.data)
        .execute(&mut *conn)
        .await
        .doing("queueing a mail's inline part")?;
    }
    Ok(())
}

#[derive(sqlx::FromRow)]
struct InlineRow {
    content_id: String,
    content_type: String,
    filename: String,
    data: Vec<u8>,
}

/// The inline parts queued with outbox row `id`, in order.
pub async fn inline_parts(conn: &mut PgConnection, id: i64) -> Result<Vec<InlinePart>, StoreError> {
    let rows: Vec<InlineRow> = sqlx::query_as(
        "SELECT content_id, content_type, filename, data FROM outbox_inline_parts
         WHERE outbox_id = $1 ORDER BY position",
    )
    .bind(id)
    .fetch_all(conn)
    .await
    .doing("reading a mail's inline parts")?;
    Ok(rows
        .into_iter()
        .map(|row| InlinePart {
            content_id: row.content_id,
            content_type: row.content_type,
            filename: row.filename,
            data: row.data,
        })
        .collect())
}

/// The Message-IDs of mail already written to `recipient` about `lead`, oldest first: the
/// thread a new mail joins.
pub async fn thread(
    conn: &mut PgConnection,
    lead: LeadId,
    recipient: &EmailAddress,
) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar(
        "SELECT message_id FROM outbox WHERE lead_id = $1 AND recipient = $2 ORDER BY id",
    )
    .bind(lead.0)
    .bind(recipient.as_str())
    // Planned afresh each time, as `threads` is (see there).
    .persistent(false)
    .fetch_all(conn)
    .await
    .doing("reading a lead's mail thread")
}

/// One mail of the threads of several leads: the thread of `(lead, recipient)` is its
/// Message-IDs in outbox order.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct ThreadMail {
    pub lead_id: i64,
    pub recipient: String,
    pub message_id: String,
}

/// The mail already written about any of `leads`, oldest first: [`thread`] for a chunk of
/// leads in one query, through the function `lead_threads` (migration
/// 20261202000030_scheduler_indexes), which keeps it on the outbox_thread index even when the
/// outbox was analyzed empty and grew since.
pub async fn threads(
    conn: &mut PgConnection,
    leads: &[LeadId],
) -> Result<Vec<ThreadMail>, StoreError> {
    let ids: Vec<i64> = leads.iter().map(|id| id.0).collect();
    sqlx::query_as("SELECT lead_id, recipient, message_id FROM lead_threads($1)")
        .bind(ids)
        .fetch_all(conn)
        .await
        .doing("reading leads' mail threads")
}

/// The body of `lead_threads`, for the load bench's EXPLAIN (run with `enable_seqscan`
/// off, as the function is).
pub const THREADS_SQL: &str = "SELECT o.lead_id, o.recipient, o.message_id FROM outbox o
     WHERE o.lead_id = ANY ($1) ORDER BY o.id";

/// A mail to queue with [`insert_many`].
pub struct NewMail<'a> {
    pub mail: &'a OutgoingMail,
    pub lead: Option<LeadId>,
    pub template: &'a str,
}

/// [`insert`] for many mails with one statement (and one more per mail with inline parts):
/// a new lead's notifications, a scheduler chunk's mail. Returns the rows' ids, in order.
pub async fn insert_many(
    conn: &mut PgConnection,
    mails: &[NewMail<'_>],
    now: DateTime<Utc>,
) -> Result<Vec<i64>, StoreError> {
    if mails.is_empty() {
        return Ok(Vec::new());
    }
    let column = |f: &dyn Fn(&NewMail<'_>) -> Option<String>| -> Vec<Option<String>> {
        mails.iter().map(f).collect()
    };
    // The arrays are unnested in the select list (ProjectSet), which streams the rows in
    // order; `FROM unnest(...) WITH ORDINALITY ... ORDER BY` had them sorted — on disk
    // once a chunk's bodies passed work_mem — for an order the scan already gives.
    let rows: Vec<(i64, String)> = sqlx::query_as(
        "INSERT INTO outbox (lead_id, template, recipient, subject, message_id, reply_to,
             in_reply_to, refs, text_body, html_body, run_at, created_at)
         SELECT lead_id, template, recipient, subject, message_id, reply_to, in_reply_to,
             string_to_array(refs, ' '), text_body, html_body, LEAST($11, now()), $11
         FROM (SELECT unnest($1::bigint[]) AS lead_id, unnest($2::text[]) AS template,
                   unnest($3::text[]) AS recipient, unnest($4::text[]) AS subject,
                   unnest($5::text[]) AS message_id, unnest($6::text[]) AS reply_to,
                   unnest($7::text[]) AS in_reply_to, unnest($8::text[]) AS refs,
                   unnest($9::text[]) AS text_body, unnest($10::text[]) AS html_body) AS m
         RETURNING id, message_id",
    )
    .bind(
        mails
            .iter()
            .map(|m| m.lead.map(|l| l.0))
            .collect::<Vec<_>>(),
    )
    .bind(column(&|m| Some(m.template.to_owned())))
    .bind(column(&|m| Some(m.mail.to.as_str().to_owned())))
    .bind(column(&|m| Some(m.mail.subject.clone())))
    .bind(column(&|m| Some(m.mail.message_id.clone())))
    .bind(column(&|m| m.mail.reply_to.clone()))
    .bind(column(&|m| m.mail.in_reply_to.clone()))
    // text[][] cannot hold rows of different lengths: each References list travels as one
    // string, space-separated (a Message-ID has no spaces).
    .bind(column(&|m| Some(m.mail.references.join(" "))))
    .bind(column(&|m| Some(m.mail.text.clone())))
    .bind(column(&|m| m.mail.html.clone()))
    .bind(now)
    .fetch_all(&mut *conn)
    .await
    .doing("queueing mail")?;
    // Message-IDs are unique: each mail finds its row whatever order RETURNING gave.
    let by_message_id: std::collections::HashMap<&str, i64> = rows
        .iter()
        .map(|(id, message_id)| (message_id.as_str(), *id))
        .collect();
    let mut ids = Vec::with_capacity(mails.len());
    for new in mails {
        let id = by_message_id
            .get(new.mail.message_id.as_str())
            .copied()
            .ok_or(StoreError::Query {
                doing: "queueing mail",
                source: sqlx::Error::RowNotFound,
            })?;
        if !new.mail.inline.is_empty() {
            insert_inline_parts(conn, id, &new.mail.inline).await?;
        }
        ids.push(id);
    }
    Ok(ids)
}

/// A claimed row, with the inline parts it was queued with.
#[derive(Debug)]
pub struct ClaimedMail {
    pub row: OutboxRow,
    pub inline: Vec<InlinePart>,
}

#[derive(sqlx::FromRow)]
struct ClaimedRow {
    #[sqlx(flatten)]
    row: OutboxRow,
    has_inline_parts: bool,
}

/// Claims the next due row and locks it until the caller's transaction ends; rows other
/// workers hold are skipped, not waited for. Its inline parts are read only when it has
/// some (a digest): most mail then costs one query less.
pub async fn claim_due(
    conn: &mut PgConnection,
    now: DateTime<Utc>,
) -> Result<Option<ClaimedMail>, StoreError> {
    let claimed: Option<ClaimedRow> = sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {OUTBOX_COLUMNS},
             EXISTS (SELECT 1 FROM outbox_inline_parts p WHERE p.outbox_id = outbox.id)
                 AS has_inline_parts
         FROM outbox
         WHERE state = 'queued' AND run_at <= $1
         ORDER BY run_at, id
         FOR UPDATE OF outbox SKIP LOCKED
         LIMIT 1"
    )))
    .bind(now)
    .fetch_optional(&mut *conn)
    .await
    .doing("claiming a mail to send")?;
    let Some(ClaimedRow {
        row,
        has_inline_parts,
    }) = claimed
    else {
        return Ok(None);
    };
    let inline = if has_inline_parts {
        inline_parts(conn, row.id).await?
    } else {
        Vec::new()
    };
    Ok(Some(ClaimedMail { row, inline }))
}

pub async fn mark_sent(
    conn: &mut PgConnection,
    id: i64,
    now: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET state = 'sent', attempts = attempts + 1, sent_at = $2,
             last_error = NULL
         WHERE id = $1",
    )
    .bind(id)
    .bind(now)
    .execute(conn)
    .await
    .doing("marking a mail sent")?;
    Ok(())
}

/// Records a transient failure and when to try again.
pub async fn schedule_retry(
    conn: &mut PgConnection,
    id: i64,
    error: &str,
    run_at: DateTime<Utc>,
) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET attempts = attempts + 1, last_error = $2, run_at = $3 WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .bind(run_at)
    .execute(conn)
    .await
    .doing("scheduling a mail retry")?;
    Ok(())
}

/// The dead state: refused for good, or out of attempts. Kept for operators to inspect.
pub async fn mark_failed(conn: &mut PgConnection, id: i64, error: &str) -> Result<(), StoreError> {
    sqlx::query(
        "UPDATE outbox SET state = 'failed', attempts = attempts + 1, last_error = $2
         WHERE id = $1",
    )
    .bind(id)
    .bind(error)
    .execute(conn)
    .await
    .doing("marking a mail failed")?;
    Ok(())
}

/// The channel the `outbox_queued_notify` trigger notifies (at commit) when mail is queued.
pub const QUEUED_CHANNEL: &str = "outbox_queued";

/// A connection of its own listening on [`QUEUED_CHANNEL`]: it hears of mail queued by
/// any transaction that commits from now on.
pub async fn listen_for_queued(pool: &PgPool) -> Result<PgListener, StoreError> {
    let mut listener = PgListener::connect_with(pool)
        .await
        .doing("connecting to listen for queued mail")?;
    listener
        .listen(QUEUED_CHANNEL)
        .await
        .doing("listening for queued mail")?;
    Ok(listener)
}

/// Every row, oldest first, for `leadbot outbox list`.
pub async fn list(conn: &mut PgConnection) -> Result<Vec<OutboxRow>, StoreError> {
    list_where(conn, None).await
}

/// The mail leadbot wrote about one lead, oldest first.
pub async fn list_for_lead(
    conn: &mut PgConnection,
    lead: LeadId,
) -> Result<Vec<OutboxRow>, StoreError> {
    list_where(conn, Some(lead)).await
}

async fn list_where(
    conn: &mut PgConnection,
    lead: Option<LeadId>,
) -> Result<Vec<OutboxRow>, StoreError> {
    sqlx::query_as(AssertSqlSafe(format!(
        "SELECT {OUTBOX_COLUMNS} FROM outbox WHERE $1::bigint IS NULL OR lead_id = $1 ORDER BY id"
    )))
    .bind(lead.map(|l| l.0))
    .fetch_all(conn)
    .await
    .doing("listing the outbox")
}

/// The lead and original recipient of the first of `message_ids` that leadbot sent: how a
/// reply without a token (client replied to From) still finds its lead.
pub async fn sent_message(
    conn: &mut PgConnection,
    message_ids: &[String],
) -> Result<Option<(i64, String)>, StoreError> {
    sqlx::query_as(
        "SELECT lead_id, recipient FROM outbox
         WHERE message_id = ANY($1) AND lead_id IS NOT NULL ORDER BY id DESC LIMIT 1",
    )
    .bind(message_ids)
    .fetch_optional(conn)
    .await
    .doing("looking up the mail a reply answers")
}

/// The leads whose mail these Message-IDs name (bare ids), whoever received it.
pub async fn leads_of_messages(
    conn: &mut PgConnection,
    message_ids: &[String],
) -> Result<Vec<i64>, StoreError> {
    sqlx::query_scalar(
        "SELECT DISTINCT lead_id FROM outbox
         WHERE message_id = ANY($1) AND lead_id IS NOT NULL ORDER BY lead_id",
    )
    .bind(message_ids)
    .fetch_all(conn)
    .await
    .doing("looking up the leads a thread is about")
}

/// True if leadbot queued a message with this Message-ID (bare, without brackets).
pub async fn is_ours(conn: &mut PgConnection, message_id: &str) -> Result<bool, StoreError> {
    sqlx::query_scalar("SELECT EXISTS (SELECT 1 FROM outbox WHERE message_id = $1)")
        .bind(message_id.trim_matches(['<', '>']))
        .fetch_one(conn)
        .await
        .doing("looking up a Message-ID among the mail leadbot sent")
}

/// Those of these Message-IDs (without angle brackets) that leadbot sent mail under.
pub async fn ours_among(
    conn: &mut PgConnection,
    message_ids: &[&str],
) -> Result<Vec<String>, StoreError> {
    sqlx::query_scalar("SELECT message_id FROM outbox WHERE message_id = ANY($1)")
        .bind(message_ids)
        .fetch_all(conn)
        .await
        .doing("looking up Message-IDs among the mail leadbot sent")
}

/// The mail a bounce reports on, as leadbot sent it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct BouncedMail {
    pub id: i64,
    pub lead_id: Option<i64>,
    pub recipient: String,
    pub template: String,
}

/// A bounce names the Message-ID of the mail that failed (or, failing that, the address
/// it went to): mark that mail failed with the bounce's reason. Returns the mail when this
/// changed it — `None` when leadbot never sent it or the same report was recorded before.
pub async fn mark_bounced(
    conn: &mut PgConnection,
    message_id: Option<&str>,
    failed_recipients: &[String],
    reason: &str,
    now: DateTime<Utc>,
) -> Result<Option<BouncedMail>, StoreError> {
    sqlx::query_as(
        "UPDATE outbox SET state = 'failed', last_error = $3
         WHERE id = (
             SELECT id FROM outbox
             WHERE message_id = $1
                OR ($1 IS NULL AND recipient = ANY($2) AND state = 'sent'
                    AND sent_at > $4 - interval '7 days')
             ORDER BY (message_id = $1) DESC NULLS LAST, id DESC LIMIT 1)
           AND (state <> 'failed' OR last_error IS DISTINCT FROM $3)
         RETURNING id, lead_id, recipient, template",
    )
    .bind(message_id.map(|id| id.trim_matches(['<', '>'])))
    .bind(failed_recipients)
    .bind(reason)
    .bind(now)
    .fetch_optional(conn)
    .await
    .doing("recording a bounce")
}
