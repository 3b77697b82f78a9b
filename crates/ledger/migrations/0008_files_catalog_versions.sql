-- The file channel (9101 upload, 9102 download) and the catalogue's versions.
--
-- `files`: a file an institution uploaded (9101) or one issued to it (a 3202 result, a 1301–1319
-- catalogue download), readable by that institution only until `expires_at`
-- (`yyyy-MM-dd HH:mm:ss`, the reply's `dld_endtime`); expired rows are pruned. `bytes` is a BLOB on
-- SQLite and BYTEA on PostgreSQL (SQLite keeps a blob as is under any declared type).
CREATE TABLE files (
    file_qury_no   TEXT PRIMARY KEY,
    fixmedins_code TEXT NOT NULL,
    filename       TEXT NOT NULL,
    bytes          BYTEA NOT NULL,
    created_at     TEXT NOT NULL,
    expires_at     TEXT NOT NULL
);

CREATE INDEX files_expiry ON files (expires_at);

-- `catalog_versions`: every catalogue a pooling region imported, numbered 1, 2, … per region, with
-- the day it takes effect (`begndate`, `yyyy-MM-dd`), when it was imported and its text (whose digest
-- is the catalogue version a split basis records). `catalogs` keeps the current one, which a
-- database of before this migration holds as version 1, effective from the day it was loaded.
CREATE TABLE catalog_versions (
    admdvs    TEXT NOT NULL,
    ver       BIGINT NOT NULL,
    begndate  TEXT NOT NULL,
    loaded_at TEXT NOT NULL,
    source    TEXT NOT NULL,
    PRIMARY KEY (admdvs, ver)
);

INSERT INTO catalog_versions (admdvs, ver, begndate, loaded_at, source)
SELECT admdvs, 1, substr(loaded_at, 1, 10), loaded_at, source FROM catalogs;
