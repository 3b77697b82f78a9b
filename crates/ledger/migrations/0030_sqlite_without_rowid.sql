-- SQLite only (the file name's `sqlite_` marks it; `store.rs` `migrations_for` runs it on SQLite and
-- records it on PostgreSQL without running anything: there every table is a heap beside its indexes
-- anyway). SQLite stores an ordinary table as a b-tree keyed by a hidden rowid and a text PRIMARY KEY
-- as a second b-tree, so every row a settlement flow appends cost two b-tree inserts. The tables of
-- small rows written per settlement are rebuilt `WITHOUT ROWID` (one b-tree, keyed and ordered by
-- the primary key), and `fee_line_events`, whose key is one integer, with the key as its rowid
-- (`INTEGER PRIMARY KEY`). Every column, type, key, index and row is kept.
--
-- Not rebuilt: `messages` and `fee_lines`, whose rows are large (0.5–1 KB: the stored reply, the line
-- and its result row) and whose keys arrive out of order; clustered by the key their pages were half
-- empty after a load run (BENCHMARKS.md, "Rows and bytes per settlement, second round"); and
-- `settlements`, whose seven indexes would each hold the text key instead of a rowid.

CREATE TABLE visits_0030 (
    mdtrt_id        TEXT PRIMARY KEY,
    fixmedins_code  TEXT NOT NULL,
    psn_no          TEXT NOT NULL,
    insutype        TEXT NOT NULL,
    kind            TEXT NOT NULL,
    med_type        TEXT NOT NULL,
    begntime        TEXT NOT NULL,
    endtime         TEXT NOT NULL,
    status          TEXT NOT NULL,
    ipt_otp_no      TEXT NOT NULL,
    info            TEXT NOT NULL,
    mdtrt_cert_type TEXT NOT NULL DEFAULT '',
    dise_codg       TEXT NOT NULL DEFAULT '',
    refl_flag       TEXT NOT NULL DEFAULT ''
) WITHOUT ROWID;
INSERT INTO visits_0030 (mdtrt_id, fixmedins_code, psn_no, insutype, kind, med_type, begntime, endtime,
                         status, ipt_otp_no, info, mdtrt_cert_type, dise_codg, refl_flag)
SELECT mdtrt_id, fixmedins_code, psn_no, insutype, kind, med_type, begntime, endtime, status, ipt_otp_no,
       info, mdtrt_cert_type, dise_codg, refl_flag
FROM visits;
DROP TABLE visits;
ALTER TABLE visits_0030 RENAME TO visits;
CREATE INDEX visits_psn ON visits (psn_no);

CREATE TABLE fee_line_events_0030 (
    event_seq   INTEGER PRIMARY KEY,
    mdtrt_id    TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    infno       TEXT   NOT NULL,
    msgid       TEXT   NOT NULL,
    event_time  TEXT   NOT NULL,
    split_basis TEXT   NOT NULL
);
INSERT INTO fee_line_events_0030 (event_seq, mdtrt_id, kind, infno, msgid, event_time, split_basis)
SELECT event_seq, mdtrt_id, kind, infno, msgid, event_time, split_basis FROM fee_line_events;
DROP TABLE fee_line_events;
ALTER TABLE fee_line_events_0030 RENAME TO fee_line_events;

CREATE TABLE fee_line_cancels_0030 (
    mdtrt_id   TEXT   NOT NULL,
    upload_seq BIGINT NOT NULL,
    event_seq  BIGINT NOT NULL,
    PRIMARY KEY (mdtrt_id, upload_seq)
) WITHOUT ROWID;
INSERT INTO fee_line_cancels_0030 (mdtrt_id, upload_seq, event_seq)
SELECT mdtrt_id, upload_seq, event_seq FROM fee_line_cancels;
DROP TABLE fee_line_cancels;
ALTER TABLE fee_line_cancels_0030 RENAME TO fee_line_cancels;

CREATE TABLE settlement_funds_0030 (
    setl_id            TEXT   NOT NULL,
    row_no             BIGINT NOT NULL,
    fund_pay_type      TEXT   NOT NULL,
    fund_pay_type_name TEXT   NOT NULL,
    payer_class        TEXT   NOT NULL,
    inscp_scp_amt      BIGINT NOT NULL,
    crt_payb_lmt_amt   BIGINT,
    fund_payamt        BIGINT NOT NULL,
    setl_proc_info     TEXT   NOT NULL,
    PRIMARY KEY (setl_id, row_no)
) WITHOUT ROWID;
INSERT INTO settlement_funds_0030 (setl_id, row_no, fund_pay_type, fund_pay_type_name, payer_class,
                                   inscp_scp_amt, crt_payb_lmt_amt, fund_payamt, setl_proc_info)
SELECT setl_id, row_no, fund_pay_type, fund_pay_type_name, payer_class, inscp_scp_amt, crt_payb_lmt_amt,
       fund_payamt, setl_proc_info
FROM settlement_funds;
DROP TABLE settlement_funds;
ALTER TABLE settlement_funds_0030 RENAME TO settlement_funds;

CREATE TABLE settlement_lines_0030 (
    setl_id             TEXT   NOT NULL,
    feedetl_sn          TEXT   NOT NULL,
    det_item_fee_sumamt BIGINT NOT NULL,
    fulamt_ownpay_amt   BIGINT NOT NULL,
    overlmt_amt         BIGINT NOT NULL,
    preselfpay_amt      BIGINT NOT NULL,
    inscp_scp_amt       BIGINT NOT NULL,
    PRIMARY KEY (setl_id, feedetl_sn)
) WITHOUT ROWID;
INSERT INTO settlement_lines_0030 (setl_id, feedetl_sn, det_item_fee_sumamt, fulamt_ownpay_amt, overlmt_amt,
                                   preselfpay_amt, inscp_scp_amt)
SELECT setl_id, feedetl_sn, det_item_fee_sumamt, fulamt_ownpay_amt, overlmt_amt, preselfpay_amt, inscp_scp_amt
FROM settlement_lines;
DROP TABLE settlement_lines;
ALTER TABLE settlement_lines_0030 RENAME TO settlement_lines;

CREATE TABLE postings_0030 (
    setl_id  TEXT   NOT NULL,
    psn_no   TEXT   NOT NULL,
    insutype TEXT   NOT NULL,
    year     BIGINT NOT NULL,
    acc_key  TEXT   NOT NULL,
    amount   BIGINT NOT NULL,
    PRIMARY KEY (setl_id, acc_key)
) WITHOUT ROWID;
INSERT INTO postings_0030 (setl_id, psn_no, insutype, year, acc_key, amount)
SELECT setl_id, psn_no, insutype, year, acc_key, amount FROM postings;
DROP TABLE postings;
ALTER TABLE postings_0030 RENAME TO postings;

CREATE TABLE acc_totals_0030 (
    psn_no   TEXT   NOT NULL,
    insutype TEXT   NOT NULL,
    year     BIGINT NOT NULL,
    acc_key  TEXT   NOT NULL,
    amount   BIGINT NOT NULL,
    PRIMARY KEY (psn_no, insutype, year, acc_key)
) WITHOUT ROWID;
INSERT INTO acc_totals_0030 (psn_no, insutype, year, acc_key, amount)
SELECT psn_no, insutype, year, acc_key, amount FROM acc_totals;
DROP TABLE acc_totals;
ALTER TABLE acc_totals_0030 RENAME TO acc_totals;

CREATE TABLE account_totals_0030 (
    psn_no   TEXT   NOT NULL,
    insutype TEXT   NOT NULL,
    paid     BIGINT NOT NULL,
    PRIMARY KEY (psn_no, insutype)
) WITHOUT ROWID;
INSERT INTO account_totals_0030 (psn_no, insutype, paid)
SELECT psn_no, insutype, paid FROM account_totals;
DROP TABLE account_totals;
ALTER TABLE account_totals_0030 RENAME TO account_totals;

CREATE TABLE id_counters_0030 (
    name  TEXT PRIMARY KEY,
    value BIGINT NOT NULL
) WITHOUT ROWID;
INSERT INTO id_counters_0030 (name, value) SELECT name, value FROM id_counters;
DROP TABLE id_counters;
ALTER TABLE id_counters_0030 RENAME TO id_counters;
