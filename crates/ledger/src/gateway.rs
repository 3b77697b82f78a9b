//! Storage of gateway replay tokens (CSB signatures, TIF nonces) accepted within the timestamp
//! window (`migrations/0005_gateway_tokens.sql`). The service keeps them in memory and writes each
//! one here, durably, before it acts on the request.

use sqlx::{AnyConnection, Row};

use crate::sql::{placeholders, rows_per_insert, Placeholders};
use crate::LedgerError;

/// Tokens that have not expired at `now_secs` (Unix seconds), with their expiry.
pub async fn live_tokens(
    conn: &mut AnyConnection,
    now_secs: i64,
) -> Result<Vec<(String, i64)>, LedgerError> {
    let rows = sqlx::query(
        "SELECT token, expires_at_secs FROM gateway_tokens WHERE expires_at_secs >= $1",
    )
    .bind(now_secs)
    .fetch_all(conn)
    .await?;
    rows.iter()
        .map(|row| Ok((row.try_get("token")?, row.try_get("expires_at_secs")?)))
        .collect()
}

/// Stores accepted tokens with their expiry, in one transaction (an expired token accepted again
/// gets its new expiry).
pub async fn insert_tokens(
    conn: &mut AnyConnection,
    tokens: &[(String, i64)],
) -> Result<(), LedgerError> {
    let style = Placeholders::for_connection(conn);
    let mut tx = sqlx::Connection::begin(conn).await?;
    for chunk in tokens.chunks(rows_per_insert(2)) {
        let sql = format!(
            "INSERT INTO gateway_tokens (token, expires_at_secs) VALUES {} ON CONFLICT (token) DO UPDATE SET expires_at_secs = excluded.expires_at_secs",
            placeholders(style, chunk.len(), 2)
        );
        let mut query = sqlx::query(&sql).persistent(false);
        for (token, expires_at_secs) in chunk {
            query = query.bind(token.clone()).bind(*expires_at_secs);
        }
        query.execute(&mut *tx).await?;
    }
    tx.commit().await?;
    Ok(())
}

/// Drops tokens expired before `now_secs`: the timestamp window refuses their requests by now.
pub async fn forget_expired_tokens(
    conn: &mut AnyConnection,
    now_secs: i64,
) -> Result<u64, LedgerError> {
    let done = sqlx::query("DELETE FROM gateway_tokens WHERE expires_at_secs < $1")
        .bind(now_secs)
        .execute(conn)
        .await?;
    Ok(done.rows_affected())
}
