-- A queued mail's bodies are compressed with lz4 rather than PostgreSQL's default pglz.
-- A notification's HTML is 3–4 kB, so every queued mail was compressed, and pglz was a
-- large part of the database time of queueing mail, in a backlog as in the scheduler's
-- sweep. Inserting 50,000 such rows here: pglz 3.6 s, 156 MB of WAL, 155 MB on disk;
-- lz4 2.1 s, 167 MB, 188 MB. (Keeping rows uncompressed in line took 2.3 s and twice the
-- disk: a 4.5 kB row fills a page alone.) Mail already queued keeps its compression.
--
-- A server built without lz4 refuses the method: mail is then compressed as before.
DO $$
BEGIN
    ALTER TABLE outbox
        ALTER COLUMN text_body SET COMPRESSION lz4,
        ALTER COLUMN html_body SET COMPRESSION lz4;
EXCEPTION WHEN feature_not_supported THEN
    RAISE NOTICE 'this PostgreSQL has no lz4: queued mail stays compressed with pglz';
END
$$;
