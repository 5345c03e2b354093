-- What an operator should know about how a message was recorded, e.g. that it reuses the
-- Message-ID of an earlier, different message (it is then recorded as a message of its own).
ALTER TABLE inbound_messages ADD COLUMN note text;
