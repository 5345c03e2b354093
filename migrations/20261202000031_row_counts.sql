-- Row counts by key (leads by state, outbox mail by state, inbound messages by class and
-- outcome) for /metrics, exact without counting a year of rows at every scrape.
--
-- Every statement that inserts, deletes or changes the key of rows appends one delta row
-- per key it touched (statement-level triggers over transition tables: a bulk statement
-- adds a few rows, not one per row). Appending never waits on another writer. A count is
-- the sum of its rows; `store::counts::compact` (each scheduler tick) folds them back to
-- one row per key. TRUNCATE bypasses the triggers: nothing in leadbot truncates these.
CREATE TABLE row_counts (
    tbl  text NOT NULL,
    key  text[] NOT NULL,
    n    bigint NOT NULL
);
CREATE INDEX row_counts_tbl ON row_counts (tbl, key);

-- One function per kind of key; each runs only the statement for its event (transition
-- tables exist only for the events that have them), with plans PL/pgSQL caches per table.
CREATE FUNCTION count_rows_by_state() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO row_counts (tbl, key, n)
        SELECT TG_TABLE_NAME, ARRAY[state], count(*) FROM new_rows GROUP BY state;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO row_counts (tbl, key, n)
        SELECT TG_TABLE_NAME, ARRAY[state], -count(*) FROM old_rows GROUP BY state;
    ELSE
        INSERT INTO row_counts (tbl, key, n)
        SELECT TG_TABLE_NAME, key, sum(n)
        FROM (SELECT ARRAY[state] AS key, 1 AS n FROM new_rows
              UNION ALL SELECT ARRAY[state], -1 FROM old_rows) AS changed
        GROUP BY key HAVING sum(n) <> 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE FUNCTION count_inbound_messages() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'INSERT' THEN
        INSERT INTO row_counts (tbl, key, n)
        SELECT TG_TABLE_NAME, ARRAY[coalesce(class, 'unreadable'), outcome], count(*)
        FROM new_rows GROUP BY 2;
    ELSIF TG_OP = 'DELETE' THEN
        INSERT INTO row_counts (tbl, key, n)
        SELECT TG_TABLE_NAME, ARRAY[coalesce(class, 'unreadable'), outcome], -count(*)
        FROM old_rows GROUP BY 2;
    ELSE
        INSERT INTO row_counts (tbl, key, n)
        SELECT TG_TABLE_NAME, key, sum(n)
        FROM (SELECT ARRAY[coalesce(class, 'unreadable'), outcome] AS key, 1 AS n
              FROM new_rows
              UNION ALL
              SELECT ARRAY[coalesce(class, 'unreadable'), outcome], -1 FROM old_rows)
             AS changed
        GROUP BY key HAVING sum(n) <> 0;
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER leads_counted_insert AFTER INSERT ON leads
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_rows_by_state();
-- Every UPDATE (transition tables allow no column list); those that change no key add no row.
CREATE TRIGGER leads_counted_update AFTER UPDATE ON leads
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_rows_by_state();
CREATE TRIGGER leads_counted_delete AFTER DELETE ON leads
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_rows_by_state();

CREATE TRIGGER outbox_counted_insert AFTER INSERT ON outbox
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_rows_by_state();
CREATE TRIGGER outbox_counted_update AFTER UPDATE ON outbox
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_rows_by_state();
CREATE TRIGGER outbox_counted_delete AFTER DELETE ON outbox
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_rows_by_state();

CREATE TRIGGER inbound_counted_insert AFTER INSERT ON inbound_messages
    REFERENCING NEW TABLE AS new_rows FOR EACH STATEMENT EXECUTE FUNCTION count_inbound_messages();
CREATE TRIGGER inbound_counted_update AFTER UPDATE ON inbound_messages
    REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION count_inbound_messages();
CREATE TRIGGER inbound_counted_delete AFTER DELETE ON inbound_messages
    REFERENCING OLD TABLE AS old_rows FOR EACH STATEMENT EXECUTE FUNCTION count_inbound_messages();

-- The rows already there (the triggers above hold off writers until this commits).
INSERT INTO row_counts (tbl, key, n)
    SELECT 'leads', ARRAY[state], count(*) FROM leads GROUP BY state;
INSERT INTO row_counts (tbl, key, n)
    SELECT 'outbox', ARRAY[state], count(*) FROM outbox GROUP BY state;
INSERT INTO row_counts (tbl, key, n)
    SELECT 'inbound_messages', ARRAY[coalesce(class, 'unreadable'), outcome], count(*)
    FROM inbound_messages GROUP BY 2;
