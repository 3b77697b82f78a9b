//! A visit and its fee lines as the HIS holds them (the fields the messages carry).

use serde::Deserialize;
use yibao_domain::Fen;

use crate::reply::HisError;

/// `hosp_appr_flag` of an approved line (§7.4: a restricted item is reimbursable).
const APPROVED: &str = "1";

/// A visit: who, where, when, why, and its fee lines, with the national values as sent.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct Visit {
    pub psn_no: String,
    pub insutype: String,
    /// `med_type`: 21 takes the inpatient flow, 41 the pharmacy flow, any other the outpatient flow.
    pub med_type: String,
    /// Start of care, `yyyy-MM-dd HH:mm:ss`.
    pub begntime: String,
    /// End of care: the discharge time (2402 `endtime`, 2304 `dscgTime`); none leaves it to the
    /// service.
    #[serde(default)]
    pub endtime: Option<String>,
    pub fixmedins_code: String,
    /// Referral flag (`refl_flag`, 0/1).
    #[serde(default)]
    pub refl_flag: String,
    /// Principal diagnosis (`dise_codg`).
    #[serde(default)]
    pub dise_codg: String,
    pub feedetail: Vec<FeeLine>,
}

/// One fee line (`feedetail[]`, §7.4) as the HIS sends it: text, so that what the service refuses
/// (a malformed amount) can be sent as well.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
pub struct FeeLine {
    /// Line number, unique within the visit.
    pub feedetl_sn: String,
    /// National catalogue code.
    pub med_list_codg: String,
    /// Quantity (`16,4`).
    pub cnt: String,
    /// Unit price in yuan (`16,6`).
    pub pric: String,
    /// Line amount in yuan (`16,2`).
    pub det_item_fee_sumamt: String,
    /// Approval of a restricted item (0/1/2).
    pub hosp_appr_flag: String,
}

impl FeeLine {
    /// An approved line of `cnt` units at `pric`, its amount `cnt × pric`.
    pub fn priced(
        feedetl_sn: impl Into<String>,
        med_list_codg: impl Into<String>,
        cnt: i64,
        pric: Fen,
    ) -> FeeLine {
        FeeLine {
            feedetl_sn: feedetl_sn.into(),
            med_list_codg: med_list_codg.into(),
            cnt: cnt.to_string(),
            pric: pric.to_yuan_string(),
            det_item_fee_sumamt: Fen(pric.fen() * cnt).to_yuan_string(),
            hosp_appr_flag: APPROVED.into(),
        }
    }
}

/// `medfee_sumamt`: the sum of the lines' `det_item_fee_sumamt`, in fen.
pub fn medfee_sumamt(lines: &[FeeLine]) -> Result<Fen, HisError> {
    lines.iter().try_fold(Fen::ZERO, |total, line| {
        let amount =
            Fen::parse_yuan(&line.det_item_fee_sumamt).map_err(|source| HisError::Amount {
                feedetl_sn: line.feedetl_sn.clone(),
                source,
            })?;
        Ok(total + amount)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn line(feedetl_sn: &str, amount: &str) -> FeeLine {
        FeeLine {
            feedetl_sn: feedetl_sn.into(),
            det_item_fee_sumamt: amount.into(),
            ..FeeLine::default()
        }
    }

    #[test]
    fn medfee_sumamt_sums_the_lines_in_fen() {
        let lines = [line("1", "0.10"), line("2", "0.20"), line("3", "1234.5")];
        assert_eq!(medfee_sumamt(&lines).unwrap(), Fen(123_480));
        assert_eq!(medfee_sumamt(&[]).unwrap(), Fen::ZERO);
    }

    #[test]
    fn a_malformed_amount_names_its_line() {
        let lines = [line("1", "10.00"), line("2", "10.0O")];
        match medfee_sumamt(&lines) {
            Err(HisError::Amount { feedetl_sn, .. }) => assert_eq!(feedetl_sn, "2"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn a_priced_line_is_cnt_times_pric() {
        let priced = FeeLine::priced("1", "XJ01", 3, Fen(1_050));
        assert_eq!(
            (
                priced.cnt.as_str(),
                priced.pric.as_str(),
                priced.det_item_fee_sumamt.as_str()
            ),
            ("3", "10.50", "31.50")
        );
        assert_eq!(priced.hosp_appr_flag, "1");
    }

    #[test]
    fn a_visit_reads_from_national_json() {
        let visit: Visit = serde_json::from_str(
            r#"{"psn_no":"P1","insutype":"390","med_type":"21","begntime":"2025-01-01 08:00:00",
                "endtime":"2025-01-05 10:00:00","fixmedins_code":"H1","refl_flag":"0","dise_codg":"K35.800",
                "extra":"ignored","feedetail":[{"feedetl_sn":"1","med_list_codg":"C1","cnt":"1","pric":"5.00",
                "det_item_fee_sumamt":"5.00","hosp_appr_flag":"1"}]}"#,
        )
        .unwrap();
        assert_eq!(visit.endtime.as_deref(), Some("2025-01-05 10:00:00"));
        assert_eq!(visit.feedetail[0].pric, "5.00");
    }
}
