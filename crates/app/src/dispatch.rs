//! The dispatcher: hands the messages queued in the outbox to their providers. Every node
//! runs it; a message is claimed with a lease (PostgreSQL skips rows another node holds), so
//! two nodes never send one at once, and a node that dies mid-send gives its claims back when
//! the lease runs out. A channel without a provider keeps its messages in the local outbox
//! (`stored`), so a fresh machine works end to end.
use std::sync::Arc;
use std::sync::atomic::Ordering;

use hod_db::outbox::{self, Channel, MessageRow, Outcome};
use hod_domain::delivery;
use hod_i18n::UiLang;
use hod_i18n::letter::Letter;
use hod_notify::{Email, SendError, Sms, Smtp, Text};
use jiff::SignedDuration;

use crate::{App, AppError, Result};

/// How long a claim lasts: longer than any one delivery may take (SMTP's own timeout is 20 s).
const LEASE: SignedDuration = SignedDuration::from_secs(60);

/// Messages claimed at a time.
const BATCH: i64 = 64;

/// Deliveries in flight at a time (per node): at most this many may go twice when a node dies
/// between a provider's answer and its record.
pub const AT_ONCE: usize = 32;

/// The providers this node hands messages to; a channel without one keeps its messages in
/// the local outbox.
#[derive(Debug, Clone, Default)]
pub struct Transports {
    pub email: Option<Smtp>,
    pub sms: Option<Sms>,
}

/// What one dispatch pass did.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Dispatched {
    pub sent: usize,
    pub stored: usize,
    pub retried: usize,
    pub dead: usize,
}

impl Dispatched {
    pub fn total(&self) -> usize {
        self.sent + self.stored + self.retried + self.dead
    }
}

/// What became of one message.
pub(crate) enum Delivery {
    /// A provider took it, naming it or not.
    Sent(Option<String>),
    /// No provider for its channel: kept in the local outbox.
    Stored,
    /// A text to a number that said STOP: not sent.
    OptedOut,
    Failed(SendError),
}

impl App {
    /// Sets the providers (at start; without them every message is stored).
    #[must_use]
    pub fn with_transports(mut self, transports: Transports) -> Self {
        self.transports = Arc::new(transports);
        self
    }

    /// Woken when a write that queued a message commits, so the dispatcher sends at once.
    pub fn outbox_written(&self) -> &tokio::sync::Notify {
        &self.outbox_wake
    }

    /// One pass: claims the due messages (up to a batch) for `node`, delivers them and
    /// records each outcome.
    #[tracing::instrument(skip_all)]
    pub async fn dispatch(&self, node: &str) -> Result<Dispatched> {
        let now = self.now();
        let claimed = self
            .db
            .write(async |tx| outbox::claim_due(tx, node, now, now + LEASE, BATCH).await)
            .await?;
        // Several at a time, so one slow provider answer does not hold up the rest. Each
        // delivery runs as its own task, so it goes on (and gives back any connection it
        // holds) while outcomes are recorded: those known together in one write.
        let mut waiting = claimed.into_iter();
        let mut running = tokio::task::JoinSet::new();
        let mut done = Dispatched::default();
        loop {
            while running.len() < AT_ONCE {
                let Some(message) = waiting.next() else { break };
                let app = self.clone();
                running.spawn(async move {
                    let result = app.deliver(&message).await;
                    (message, result)
                });
            }
            let Some(first) = running.join_next().await else {
                break;
            };
            let mut finished = vec![first.map_err(|e| AppError::Other(e.into()))?];
            while let Some(more) = running.try_join_next() {
                finished.push(more.map_err(|e| AppError::Other(e.into()))?);
            }
            self.record(node, finished, &mut done).await?;
        }
        Ok(done)
    }

    async fn deliver(&self, m: &MessageRow) -> Delivery {
        match m.channel {
            Channel::Email => match &self.transports.email {
                Some(smtp) => {
                    let html = match &m.html {
                        Some(html) => html.clone(),
                        None => hod_notify::html_from_text(&m.body),
                    };
                    let email = Email {
                        id: m.id,
                        from: &m.sender,
                        to: &m.recipient,
                        subject: &m.subject,
                        text: &m.body,
                        html: &html,
                        unsubscribe: None,
                        urgent: m.urgent,
                    };
                    match smtp.send(&email).await {
                        Ok(()) => Delivery::Sent(None),
                        Err(e) => Delivery::Failed(e),
                    }
                }
                None => Delivery::Stored,
            },
            Channel::Sms => match &self.transports.sms {
                Some(sms) => {
                    match self.sms_opted_out(&m.recipient).await {
                        Ok(false) => {}
                        Ok(true) => return Delivery::OptedOut,
                        Err(e) => {
                            return Delivery::Failed(SendError::Transient(format!(
                                "cannot read the STOP list: {e}"
                            )));
                        }
                    }
                    let callback = format!("{}/webhooks/sms/status", self.settings.public_url);
                    let text = Text {
                        to: &m.recipient,
                        body: &m.body,
                        status_callback: &callback,
                    };
                    match sms.send(&text).await {
                        Ok(sid) => Delivery::Sent(Some(sid)),
                        Err(e) => Delivery::Failed(e),
                    }
                }
                None => Delivery::Stored,
            },
            Channel::Push => self.deliver_push(m).await,
        }
    }

    /// Records the outcomes of deliveries that finished together, in one transaction (so a
    /// busy dispatcher does not queue one write per message behind the other writers).
    async fn record(
        &self,
        node: &str,
        finished: Vec<(MessageRow, Delivery)>,
        done: &mut Dispatched,
    ) -> Result<()> {
        let now = self.now();
        let outcomes: Vec<(MessageRow, Delivery, Option<jiff::Timestamp>, &str)> = finished
            .into_iter()
            .map(|(m, result)| {
                let attempts = u32::try_from(m.attempts).unwrap_or(u32::MAX);
                let retry_at = match &result {
                    Delivery::Failed(SendError::Transient(_)) => {
                        delivery::retry_after(attempts, jitter()).map(|wait| now + wait)
                    }
                    _ => None,
                };
                let outcome = match &result {
                    Delivery::Sent(_) => "sent",
                    Delivery::Stored => "stored",
                    Delivery::Failed(_) if retry_at.is_some() => "retried",
                    Delivery::Failed(_) | Delivery::OptedOut => "dead",
                };
                (m, result, retry_at, outcome)
            })
            .collect();
        let finished: Vec<(i64, Outcome<'_>)> = outcomes
            .iter()
            .filter_map(|(m, result, _, _)| match result {
                Delivery::Sent(id) => Some((
                    m.id,
                    Outcome::Sent {
                        provider_id: id.as_deref(),
                    },
                )),
                Delivery::Stored => Some((m.id, Outcome::Stored)),
                Delivery::OptedOut | Delivery::Failed(_) => None,
            })
            .collect();
        self.write(async |tx| -> Result<()> {
            outbox::finish_many(tx, node, &finished, now).await?;
            for (m, result, retry_at, outcome) in &outcomes {
                let recorded = match result {
                    Delivery::Sent(_) | Delivery::Stored => continue,
                    Delivery::OptedOut => {
                        let why = "the number asked for no more texts (STOP)";
                        outbox::attempt_failed(tx, m.id, node, why, None, now).await?
                    }
                    Delivery::Failed(e) => {
                        let why = e.to_string();
                        outbox::attempt_failed(tx, m.id, node, &why, *retry_at, now).await?
                    }
                };
                // A text that cannot be sent goes by email instead, where it has an address.
                if recorded
                    && *outcome == "dead"
                    && let Some(to) = &m.fallback_to
                {
                    let stopped = matches!(result, Delivery::OptedOut);
                    self.text_by_email(tx, m, to, stopped).await?;
                }
            }
            Ok(())
        })
        .await?;
        for (m, result, retry_at, outcome) in &outcomes {
            let channel = m.channel.as_str();
            match result {
                Delivery::Sent(_) => done.sent += 1,
                Delivery::Stored => done.stored += 1,
                Delivery::Failed(_) if retry_at.is_some() => done.retried += 1,
                Delivery::Failed(_) | Delivery::OptedOut => done.dead += 1,
            }
            if let Delivery::Failed(e) = result {
                tracing::warn!(message = m.id, channel, attempts = m.attempts, outcome, error = %e, "delivery failed");
            }
            metrics::counter!(crate::metrics::MESSAGES, "channel" => channel, "outcome" => *outcome)
                .increment(1);
            if matches!(result, Delivery::Sent(_)) {
                metrics::histogram!(crate::metrics::MESSAGE_DELIVERY, "channel" => channel)
                    .record(now.duration_since(m.created_at).as_secs_f64().max(0.0));
            }
        }
        Ok(())
    }

    /// The email that carries a text which could not be sent: urgent when the number refused
    /// it, plain when the number said STOP.
    async fn text_by_email(
        &self,
        tx: &mut hod_db::Tx,
        text: &MessageRow,
        to: &str,
        stopped: bool,
    ) -> Result<()> {
        let lang = UiLang::parse(&text.lang).unwrap_or(UiLang::En);
        let name = if stopped {
            "text-stopped"
        } else {
            "text-undeliverable"
        };
        let email = Letter::new(name)
            .with("phone", text.recipient.clone())
            .with("text", text.body.clone())
            .email(lang);
        let dedup = format!("text-by-email:{}", text.id);
        self.queue_email(tx, to, lang, &email, !stopped, &dedup)
            .await
    }

    /// A write that wakes the dispatcher when it queued a message (after the commit, so the
    /// dispatcher finds the rows).
    pub(crate) async fn write<T, E>(
        &self,
        work: impl AsyncFnOnce(&mut hod_db::Tx) -> std::result::Result<T, E>,
    ) -> std::result::Result<T, E>
    where
        E: From<hod_db::DbError>,
    {
        let queued_before = self.queued.load(Ordering::Acquire);
        let done = self.db.write(work).await?;
        if self.queued.load(Ordering::Acquire) != queued_before {
            self.outbox_wake.notify_one();
            // The other nodes' dispatchers too (PostgreSQL); they also look every second.
            self.db.signal(hod_db::signal::OUTBOX);
        }
        Ok(done)
    }

    /// Relays the other nodes' signals (PostgreSQL `LISTEN`): a message queued anywhere
    /// wakes this node's dispatcher, a change anywhere wakes this node's live pages. Runs
    /// until the database goes away; returns at once on SQLite, where this node is the only one.
    pub async fn relay_signals(&self) -> Result<()> {
        use hod_db::signal::{CHANGES, OUTBOX};
        let Some(mut listener) = self.db.listen(&[OUTBOX, CHANGES]).await? else {
            return Ok(());
        };
        loop {
            if listener.next().await? == OUTBOX {
                self.outbox_wake.notify_one();
            } else {
                self.changes.send_modify(|n| *n = n.wrapping_add(1));
            }
        }
    }
}

/// A number in `[0, 1)` to spread retries (the middle when the OS gives no randomness).
fn jitter() -> f64 {
    crate::tokens::random_bytes::<4>().map_or(0.5, |b| {
        f64::from(u32::from_le_bytes(b)) / (f64::from(u32::MAX) + 1.0)
    })
}
