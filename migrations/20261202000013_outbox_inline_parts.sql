-- Inline parts of a queued mail (the digest's chart): sent as multipart/related beside the
-- HTML, which shows them as cid:<content_id>. Written in the transaction that queues the mail.
CREATE TABLE outbox_inline_parts (
    outbox_id     bigint NOT NULL REFERENCES outbox (id) ON DELETE CASCADE,
    position      integer NOT NULL,
    content_id    text NOT NULL,
    content_type  text NOT NULL,
    filename      text NOT NULL,
    data          bytea NOT NULL,
    PRIMARY KEY (outbox_id, position)
);
