-- Wake outbox workers when mail is queued: every statement that inserts into the outbox
-- notifies channel `outbox_queued` (PostgreSQL delivers it at commit, once per transaction
-- and channel, and never for a rollback). Workers LISTEN and flush at once instead of
-- waiting for their next poll; any code path that queues mail wakes them without knowing.
CREATE FUNCTION outbox_queued_notify() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_notify('outbox_queued', '');
    RETURN NULL;
END
$$;

CREATE TRIGGER outbox_queued_notify
    AFTER INSERT ON outbox
    FOR EACH STATEMENT
    EXECUTE FUNCTION outbox_queued_notify();
