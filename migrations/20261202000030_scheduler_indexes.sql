-- One partial index per timed rule, each holding only the leads the rule may still fire
-- for, so the scheduler claims a rule's due leads (and an idle tick finds none) without
-- walking a year of closed history. `id` second: a claim resumes after a (time, id) cursor.
-- Expiry: open leads by deadline.
CREATE INDEX leads_expiry_due ON leads (expires_at, id) WHERE state = 'received';
-- The final reminder: open leads not yet reminded for the last time, by deadline.
CREATE INDEX leads_final_reminder_due ON leads (expires_at, id)
    WHERE state = 'received' AND final_reminder_at IS NULL;
-- The first reminder: open leads never reminded, by receipt.
CREATE INDEX leads_first_reminder_due ON leads (received_at, id)
    WHERE state = 'received' AND first_reminder_at IS NULL;
-- The end of the contact window: leads still open whose window was never said closed
-- (leads_hot also holds every closed lead whose window nobody closed: the whole history).
CREATE INDEX leads_hot_window_due ON leads (hot_until, id)
    WHERE state IN ('received', 'accepted') AND hot_closed_at IS NULL AND hot_until IS NOT NULL;
DROP INDEX leads_open_expiry;
DROP INDEX leads_hot;

-- A lead's mail thread: the mail written to one recipient about one lead, in order.
CREATE INDEX outbox_thread ON outbox (lead_id, recipient, id);
-- Its first column serves every lookup by lead that the old index did.
DROP INDEX outbox_lead;

-- The mail threads of a chunk of leads, oldest first (`store::outbox::threads`). Planned
-- with sequential scans off: on an outbox analyzed while empty (after a purge) there are no
-- statistics, `lead_id = ANY (...)` is then estimated to match most rows, and a sequential
-- scan would look cheapest however large the table has grown since; the index is right at
-- every size.
CREATE FUNCTION lead_threads(leads bigint[])
    RETURNS TABLE (lead_id bigint, recipient text, message_id text)
    LANGUAGE sql STABLE SET enable_seqscan = off
AS $$
    SELECT o.lead_id, o.recipient, o.message_id FROM outbox o
    WHERE o.lead_id = ANY (leads) ORDER BY o.id
$$;
