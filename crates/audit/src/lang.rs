//! The rule language: a condition such as
//! `person.gend != row.gend and not visit.dx_any(row.dx_prefixes)` is parsed once into a typed
//! AST ([`Expr`]); fields and functions are a fixed vocabulary over the person, the visit, the line,
//! the line's knowledge row, peer statistics and the person's history. Numbers are decimals held
//! ×10,000 (no floating point).

use crate::AuditError;

/// Scale of numbers: four decimals.
pub const NUM_SCALE: i64 = 10_000;

/// A value's type.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    Bool,
    Num,
    Str,
    List,
}

impl std::fmt::Display for Ty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Ty::Bool => "布尔值",
            Ty::Num => "数字",
            Ty::Str => "字符串",
            Ty::List => "字符串列表",
        })
    }
}

/// An owned value (literals, knowledge columns).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Value {
    Bool(bool),
    /// ×10,000.
    Num(i64),
    Str(String),
    List(Vec<String>),
}

impl Value {
    /// The value's type.
    pub fn ty(&self) -> Ty {
        match self {
            Value::Bool(_) => Ty::Bool,
            Value::Num(_) => Ty::Num,
            Value::Str(_) => Ty::Str,
            Value::List(_) => Ty::List,
        }
    }

    /// The value borrowed for evaluation.
    pub fn as_val(&self) -> Val<'_> {
        match self {
            Value::Bool(b) => Val::Bool(*b),
            Value::Num(n) => Val::Num(*n),
            Value::Str(s) => Val::Str(s),
            Value::List(l) => Val::List(l),
        }
    }
}

/// A borrowed value during evaluation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Val<'a> {
    Bool(bool),
    Num(i64),
    Str(&'a str),
    List(&'a [String]),
}

impl Val<'_> {
    fn bool(self) -> bool {
        matches!(self, Val::Bool(true))
    }

    fn num(self) -> i64 {
        match self {
            Val::Num(n) => n,
            _ => 0,
        }
    }
}

/// Parses a decimal (`12`, `-0.5`, `3.1416`) into ×10,000.
pub fn parse_num(text: &str) -> Result<i64, String> {
    let (negative, digits) = match text.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, text),
    };
    let (whole, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let bad = || format!("`{text}` 不是数字（最多四位小数）");
    if whole.is_empty()
        || frac.len() > 4
        || !(whole.chars().chain(frac.chars())).all(|c| c.is_ascii_digit())
    {
        return Err(bad());
    }
    let whole: i64 = whole.parse().map_err(|_| bad())?;
    let frac: i64 = format!("{frac:0<4}").parse().map_err(|_| bad())?;
    let n = whole
        .checked_mul(NUM_SCALE)
        .and_then(|w| w.checked_add(frac))
        .ok_or_else(bad)?;
    Ok(if negative { -n } else { n })
}

/// A field of the evaluation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Field {
    PersonGend,
    PersonAgeYears,
    PersonHasDeathDate,
    VisitMedType,
    VisitDate,
    VisitLevel,
    VisitInsutype,
    VisitIsInpatient,
    VisitLosDays,
    VisitTotalYuan,
    VisitFundYuan,
    VisitDaysAfterDeath,
    VisitHasDiagnosis,
    VisitBedDays,
    LineCode,
    LineChrgitmType,
    LineQty,
    LinePriceYuan,
    LineAmountYuan,
    LineTypeRank,
    LineSupplyDays,
    LineLmtGend,
    LineLmtAgeMin,
    LineLmtAgeMax,
    LineLmtLevel,
    PeerP95TotalYuan,
    PeerP90LosDays,
    PeerCount,
    HistReadmitGapDays,
    HistReadmitSameDx,
    HistOverlappingStayElsewhere,
    HistVisitsElsewhereDuringStay,
    HistInpatientElsewhere,
    HistDaysToAdmissionSameInst,
}

const FIELDS: &[(&str, Field, Ty)] = &[
    ("person.gend", Field::PersonGend, Ty::Str),
    ("person.age_years", Field::PersonAgeYears, Ty::Num),
    ("person.has_death_date", Field::PersonHasDeathDate, Ty::Bool),
    ("visit.med_type", Field::VisitMedType, Ty::Str),
    ("visit.date", Field::VisitDate, Ty::Str),
    ("visit.level", Field::VisitLevel, Ty::Num),
    ("visit.insutype", Field::VisitInsutype, Ty::Str),
    ("visit.is_inpatient", Field::VisitIsInpatient, Ty::Bool),
    ("visit.los_days", Field::VisitLosDays, Ty::Num),
    ("visit.total_yuan", Field::VisitTotalYuan, Ty::Num),
    ("visit.fund_yuan", Field::VisitFundYuan, Ty::Num),
    (
        "visit.days_after_death",
        Field::VisitDaysAfterDeath,
        Ty::Num,
    ),
    ("visit.has_diagnosis", Field::VisitHasDiagnosis, Ty::Bool),
    ("visit.bed_days", Field::VisitBedDays, Ty::Num),
    ("line.code", Field::LineCode, Ty::Str),
    ("line.chrgitm_type", Field::LineChrgitmType, Ty::Str),
    ("line.qty", Field::LineQty, Ty::Num),
    ("line.price_yuan", Field::LinePriceYuan, Ty::Num),
    ("line.amount_yuan", Field::LineAmountYuan, Ty::Num),
    ("line.type_rank", Field::LineTypeRank, Ty::Num),
    ("line.supply_days", Field::LineSupplyDays, Ty::Num),
    ("line.lmt_gend", Field::LineLmtGend, Ty::Str),
    ("line.lmt_age_min", Field::LineLmtAgeMin, Ty::Num),
    ("line.lmt_age_max", Field::LineLmtAgeMax, Ty::Num),
    ("line.lmt_level", Field::LineLmtLevel, Ty::Num),
    ("peer.p95_total_yuan", Field::PeerP95TotalYuan, Ty::Num),
    ("peer.p90_los_days", Field::PeerP90LosDays, Ty::Num),
    ("peer.count", Field::PeerCount, Ty::Num),
    ("hist.readmit_gap_days", Field::HistReadmitGapDays, Ty::Num),
    ("hist.readmit_same_dx", Field::HistReadmitSameDx, Ty::Bool),
    (
        "hist.overlapping_stay_elsewhere",
        Field::HistOverlappingStayElsewhere,
        Ty::Bool,
    ),
    (
        "hist.visits_elsewhere_during_stay",
        Field::HistVisitsElsewhereDuringStay,
        Ty::Num,
    ),
    (
        "hist.inpatient_elsewhere",
        Field::HistInpatientElsewhere,
        Ty::Bool,
    ),
    (
        "hist.days_to_admission_same_inst",
        Field::HistDaysToAdmissionSameInst,
        Ty::Num,
    ),
];

/// A function of the evaluation context.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Func {
    /// `visit.dx_any(list)`: some diagnosis starts with one of the prefixes.
    VisitDxAny,
    /// `visit.type_count(str)`: lines of the visit with this charge category.
    VisitTypeCount,
    /// `visit.has_any(list)`: a line of the visit whose code starts with one of the prefixes.
    VisitHasAny,
    /// `hist.same_day_qty()`: the row's items billed to the person on the line's day (units).
    HistSameDayQty,
    /// `hist.count_within(days)`: visits billing the row's items in the `days` days ending at this visit.
    HistCountWithin,
    /// `hist.days_within(days)`: distinct days the row's items were billed in the window.
    HistDaysWithin,
    /// `hist.prior_any(list, days)`: earlier lines of the listed prefixes in the `days` before.
    HistPriorAny,
    /// `hist.any_within_hours(list, hours)`: other lines of the listed prefixes within ±hours.
    HistAnyWithinHours,
    /// `hist.remaining_supply_days()`: days' supply of the row's items still running from earlier
    /// purchases (needs the row's `units_per_day`).
    HistRemainingSupplyDays,
}

const FUNCS: &[(&str, Func, &[Ty], Ty)] = &[
    ("visit.dx_any", Func::VisitDxAny, &[Ty::List], Ty::Bool),
    (
        "visit.type_count",
        Func::VisitTypeCount,
        &[Ty::Str],
        Ty::Num,
    ),
    ("visit.has_any", Func::VisitHasAny, &[Ty::List], Ty::Bool),
    ("hist.same_day_qty", Func::HistSameDayQty, &[], Ty::Num),
    (
        "hist.count_within",
        Func::HistCountWithin,
        &[Ty::Num],
        Ty::Num,
    ),
    (
        "hist.days_within",
        Func::HistDaysWithin,
        &[Ty::Num],
        Ty::Num,
    ),
    (
        "hist.prior_any",
        Func::HistPriorAny,
        &[Ty::List, Ty::Num],
        Ty::Num,
    ),
    (
        "hist.any_within_hours",
        Func::HistAnyWithinHours,
        &[Ty::List, Ty::Num],
        Ty::Bool,
    ),
    (
        "hist.remaining_supply_days",
        Func::HistRemainingSupplyDays,
        &[],
        Ty::Num,
    ),
];

/// Whether a field reads the person's history (`hist.*`).
pub fn is_history_field(field: Field) -> bool {
    matches!(
        field,
        Field::HistReadmitGapDays
            | Field::HistReadmitSameDx
            | Field::HistOverlappingStayElsewhere
            | Field::HistVisitsElsewhereDuringStay
            | Field::HistInpatientElsewhere
            | Field::HistDaysToAdmissionSameInst
    )
}

fn is_history_func(func: Func) -> bool {
    matches!(
        func,
        Func::HistSameDayQty
            | Func::HistCountWithin
            | Func::HistDaysWithin
            | Func::HistPriorAny
            | Func::HistAnyWithinHours
            | Func::HistRemainingSupplyDays
    )
}

/// Fields and functions that need a line (rules of scope `line`).
pub fn needs_line(field: Field) -> bool {
    matches!(
        field,
        Field::LineCode
            | Field::LineChrgitmType
            | Field::LineQty
            | Field::LinePriceYuan
            | Field::LineAmountYuan
            | Field::LineTypeRank
            | Field::LineSupplyDays
            | Field::LineLmtGend
            | Field::LineLmtAgeMin
            | Field::LineLmtAgeMax
            | Field::LineLmtLevel
    )
}

/// A comparison.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Lt,
    Le,
    Gt,
    Ge,
}

/// Arithmetic on numbers.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ArithOp {
    Add,
    Sub,
    Mul,
}

/// A parsed, type-checked condition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Expr {
    Lit(Value),
    Field(Field),
    /// A column of the line's knowledge row.
    Row(String),
    Call(Func, Vec<Expr>),
    Not(Box<Expr>),
    And(Vec<Expr>),
    Or(Vec<Expr>),
    Cmp(CmpOp, Box<Expr>, Box<Expr>),
    In(Box<Expr>, Box<Expr>),
    Arith(ArithOp, Box<Expr>, Box<Expr>),
}

/// A number value as a whole number, not below 0 (anything else: 0).
fn whole_number(val: Val<'_>) -> i64 {
    match val {
        Val::Num(n) => (n / NUM_SCALE).max(0),
        _ => 0,
    }
}

/// What evaluation reads.
pub trait Env {
    fn field(&self, field: Field) -> Val<'_>;
    fn row(&self, column: &str) -> Val<'_>;
    fn call(&self, func: Func, args: &[Val<'_>]) -> Val<'_>;
}

impl Expr {
    /// Evaluates to a boolean (false for non-boolean results).
    pub fn test(&self, env: &dyn Env) -> bool {
        self.eval(env).bool()
    }

    fn eval<'a>(&'a self, env: &'a dyn Env) -> Val<'a> {
        match self {
            Expr::Lit(v) => v.as_val(),
            Expr::Field(f) => env.field(*f),
            Expr::Row(column) => env.row(column),
            Expr::Call(func, args) => {
                let args: Vec<Val<'a>> = args.iter().map(|a| a.eval(env)).collect();
                env.call(*func, &args)
            }
            Expr::Not(e) => Val::Bool(!e.eval(env).bool()),
            Expr::And(es) => Val::Bool(es.iter().all(|e| e.eval(env).bool())),
            Expr::Or(es) => Val::Bool(es.iter().any(|e| e.eval(env).bool())),
            Expr::Cmp(op, a, b) => Val::Bool(compare(*op, a.eval(env), b.eval(env))),
            Expr::In(a, b) => Val::Bool(match (a.eval(env), b.eval(env)) {
                (Val::Str(s), Val::List(l)) => l.iter().any(|x| x == s),
                _ => false,
            }),
            Expr::Arith(op, a, b) => {
                let (x, y) = (a.eval(env).num(), b.eval(env).num());
                Val::Num(match op {
                    ArithOp::Add => x.saturating_add(y),
                    ArithOp::Sub => x.saturating_sub(y),
                    ArithOp::Mul => ((i128::from(x) * i128::from(y)) / i128::from(NUM_SCALE))
                        .clamp(i128::from(i64::MIN), i128::from(i64::MAX))
                        as i64,
                })
            }
        }
    }

    /// Days before the visit that the expression's history reads look at, their arguments read
    /// through `env` (a knowledge row's columns): `hist.count_within(d)`, `hist.days_within(d)`,
    /// `hist.prior_any(l, d)` look `d` days back, `hist.any_within_hours(l, h)` `h` hours,
    /// `hist.same_day_qty()` the day, `hist.remaining_supply_days()` its purchases'
    /// [`crate::history::SUPPLY_LOOK_BACK_DAYS`], and `hist.readmit_gap_days` compared with `n` the
    /// stays that ended `n` days before; 0 when it reads no history. The other `hist.*` fields read
    /// stays that overlap the visit.
    pub fn look_back_days(&self, env: &dyn Env) -> i64 {
        let days = |arg: Option<&Expr>| arg.map_or(0, |e| whole_number(e.eval(env)));
        match self {
            Expr::Lit(_) | Expr::Row(_) | Expr::Field(_) => 0,
            Expr::Call(func, args) => {
                let own = match func {
                    Func::HistSameDayQty => 1,
                    Func::HistCountWithin | Func::HistDaysWithin => days(args.first()),
                    Func::HistPriorAny => days(args.get(1)),
                    Func::HistAnyWithinHours => (days(args.get(1)) + 23) / 24,
                    Func::HistRemainingSupplyDays => crate::history::SUPPLY_LOOK_BACK_DAYS,
                    Func::VisitDxAny | Func::VisitTypeCount | Func::VisitHasAny => 0,
                };
                args.iter()
                    .map(|a| a.look_back_days(env))
                    .fold(own, i64::max)
            }
            Expr::Cmp(_, a, b) => {
                let gap = |field: &Expr, bound: &Expr| match field {
                    Expr::Field(Field::HistReadmitGapDays) => days(Some(bound)),
                    _ => 0,
                };
                [
                    a.look_back_days(env),
                    b.look_back_days(env),
                    gap(a, b),
                    gap(b, a),
                ]
                .into_iter()
                .max()
                .unwrap_or(0)
            }
            Expr::Not(e) => e.look_back_days(env),
            Expr::And(es) | Expr::Or(es) => {
                es.iter().map(|e| e.look_back_days(env)).max().unwrap_or(0)
            }
            Expr::In(a, b) | Expr::Arith(_, a, b) => {
                a.look_back_days(env).max(b.look_back_days(env))
            }
        }
    }

    /// Whether the expression reads the person's history (a `hist.*` field or function).
    pub fn reads_history(&self) -> bool {
        match self {
            Expr::Field(f) => is_history_field(*f),
            Expr::Row(_) | Expr::Lit(_) => false,
            Expr::Call(func, args) => {
                is_history_func(*func) || args.iter().any(Expr::reads_history)
            }
            Expr::Not(e) => e.reads_history(),
            Expr::And(es) | Expr::Or(es) => es.iter().any(Expr::reads_history),
            Expr::Cmp(_, a, b) | Expr::In(a, b) | Expr::Arith(_, a, b) => {
                a.reads_history() || b.reads_history()
            }
        }
    }

    /// Whether the expression reads a line field.
    pub fn reads_line(&self) -> bool {
        match self {
            Expr::Field(f) => needs_line(*f),
            Expr::Row(_) => true,
            Expr::Call(func, args) => {
                matches!(
                    func,
                    Func::HistSameDayQty
                        | Func::HistCountWithin
                        | Func::HistDaysWithin
                        | Func::HistAnyWithinHours
                        | Func::HistRemainingSupplyDays
                ) || args.iter().any(Expr::reads_line)
            }
            Expr::Lit(_) => false,
            Expr::Not(e) => e.reads_line(),
            Expr::And(es) | Expr::Or(es) => es.iter().any(Expr::reads_line),
            Expr::Cmp(_, a, b) | Expr::In(a, b) | Expr::Arith(_, a, b) => {
                a.reads_line() || b.reads_line()
            }
        }
    }
}

fn compare(op: CmpOp, a: Val<'_>, b: Val<'_>) -> bool {
    let ord = match (a, b) {
        (Val::Num(x), Val::Num(y)) => x.cmp(&y),
        (Val::Str(x), Val::Str(y)) => x.cmp(y),
        (Val::Bool(x), Val::Bool(y)) => x.cmp(&y),
        _ => return false,
    };
    match op {
        CmpOp::Eq => ord.is_eq(),
        CmpOp::Ne => ord.is_ne(),
        CmpOp::Lt => ord.is_lt(),
        CmpOp::Le => ord.is_le(),
        CmpOp::Gt => ord.is_gt(),
        CmpOp::Ge => ord.is_ge(),
    }
}

#[derive(Debug, Clone, PartialEq)]
enum Tok {
    Ident(String),
    Num(i64),
    Str(String),
    Punct(&'static str),
}

impl std::fmt::Display for Tok {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Tok::Ident(w) => f.write_str(w),
            Tok::Num(n) => write!(f, "{}.{:04}", n / NUM_SCALE, n % NUM_SCALE),
            Tok::Str(s) => write!(f, "'{s}'"),
            Tok::Punct(p) => f.write_str(p),
        }
    }
}

fn tokenize(text: &str) -> Result<Vec<Tok>, String> {
    const PUNCT: [&str; 14] = [
        "==", "!=", "<=", ">=", "<", ">", "(", ")", "[", "]", ",", "+", "-", "*",
    ];
    let chars: Vec<char> = text.chars().collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        if c.is_whitespace() {
            i += 1;
        } else if c.is_ascii_alphabetic() || c == '_' {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_alphanumeric() || "_.".contains(chars[i])) {
                i += 1;
            }
            out.push(Tok::Ident(chars[start..i].iter().collect()));
        } else if c.is_ascii_digit() {
            let start = i;
            while i < chars.len() && (chars[i].is_ascii_digit() || chars[i] == '.') {
                i += 1;
            }
            let text: String = chars[start..i].iter().collect();
            out.push(Tok::Num(parse_num(&text)?));
        } else if c == '\'' || c == '"' {
            let end = chars[i + 1..]
                .iter()
                .position(|&x| x == c)
                .ok_or("字符串缺少结束引号")?;
            out.push(Tok::Str(chars[i + 1..i + 1 + end].iter().collect()));
            i += end + 2;
        } else {
            let rest: String = chars[i..chars.len().min(i + 2)].iter().collect();
            let p = PUNCT
                .iter()
                .find(|p| rest.starts_with(*p))
                .ok_or_else(|| format!("无法识别的字符 `{c}`"))?;
            out.push(Tok::Punct(p));
            i += p.len();
        }
    }
    Ok(out)
}

/// Where `row.<column>` types come from while checking a condition.
pub trait RowSchema {
    fn column_type(&self, column: &str) -> Option<Ty>;
}

struct Parser<'s> {
    toks: Vec<Tok>,
    pos: usize,
    schema: Option<&'s dyn RowSchema>,
}

/// Parses and type-checks a condition; it must be boolean. `schema` types `row.<column>`
/// (`None`: the rule has no knowledge table and may not read `row`).
pub fn parse_condition(
    text: &str,
    schema: Option<&dyn RowSchema>,
    path: &str,
    file: &str,
) -> Result<Expr, AuditError> {
    let err = |problem: String| AuditError::Data {
        file: file.into(),
        path: path.into(),
        problem,
    };
    let toks = tokenize(text).map_err(err)?;
    let mut parser = Parser {
        toks,
        pos: 0,
        schema,
    };
    let (expr, ty) = parser.or().map_err(err)?;
    if parser.pos != parser.toks.len() {
        return Err(err(format!("多余的内容：`{}`", parser.toks[parser.pos])));
    }
    if ty != Ty::Bool {
        return Err(err(format!("条件应为布尔值，实为 {ty}")));
    }
    Ok(expr)
}

type Typed = (Expr, Ty);

impl Parser<'_> {
    fn peek(&self) -> Option<&Tok> {
        self.toks.get(self.pos)
    }

    fn eat_ident(&mut self, word: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Ident(w)) if w == word) {
            self.pos += 1;
            return true;
        }
        false
    }

    fn eat_punct(&mut self, p: &str) -> bool {
        if matches!(self.peek(), Some(Tok::Punct(x)) if *x == p) {
            self.pos += 1;
            return true;
        }
        false
    }

    fn expect_punct(&mut self, p: &str) -> Result<(), String> {
        if self.eat_punct(p) {
            Ok(())
        } else {
            Err(format!("此处应为 `{p}`"))
        }
    }

    fn or(&mut self) -> Result<Typed, String> {
        self.chain("or", Parser::and, Expr::Or)
    }

    fn and(&mut self) -> Result<Typed, String> {
        self.chain("and", Parser::unary, Expr::And)
    }

    fn chain(
        &mut self,
        word: &str,
        next: fn(&mut Self) -> Result<Typed, String>,
        build: fn(Vec<Expr>) -> Expr,
    ) -> Result<Typed, String> {
        let first = next(self)?;
        if !matches!(self.peek(), Some(Tok::Ident(w)) if w == word) {
            return Ok(first);
        }
        let mut items = vec![want(first, Ty::Bool, word)?];
        while self.eat_ident(word) {
            items.push(want(next(self)?, Ty::Bool, word)?);
        }
        Ok((build(items), Ty::Bool))
    }

    fn unary(&mut self) -> Result<Typed, String> {
        if self.eat_ident("not") {
            let inner = want(self.unary()?, Ty::Bool, "not")?;
            return Ok((Expr::Not(Box::new(inner)), Ty::Bool));
        }
        self.comparison()
    }

    fn comparison(&mut self) -> Result<Typed, String> {
        let left = self.sum()?;
        if self.eat_ident("in") {
            let l = want(left, Ty::Str, "in")?;
            let r = want(self.sum()?, Ty::List, "in")?;
            return Ok((Expr::In(Box::new(l), Box::new(r)), Ty::Bool));
        }
        let op = match self.peek() {
            Some(Tok::Punct("==")) => CmpOp::Eq,
            Some(Tok::Punct("!=")) => CmpOp::Ne,
            Some(Tok::Punct("<")) => CmpOp::Lt,
            Some(Tok::Punct("<=")) => CmpOp::Le,
            Some(Tok::Punct(">")) => CmpOp::Gt,
            Some(Tok::Punct(">=")) => CmpOp::Ge,
            _ => return Ok(left),
        };
        self.pos += 1;
        let right = self.sum()?;
        if left.1 != right.1 || left.1 == Ty::List {
            return Err(format!("不能比较 {} 与 {}", left.1, right.1));
        }
        if left.1 == Ty::Bool && !matches!(op, CmpOp::Eq | CmpOp::Ne) {
            return Err("布尔值只能用 == 或 != 比较".into());
        }
        Ok((Expr::Cmp(op, Box::new(left.0), Box::new(right.0)), Ty::Bool))
    }

    fn sum(&mut self) -> Result<Typed, String> {
        let mut left = self.product()?;
        loop {
            let op = if self.eat_punct("+") {
                ArithOp::Add
            } else if self.eat_punct("-") {
                ArithOp::Sub
            } else {
                return Ok(left);
            };
            let l = want(left, Ty::Num, "+/-")?;
            let r = want(self.product()?, Ty::Num, "+/-")?;
            left = (Expr::Arith(op, Box::new(l), Box::new(r)), Ty::Num);
        }
    }

    fn product(&mut self) -> Result<Typed, String> {
        let mut left = self.atom()?;
        while self.eat_punct("*") {
            let l = want(left, Ty::Num, "*")?;
            let r = want(self.atom()?, Ty::Num, "*")?;
            left = (Expr::Arith(ArithOp::Mul, Box::new(l), Box::new(r)), Ty::Num);
        }
        Ok(left)
    }

    fn atom(&mut self) -> Result<Typed, String> {
        let tok = self.peek().cloned().ok_or("条件意外结束")?;
        self.pos += 1;
        match tok {
            Tok::Num(n) => Ok((Expr::Lit(Value::Num(n)), Ty::Num)),
            Tok::Str(s) => Ok((Expr::Lit(Value::Str(s)), Ty::Str)),
            Tok::Punct("-") => match self.atom()? {
                (Expr::Lit(Value::Num(n)), Ty::Num) => Ok((Expr::Lit(Value::Num(-n)), Ty::Num)),
                _ => Err("`-` 只能用于数字".into()),
            },
            Tok::Punct("(") => {
                let inner = self.or()?;
                self.expect_punct(")")?;
                Ok(inner)
            }
            Tok::Punct("[") => self.list(),
            Tok::Ident(word) => self.word(&word),
            Tok::Punct(p) => Err(format!("此处不应出现 `{p}`")),
        }
    }

    fn list(&mut self) -> Result<Typed, String> {
        let mut items = Vec::new();
        while !self.eat_punct("]") {
            match self.peek().cloned() {
                Some(Tok::Str(s)) => items.push(s),
                _ => return Err("列表只能含字符串".into()),
            }
            self.pos += 1;
            if !self.eat_punct(",") {
                self.expect_punct("]")?;
                break;
            }
        }
        Ok((Expr::Lit(Value::List(items)), Ty::List))
    }

    fn word(&mut self, word: &str) -> Result<Typed, String> {
        match word {
            "true" => return Ok((Expr::Lit(Value::Bool(true)), Ty::Bool)),
            "false" => return Ok((Expr::Lit(Value::Bool(false)), Ty::Bool)),
            _ => {}
        }
        if let Some(column) = word.strip_prefix("row.") {
            let schema = self
                .schema
                .ok_or("规则未指定知识表（table），不能读取 row.*")?;
            let ty = schema
                .column_type(column)
                .ok_or_else(|| format!("知识表没有每行都有的列 `{column}`"))?;
            return Ok((Expr::Row(column.to_string()), ty));
        }
        if self.eat_punct("(") {
            return self.call(word);
        }
        FIELDS
            .iter()
            .find(|(name, _, _)| *name == word)
            .map(|(_, f, ty)| (Expr::Field(*f), *ty))
            .ok_or_else(|| format!("未知字段 `{word}`"))
    }

    fn call(&mut self, name: &str) -> Result<Typed, String> {
        let &(_, func, params, ret) = FUNCS
            .iter()
            .find(|(n, _, _, _)| *n == name)
            .ok_or_else(|| format!("未知函数 `{name}`"))?;
        let mut args = Vec::new();
        for (i, ty) in params.iter().enumerate() {
            if i > 0 {
                self.expect_punct(",")?;
            }
            args.push(want(self.or()?, *ty, name)?);
        }
        self.expect_punct(")")?;
        Ok((Expr::Call(func, args), ret))
    }
}

fn want(typed: Typed, ty: Ty, at: &str) -> Result<Expr, String> {
    if typed.1 == ty {
        Ok(typed.0)
    } else {
        Err(format!("`{at}` 需要{ty}，实为{}", typed.1))
    }
}
