-- Stored replies kept compactly. A message stored from this migration on holds its reply envelope
-- (the JSON text as sent) Snappy-compressed in `reply_packed` (raw Snappy format; a BLOB on SQLite,
-- BYTEA on PostgreSQL) and '' in `reply`; a message stored before holds its reply text in `reply` and
-- NULL here. Readers take `reply_packed` when it is not NULL (`entries::message_of`). The replies of a
-- settlement flow are JSON with repeated field names: about half their bytes, so half the pages
-- written per stored message.

ALTER TABLE messages ADD COLUMN reply_packed BYTEA;
