//! The service's copy of the sanctions of fund supervision (`yibao_ledger::sanctions`), indexed
//! for the settlement path: an institution's agreement, a practitioner's standing and a person's
//! card suspension are each a hash lookup, no query per message or fee line. The copy is reloaded
//! when `sanctions_version` moves (an admin write reloads at once; a write by another process, such
//! as `yibao supervise`, is seen within [`REFRESH_INTERVAL`]).

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use chrono::NaiveDate;
use yibao_audit::sanctions::{
    agreement_on, card_suspension_on, AgreementEvent, AgreementStatus, CardSuspension, PointEntry,
    SanctionsPolicy, Standing,
};
use yibao_ledger::sanctions::{AllSanctions, PractitionerRow};

use crate::error::TxError;
use crate::state::Shared;

/// How often a running service checks `sanctions_version`.
pub const REFRESH_INTERVAL: Duration = Duration::from_secs(2);

/// A registered practitioner and the points given.
pub struct Practitioner {
    pub row: PractitionerRow,
    pub points: Vec<PointEntry>,
}

/// The sanctions in force, indexed by institution, practitioner and person.
#[derive(Default)]
pub struct Sanctions {
    /// The `sanctions_version` they were read at.
    pub version: i64,
    agreements: HashMap<String, Vec<AgreementEvent>>,
    practitioners: HashMap<String, Practitioner>,
    cards: HashMap<String, Vec<CardSuspension>>,
}

impl Sanctions {
    /// Indexes what the ledger holds.
    pub fn of(all: AllSanctions) -> Sanctions {
        let mut sanctions = Sanctions {
            version: all.version,
            ..Sanctions::default()
        };
        for row in all.agreements {
            sanctions
                .agreements
                .entry(row.fixmedins_code)
                .or_default()
                .push(row.event);
        }
        for row in all.practitioners {
            let practitioner = Practitioner {
                row,
                points: Vec::new(),
            };
            sanctions
                .practitioners
                .insert(practitioner.row.dr_code.clone(), practitioner);
        }
        for row in all.points {
            if let Some(p) = sanctions.practitioners.get_mut(&row.dr_code) {
                p.points.push(row.entry);
            }
        }
        for row in all.suspensions {
            sanctions
                .cards
                .entry(row.psn_no)
                .or_default()
                .push(row.suspension);
        }
        sanctions
    }

    /// The agreement step in force for an institution on a day (`None`: no step recorded, or none
    /// effective yet).
    pub fn agreement_on(&self, fixmedins_code: &str, on: NaiveDate) -> Option<&AgreementEvent> {
        agreement_on(self.agreements.get(fixmedins_code)?, on)
    }

    /// The refusal of a settling message of an institution whose agreement is suspended or
    /// terminated on `on`.
    pub fn institution_refusal(&self, fixmedins_code: &str, on: NaiveDate) -> Option<TxError> {
        let event = self.agreement_on(fixmedins_code, on)?;
        if event.status == AgreementStatus::Active {
            return None;
        }
        Some(TxError::new(
            "fixmedins_code",
            format!(
                "定点医药机构 {fixmedins_code} 的医保服务协议自 {} 起{}（{}，文号 {}），不能办理结算业务",
                event.begndate,
                event.status.label(),
                event.reason,
                event.doc_no
            ),
        ))
    }

    /// A registered practitioner.
    pub fn practitioner(&self, dr_code: &str) -> Option<&Practitioner> {
        self.practitioners.get(dr_code)
    }

    /// The practitioners of a pooling region (every one when `admdvs` is empty), by code.
    pub fn practitioners(&self, admdvs: &str) -> Vec<&Practitioner> {
        let mut found: Vec<&Practitioner> = self
            .practitioners
            .values()
            .filter(|p| admdvs.is_empty() || p.row.admdvs == admdvs)
            .collect();
        found.sort_by(|a, b| a.row.dr_code.cmp(&b.row.dr_code));
        found
    }

    /// The refusal of a fee line (at `path`) billed by a practitioner whose 医保支付资格 is
    /// suspended or terminated on `on`.
    pub fn practitioner_refusal(
        &self,
        policy: &SanctionsPolicy,
        path: &str,
        dr_code: &str,
        on: NaiveDate,
    ) -> Option<TxError> {
        let practitioner = self.practitioners.get(dr_code)?;
        let Standing::Sanctioned {
            points,
            since,
            until,
            terminated,
        } = policy.standing(&practitioner.points, on)
        else {
            return None;
        };
        let last = until.pred_opt().unwrap_or(until);
        Some(TxError::new(
            format!("{path}.bilg_dr_codg"),
            format!(
                "开单医师 {dr_code}（{}）本年记分 {points} 分，医保支付资格{}（{since} 至 {last}），该明细不能上传",
                practitioner.row.dr_name,
                if terminated { "已终止" } else { "暂停" },
            ),
        ))
    }

    /// The refusal of a settlement of a person whose card is suspended on `on`.
    pub fn card_refusal(&self, psn_no: &str, on: NaiveDate) -> Option<TxError> {
        self.card_refusal_of("psn_no", psn_no, on, "结算")
    }

    /// The refusal (at `field`, naming what cannot be done: `action`, e.g. 挂号) of care of a
    /// person whose card is suspended on `on`.
    pub fn card_refusal_of(
        &self,
        field: &str,
        psn_no: &str,
        on: NaiveDate,
        action: &str,
    ) -> Option<TxError> {
        let suspension = card_suspension_on(self.cards.get(psn_no)?, on)?;
        Some(TxError::new(
            field,
            format!(
                "人员 {psn_no} 自 {} 至 {} 暂停联网结算（{}，文号 {}），不能{action}",
                suspension.begndate, suspension.enddate, suspension.reason, suspension.doc_no
            ),
        ))
    }

    /// A person's card suspensions, in the order recorded.
    pub fn card_suspensions(&self, psn_no: &str) -> &[CardSuspension] {
        self.cards.get(psn_no).map_or(&[], Vec::as_slice)
    }
}

/// Checks `sanctions_version` every [`REFRESH_INTERVAL`] while the service runs and reloads the
/// sanctions when it moved.
pub fn watch(shared: &Arc<Shared>) {
    let shared = Arc::downgrade(shared);
    tokio::spawn(async move {
        loop {
            tokio::time::sleep(REFRESH_INTERVAL).await;
            let Some(shared) = shared.upgrade() else {
                return;
            };
            if let Err(error) = shared.refresh_sanctions().await {
                tracing::warn!(%error, "reloading sanctions");
            }
        }
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use yibao_ledger::sanctions::{AgreementRow, SuspensionRow};

    fn day(text: &str) -> NaiveDate {
        NaiveDate::parse_from_str(text, "%Y-%m-%d").unwrap()
    }

    #[test]
    fn refusals_name_status_date_and_document() {
        let all = AllSanctions {
            version: 3,
            agreements: vec![AgreementRow {
                fixmedins_code: "H1".into(),
                event_no: 1,
                admdvs: "360400".into(),
                event: AgreementEvent {
                    status: AgreementStatus::Suspended,
                    begndate: day("2025-03-01"),
                    reason: "虚构医疗服务".into(),
                    doc_no: "浔医保〔2025〕7号".into(),
                },
                operator: "o".into(),
                recorded_at: "t".into(),
            }],
            suspensions: vec![SuspensionRow {
                psn_no: "P1".into(),
                event_no: 1,
                admdvs: "360400".into(),
                suspension: CardSuspension {
                    begndate: day("2025-03-01"),
                    enddate: day("2025-08-31"),
                    reason: "骗保".into(),
                    doc_no: "D2".into(),
                },
                recorded_at: "t".into(),
            }],
            ..AllSanctions::default()
        };
        let sanctions = Sanctions::of(all);
        assert!(sanctions
            .institution_refusal("H1", day("2025-02-28"))
            .is_none());
        let refusal = sanctions
            .institution_refusal("H1", day("2025-03-01"))
            .unwrap()
            .to_string();
        assert!(refusal.contains("2025-03-01 起暂停"), "{refusal}");
        assert!(refusal.contains("浔医保〔2025〕7号"), "{refusal}");
        assert!(sanctions.card_refusal("P1", day("2025-09-01")).is_none());
        let card = sanctions
            .card_refusal("P1", day("2025-08-31"))
            .unwrap()
            .to_string();
        assert!(card.contains("暂停联网结算"), "{card}");
    }
}
