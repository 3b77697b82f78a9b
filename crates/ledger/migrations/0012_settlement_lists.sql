-- 医疗保障基金结算清单 (4101/4101A): the settlement list of a settlement, as the institution uploaded
-- it (JSON of its `setlinfo`, `diseinfo`, `oprninfo`, … nodes), with the facts it is found by. An
-- upload for the same settlement replaces the list (the institution corrects it); `version` counts
-- the uploads. Read by the DRG grouper (`yibao export settlement-lists`).

CREATE TABLE settlement_lists (
    setl_id        TEXT   PRIMARY KEY,
    setl_list_id   TEXT   NOT NULL,
    fixmedins_code TEXT   NOT NULL,
    mdtrt_id       TEXT   NOT NULL,
    psn_no         TEXT   NOT NULL,
    dscg_time      TEXT   NOT NULL,
    version        BIGINT NOT NULL,
    uploaded_at    TEXT   NOT NULL,
    content        TEXT   NOT NULL
);
CREATE INDEX settlement_lists_dscg ON settlement_lists (dscg_time);
