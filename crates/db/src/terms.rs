//! Terms of Use: versioned documents and each agent's acceptances (SPEC.md §3).
use std::collections::HashSet;

use crate::query::query;
use crate::sql::{batch_rows, placeholder_list};
use crate::time::from_row;
use crate::{Db, Result, Tx, on_pool, to_millis};

/// The first versions, loaded once into an empty table: (kind, English, Spanish), each text
/// a title line and then the body.
pub(crate) const SEED: [(&str, &str, &str); 2] = [
    (
        "agent_broker",
        include_str!("../../../data/terms/agent_broker-1.en.md"),
        include_str!("../../../data/terms/agent_broker-1.es.md"),
    ),
    (
        "hod",
        include_str!("../../../data/terms/hod-1.en.md"),
        include_str!("../../../data/terms/hod-1.es.md"),
    ),
];

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TermsDoc {
    pub id: i64,
    /// `agent_broker` or `hod`.
    pub kind: String,
    pub version: String,
    pub title_en: String,
    pub title_es: String,
    pub body_en: String,
    pub body_es: String,
    pub published_at: i64,
}

from_row!(TermsDoc {
    id,
    kind,
    version,
    title_en,
    title_es,
    body_en,
    body_es,
    published_at
});

impl TermsDoc {
    /// How the API names this version: `agent_broker:1`.
    pub fn label(&self) -> String {
        format!("{}:{}", self.kind, self.version)
    }
}

/// The newest published version of each kind, Agent/Broker terms first.
#[tracing::instrument(skip_all)]
pub async fn current(db: &Db) -> Result<Vec<TermsDoc>> {
    Ok(on_pool!(db, p => sqlx::query_as(
        "SELECT id, kind, version, title_en, title_es, body_en, body_es, published_at FROM terms_documents d
         WHERE NOT EXISTS (SELECT 1 FROM terms_documents n WHERE n.kind = d.kind
                           AND (n.published_at > d.published_at OR (n.published_at = d.published_at AND n.id > d.id)))
         ORDER BY kind",
    )
    .fetch_all(p)
    .await)?)
}

/// Which of `document_ids` the agent has accepted.
#[tracing::instrument(skip_all)]
pub async fn accepted(db: &Db, agent_id: i64) -> Result<HashSet<i64>> {
    let ids: Vec<i64> = on_pool!(db, p => sqlx::query_scalar(
        "SELECT document_id FROM terms_acceptances WHERE agent_id = $1"
    ).bind(agent_id).fetch_all(p).await)?;
    Ok(ids.into_iter().collect())
}

/// Of `agent_ids`, those who accepted every one of `document_ids`.
#[tracing::instrument(skip_all, fields(agents = agent_ids.len()))]
pub async fn accepted_all(
    db: &Db,
    agent_ids: &[i64],
    document_ids: &[i64],
) -> Result<HashSet<i64>> {
    let mut out = HashSet::new();
    if document_ids.is_empty() {
        return Ok(agent_ids.iter().copied().collect());
    }
    let per = batch_rows(db.backend(), 1)
        .saturating_sub(document_ids.len())
        .max(1);
    for chunk in agent_ids.chunks(per) {
        let sql = format!(
            "SELECT agent_id FROM terms_acceptances WHERE document_id IN ({}) AND agent_id IN ({})
             GROUP BY agent_id HAVING COUNT(DISTINCT document_id) = {}",
            placeholder_list(1, document_ids.len()),
            placeholder_list(document_ids.len() + 1, chunk.len()),
            document_ids.len()
        );
        let ids: Vec<i64> = on_pool!(db, p => {
            let mut q = sqlx::query_scalar(sqlx::AssertSqlSafe(sql));
            for d in document_ids {
                q = q.bind(*d);
            }
            for a in chunk {
                q = q.bind(*a);
            }
            q.fetch_all(p).await?
        });
        out.extend(ids);
    }
    Ok(out)
}

/// Records acceptance of `document_ids` (again is harmless) and clears a decline.
#[tracing::instrument(skip_all)]
pub async fn accept(
    tx: &mut Tx,
    agent_id: i64,
    document_ids: &[i64],
    now: jiff::Timestamp,
) -> Result<()> {
    {
        for d in document_ids {
            query(
                "INSERT INTO terms_acceptances (agent_id, document_id, accepted_at) VALUES ($1, $2, $3) ON CONFLICT DO NOTHING",
            )
            .bind(agent_id)
            .bind(*d)
            .bind(to_millis(now))
            .execute(tx)
            .await?;
        }
        query("UPDATE agents SET terms_declined_at = NULL WHERE id = $1")
            .bind(agent_id)
            .execute(tx)
            .await?;
    };
    Ok(())
}

#[tracing::instrument(skip_all)]
pub async fn decline(tx: &mut Tx, agent_id: i64, now: jiff::Timestamp) -> Result<()> {
    query("UPDATE agents SET terms_declined_at = $2 WHERE id = $1")
        .bind(agent_id)
        .bind(to_millis(now))
        .execute(tx)
        .await?;
    Ok(())
}

/// When the agent declined the current terms, if they did.
#[tracing::instrument(skip_all)]
pub async fn declined_at(db: &Db, agent_id: i64) -> Result<Option<i64>> {
    Ok(
        on_pool!(db, p => sqlx::query_scalar("SELECT terms_declined_at FROM agents WHERE id = $1")
        .bind(agent_id)
        .fetch_optional(p)
        .await)?
        .flatten(),
    )
}

/// A new version of one kind of terms; from now on it is the one agents must accept.
#[derive(Debug, Clone)]
pub struct NewTerms<'a> {
    pub kind: &'a str,
    pub version: &'a str,
    pub title_en: &'a str,
    pub title_es: &'a str,
    pub body_en: &'a str,
    pub body_es: &'a str,
}

/// Publishes `t`; a version already published for its kind is a [`crate::DbError::Conflict`].
#[tracing::instrument(skip_all)]
pub async fn publish(tx: &mut Tx, t: &NewTerms<'_>, now: jiff::Timestamp) -> Result<i64> {
    query("INSERT INTO terms_documents (kind, version, title_en, title_es, body_en, body_es, published_at)
         VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING id")
        .bind(t.kind)
        .bind(t.version)
        .bind(t.title_en)
        .bind(t.title_es)
        .bind(t.body_en)
        .bind(t.body_es)
        .bind(crate::to_millis(now))
        .scalar(tx)
        .await
    .map_err(crate::conflict_as(format!("version {:?} of the {} terms", t.version, t.kind)))
}
