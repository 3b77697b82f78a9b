//! Fee lines of one visit. Fixed parts come first (bed, nursing and consultation per day,
//! registration, tests, procedures); drugs, herbs and consumables then fill the rest of the
//! visit's target bill. Every line's quantity is chosen so that `pric × cnt` is a whole number of
//! fen: the amount is exact, never rounded.

use crate::catalog::{Catalog, Item, Role, MICRO_PER_FEN};
use crate::institutions::Tier;
use crate::population::SynthPerson;
use crate::rng::Draw;
use crate::visits::{Kind, VisitHead};

/// Quantities are held in 1/10,000 units (`cnt` has four decimals on the wire).
pub const COUNT_SCALE: i64 = 10_000;
/// `price_micro × cnt_e4` is in 1e-10 yuan; a fen is this many of those.
const FEN_IN_PRICE_COUNT_UNITS: i64 = MICRO_PER_FEN * COUNT_SCALE;

/// One fee line.
#[derive(Copy, Clone, Debug, PartialEq, Eq)]
pub struct Line {
    /// Index into the catalogue.
    pub item: u32,
    pub cnt_e4: i64,
    pub pric_micro: i64,
    pub amount_fen: i64,
    /// `hosp_appr_flag`: "1" approved, "0" not needed or not obtained.
    pub approval: &'static str,
}

/// Draws the lines of `head` for `person` at an institution of `tier`.
pub fn draw_lines(
    draw: &mut Draw,
    head: &VisitHead,
    person: &SynthPerson,
    tier: Tier,
    catalog: &Catalog,
) -> Vec<Line> {
    let mut builder = Builder {
        draw,
        catalog,
        tier,
        person,
        lines: Vec::with_capacity(16),
    };
    match head.kind {
        Kind::Inpatient => builder.inpatient(head),
        Kind::Outpatient => builder.outpatient(head.target_fen),
        Kind::Chronic => builder.chronic(head),
        Kind::Pharmacy => builder.drugs(head.target_fen, 1, 3),
    }
    builder.lines
}

struct Builder<'a, 'b> {
    draw: &'b mut Draw,
    catalog: &'a Catalog,
    tier: Tier,
    person: &'a SynthPerson,
    lines: Vec<Line>,
}

/// Largest budget-driven quantity of one line, in dispensing units.
const MAX_UNITS: i64 = 200;
/// Extra picks when looking for an item that fits a budget.
const BUDGET_TRIES: usize = 6;

impl Builder<'_, '_> {
    fn total_fen(&self) -> i64 {
        self.lines.iter().map(|l| l.amount_fen).sum()
    }

    fn inpatient(&mut self, head: &VisitHead) {
        let days = i64::from(head.stay_days);
        let bed = self.catalog.role(Role::Bed)[usize::from(self.draw.per_mille(30))];
        self.add_units(bed, days);
        let nursing =
            self.catalog.role(Role::Nursing)[self.draw.weighted([20, 60, 20].into_iter())];
        self.add_units(nursing, days);
        self.add_role_units(Role::InpatientConsultation, days);
        for _ in 0..self.draw.between(3, 6) {
            self.add_role_units(Role::Lab, 1 + days / 4);
        }
        let exams = if tier_level(self.tier) == 1 {
            (0, 1)
        } else {
            (1, 3)
        };
        for _ in 0..self.draw.between(exams.0, exams.1) {
            self.add_role_units(Role::Exam, 1);
        }
        self.add_units(self.catalog.role(Role::Treatment)[0], days);
        for _ in 0..self.draw.between(0, 2) {
            let hours_e4 = self.draw.between(2, 12) * COUNT_SCALE / 2;
            let item = self.pick(Role::Treatment);
            self.add(item, hours_e4, COUNT_SCALE / 2);
        }
        if head.surgical {
            self.add_role_units(Role::Surgery, 1);
            self.add_role_units(Role::Material, 1);
        }
        let rest = (head.target_fen - self.total_fen()).max(head.target_fen / 10);
        self.drugs(rest * 80 / 100, 3, 8);
        self.consumables(rest * 12 / 100);
        if self.draw.per_mille(100) {
            self.herbs();
        }
    }

    fn outpatient(&mut self, target_fen: i64) {
        let slot = match self.tier {
            Tier::Village | Tier::Pharmacy => 0,
            Tier::Township => 1,
            Tier::Second => 2,
            Tier::Third | Tier::Remote => 3,
        };
        if slot <= 1 {
            self.add_role_units(Role::GeneralService, 1);
        } else if self.draw.per_mille(20) {
            self.add_role_units(Role::InternetFollowUp, 1);
        } else {
            self.add_role_units(Role::Registration, 1);
            let senior = slot == 3 && self.draw.per_mille(500);
            self.add_units(
                self.catalog.role(Role::Consultation)[usize::from(senior)],
                1,
            );
        }
        if self.draw.per_mille([100, 300, 500, 600][slot]) {
            for _ in 0..self.draw.between(1, 2) {
                self.add_role_units(Role::Lab, 1);
            }
        }
        if self.draw.per_mille([0, 100, 300, 400][slot]) {
            self.add_role_units(Role::Exam, 1);
        }
        if self.draw.per_mille(200) {
            let count = self.draw.between(1, 3);
            self.add_role_units(Role::Treatment, count);
        }
        let rest = target_fen - self.total_fen();
        self.drugs(rest, 1, 3);
    }

    fn chronic(&mut self, head: &VisitHead) {
        if self.tier == Tier::Township {
            self.add_role_units(Role::GeneralService, 1);
        }
        let role = match head.diagnosis {
            crate::visits::Diagnosis::Diabetes(_) => Role::Antidiabetic,
            _ => Role::Antihypertensive,
        };
        let count = self.draw.between(1, 2);
        let rest = head.target_fen - self.total_fen();
        for _ in 0..count {
            self.add_within(role, rest / count);
        }
    }

    /// `min..=max` drug lines (western, or patent one time in three) sharing `budget_fen`.
    fn drugs(&mut self, budget_fen: i64, min: i64, max: i64) {
        let count = self.draw.between(min, max);
        for _ in 0..count {
            let role = if self.draw.per_mille(300) {
                Role::PatentDrug
            } else {
                Role::WesternDrug
            };
            self.add_within(role, budget_fen / count);
        }
    }

    fn consumables(&mut self, budget_fen: i64) {
        for _ in 0..self.draw.between(1, 2) {
            self.add_within(Role::Material, budget_fen / 2);
        }
    }

    /// A decoction: 3–6 herbs, 6–30 g each per dose, 7 doses.
    fn herbs(&mut self) {
        for _ in 0..self.draw.between(3, 6) {
            let item = self.pick(Role::Herbal);
            let grams = self.draw.between(6, 30) * 7;
            self.add(item, grams * COUNT_SCALE, COUNT_SCALE);
        }
    }

    fn add_role_units(&mut self, role: Role, units: i64) {
        let item = self.pick(role);
        self.add_units(item, units);
    }

    fn add_units(&mut self, item: usize, units: i64) {
        self.add(item, units * COUNT_SCALE, COUNT_SCALE);
    }

    /// An item of `role` whose unit price fits `budget_fen` (the cheapest of a few picks when
    /// none does), in as many whole units as fit the budget (at least one, at most
    /// [`MAX_UNITS`] dispensing units; per-tablet items count tablets).
    fn add_within(&mut self, role: Role, budget_fen: i64) {
        let budget_micro = budget_fen.max(0) * MICRO_PER_FEN;
        let mut item = self.pick(role);
        for _ in 0..BUDGET_TRIES {
            if self.price_micro(&self.catalog.items[item]) <= budget_micro {
                break;
            }
            let other = self.pick(role);
            if self.price_micro(&self.catalog.items[other])
                < self.price_micro(&self.catalog.items[item])
            {
                item = other;
            }
        }
        let price = self.price_micro(&self.catalog.items[item]);
        let max_units = MAX_UNITS * i64::from(self.catalog.items[item].typical_count.max(1));
        let units = (budget_micro / price).clamp(1, max_units);
        self.add_units(item, units);
    }

    /// Adds a line of about `wanted_e4`, rounded up to a quantity that prices to whole fen.
    fn add(&mut self, item: usize, wanted_e4: i64, unit_e4: i64) {
        let entry = &self.catalog.items[item];
        let pric_micro = self.price_micro(entry);
        let cnt_e4 = exact_count_e4(pric_micro, wanted_e4, unit_e4);
        let approval = if entry.limits.restricted && self.draw.per_mille(850) {
            "1"
        } else {
            "0"
        };
        let amount_fen = pric_micro * cnt_e4 / FEN_IN_PRICE_COUNT_UNITS;
        self.lines.push(Line {
            item: item as u32,
            cnt_e4,
            pric_micro,
            amount_fen,
            approval,
        });
    }

    /// An item of `role`, preferring one whose sex, age and level restrictions the visit meets
    /// (after four tries the last pick is kept, so some lines break a restriction).
    fn pick(&mut self, role: Role) -> usize {
        let choices = self.catalog.role(role);
        let mut item = *self.draw.pick(choices);
        for _ in 0..4 {
            if self.allowed(&self.catalog.items[item]) {
                break;
            }
            item = *self.draw.pick(choices);
        }
        item
    }

    fn allowed(&self, item: &Item) -> bool {
        let limits = item.limits;
        let sex_ok = limits.gend.is_none_or(|g| g == self.person.gend());
        let age_ok = limits
            .age_max_years
            .is_none_or(|max| self.person.age <= max);
        let level_ok = limits
            .min_level
            .is_none_or(|min| min <= tier_level(self.tier));
        sex_ok && age_ok && level_ok
    }

    /// Unit price at this institution: services 90 % at primary level, 110 % at 三级, 120 %
    /// out of region; consumables 105 % at 三级 and out of region (some then exceed their cap);
    /// drugs at the same price everywhere (zero mark-up).
    fn price_micro(&self, item: &Item) -> i64 {
        let percent = match (item.list_type, self.tier) {
            ("201", Tier::Village | Tier::Township) => 90,
            ("201", Tier::Third) => 110,
            ("201", Tier::Remote) => 120,
            ("301", Tier::Third | Tier::Remote) => 105,
            _ => return item.price_micro,
        };
        (item.price_micro * percent / 100 / MICRO_PER_FEN).max(1) * MICRO_PER_FEN
    }
}

/// Deductible level of a tier (1 一级及以下, 2 二级, 3 三级).
fn tier_level(tier: Tier) -> u8 {
    match tier {
        Tier::Village | Tier::Township | Tier::Pharmacy => 1,
        Tier::Second => 2,
        Tier::Third | Tier::Remote => 3,
    }
}

/// The smallest quantity ≥ `wanted_e4` (and ≥ one `unit_e4`) that is a multiple of `unit_e4`
/// and for which `price_micro × quantity` is a whole number of fen.
pub fn exact_count_e4(price_micro: i64, wanted_e4: i64, unit_e4: i64) -> i64 {
    let step_units =
        FEN_IN_PRICE_COUNT_UNITS / gcd(price_micro * unit_e4, FEN_IN_PRICE_COUNT_UNITS);
    let units = (wanted_e4 + unit_e4 - 1) / unit_e4;
    let steps = ((units + step_units - 1) / step_units).max(1);
    steps * step_units * unit_e4
}

fn gcd(mut a: i64, mut b: i64) -> i64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a.abs().max(1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exact_counts_price_to_whole_fen() {
        // 0.1250 yuan a tablet: 4 tablets are 50 fen; 3 would be 37.5.
        assert_eq!(
            exact_count_e4(125_000, 3 * COUNT_SCALE, COUNT_SCALE),
            4 * COUNT_SCALE
        );
        // Whole-fen prices take any whole count.
        assert_eq!(
            exact_count_e4(350_000, 7 * COUNT_SCALE, COUNT_SCALE),
            7 * COUNT_SCALE
        );
        // Half units of an odd-fen price need whole units.
        assert_eq!(exact_count_e4(30_000, 5_000, 5_000), 10_000);
        // Half units of an even-fen price are fine.
        assert_eq!(exact_count_e4(3_000_000, 25_000, 5_000), 25_000);
        for price in [1, 2_500, 99_999, 123_456, 10_000] {
            for wanted in [1, 5_000, 10_000, 35_000] {
                let cnt = exact_count_e4(price, wanted, 5_000);
                assert_eq!(
                    price * cnt % FEN_IN_PRICE_COUNT_UNITS,
                    0,
                    "price {price} cnt {cnt}"
                );
                assert!(cnt >= wanted);
            }
        }
    }
}
