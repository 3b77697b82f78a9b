-- DRG payment from the settlement ledger: the statements of the monthly prepayments and year-end
-- clearings per institution × scheme as they were posted (JSON of the drg-payment crate's statements,
-- amounts in yuan text; `amount` in integer fen: the prepayment, or the year-end clearing), the
-- months and years run, and the 特病单议 review items with their decisions. A posted statement is
-- never recomputed: running its month or year again returns it as stored.

CREATE TABLE drg_statements (
    fixmedins_code TEXT   NOT NULL,
    insutype       TEXT   NOT NULL,
    year           BIGINT NOT NULL,
    -- 1–12 for a month, 0 for the year-end.
    month          BIGINT NOT NULL,
    amount         BIGINT NOT NULL,
    statement      TEXT   NOT NULL,
    posted_at      TEXT   NOT NULL,
    PRIMARY KEY (fixmedins_code, insutype, year, month)
);

CREATE TABLE drg_runs (
    year      BIGINT NOT NULL,
    -- 1–12 for a month, 0 for the year-end.
    month     BIGINT NOT NULL,
    posted_at TEXT   NOT NULL,
    PRIMARY KEY (year, month)
);

-- `reason`: special_review (the policy's 特病单议 DRGs), no_base_points, requested (the institution
-- asked for review); `status`: pending, approved (`amount` fen, or `points` in ten-thousandths of a
-- point, approved), rejected.
CREATE TABLE drg_reviews (
    setl_id        TEXT   PRIMARY KEY,
    fixmedins_code TEXT   NOT NULL,
    insutype       TEXT   NOT NULL,
    year           BIGINT NOT NULL,
    drg            TEXT   NOT NULL,
    reason         TEXT   NOT NULL,
    status         TEXT   NOT NULL,
    amount         BIGINT,
    points         BIGINT,
    note           TEXT   NOT NULL,
    listed_at      TEXT   NOT NULL,
    decided_at     TEXT   NOT NULL
);
CREATE INDEX drg_reviews_year ON drg_reviews (year, status);
