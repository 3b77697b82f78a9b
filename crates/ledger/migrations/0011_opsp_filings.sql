-- 人员慢特病备案 (2503/2504): a person's certified chronic or special outpatient condition, filed by
-- the diagnosing institution and queried with 5301. A cancellation (2504) keeps the row with
-- `vali_flag` 0. Dates are `yyyy-MM-dd`, `enddate` empty while open.

CREATE TABLE opsp_filings (
    trt_dcla_detl_sn TEXT PRIMARY KEY,
    psn_no           TEXT NOT NULL,
    insutype         TEXT NOT NULL,
    opsp_dise_code   TEXT NOT NULL,
    opsp_dise_name   TEXT NOT NULL,
    begndate         TEXT NOT NULL,
    enddate          TEXT NOT NULL,
    fixmedins_code   TEXT NOT NULL,
    vali_flag        TEXT NOT NULL,
    created_at       TEXT NOT NULL,
    content          TEXT NOT NULL
);
CREATE INDEX opsp_filings_psn ON opsp_filings (psn_no);
