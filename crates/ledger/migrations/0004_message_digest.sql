-- The digest of each stored message's request (its `infno`, regions and `input`), so that a repeated
-- `msgid` gets the stored reply only when it repeats the same request; a reused `msgid` with another
-- body is refused. Empty for messages stored before this migration (their replays are not checked).

ALTER TABLE messages ADD COLUMN request_digest TEXT NOT NULL DEFAULT '';
