//! The schema: embedded migrations, the rollback script and the optional
//! row-level-security policies.

use sqlx::PgPool;
use sqlx::migrate::Migrator;
use vault_core::store::StoreResult;

use crate::codec::db;

/// The migrations in `migrations/`, embedded at compile time. Append only:
/// a released migration never changes (sqlx refuses a database whose applied
/// migration's checksum differs).
pub static MIGRATOR: Migrator = sqlx::migrate!("./migrations");

/// Drops every table and view the migrations create (the seed's rollback)
/// and forgets the migration, so [`migrate`] can apply it again.
pub const ROLLBACK_SQL: &str = include_str!("../sql/rollback.sql");

/// Optional row-level-security policies for apps that expose the database
/// directly: roles `vault_anon`, `vault_user` (identified by the setting
/// `app.user_id`) and `vault_service`. See the file's comments.
pub const ROW_LEVEL_SECURITY_SQL: &str = include_str!("../sql/row_level_security.sql");

/// Applies pending migrations. Safe to call on every start and from several
/// processes at once (sqlx takes an advisory lock).
pub async fn migrate(pool: &PgPool) -> StoreResult<()> {
    MIGRATOR.run(pool).await.map_err(db)
}

/// Runs [`ROLLBACK_SQL`]: every Workflow Vault table and row is gone.
pub async fn rollback(pool: &PgPool) -> StoreResult<()> {
    sqlx::raw_sql(ROLLBACK_SQL)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(())
}

/// Runs [`ROW_LEVEL_SECURITY_SQL`] (idempotent). Needs the right to create
/// roles the first time.
pub async fn install_row_level_security(pool: &PgPool) -> StoreResult<()> {
    sqlx::raw_sql(ROW_LEVEL_SECURITY_SQL)
        .execute(pool)
        .await
        .map_err(db)?;
    Ok(())
}
