-- Issue 11 §4: where care happened, and institutions' confirmation of inbound cross-region rows
-- before clearing (3260/3261/3262, clearing-and-budgets.md §3).
--
-- `settlements.mdtrtarea_admvs`: the place of treatment (就医地医保区划) recorded with the entry —
-- the institution's `admdvs` for a hospital of this platform, the treating platform's pooling
-- region for a settlement made through the API between platforms. Empty in entries written before
-- this migration (clearing then reads the institution's `admdvs`).
ALTER TABLE settlements ADD COLUMN mdtrtarea_admvs TEXT NOT NULL DEFAULT '';

-- One 3261 confirmation batch: the institution's message (`msgid`, the `otransid` a 3262 names) for
-- the month `trt_month` (`yyyy-MM`). A 3262 marks it rolled back; it is never deleted.
CREATE TABLE clearing_confirm_batches (
    fixmedins_code TEXT   NOT NULL,
    msgid          TEXT   NOT NULL,
    seq            BIGINT NOT NULL UNIQUE,
    trt_month      TEXT   NOT NULL,
    confirmed_at   TEXT   NOT NULL,
    rolled_back_at TEXT   NOT NULL DEFAULT '',
    PRIMARY KEY (fixmedins_code, msgid)
);
CREATE INDEX clearing_confirm_batches_month ON clearing_confirm_batches (trt_month);

-- The rows of a batch: a settlement (`setl_sn` = its `setl_id`) included (`cnfm_flag` 1) or
-- excluded (0). A row's state is its flag in the latest batch not rolled back that holds it.
CREATE TABLE clearing_confirmations (
    fixmedins_code TEXT NOT NULL,
    msgid          TEXT NOT NULL,
    setl_id        TEXT NOT NULL,
    cnfm_flag      TEXT NOT NULL,
    PRIMARY KEY (fixmedins_code, msgid, setl_id)
);
CREATE INDEX clearing_confirmations_setl ON clearing_confirmations (setl_id);
