//! Invitations (SPEC.md §3): an email from the noreply address with a single-use link that
//! works for 48 hours. The token exists only in the email; the database keeps its SHA-256.
use hod_db::agents::{self, AgentRow};
use hod_db::invitations::{self, InvitationRow, NewInvitation};
use hod_db::{Tx, audit, from_millis};
use hod_domain::Npn;
use hod_domain::actor::Actor;
use hod_i18n::UiLang;
use hod_i18n::letter::Letter;
use jiff::{SignedDuration, Timestamp};

use crate::tokens::{random_token, token_hash};
use crate::{App, AppError, Result};

/// How long an invitation link works.
pub const INVITATION_LIFETIME: SignedDuration = SignedDuration::from_hours(48);

/// What an invitation link leads to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InvitationStatus {
    /// The link works: the agent may register.
    Open {
        npn: String,
        first_name: String,
        last_name: String,
        email: String,
        expires_at: Timestamp,
    },
    Expired,
    /// Used to register, or the agent has registered since.
    Used,
    /// The help desk sent a newer link.
    Replaced,
    Unknown,
}

impl App {
    /// Writes an invitation and its email in `tx`. Returns false when the NPN already had
    /// its automatic invitation for the plan year (only possible when `sent_by` is `None`).
    pub(crate) async fn send_invitation(
        &self,
        tx: &mut Tx,
        agent: &AgentRow,
        plan_year: i16,
        sent_by: Option<Actor>,
    ) -> Result<bool> {
        let now = self.now();
        let token = random_token()?;
        let expires_at = now + INVITATION_LIFETIME;
        let Some(id) = invitations::create(
            tx,
            &NewInvitation {
                npn: &agent.npn,
                plan_year,
                email: &agent.email,
                token_hash: &token_hash(&token),
                expires_at,
                sent_by: sent_by.map(|a| a.to_string()).as_deref(),
            },
            now,
        )
        .await?
        else {
            return Ok(false);
        };
        // Before registration nobody knows which language the agent reads: both.
        let email = Letter::new("invitation")
            .with("name", format!("{} {}", agent.first_name, agent.last_name))
            .with("plan_year", plan_year.to_string())
            .at("expires", expires_at, &self.settings.program_time_zone)
            .link(format!("{}/register/{token}", self.settings.public_url))
            .email_in_both();
        let dedup = format!("invitation:{id}");
        self.send_email(tx, &agent.email, UiLang::En, &email, &dedup)
            .await?;
        let subject = format!("npn:{}", agent.npn);
        audit::append(
            tx,
            &audit::Entry {
                actor: sent_by.unwrap_or(Actor::System),
                action: if sent_by.is_some() { "invitation.resent" } else { "invitation.sent" },
                subject: &subject,
                ip: None,
                detail: serde_json::json!({ "invitation": id, "plan_year": plan_year, "to": agent.email }),
            },
            now,
        )
        .await?;
        Ok(true)
    }

    /// Help desk: sends a fresh link to an eligible agent who has not registered; every
    /// earlier link stops working.
    pub async fn resend_invitation(&self, npn: &Npn, operator: Actor) -> Result<()> {
        let agent = agents::find_by_npn(&self.db, npn)
            .await?
            .ok_or_else(|| AppError::Refused {
                id: "no-email",
                message: format!("NPN {npn} is not in the MLMS file; there is no email to invite"),
            })?;
        if agent.registered_at.is_some() {
            return Err(AppError::Refused {
                id: "registered",
                message: format!(
                    "NPN {npn} already has an account; the agent logs in with their username"
                ),
            });
        }
        let day = self.today();
        let report = self.eligibility_of(npn, day).await?;
        if !report.eligible {
            return Err(AppError::Refused {
                id: "not-eligible",
                message: format!(
                    "NPN {npn} is not eligible, so no invitation was sent: {}",
                    report.reasons.join("; ")
                ),
            });
        }
        let now = self.now();
        self.write(async |tx| -> Result<_> {
            invitations::revoke_open(tx, npn.as_str(), now).await?;
            self.send_invitation(tx, &agent, report.plan_year, Some(operator))
                .await?;
            Ok(())
        })
        .await?;
        Ok(())
    }

    /// Where an invitation link stands now.
    pub async fn invitation(&self, token: &str) -> Result<InvitationStatus> {
        let looks_right = token.len() == 64 && token.bytes().all(|b| b.is_ascii_hexdigit());
        if !looks_right {
            return Ok(InvitationStatus::Unknown);
        }
        let Some(inv) = invitations::find_by_token_hash(&self.db, &token_hash(token)).await? else {
            return Ok(InvitationStatus::Unknown);
        };
        self.status_of(inv).await
    }

    async fn status_of(&self, inv: InvitationRow) -> Result<InvitationStatus> {
        let npn = Npn::parse(&inv.npn).map_err(|e| AppError::Other(e.into()))?;
        let agent = agents::find_by_npn(&self.db, &npn).await?;
        if inv.used_at.is_some() || agent.as_ref().is_some_and(|a| a.registered_at.is_some()) {
            return Ok(InvitationStatus::Used);
        }
        if inv.revoked_at.is_some() {
            return Ok(InvitationStatus::Replaced);
        }
        let expires_at = from_millis(inv.expires_at)?;
        if self.now() >= expires_at {
            return Ok(InvitationStatus::Expired);
        }
        let agent = agent.ok_or_else(|| {
            AppError::Other(anyhow::anyhow!("invitation {} without an agent", inv.id))
        })?;
        Ok(InvitationStatus::Open {
            npn: inv.npn,
            first_name: agent.first_name,
            last_name: agent.last_name,
            email: inv.email,
            expires_at,
        })
    }
}
