//! Rebuilds the crate when a migration is added or changed: `sqlx::migrate!` embeds the folder at
//! compile time but does not tell cargo to watch it.
fn main() {
    println!("cargo:rerun-if-changed=migrations");
}
