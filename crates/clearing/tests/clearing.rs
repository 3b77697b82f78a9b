//! The clearing identities over generated months of settlements and cancellations, and one worked
//! example exact to the fen.

use std::collections::BTreeMap;

use proptest::prelude::*;
use yibao_clearing::{
    carried_prepayment, clear_month, reapply_with_prepayment, share_problems, ClearingPolicy,
    Confirmation, Deductions, FundPayment, FundShares, Month, MonthInputs, PairKey, Prepayment,
    PrepaymentHistory, ReviewDeductions, SettlementRow,
};
use yibao_domain::{Code, Fen, Ratio};

const POLICY: &str = include_str!("../../../policies/clearing/jiangxi.toml");

fn policy_with_reserve(reserve: &str) -> ClearingPolicy {
    let text = POLICY.replace(
        "withheld_ratio = \"0\"",
        &format!("withheld_ratio = \"{reserve}\""),
    );
    ClearingPolicy::parse(&text).unwrap()
}

fn key(treating: &str, insutype: &str) -> PairKey {
    PairKey {
        insured_admdvs: Code::lit("360400"),
        treating_admdvs: Code::lit(treating),
        insutype: Code::lit(insutype),
    }
}

fn month(m: u8) -> Month {
    Month {
        year: 2025,
        month: m,
    }
}

fn row(
    id: usize,
    key: PairKey,
    made_in: Month,
    cancels: Option<Month>,
    fund_fen: i64,
) -> SettlementRow {
    let sign = if cancels.is_some() { -1 } else { 1 };
    SettlementRow {
        setl_id: format!("S{id}"),
        key,
        fixmedins_code: format!("H{}", id % 3),
        made_in,
        cancels,
        medfee_sumamt: Fen(sign * fund_fen * 2),
        fund_payments: vec![
            FundPayment {
                fund_pay_type: Code::lit("310100"),
                amount: Fen(sign * (fund_fen - fund_fen / 5)),
            },
            FundPayment {
                fund_pay_type: Code::lit("310200"),
                amount: Fen(sign * (fund_fen / 5)),
            },
        ],
        confirmation: Confirmation::NotRequired,
        late_cycle: None,
    }
}

fn confirmed(row: SettlementRow, confirmation: Confirmation) -> SettlementRow {
    SettlementRow {
        confirmation,
        ..row
    }
}

#[test]
fn only_confirmed_rows_of_a_province_are_cleared() {
    let policy = policy_with_reserve("0");
    let k = key("360100", "390");
    let inputs = MonthInputs {
        rows: vec![
            confirmed(row(1, k, month(3), None, 100_000), Confirmation::Confirmed),
            confirmed(row(2, k, month(3), None, 20_000), Confirmation::Excluded),
            confirmed(row(3, k, month(3), None, 3_000), Confirmation::Unconfirmed),
            confirmed(
                row(4, k, month(3), Some(month(2)), 400),
                Confirmation::Unconfirmed,
            ),
            confirmed(
                row(5, k, month(3), Some(month(2)), 50),
                Confirmation::Confirmed,
            ),
            row(6, k, month(3), None, 6),
        ],
        ..MonthInputs::default()
    };
    let rows = clear_month(&policy, month(3), &inputs).unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (r.settlements, r.cancellations, r.carried_cancellations),
        (2, 0, 1)
    );
    assert_eq!(r.fund_owed, Fen(100_000 - 50 + 6));
    assert_eq!(r.cleared, r.fund_owed);
}

#[test]
fn a_worked_month() {
    let policy = policy_with_reserve("0.05");
    let k = key("360100", "310");
    let inputs = MonthInputs {
        rows: vec![
            row(1, k, month(3), None, 1_000_000),
            row(2, k, month(3), None, 500_001),
            row(3, k, month(3), Some(month(3)), 500_001),
            row(4, k, month(3), Some(month(1)), 200_000),
            row(5, k, month(4), None, 9_999),
        ],
        deductions: BTreeMap::from([(
            k,
            ReviewDeductions {
                audit: Fen(10_000),
                inspection: Fen(3_333),
            },
        )]),
        prepayments: BTreeMap::from([(
            k,
            PrepaymentHistory {
                balance: Fen(300_000),
                basis_fund_owed: Fen(12_000_007),
            },
        )]),
    };
    let rows = clear_month(&policy, month(3), &inputs).unwrap();
    assert_eq!(rows.len(), 1);
    let r = &rows[0];
    assert_eq!(
        (r.settlements, r.cancellations, r.carried_cancellations),
        (2, 1, 1)
    );
    assert_eq!(r.fund_owed, Fen(800_000));
    assert_eq!(r.carried_fund, Fen(-200_000));
    // after review 786,667; reserve 5 % = 39,333.35 → 39,333; offset min(747,334, 300,000).
    assert_eq!(r.deductions.reserve_withheld, Fen(39_333));
    assert_eq!(r.deductions.prepayment_offset, Fen(300_000));
    assert_eq!(r.cleared, Fen(800_000 - 10_000 - 3_333 - 39_333 - 300_000));
    // size = 12,000,007 × 2 / 12 = 2,000,001.17 → 2,000,001; balance 0 < half → topped up.
    assert_eq!(r.prepayment.size, Fen(2_000_001));
    assert_eq!(r.prepayment.top_up, Fen(2_000_001));
    assert_eq!(r.prepayment.balance_after, Fen(2_000_001));
    assert_eq!(
        r.by_fund[&Code::lit("310100")] + r.by_fund[&Code::lit("310200")],
        r.fund_owed
    );
    // The books' shares: owed 640,000 : 160,000 = 4 : 1, each amount apportioned by largest
    // remainder (inspection 2,666.4 / 666.6 → 2,666 / 667; top-up 1,600,000.8 / 400,000.2).
    let shares = r.fund_shares.as_ref().unwrap();
    let fund = |code: &str, audit, inspection, offset, reserve, top_up, cleared| {
        (
            Code::lit(code),
            FundShares {
                owed: r.by_fund[&Code::lit(code)],
                deductions: Deductions {
                    audit: Fen(audit),
                    inspection: Fen(inspection),
                    prepayment_offset: Fen(offset),
                    reserve_withheld: Fen(reserve),
                },
                top_up: Fen(top_up),
                cleared: Fen(cleared),
            },
        )
    };
    assert_eq!(
        *shares,
        BTreeMap::from([
            fund("310100", 8_000, 2_666, 240_000, 31_466, 1_600_001, 357_868),
            fund("310200", 2_000, 667, 60_000, 7_867, 400_000, 89_466),
        ])
    );
    assert_eq!(share_problems(r, shares), Vec::<String>::new());
}

/// A settlement confirmed after its month was cleared enters the cycle of the confirmation with its
/// cancellation made before it; a cancellation made after that cycle enters its own month.
#[test]
fn a_late_confirmation_carries_the_chain_into_its_cycle() {
    let policy = policy_with_reserve("0");
    let k = key("360100", "390");
    let late = |row: SettlementRow| SettlementRow {
        late_cycle: Some(month(5)),
        ..confirmed(row, Confirmation::Confirmed)
    };
    let rows = vec![
        confirmed(row(1, k, month(3), None, 70_000), Confirmation::Unconfirmed),
        late(row(2, k, month(3), None, 10_000)),
        late(row(3, k, month(4), None, 2_000)),
        late(row(4, k, month(4), Some(month(3)), 1_000)),
        late(row(5, k, month(6), Some(month(4)), 2_000)),
    ];
    let inputs = MonthInputs {
        rows,
        ..MonthInputs::default()
    };
    let counted = |m: u8| {
        let rows = clear_month(&policy, month(m), &inputs).unwrap();
        rows.first().map(|r| {
            (
                r.settlements,
                r.carried_cancellations,
                r.late_entries,
                r.late_fund,
                r.fund_owed,
            )
        })
    };
    assert_eq!(counted(3), None);
    assert_eq!(counted(4), None);
    assert_eq!(counted(5), Some((0, 0, 3, Fen(11_000), Fen(11_000))));
    assert_eq!(counted(6), Some((0, 1, 0, Fen(0), Fen(-2_000))));
}

/// A month with deductions but no fund payment puts them on the policy's unattributed fund.
#[test]
fn deductions_without_fund_payments_fall_on_the_unattributed_fund() {
    let policy = policy_with_reserve("0");
    let k = key("360100", "390");
    let inputs = MonthInputs {
        deductions: BTreeMap::from([(
            k,
            ReviewDeductions {
                audit: Fen(500),
                inspection: Fen(0),
            },
        )]),
        ..MonthInputs::default()
    };
    let rows = clear_month(&policy, month(3), &inputs).unwrap();
    let shares = rows[0].fund_shares.as_ref().unwrap();
    assert_eq!(shares.len(), 1);
    let other = &shares[&policy.unattributed_fund];
    assert_eq!(
        (other.owed, other.deductions.audit, other.cleared),
        (Fen(0), Fen(500), Fen(-500))
    );
    assert_eq!(rows[0].cleared, Fen(-500));
}

#[test]
fn a_cancellation_of_a_later_month_is_refused() {
    let policy = policy_with_reserve("0");
    let k = key("360100", "310");
    let inputs = MonthInputs {
        rows: vec![row(1, k, month(3), Some(month(4)), 100)],
        ..MonthInputs::default()
    };
    let error = clear_month(&policy, month(3), &inputs)
        .unwrap_err()
        .to_string();
    assert!(error.contains("S1"), "{error}");
}

fn arb_rows() -> impl Strategy<Value = Vec<SettlementRow>> {
    let keys = [
        key("360100", "310"),
        key("360100", "390"),
        key("440100", "310"),
    ];
    let confirmations = [
        Confirmation::NotRequired,
        Confirmation::Confirmed,
        Confirmation::Excluded,
        Confirmation::Unconfirmed,
    ];
    let specs = (
        0usize..3,
        1u8..=6,
        0u8..=6,
        0i64..5_000_000,
        0usize..4,
        0u8..=6,
    );
    prop::collection::vec(specs, 0..60).prop_map(move |specs| {
        specs
            .into_iter()
            .enumerate()
            .map(|(id, (k, made, back, fund, c, late))| {
                let cancels = (back > 0).then(|| month(made.saturating_sub(back - 1).max(1)));
                SettlementRow {
                    late_cycle: (late > 0).then(|| month(late)),
                    ..confirmed(
                        row(id, keys[k], month(made), cancels, fund),
                        confirmations[c],
                    )
                }
            })
            .collect()
    })
}

proptest! {
    #[test]
    fn cleared_is_owed_less_deductions_and_each_row_in_one_cycle(
        rows in arb_rows(),
        audit in 0i64..100_000,
        balance in 0i64..3_000_000,
        basis in 0i64..50_000_000,
        reserve in prop::sample::select(vec!["0", "0.03", "0.05"]),
    ) {
        let policy = policy_with_reserve(reserve);
        let mut counted = 0u64;
        let mut owed_all = Fen(0);
        for m in 1..=6 {
            let keys: Vec<PairKey> = rows.iter().map(|r| r.key).collect();
            let inputs = MonthInputs {
                rows: rows.clone(),
                deductions: keys.iter().map(|k| (*k, ReviewDeductions { audit: Fen(audit), inspection: Fen(0) })).collect(),
                prepayments: keys.iter().map(|k| (*k, PrepaymentHistory { balance: Fen(balance), basis_fund_owed: Fen(basis) })).collect(),
            };
            for r in clear_month(&policy, month(m), &inputs).unwrap() {
                prop_assert_eq!(r.cleared, r.fund_owed - r.deductions.total());
                let of_month: Fen = rows.iter().filter(|s| s.cycle() == month(m) && s.key == r.key && s.confirmation.counts())
                    .flat_map(|s| s.fund_payments.iter().map(|p| p.amount)).sum();
                prop_assert_eq!(r.fund_owed, of_month);
                prop_assert_eq!(r.by_fund.values().copied().sum::<Fen>(), r.fund_owed);
                prop_assert_eq!(r.by_institution.values().copied().sum::<Fen>(), r.fund_owed);
                prop_assert!(r.deductions.prepayment_offset <= Fen(balance));
                prop_assert!(r.prepayment.balance_after >= Fen(0));
                prop_assert_eq!(r.deductions.reserve_withheld,
                    policy.rounding.apply((r.fund_owed - Fen(audit)).clamp_non_negative(), Ratio::parse(reserve).unwrap()));
                let shares = r.fund_shares.as_ref().unwrap();
                prop_assert_eq!(share_problems(&r, shares), Vec::<String>::new());
                for s in shares.values() {
                    let d = s.deductions;
                    for part in [d.audit, d.inspection, d.prepayment_offset, d.reserve_withheld, s.top_up] {
                        prop_assert!(part >= Fen(0));
                    }
                }
                counted += r.settlements + r.cancellations + r.carried_cancellations + r.late_entries;
                owed_all += r.fund_owed;
            }
        }
        let cleared: Vec<&SettlementRow> = rows.iter().filter(|s| s.confirmation.counts()).collect();
        prop_assert_eq!(counted, cleared.len() as u64);
        let all: Fen = cleared.iter().flat_map(|s| s.fund_payments.iter().map(|p| p.amount)).sum();
        prop_assert_eq!(owed_all, all);
    }
}

/// A month applied again after later months ran: with the rejected row's prepayment when the later
/// months stand on the balance it left, with none otherwise; the month's own amounts recomputed,
/// `cleared` taking what the fixed offset leaves (negative when the month now owes less), the
/// shares exact.
#[test]
fn a_month_applied_again_after_later_months_keeps_their_prepayment() {
    let policy = policy_with_reserve("0.05");
    let k = key("360100", "390");
    let inputs = MonthInputs {
        rows: vec![row(1, k, month(3), None, 100_000)],
        deductions: BTreeMap::new(),
        prepayments: [(
            k,
            PrepaymentHistory {
                balance: Fen(300_000),
                basis_fund_owed: Fen(1_200_000),
            },
        )]
        .into_iter()
        .collect(),
    };
    let computed = clear_month(&policy, month(3), &inputs).unwrap().remove(0);
    let rejected = Prepayment {
        size: Fen(200_000),
        balance_before: Fen(300_000),
        offset: Fen(250_000),
        top_up: Fen(150_000),
        balance_after: Fen(200_000),
    };
    let carried = carried_prepayment(&rejected, Fen(200_000));
    assert_eq!(carried, rejected);
    let again = reapply_with_prepayment(&policy, (month(3), k), Some(&computed), carried);
    assert_eq!(again.prepayment, rejected);
    assert_eq!(again.deductions.prepayment_offset, Fen(250_000));
    assert_eq!(again.deductions.reserve_withheld, Fen(5_000));
    assert_eq!(again.cleared, Fen(100_000 - 5_000 - 250_000));
    assert!(share_problems(&again, again.fund_shares.as_ref().unwrap()).is_empty());

    let none = carried_prepayment(&rejected, Fen(300_000));
    assert_eq!(
        (
            none.offset,
            none.top_up,
            none.balance_before,
            none.balance_after
        ),
        (Fen(0), Fen(0), Fen(300_000), Fen(300_000))
    );
    let again = reapply_with_prepayment(&policy, (month(3), k), Some(&computed), none);
    assert_eq!(again.cleared, Fen(100_000 - 5_000));
    let empty = reapply_with_prepayment(&policy, (month(3), k), None, rejected);
    assert_eq!((empty.fund_owed, empty.cleared), (Fen(0), Fen(-250_000)));
    assert!(share_problems(&empty, empty.fund_shares.as_ref().unwrap()).is_empty());
}
