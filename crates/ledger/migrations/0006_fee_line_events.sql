-- Fee lines become append-only events, and each line keeps the split made at its upload.
--
-- `fee_line_events`: one row per upload (2204, 2301, the lines of a 2102) or cancellation (2205,
-- 2302, a cancelled visit) of a visit's fee lines, numbered in the ledger's order (`event_seq` shares
-- the counter of `settlements.seq`). An upload records what its lines were split under
-- (`split_basis`: catalogue and policy versions and the engine's split basis).
--
-- `fee_lines`: one row per uploaded line, never updated or deleted; keyed by its upload
-- (`upload_seq`), so a `feedetl_sn` cancelled may be uploaded again. Besides the line as sent and the
-- `result` row replied, it holds the engine's split (`split_rule` … `flat`) and what the engine read of
-- the line (`med_list_codg` … `hosp_appr_flag`), which settlement uses without parsing or splitting
-- again. Lines stored before this migration have `event_seq` 0 and NULL split columns. Which live
-- settlement consumed a line is no longer stored with it (the `setl_id` column is gone): it is derived
-- from `settlement_lines` of the settlements not cancelled.
--
-- `fee_line_cancels`: the lines a cancellation event cancelled (a line at most once).
--
-- `id_counters.fee_history_from`: the last ledger `seq` stored before this migration. Cancelling fee
-- lines deleted them until now, so `yibao verify` cannot find the lines of cancelled settlements up to
-- this `seq`.

CREATE TABLE fee_line_events (
    event_seq   BIGINT PRIMARY KEY,
    mdtrt_id    TEXT   NOT NULL,
    kind        TEXT   NOT NULL,
    infno       TEXT   NOT NULL,
    msgid       TEXT   NOT NULL,
    event_time  TEXT   NOT NULL,
    split_basis TEXT   NOT NULL
);
CREATE INDEX fee_line_events_visit ON fee_line_events (mdtrt_id);

CREATE TABLE fee_line_cancels (
    mdtrt_id   TEXT   NOT NULL,
    upload_seq BIGINT NOT NULL,
    event_seq  BIGINT NOT NULL,
    PRIMARY KEY (mdtrt_id, upload_seq)
);

CREATE TABLE fee_lines_0006 (
    mdtrt_id                TEXT   NOT NULL,
    upload_seq              BIGINT NOT NULL,
    event_seq               BIGINT NOT NULL,
    feedetl_sn              TEXT   NOT NULL,
    chrg_bchno              TEXT   NOT NULL,
    init_feedetl_sn         TEXT   NOT NULL,
    det_item_fee_sumamt     BIGINT NOT NULL,
    line                    TEXT   NOT NULL,
    result                  TEXT   NOT NULL,
    med_list_codg           TEXT,
    cnt_e4                  BIGINT,
    pric_micro_yuan         BIGINT,
    hosp_appr_flag          TEXT,
    split_rule              TEXT,
    fulamt_ownpay_amt       BIGINT,
    overlmt_amt             BIGINT,
    preselfpay_amt          BIGINT,
    inscp_scp_amt           BIGINT,
    remote_extra_preselfpay BIGINT,
    selfpay_prop_bp         BIGINT,
    pric_uplmt_micro_yuan   BIGINT,
    chrgitm_lv              TEXT,
    med_chrgitm_type        TEXT,
    lmt_used_flag           BIGINT,
    flat                    BIGINT,
    PRIMARY KEY (mdtrt_id, upload_seq)
);

INSERT INTO fee_lines_0006 (mdtrt_id, upload_seq, event_seq, feedetl_sn, chrg_bchno, init_feedetl_sn,
                            det_item_fee_sumamt, line, result)
SELECT mdtrt_id, upload_seq, 0, feedetl_sn, chrg_bchno, init_feedetl_sn, det_item_fee_sumamt, line, result
FROM fee_lines;

DROP TABLE fee_lines;
ALTER TABLE fee_lines_0006 RENAME TO fee_lines;

INSERT INTO id_counters (name, value)
SELECT 'fee_history_from', COALESCE(MAX(seq), 0) FROM settlements;
