//! Cross-region care of the region (异地就医, issue 11 §1, §2, §4, §7): hospitals of the province's
//! other pooling regions on the home platform, hospitals of other provinces on platforms of their
//! own, and the year's clearing.
//!
//! * [`register_province`]: the benefit policies of the province's other pooling regions (南昌,
//!   `policies/nanchang.toml`) and the region's catalogue under each of their codes, so that their
//!   hospitals' lines are split with the treating place's catalogue and settled with the insured
//!   place's policy, on the same platform;
//! * [`start_platforms`]: the generated hospitals whose `admdvs` lies outside the home policy's
//!   `province_prefixes` are registered on a platform of their own region, started here on
//!   loopback with its own SQLite database under `peers/<region>`; each such platform and the home
//!   platform list each other as peers (`docs/peers.md`) and listen on loopback;
//! * [`clear_months`]: the months of the replay cleared on the home platform (`yibao clearing run`),
//!   and the cross-region lines — per direction and partner region, the settlements, total cost
//!   and fund payments of the stored clearing rows — with each peer platform's own view of the
//!   same care, read from its ledger.

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};

use serde::Serialize;
use yibao_clearing::{ClearingPolicy, Month};
use yibao_domain::Fen;
use yibao_ledger::clearing::StoredClearing;
use yibao_ledger::clearing_run::{self, ClearingRunError};
use yibao_ledger::{registry, Institution, LedgerError, Store};
use yibao_policy::Policy;
use yibao_server::app::Running;
use yibao_server::config::{Config, PeerConfig};
use yibao_server::import;

use crate::replay::Destinations;
use crate::RegionError;

/// What the region's cross-region care needs besides the home policies.
#[derive(Debug, Clone)]
pub struct CrossRegionConfig {
    /// Benefit policies (TOML) of the province's other pooling regions the home platform hosts.
    pub province_policies: Vec<String>,
    /// The clearing policy (TOML, `policies/clearing/`).
    pub clearing_policy: String,
}

/// The 南昌 benefit policy (`policies/nanchang.toml`).
pub const NANCHANG_POLICY: &str = include_str!("../../../policies/nanchang.toml");
/// The Jiangxi clearing policy (`policies/clearing/jiangxi.toml`).
pub const JIANGXI_CLEARING: &str = include_str!("../../../policies/clearing/jiangxi.toml");

impl CrossRegionConfig {
    /// 南昌 on the home platform, cleared under the Jiangxi clearing policy.
    pub fn jiangxi() -> CrossRegionConfig {
        CrossRegionConfig {
            province_policies: vec![NANCHANG_POLICY.to_string()],
            clearing_policy: JIANGXI_CLEARING.to_string(),
        }
    }
}

fn input(what: impl Into<String>, problem: impl ToString) -> RegionError {
    RegionError::Input {
        what: what.into(),
        problem: problem.to_string(),
    }
}

fn parse_policy(what: &str, text: &str) -> Result<Policy, RegionError> {
    Policy::parse(text).map_err(|e| input(what, e))
}

/// The pooling region of a benefit policy text.
pub fn policy_region(policy: &str) -> Result<String, RegionError> {
    Ok(parse_policy("benefit policy", policy)?
        .policy
        .admdvs
        .to_string())
}

/// Imports each policy of `policies` and the region's catalogue (`dir/catalog.csv`) under its code.
pub async fn register_province(
    store: &Store,
    dir: &Path,
    policies: &[String],
    loaded_at: &str,
) -> Result<(), RegionError> {
    let catalog = read_catalog(dir)?;
    for policy in policies {
        let admdvs = import::import_policy(store, policy, loaded_at).await?;
        import::import_catalog(store, &admdvs, &catalog, loaded_at).await?;
    }
    Ok(())
}

fn read_catalog(dir: &Path) -> Result<String, RegionError> {
    let path = dir.join("catalog.csv");
    std::fs::read_to_string(&path).map_err(|e| input(path.display().to_string(), e))
}

/// The pooling region (`admdvs` with its last two digits 00) of an institution's `admdvs`.
fn pooling_region_of(admdvs: &str) -> String {
    format!("{}00", admdvs.get(..4).unwrap_or(admdvs))
}

/// The generated institutions outside the home policy's province, by pooling region.
pub fn other_province_institutions(
    dir: &Path,
    home_policy: &str,
) -> Result<BTreeMap<String, Vec<Institution>>, RegionError> {
    let policy = parse_policy("benefit policy", home_policy)?;
    let province = &policy.remote.province_prefixes;
    let path = dir.join("institutions.csv");
    let file = File::open(&path).map_err(|e| input(path.display().to_string(), e))?;
    let mut by_region: BTreeMap<String, Vec<Institution>> = BTreeMap::new();
    for institution in import::read_institutions_csv(file)? {
        if !province
            .iter()
            .any(|p| institution.admdvs.as_str().starts_with(p))
        {
            by_region
                .entry(pooling_region_of(institution.admdvs.as_str()))
                .or_default()
                .push(institution);
        }
    }
    Ok(by_region)
}

/// The benefit policy a peer platform of the region splits its hospitals' lines under: the home
/// policy with `region` as its pooling region and province. The sources give no other province's
/// figures; a peer platform of the demo insures nobody, and the persons treated there are settled
/// by the home platform under the home policy, so none of these figures pays anything — they
/// decide only how the treating side splits (levels, catalogue use).
pub fn peer_split_policy(home_policy: &str, region: &str) -> Result<String, RegionError> {
    let problem = |p: &str| input(format!("split policy of peer {region}"), p);
    let mut doc: toml::Table = toml::from_str(home_policy).map_err(|e| problem(&e.to_string()))?;
    let prefix = |digits: usize| region.get(..digits).unwrap_or(region).to_string();
    let header = doc
        .get_mut("policy")
        .and_then(toml::Value::as_table_mut)
        .ok_or_else(|| problem("the home policy has no [policy] table"))?;
    header.insert("admdvs".into(), region.into());
    header.insert(
        "name".into(),
        format!("{region} 异地平台（演示：本平台规则用于拆分）").into(),
    );
    header.insert(
        "in_region_prefixes".into(),
        toml::Value::Array(vec![prefix(4).into()]),
    );
    let remote = doc
        .get_mut("remote")
        .and_then(toml::Value::as_table_mut)
        .ok_or_else(|| problem("the home policy has no [remote] table"))?;
    remote.insert(
        "province_prefixes".into(),
        toml::Value::Array(vec![prefix(2).into()]),
    );
    let text = toml::to_string(&doc).map_err(|e| problem(&e.to_string()))?;
    parse_policy(&format!("split policy of peer {region}"), &text)?;
    Ok(text)
}

/// A peer platform of the region: its pooling region, database and hospitals.
#[derive(Debug, Clone)]
pub struct PeerSite {
    pub region: String,
    /// Its SQLite data directory.
    pub data_dir: PathBuf,
    pub institutions: Vec<String>,
}

/// The home platform and the peer platforms, listening on loopback.
pub struct Platforms {
    home: Running,
    home_region: String,
    peers: Vec<(PeerSite, Running)>,
}

impl Platforms {
    /// `http://` address of the home platform.
    pub fn home_url(&self) -> String {
        format!("http://{}", self.home.addr)
    }

    /// `http://` address of each peer platform, with its region.
    pub fn peer_urls(&self) -> Vec<(String, String)> {
        self.peers
            .iter()
            .map(|(site, running)| (site.region.clone(), format!("http://{}", running.addr)))
            .collect()
    }

    /// Where each hospital sends its messages.
    pub fn destinations(&self) -> Destinations {
        self.peers.iter().fold(
            Destinations::new(self.home.service.clone(), &self.home_region),
            |destinations, (site, running)| {
                destinations.with_peer(
                    running.service.clone(),
                    &site.region,
                    site.institutions.iter().cloned(),
                )
            },
        )
    }

    /// Stops the peer platforms, then the home platform (every [`Destinations`] dropped first);
    /// the peers' sites.
    pub async fn stop(self) -> Vec<PeerSite> {
        let mut sites = Vec::new();
        for (site, running) in self.peers {
            running.stop().await;
            sites.push(site);
        }
        self.home.stop().await;
        sites
    }
}

/// The credentials a platform pair presents to each other: fresh for every run.
fn pair_credentials(home_region: &str, peer_region: &str) -> (String, String) {
    let secret: u128 = rand::random();
    (
        format!("demo-{home_region}-{peer_region}"),
        format!("{secret:032x}"),
    )
}

fn peer(prefix: &str, url: String, credentials: &(String, String)) -> PeerConfig {
    PeerConfig {
        admdvs_prefix: prefix.to_string(),
        url,
        access_key: credentials.0.clone(),
        secret: credentials.1.clone(),
    }
}

async fn loopback() -> Result<tokio::net::TcpListener, RegionError> {
    tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .map_err(|e| input("a loopback port", e))
}

fn url_of(listener: &tokio::net::TcpListener) -> Result<String, RegionError> {
    let addr = listener
        .local_addr()
        .map_err(|e| input("a loopback port", e))?;
    Ok(format!("http://{addr}"))
}

/// Registers a peer platform's hospitals, split policy and catalogue in its database.
async fn prepare_peer(
    site: &PeerSite,
    institutions: &[Institution],
    home_policy: &str,
    catalog: &str,
    loaded_at: &str,
) -> Result<(), RegionError> {
    let store = Store::open_data_dir(&site.data_dir).await?;
    registry::upsert_institutions(&store, institutions).await?;
    let policy = peer_split_policy(home_policy, &site.region)?;
    let admdvs = import::import_policy(&store, &policy, loaded_at).await?;
    import::import_catalog(&store, &admdvs, catalog, loaded_at).await?;
    store.close().await;
    Ok(())
}

/// Starts a platform for each other province's region of the generated hospitals in `dir` and
/// the home platform (`home`: its database and limits; its peers and region are set here), all on
/// loopback ([`start_with_peers`]).
pub async fn start_platforms(
    home: Config,
    dir: &Path,
    home_policy: &str,
    loaded_at: &str,
) -> Result<Platforms, RegionError> {
    let catalog = read_catalog(dir)?;
    let peers = other_province_institutions(dir, home_policy)?
        .into_iter()
        .map(|(region, institutions)| (dir.join("peers").join(&region), region, institutions))
        .collect();
    start_with_peers(home, home_policy, &catalog, peers, loaded_at).await
}

/// Starts the home platform of `home_policy` (its database and registry as `home` has them) and
/// one platform per `(data directory, region, hospitals)` of `peers` — its database prepared with
/// the hospitals, its split policy ([`peer_split_policy`]) and `catalog` — all on loopback, each
/// peer listing the home platform under the home province's prefix and the home platform listing
/// each peer under its own, with fresh credentials per pair.
pub async fn start_with_peers(
    home: Config,
    home_policy: &str,
    catalog: &str,
    peers: Vec<(PathBuf, String, Vec<Institution>)>,
    loaded_at: &str,
) -> Result<Platforms, RegionError> {
    let home_region = policy_region(home_policy)?;
    let home_prefix = home_region.get(..2).unwrap_or(&home_region).to_string();
    let home_listener = loopback().await?;
    let home_url = url_of(&home_listener)?;
    let mut home_peers = Vec::new();
    let mut started = Vec::new();
    for (data_dir, region, institutions) in peers {
        let site = PeerSite {
            data_dir,
            institutions: institutions
                .iter()
                .map(|i| i.fixmedins_code.clone())
                .collect(),
            region,
        };
        prepare_peer(&site, &institutions, home_policy, catalog, loaded_at).await?;
        let listener = loopback().await?;
        let credentials = pair_credentials(&home_region, &site.region);
        let prefix = site.region.get(..2).unwrap_or(&site.region).to_string();
        home_peers.push(peer(&prefix, url_of(&listener)?, &credentials));
        let config = Config {
            data_dir: site.data_dir.clone(),
            database: String::new(),
            platform_admdvs: site.region.clone(),
            peers: vec![peer(&home_prefix, home_url.clone(), &credentials)],
            ..home.clone()
        };
        let running = yibao_server::app::spawn_on(listener, config).await?;
        started.push((site, running));
    }
    let config = Config {
        platform_admdvs: home_region.clone(),
        peers: home_peers,
        ..home
    };
    let home = yibao_server::app::spawn_on(home_listener, config).await?;
    Ok(Platforms {
        home,
        home_region,
        peers: started,
    })
}

/// Imports a benefit policy and its region's catalogue into the store of a home platform about to
/// start (`yibao load --peer-region`, whose platforms start empty).
pub async fn prepare_home(
    data_dir: &Path,
    policy: &str,
    catalog: &str,
    loaded_at: &str,
) -> Result<(), RegionError> {
    let store = Store::open_data_dir(data_dir).await?;
    let admdvs = import::import_policy(&store, policy, loaded_at).await?;
    import::import_catalog(&store, &admdvs, catalog, loaded_at).await?;
    store.close().await;
    Ok(())
}

/// Which way care crossed the region's border.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// The region's insured treated elsewhere (its fund pays).
    Outbound,
    /// Others' insured treated at the region's hospitals (it is owed).
    Inbound,
}

/// Settlements, cost and fund payments of some cross-region care.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize)]
pub struct Totals {
    /// Settlements less cancellations.
    pub settlements: i64,
    /// Of these, final settlements of a stay (admissions) less their cancellations.
    pub admissions: i64,
    /// Σ `medfee_sumamt`.
    pub total_cost: Fen,
    /// Σ fund payments.
    pub fund_paid: Fen,
}

/// One cross-region line of the year: a direction and a partner region.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrossRegionLine {
    pub direction: Direction,
    /// The partner pooling region.
    pub partner: String,
    /// Whether the partner is on a peer platform (another province) rather than this one.
    pub peer_platform: bool,
    pub totals: Totals,
}

/// A peer platform's view of the care its hospitals gave the region's insured, from its ledger.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct PeerView {
    pub region: String,
    pub totals: Totals,
}

/// The region's cross-region care: the home platform's clearing rows, its lines and the peers'
/// views.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CrossRegionRun {
    pub home_region: String,
    /// The months cleared (those the replay settled in).
    pub months: Vec<Month>,
    /// Every clearing row stored by the runs.
    pub clearings: Vec<StoredClearing>,
    pub lines: Vec<CrossRegionLine>,
    pub peer_views: Vec<PeerView>,
}

impl CrossRegionRun {
    /// The home platform's outbound line towards `region`.
    pub fn outbound_to(&self, region: &str) -> Option<&CrossRegionLine> {
        self.lines
            .iter()
            .find(|l| l.direction == Direction::Outbound && l.partner == region)
    }
}

fn clearing_error(error: ClearingRunError) -> RegionError {
    match error {
        ClearingRunError::Ledger(e) => RegionError::Ledger(e),
        other => input("clearing run", other),
    }
}

/// Clears `months` (in order) on the home platform's store and summarises the stored rows and the
/// peers' ledgers. A settlement belongs to the month it was made in, and the region's year of care
/// is replayed now, so these are the months of the replay; each is cleared as of the first day
/// after the last (`yibao clearing run --as-of`).
pub async fn clear_months(
    store: &Store,
    config: &CrossRegionConfig,
    home_region: &str,
    months: &[Month],
    peers: &[PeerSite],
    run_at: &str,
) -> Result<CrossRegionRun, RegionError> {
    let policy =
        ClearingPolicy::parse(&config.clearing_policy).map_err(|e| input("clearing policy", e))?;
    let as_of = months
        .iter()
        .max()
        .map(|m| m.next())
        .and_then(|next| chrono::NaiveDate::from_ymd_opt(next.year, u32::from(next.month), 1))
        .ok_or_else(|| input("clearing months", "none, or past the calendar"))?;
    let mut clearings = Vec::new();
    for month in months {
        // The province's hospitals confirm their inbound 省内异地 rows (3260/3261) before the run.
        let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
        yibao_ledger::clearing_confirm::confirm_all(&mut conn, *month, "demo", run_at)
            .await
            .map_err(clearing_error)?;
        drop(conn);
        let run = clearing_run::run_month(store, &policy, *month, as_of, run_at)
            .await
            .map_err(clearing_error)?;
        clearings.extend(run.rows);
    }
    let peer_regions: Vec<&str> = peers.iter().map(|p| p.region.as_str()).collect();
    let mut lines = lines_of(&clearings, home_region, &peer_regions);
    let admissions = home_admissions(store, months, home_region).await?;
    for line in &mut lines {
        line.totals.admissions = admissions
            .get(&(line.direction, line.partner.clone()))
            .copied()
            .unwrap_or(0);
    }
    let mut peer_views = Vec::new();
    for site in peers {
        peer_views.push(PeerView {
            region: site.region.clone(),
            totals: peer_totals(site, months).await?,
        });
    }
    Ok(CrossRegionRun {
        home_region: home_region.to_string(),
        months: months.to_vec(),
        clearings,
        lines,
        peer_views,
    })
}

/// The months from the one of `first` to the one of `last`, in order.
pub fn months_between(first: chrono::NaiveDate, last: chrono::NaiveDate) -> Vec<Month> {
    use chrono::Datelike;
    let month_of = |d: chrono::NaiveDate| Month {
        year: d.year(),
        month: u8::try_from(d.month()).unwrap_or(12),
    };
    let (mut month, last) = (month_of(first), month_of(last));
    let mut months = Vec::new();
    while month <= last {
        months.push(month);
        month = month.next();
    }
    months
}

/// The lines of the home region: per direction and partner, the clearing rows summed.
fn lines_of(
    clearings: &[StoredClearing],
    home_region: &str,
    peer_regions: &[&str],
) -> Vec<CrossRegionLine> {
    let mut by_key: BTreeMap<(Direction, String), Totals> = BTreeMap::new();
    for stored in clearings {
        let row = &stored.row;
        let (insured, treating) = (
            row.key.insured_admdvs.as_str(),
            row.key.treating_admdvs.as_str(),
        );
        let key = if insured == home_region {
            (Direction::Outbound, treating.to_string())
        } else if treating == home_region {
            (Direction::Inbound, insured.to_string())
        } else {
            continue;
        };
        let totals = by_key.entry(key).or_default();
        totals.settlements += i64::try_from(row.settlements).unwrap_or(i64::MAX)
            - i64::try_from(row.cancellations + row.carried_cancellations).unwrap_or(i64::MAX);
        totals.total_cost += row.total_cost;
        totals.fund_paid += row.fund_owed;
    }
    by_key
        .into_iter()
        .map(|((direction, partner), totals)| CrossRegionLine {
            peer_platform: peer_regions.contains(&partner.as_str()),
            direction,
            partner,
            totals,
        })
        .collect()
}

/// Admissions less their cancellations per direction × partner region, from the home platform's
/// ledger (the clearing's settlements of the months, regions mapped as the clearing maps them).
async fn home_admissions(
    store: &Store,
    months: &[Month],
    home_region: &str,
) -> Result<BTreeMap<(Direction, String), i64>, RegionError> {
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    let mut out = BTreeMap::new();
    for month in months {
        let admitted = clearing_run::month_admission_ids(&mut conn, *month)
            .await
            .map_err(clearing_error)?;
        let rows = clearing_run::cross_region(&mut conn, *month)
            .await
            .map_err(clearing_error)?;
        for row in rows.iter().filter(|r| admitted.contains(&r.setl_id)) {
            let (insured, treating) = (
                row.key.insured_admdvs.as_str(),
                row.key.treating_admdvs.as_str(),
            );
            let key = if insured == home_region {
                (Direction::Outbound, treating.to_string())
            } else if treating == home_region {
                (Direction::Inbound, insured.to_string())
            } else {
                continue;
            };
            *out.entry(key).or_default() += if row.cancels.is_some() { -1 } else { 1 };
        }
    }
    Ok(out)
}

/// What a peer platform's ledger holds of the year's care at its hospitals of persons insured
/// elsewhere.
async fn peer_totals(site: &PeerSite, months: &[Month]) -> Result<Totals, RegionError> {
    let store = Store::open_data_dir(&site.data_dir).await?;
    let mut conn = store.pool().acquire().await.map_err(LedgerError::from)?;
    let mut totals = Totals::default();
    for month in months {
        let admitted = clearing_run::month_admission_ids(&mut conn, *month)
            .await
            .map_err(clearing_error)?;
        let rows = clearing_run::cross_region(&mut conn, *month)
            .await
            .map_err(clearing_error)?;
        for row in rows
            .iter()
            .filter(|r| r.key.treating_admdvs.as_str() == site.region)
        {
            let sign = if row.cancels.is_some() { -1 } else { 1 };
            totals.settlements += sign;
            if admitted.contains(&row.setl_id) {
                totals.admissions += sign;
            }
            totals.total_cost += row.medfee_sumamt;
            totals.fund_paid += row.fund_payments.iter().map(|f| f.amount).sum::<Fen>();
        }
    }
    drop(conn);
    store.close().await;
    Ok(totals)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::NaiveDate;

    #[test]
    fn a_peers_split_policy_is_the_home_rules_under_its_region() {
        let home = crate::reference::BENEFIT_POLICY;
        let text = peer_split_policy(home, "330100").unwrap();
        let (peer, home) = (Policy::parse(&text).unwrap(), Policy::parse(home).unwrap());
        assert_eq!(peer.policy.admdvs.as_str(), "330100");
        assert_eq!(peer.policy.in_region_prefixes, ["3301"]);
        assert_eq!(peer.remote.province_prefixes, ["33"]);
        assert!(peer.is_in_region("330106") && !peer.is_in_region("360402"));
        let codes = |p: &Policy| {
            p.funds
                .iter()
                .map(|f| f.code.to_string())
                .collect::<Vec<_>>()
        };
        assert_eq!(codes(&peer), codes(&home));
    }

    #[test]
    fn the_replays_months_run_from_its_first_day_to_its_last() {
        let day = |y, m, d| NaiveDate::from_ymd_opt(y, m, d).unwrap();
        let month = |year, month| Month { year, month };
        assert_eq!(
            months_between(day(2026, 12, 31), day(2027, 1, 1)),
            [month(2026, 12), month(2027, 1)]
        );
        assert_eq!(
            months_between(day(2026, 3, 5), day(2026, 3, 9)),
            [month(2026, 3)]
        );
    }

    #[test]
    fn pooling_regions_of_institutions_end_in_00() {
        assert_eq!(pooling_region_of("330106"), "330100");
        assert_eq!(pooling_region_of("420100"), "420100");
    }
}
