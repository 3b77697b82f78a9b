-- Cross-region clearing (异地就医清算, issue 11 §4): one row per month × insured region × treating
-- region × scheme, computed by `yibao clearing run` from the month's cross-region settlements
-- (`yibao-clearing`), stored once (a month already run keeps its rows), then moved through the states
-- 10 → 20 → 30 → 40 → 50 → 60 | 70. Amounts are integer fen; `detail` is the whole computed row
-- (JSON); `fund_owed`, `deductions` and `cleared` repeat its amounts for queries and for `yibao
-- verify` (cleared = fund_owed − deductions). Review deductions (10, 20) are entered before the run.

CREATE TABLE clearing_rows (
    clr_id          TEXT   PRIMARY KEY,
    month           TEXT   NOT NULL,
    insu_admdvs     TEXT   NOT NULL,
    trt_admdvs      TEXT   NOT NULL,
    insutype        TEXT   NOT NULL,
    state           TEXT   NOT NULL,
    fund_owed       BIGINT NOT NULL,
    deductions      BIGINT NOT NULL,
    cleared         BIGINT NOT NULL,
    prepayment_balc BIGINT NOT NULL,
    detail          TEXT   NOT NULL,
    run_at          TEXT   NOT NULL,
    updated_at      TEXT   NOT NULL
);
CREATE INDEX clearing_rows_month ON clearing_rows (month);
CREATE INDEX clearing_rows_pair ON clearing_rows (insu_admdvs, trt_admdvs, insutype, month);

-- Every state change of a clearing row, in order.
CREATE TABLE clearing_transitions (
    clr_id     TEXT NOT NULL,
    seq        BIGINT NOT NULL,
    from_state TEXT NOT NULL,
    to_state   TEXT NOT NULL,
    operator   TEXT NOT NULL,
    changed_at TEXT NOT NULL,
    PRIMARY KEY (clr_id, seq)
);

-- Audit (10) and inspection (20) deductions taken from a month's clearing of a pair, entered before
-- the month is run; `deduction_id` is the caller's, so entering one twice stores it once.
CREATE TABLE clearing_deductions (
    deduction_id TEXT   PRIMARY KEY,
    month        TEXT   NOT NULL,
    insu_admdvs  TEXT   NOT NULL,
    trt_admdvs   TEXT   NOT NULL,
    insutype     TEXT   NOT NULL,
    kind         TEXT   NOT NULL,
    amount       BIGINT NOT NULL,
    reason       TEXT   NOT NULL,
    created_at   TEXT   NOT NULL
);
CREATE INDEX clearing_deductions_month ON clearing_deductions (month);
