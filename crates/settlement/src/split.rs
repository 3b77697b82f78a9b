//! The line split (明细分割): each fee line into 全自费 / 超限价 / 先行自付 / 政策范围内.

use yibao_catalog::{Catalog, CatalogItem};
use yibao_domain::codes::Gend;
use yibao_domain::{Fen, LineAmounts, Ratio, Rounding};

use crate::input::{FeeLine, Person};
use crate::output::{LineRule, LineSplit};

/// micro-yuan × (quantity × 10⁴) per fen.
const PRICE_QTY_UNITS_PER_FEN: i128 = 100_000_000;

/// What the split needs to know about the visit.
#[derive(Debug, Clone, Copy)]
pub struct SplitContext<'a> {
    pub person: &'a Person,
    pub level: u8,
    pub age_years: u32,
    pub rounding: Rounding,
    /// Remote M1 extra 先行自付 on the in-scope part.
    pub extra_preselfpay: Option<Ratio>,
}

/// `pric × cnt` in 1e-8 fen.
pub fn price_times_quantity(line: &FeeLine) -> i128 {
    i128::from(line.pric_micro_yuan) * i128::from(line.cnt_e4)
}

/// Whether the line amount agrees with `pric × cnt` within `tolerance`.
pub fn amount_matches(line: &FeeLine, tolerance: Fen) -> bool {
    let amount = i128::from(line.amount.fen()) * PRICE_QTY_UNITS_PER_FEN;
    (amount - price_times_quantity(line)).abs()
        <= i128::from(tolerance.fen()) * PRICE_QTY_UNITS_PER_FEN
}

/// Splits one line.
pub fn split_line(catalog: &Catalog, line: &FeeLine, index: u32, ctx: &SplitContext) -> LineSplit {
    let item = catalog.get(&line.med_list_codg);
    let mut split = LineSplit {
        line: index,
        rule: LineRule::Covered,
        amounts: LineAmounts {
            det_item_fee_sumamt: line.amount,
            ..LineAmounts::default()
        },
        remote_extra_preselfpay: Fen::ZERO,
        selfpay_prop: Ratio::ONE,
        price_cap_micro_yuan: item.and_then(|i| i.price_cap_micro_yuan),
        chrgitm_lv: item.map(|i| i.chrgitm_lv),
        med_chrgitm_type: item.map(|i| i.med_chrgitm_type),
        restricted_use: item.is_some_and(|i| i.restricted_use),
        flat: false,
    };
    let item = match item {
        Some(item) => item,
        None => return self_paid(split, LineRule::NotInCatalogue),
    };
    if let Some(rule) = exclusion(item, line, ctx) {
        return self_paid(split, rule);
    }
    let over = match item.price_cap_micro_yuan {
        Some(cap) if line.pric_micro_yuan > cap => ctx.rounding.div(
            i128::from(line.pric_micro_yuan - cap) * i128::from(line.cnt_e4),
            PRICE_QTY_UNITS_PER_FEN,
        ),
        _ => Fen::ZERO,
    };
    let base = line.amount - over;
    let own = ctx.rounding.apply(base, item.selfpay_prop);
    split.selfpay_prop = item.selfpay_prop;
    split.amounts.overlmt_amt = over;
    split.amounts.preselfpay_amt = own;
    split.amounts.inscp_scp_amt = base - own;
    if let Some(extra) = ctx.extra_preselfpay {
        move_remote_extra(&mut split, extra, ctx.rounding);
    }
    split
}

/// Moves the remote-care extra 先行自付 (M1, `settlement.md` §13) of a line: `round(inscp × extra)`
/// from 符合政策范围 to 先行自付 (I1 holds), recorded in `remote_extra_preselfpay`.
pub fn move_remote_extra(split: &mut LineSplit, extra: Ratio, rounding: Rounding) {
    let moved = rounding.apply(split.amounts.inscp_scp_amt, extra);
    split.amounts.inscp_scp_amt -= moved;
    split.amounts.preselfpay_amt += moved;
    split.remote_extra_preselfpay += moved;
}

/// Puts a line's remote-care extra 先行自付 back into 符合政策范围: the split as the catalogue alone
/// makes it.
pub fn undo_remote_extra(split: &mut LineSplit) {
    let moved = split.remote_extra_preselfpay;
    split.amounts.inscp_scp_amt += moved;
    split.amounts.preselfpay_amt -= moved;
    split.remote_extra_preselfpay = Fen::ZERO;
}

fn self_paid(mut split: LineSplit, rule: LineRule) -> LineSplit {
    split.rule = rule;
    split.selfpay_prop = Ratio::ONE;
    split.amounts.fulamt_ownpay_amt = split.amounts.det_item_fee_sumamt;
    split
}

/// The first reason the line is wholly self-paid, if any.
fn exclusion(item: &CatalogItem, line: &FeeLine, ctx: &SplitContext) -> Option<LineRule> {
    use yibao_domain::codes::ChrgitmLv;
    let approval = line.hosp_appr_flag.as_bytes();
    if item.chrgitm_lv == ChrgitmLv::ClassC {
        return Some(LineRule::ClassC);
    }
    if item.restricted_use && approval != b"1" {
        return Some(LineRule::RestrictedWithoutApproval);
    }
    if !item.restricted_use && approval == b"2" {
        return Some(LineRule::MarkedSelfPay);
    }
    let restriction = &item.restriction;
    if let Some(gend) = restriction.gend {
        if matches!(gend, Gend::Male | Gend::Female) && ctx.person.gend != gend {
            return Some(LineRule::SexRestricted);
        }
    }
    let too_young = restriction
        .age_min_years
        .is_some_and(|min| ctx.age_years < min);
    let too_old = restriction
        .age_max_years
        .is_some_and(|max| ctx.age_years > max);
    if too_young || too_old {
        return Some(LineRule::AgeRestricted);
    }
    if restriction.min_level.is_some_and(|min| ctx.level < min) {
        return Some(LineRule::LevelRestricted);
    }
    None
}

#[cfg(test)]
mod tests {
    use proptest::prelude::*;
    use yibao_domain::RoundingMode;

    use super::*;

    fn split_of(fulamt: i64, over: i64, pre: i64, inscp: i64) -> LineSplit {
        LineSplit {
            line: 0,
            rule: LineRule::Covered,
            amounts: LineAmounts {
                det_item_fee_sumamt: Fen(fulamt + over + pre + inscp),
                fulamt_ownpay_amt: Fen(fulamt),
                overlmt_amt: Fen(over),
                preselfpay_amt: Fen(pre),
                inscp_scp_amt: Fen(inscp),
            },
            remote_extra_preselfpay: Fen::ZERO,
            selfpay_prop: Ratio::ONE,
            price_cap_micro_yuan: None,
            chrgitm_lv: None,
            med_chrgitm_type: None,
            restricted_use: false,
            flat: false,
        }
    }

    proptest! {
        /// M1 moves `round(inscp × extra)` from 政策范围内 to 先行自付, keeps the line's identity, and
        /// undoing it gives the split back.
        #[test]
        fn remote_extra_moves_and_undoes(
            parts in (0i64..1_000_000, 0i64..1_000_000, 0i64..1_000_000, -1_000_000i64..10_000_000),
            extra_bp in 0i64..=10_000,
        ) {
            let (fulamt, over, pre, inscp) = parts;
            let original = split_of(fulamt, over, pre, inscp);
            let rounding = Rounding { mode: RoundingMode::HalfUp, unit_fen: 1 };
            let extra = Ratio::from_bp_checked(extra_bp).unwrap();
            let mut moved = original;
            move_remote_extra(&mut moved, extra, rounding);
            let expected = rounding.apply(Fen(inscp), extra);
            prop_assert_eq!(moved.remote_extra_preselfpay, expected);
            prop_assert_eq!(moved.amounts.preselfpay_amt, Fen(pre) + expected);
            prop_assert_eq!(moved.amounts.parts_sum(), moved.amounts.det_item_fee_sumamt);
            undo_remote_extra(&mut moved);
            prop_assert_eq!(moved, original);
        }
    }
}
