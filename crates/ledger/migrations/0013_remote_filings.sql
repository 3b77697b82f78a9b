-- 异地就医备案 (2501/2502 转院备案, 2505/2506 人员异地备案, counter filing through the admin API and
-- `yibao filing`): the insured platform's filing register, read at settlement to decide the remote
-- rate. Keyed with the insured pooling region (`insu_admdvs`) so a province can shard by region. A
-- cancellation keeps the row with `vali_flag` 0. Dates are `yyyy-MM-dd`, `enddate` empty while open.

CREATE TABLE remote_filings (
    insu_admdvs        TEXT NOT NULL,
    trt_dcla_detl_sn   TEXT NOT NULL,
    psn_no             TEXT NOT NULL,
    insutype           TEXT NOT NULL,
    fil_type           TEXT NOT NULL,
    mdtrtarea_admdvs   TEXT NOT NULL,
    refl_type          TEXT NOT NULL,
    reflin_medins_no   TEXT NOT NULL,
    reflin_medins_name TEXT NOT NULL,
    dise_codg          TEXT NOT NULL,
    dise_name          TEXT NOT NULL,
    begndate           TEXT NOT NULL,
    enddate            TEXT NOT NULL,
    source             TEXT NOT NULL,
    fixmedins_code     TEXT NOT NULL,
    operator           TEXT NOT NULL,
    vali_flag          TEXT NOT NULL,
    created_at         TEXT NOT NULL,
    cancelled_at       TEXT NOT NULL,
    content            TEXT NOT NULL,
    PRIMARY KEY (insu_admdvs, trt_dcla_detl_sn)
);
CREATE UNIQUE INDEX remote_filings_sn ON remote_filings (trt_dcla_detl_sn);
CREATE INDEX remote_filings_psn ON remote_filings (insu_admdvs, psn_no);
