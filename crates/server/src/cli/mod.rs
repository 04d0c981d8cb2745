//! The command line of SPEC.md §9.
use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;

use anyhow::Context;
use clap::{Args, Parser, Subcommand};
use hod_app::operators::Role;
use hod_app::referrals::ReferralRow;
use hod_domain::actor::Actor;
use hod_domain::referral::{EventKind, Status};

use crate::config::{Config, Overrides};

mod import;
mod simulate;

pub use import::ImportArgs;
pub use simulate::SimulateArgs;

#[derive(Debug, Parser)]
#[command(
    name = "hod",
    version,
    about = "Help On Demand: real-time referrals from consumers to licensed Marketplace agents"
)]
pub struct Cli {
    /// Database: postgres://… or sqlite://… [env: HOD_DATABASE_URL] [default: a SQLite file in the data directory]
    #[arg(long, global = true)]
    pub database_url: Option<String>,
    /// Directory for the default SQLite database [env: HOD_DATA_DIR] [default: ./hod-data]
    #[arg(long, global = true)]
    pub data_dir: Option<PathBuf>,
    /// Configuration file [default: ./hod.toml when it exists]
    #[arg(long, global = true, env = "HOD_CONFIG")]
    pub config: Option<PathBuf>,
    #[command(subcommand)]
    pub command: Command,
}

#[derive(Debug, Subcommand)]
pub enum Command {
    /// Apply migrations, then serve the web pages, the API and the background workers
    Serve(ServeArgs),
    /// Load the demo program (plan year, states, agents; logins printed) and serve it.
    /// Uses <data-dir>/demo.sqlite unless a database URL is given.
    Demo(ServeArgs),
    /// Apply database migrations and load the bundled reference data
    Migrate,
    /// Operator accounts
    #[command(subcommand)]
    Admin(AdminCommand),
    /// Messages the system has stored or sent
    #[command(subcommand)]
    Outbox(OutboxCommand),
    /// Import a CMS source file; then eligibility is worked out again and due invitations sent
    Import(ImportArgs),
    /// Who may receive referrals, and why not
    #[command(subcommand)]
    Eligibility(EligibilityCommand),
    /// Partner API keys (for POST /api/v1/referrals)
    #[command(subcommand, name = "api-key")]
    ApiKey(ApiKeyCommand),
    /// Program settings: routing strategy and windows, intake calendar
    #[command(subcommand)]
    Settings(SettingsCommand),
    /// Consumer requests: the unserved queue, one referral's timeline and decision logs
    #[command(subcommand)]
    Referrals(ReferralsCommand),
    /// The audit log of security and personal-data events
    #[command(subcommand)]
    Audit(AuditCommand),
    /// The keys of personal data at rest
    #[command(subcommand)]
    Keys(KeysCommand),
    /// Simulate a day of routing on virtual time and compare the offer strategies
    Simulate(SimulateArgs),
    /// Load a synthetic program (eligible, registered, green agents) into an empty database
    Generate {
        /// How many agents
        #[arg(long)]
        agents: u32,
        /// How many past referrals (the last 90 days)
        #[arg(long, default_value_t = 0)]
        referrals: u32,
        /// The same seed gives the same agents
        #[arg(long, default_value_t = 1)]
        seed: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum KeysCommand {
    /// Make a new data key and re-encrypt all personal data with it in small batches, while
    /// the system runs; then drop the keys nothing uses any more
    Rotate {
        /// Seconds the running nodes get to load the new key, and again to start sealing
        /// with it (0 only when no node is running)
        #[arg(long, default_value_t = 2 * hod_app::keys::KEY_REFRESH.as_secs())]
        settle_secs: u64,
    },
}

#[derive(Debug, Subcommand)]
pub enum AuditCommand {
    /// Check the audit log's hash chain; names the first entry that was changed (exit 1)
    Verify,
}

#[derive(Debug, Subcommand)]
pub enum ReferralsCommand {
    /// Requests nobody could take, oldest first (without the consumers' contact details)
    Unserved {
        /// How many to list
        #[arg(long, default_value_t = 100)]
        limit: i64,
        #[arg(long)]
        json: bool,
    },
    /// One referral: where it stands, its offers, statuses and routing decisions
    Show {
        id: i64,
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum ApiKeyCommand {
    /// Create a key; it is printed once, alone on standard output
    Create {
        /// Who the key is for, e.g. the partner site's name
        #[arg(long)]
        name: String,
    },
}

#[derive(Debug, Subcommand)]
pub enum SettingsCommand {
    /// Show every setting with its value
    Show,
    /// Change one setting, e.g. `hod settings set routing.strategy broadcast`
    Set { key: String, value: String },
}

#[derive(Debug, Subcommand)]
pub enum EligibilityCommand {
    /// Re-evaluate everyone and send the invitations that are due
    Run {
        /// The day to evaluate (YYYY-MM-DD) [default: today in the program's time zone]
        #[arg(long, value_parser = parse_day)]
        date: Option<jiff::civil::Date>,
    },
    /// Whether one NPN is eligible, in which states, and why not
    Show {
        npn: String,
        /// The day (YYYY-MM-DD) [default: today in the program's time zone]
        #[arg(long, value_parser = parse_day)]
        date: Option<jiff::civil::Date>,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

fn parse_day(s: &str) -> Result<jiff::civil::Date, String> {
    s.parse()
        .map_err(|_| format!("{s:?} is not a date; use YYYY-MM-DD"))
}

#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on [env: HOD_ADDR] [default: 127.0.0.1:8080]
    #[arg(long)]
    pub addr: Option<SocketAddr>,
}

#[derive(Debug, Subcommand)]
pub enum AdminCommand {
    /// Create an administrator; the password comes from HOD_ADMIN_PASSWORD or a prompt
    Create {
        #[arg(long)]
        username: String,
        #[arg(long)]
        email: String,
        /// Create a help-desk operator instead of an administrator
        #[arg(long)]
        help_desk: bool,
    },
}

#[derive(Debug, Subcommand)]
pub enum OutboxCommand {
    /// List stored messages, oldest first
    List {
        /// Only messages to this address or number
        #[arg(long)]
        to: Option<String>,
        /// Only messages given up on (the dead letter), with the provider's last answer
        #[arg(long)]
        failed: bool,
        /// Print JSON
        #[arg(long)]
        json: bool,
    },
}

impl Cli {
    fn overrides(&self, addr: Option<SocketAddr>) -> Overrides {
        Overrides {
            addr,
            database_url: self.database_url.clone(),
            data_dir: self.data_dir.clone(),
        }
    }

    /// Runs the command. Errors come back for `main` to print as one line.
    pub fn run(self) -> anyhow::Result<()> {
        let addr = match &self.command {
            Command::Serve(a) | Command::Demo(a) => a.addr,
            _ => None,
        };
        let config = Config::load(self.config.as_deref(), &self.overrides(addr))?;
        crate::init_logging(&config);
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .enable_all()
            .build()
            .context("starting the runtime")?;
        runtime.block_on(self.command.run(config))
    }
}

impl Command {
    async fn run(self, config: Config) -> anyhow::Result<()> {
        match self {
            Command::Serve(_) => {
                let db = crate::open_database(&config, &config.database_url("hod.sqlite")).await?;
                let listener = crate::bind(config.addr).await?;
                let local = listener.local_addr()?;
                let app = crate::app(db, crate::settings(&config, local)).await?;
                println!("hod listening on http://{local}");
                crate::serve(listener, app, &config).await
            }
            Command::Demo(_) => {
                let demo_url = config.database_url("demo.sqlite");
                let db = crate::open_database(&config, &demo_url).await?;
                let listener = crate::bind(config.addr).await?;
                let local = listener.local_addr()?;
                let app = crate::app(db, crate::settings(&config, local)).await?;
                let logins = app.load_demo().await?;
                print_demo(
                    &logins,
                    &app.settings.public_url,
                    local,
                    &demo_url.to_string(),
                );
                crate::serve(listener, app, &config).await
            }
            Command::Migrate => {
                let url = config.database_url("hod.sqlite");
                crate::open_database(&config, &url).await?;
                println!("database {url} is up to date");
                Ok(())
            }
            Command::Admin(AdminCommand::Create {
                username,
                email,
                help_desk,
            }) => {
                let password = match std::env::var("HOD_ADMIN_PASSWORD") {
                    Ok(p) if !p.is_empty() => p,
                    _ => rpassword::prompt_password("Password for the new operator: ").context(
                        "reading the password (set HOD_ADMIN_PASSWORD when there is no terminal)",
                    )?,
                };
                let db = crate::open_database(&config, &config.database_url("hod.sqlite")).await?;
                let app = crate::app(db, crate::settings(&config, config.addr)).await?;
                let role = if help_desk {
                    Role::HelpDesk
                } else {
                    Role::Admin
                };
                let id = app
                    .create_operator(&username, &email, &password, role)
                    .await?;
                println!("created {} {username} (id {id})", role.as_str());
                Ok(())
            }
            Command::Outbox(OutboxCommand::List { to, failed, json }) => {
                let db = crate::open_database(&config, &config.database_url("hod.sqlite")).await?;
                let app = crate::app(db, crate::settings(&config, config.addr)).await?;
                let only = failed.then_some(hod_app::system::DeliveryStatus::Failed);
                let messages = app.outbox(to.as_deref(), only).await?;
                // Messages carry what consumers typed: never let it drive the terminal.
                let mut out = Visible::new(std::io::stdout().lock(), json);
                if json {
                    let list: Vec<_> = messages
                        .iter()
                        .map(|m| {
                            serde_json::json!({
                                "id": m.id,
                                "channel": m.channel,
                                "from": m.sender,
                                "to": m.recipient,
                                "subject": m.subject,
                                "body": m.body,
                                "created_at": m.created_at,
                                "status": m.status,
                                "attempts": m.attempts,
                                "last_error": m.last_error,
                            })
                        })
                        .collect();
                    writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
                } else if messages.is_empty() {
                    writeln!(out, "no messages")?;
                } else {
                    for m in &messages {
                        writeln!(
                            out,
                            "#{} {} {} to {} [{}]\n  {}\n  {}\n",
                            m.id,
                            m.created_at,
                            m.channel.as_str(),
                            m.recipient,
                            m.status.as_str(),
                            m.subject,
                            m.body.replace('\n', "\n  ")
                        )?;
                        if let Some(error) = &m.last_error {
                            writeln!(out, "  last attempt ({}): {error}\n", m.attempts)?;
                        }
                    }
                }
                Ok(())
            }
            Command::Import(args) => import::run(&config, args).await,
            Command::Simulate(args) => simulate::run(&args),
            Command::Generate {
                agents,
                referrals,
                seed,
            } => {
                let db = crate::open_database(&config, &config.database_url("hod.sqlite")).await?;
                let app = crate::app(db, crate::settings(&config, config.addr)).await?;
                let started = std::time::Instant::now();
                let g = app.generate(agents, referrals, seed).await?;
                println!(
                    "{} agents and {} past referrals for plan year {} ({} eligible) in {:.1} s; usernames gen1…gen{}, password {}",
                    g.agents,
                    g.referrals,
                    g.plan_year,
                    g.eligible,
                    started.elapsed().as_secs_f64(),
                    g.agents,
                    hod_app::generate::GENERATED_PASSWORD
                );
                Ok(())
            }
            Command::ApiKey(ApiKeyCommand::Create { name }) => {
                let db = crate::open_database(&config, &config.database_url("hod.sqlite")).await?;
                let app = crate::app(db, crate::settings(&config, config.addr)).await?;
                let key = app.create_api_key(&name, Actor::Cli).await?;
                println!("{key}");
                Ok(())
            }
            Command::Keys(KeysCommand::Rotate { settle_secs }) => {
                let db = crate::open_database(&config, &config.database_url("hod.sqlite")).await?;
                let app = crate::app(db, crate::settings(&config, config.addr)).await?;
                let r = app
                    .rotate_keys(std::time::Duration::from_secs(settle_secs))
                    .await?;
                println!(
                    "data key {} is current: {} values re-encrypted; keys dropped: {}",
                    r.key,
                    r.resealed,
                    if r.dropped.is_empty() {
                        "none".to_owned()
                    } else {
                        r.dropped
                            .iter()
                            .map(i64::to_string)
                            .collect::<Vec<_>>()
                            .join(", ")
                    }
                );
                Ok(())
            }
            Command::Audit(AuditCommand::Verify) => {
                let db = crate::open_database(&config, &config.database_url("hod.sqlite")).await?;
                let app = crate::app(db, crate::settings(&config, config.addr)).await?;
                let v = app.verify_audit_log().await?;
                if let Some(id) = v.first_broken {
                    anyhow::bail!(
                        "audit log entry {id} was changed, removed or inserted after it was written \
                         ({} entries before it check out)",
                        v.checked
                    );
                }
                println!(
                    "audit log intact: {} entries checked{}",
                    v.checked,
                    if v.unchained > 0 {
                        format!(
                            ", {} older entries written before hashes were kept",
                            v.unchained
                        )
                    } else {
                        String::new()
                    }
                );
                if let Some((id, hash)) = v.last {
                    println!("last entry {id}: {hash}");
                }
                Ok(())
            }
            Command::Settings(cmd) => {
                let db = crate::open_database(&config, &config.database_url("hod.sqlite")).await?;
                let app = crate::app(db, crate::settings(&config, config.addr)).await?;
                if let SettingsCommand::Set { key, value } = &cmd {
                    app.set_program_setting(key, value, Actor::Cli).await?;
                }
                for (key, value) in app.program_setting_values().await? {
                    println!("{key} = {value}");
                }
                Ok(())
            }
            Command::Referrals(cmd) => {
                let db = crate::open_database(&config, &config.database_url("hod.sqlite")).await?;
                let app = crate::app(db, crate::settings(&config, config.addr)).await?;
                let json = matches!(
                    cmd,
                    ReferralsCommand::Unserved { json: true, .. }
                        | ReferralsCommand::Show { json: true, .. }
                );
                // Timelines carry what agents typed: never let it drive the terminal.
                let mut out = Visible::new(std::io::stdout().lock(), json);
                match cmd {
                    ReferralsCommand::Unserved { limit, json } => {
                        let queue = app.unserved_queue(limit).await?;
                        if json {
                            let list: Vec<_> = queue.iter().map(referral_json).collect();
                            writeln!(out, "{}", serde_json::to_string_pretty(&list)?)?;
                        } else if queue.is_empty() {
                            writeln!(out, "no unserved requests")?;
                        } else {
                            for r in &queue {
                                writeln!(
                                    out,
                                    "#{} {} {}, {} {} ({}, {}): {}",
                                    r.id,
                                    r.created_at,
                                    r.city,
                                    r.state,
                                    r.zip,
                                    r.language,
                                    r.reason,
                                    r.unserved_reason.as_deref().unwrap_or("")
                                )?;
                            }
                        }
                    }
                    ReferralsCommand::Show { id, json } => {
                        let r = app
                            .referral(id)
                            .await?
                            .with_context(|| format!("no referral {id}"))?;
                        let events = app.referral_timeline(id).await?;
                        if json {
                            let mut v = referral_json(&r);
                            v["timeline"] = events
                                .iter()
                                .map(|e| {
                                    serde_json::json!({
                                        "at": e.at,
                                        "actor": e.actor,
                                        "kind": e.kind,
                                        "status": e.status,
                                        "note": e.note,
                                        "account_number": e.account_number,
                                        "detail": e.detail,
                                    })
                                })
                                .collect();
                            writeln!(out, "{}", serde_json::to_string_pretty(&v)?)?;
                        } else {
                            writeln!(
                                out,
                                "referral #{} — {} — {}, {} {} ({}, {}), plan year {}",
                                r.id,
                                r.status,
                                r.city,
                                r.state,
                                r.zip,
                                r.language,
                                r.reason,
                                r.plan_year
                            )?;
                            for e in &events {
                                let what = e.status.map_or(e.kind.as_str(), Status::id);
                                writeln!(
                                    out,
                                    "  {} {:<16} {what} {}",
                                    e.at,
                                    e.actor.to_string(),
                                    e.note
                                )?;
                                if e.kind == EventKind::Decision {
                                    writeln!(out, "      {}", e.detail)?;
                                }
                            }
                        }
                    }
                }
                Ok(())
            }
            Command::Eligibility(cmd) => {
                let db = crate::open_database(&config, &config.database_url("hod.sqlite")).await?;
                let app = crate::app(db, crate::settings(&config, config.addr)).await?;
                match cmd {
                    EligibilityCommand::Run { date } => {
                        let day = date.unwrap_or_else(|| app.today());
                        let summary = app.evaluate_eligibility(day).await?.with_context(|| {
                            format!("no plan year is set up for {day}; nothing was evaluated")
                        })?;
                        println!("{}", describe_evaluation(&summary));
                        Ok(())
                    }
                    EligibilityCommand::Show { npn, date, json } => {
                        // The parse error names the NPN already.
                        let npn = hod_domain::Npn::parse(&npn)?;
                        let day = date.unwrap_or_else(|| app.today());
                        let report = app.eligibility_of(&npn, day).await?;
                        let mut out = std::io::stdout().lock();
                        if json {
                            writeln!(out, "{}", serde_json::to_string_pretty(&report)?)?;
                        } else {
                            writeln!(
                                out,
                                "NPN {} on {day} (plan year {})",
                                report.npn, report.plan_year
                            )?;
                            writeln!(out, "  eligible:              {}", yes_no(report.eligible))?;
                            writeln!(
                                out,
                                "  states:                {}",
                                if report.states.is_empty() {
                                    "none".into()
                                } else {
                                    report.states.join(", ")
                                }
                            )?;
                            writeln!(
                                out,
                                "  registration complete: {}",
                                yes_no(report.registration_complete)
                            )?;
                            for r in &report.reasons {
                                writeln!(out, "  - {r}")?;
                            }
                        }
                        Ok(())
                    }
                }
            }
        }
    }
}

fn yes_no(b: bool) -> &'static str {
    if b { "yes" } else { "no" }
}

fn describe_evaluation(s: &hod_app::eligibility::EvaluationSummary) -> String {
    format!(
        "eligibility for plan year {} on {}: {} evaluated, {} eligible ({} newly, {} lost), {} invitation{} sent",
        s.plan_year,
        s.day,
        s.evaluated,
        s.eligible,
        s.became_eligible,
        s.lost_eligibility,
        s.invitations_sent,
        if s.invitations_sent == 1 { "" } else { "s" }
    )
}

/// A referral for operators: where and what, never the consumer's contact details.
fn referral_json(r: &ReferralRow) -> serde_json::Value {
    serde_json::json!({
        "id": r.id,
        "status": r.status,
        "plan_year": r.plan_year,
        "created_at": r.created_at,
        "city": r.city,
        "state": r.state,
        "zip": r.zip,
        "language": r.language,
        "reason": r.reason,
        "source": r.source,
        "agent_id": r.agent_id,
        "unserved_reason": r.unserved_reason,
    })
}

fn print_demo(
    logins: &hod_app::demo::DemoLogins,
    public_url: &str,
    addr: SocketAddr,
    database_url: &str,
) {
    println!(
        "Help On Demand demo, plan year {} ({} to {})",
        logins.plan_year.year, logins.plan_year.starts_on, logins.plan_year.ends_on
    );
    println!();
    println!("  Open  {public_url}   (Spanish: {public_url}/lang/es)");
    println!("  Ask for help as a consumer: {public_url}/get-help");
    println!("  Agents answer offers at {public_url}/agent/referrals (the demo agents are green)");
    println!("  Messages the system sends: hod --database-url {database_url} outbox list");
    println!();
    println!("  Operators' console: {public_url}/admin/login");
    println!(
        "    Administrator   {} / {}",
        logins.admin.0, logins.admin.1
    );
    println!(
        "    Help desk       {} / {}",
        logins.help_desk.0, logins.help_desk.1
    );
    println!(
        "  Agents (password {}):",
        logins.agents.first().map_or("", |a| a.password.as_str())
    );
    for a in &logins.agents {
        println!(
            "    {:<16} {:<16} states {:<8} languages {}",
            a.username,
            a.name,
            a.states.join(","),
            a.languages.join(",")
        );
    }
    println!();
    println!("hod listening on http://{addr}");
}

/// Standard output for text that came from outside (consumers, agents, files): control and
/// bidi characters are written as escapes (JSON escapes for `--json`), so that nothing in the
/// data can move the cursor, recolour or clear the operator's terminal, or disguise itself.
struct Visible<W> {
    inner: W,
    style: hod_domain::text::Escape,
}

impl<W: Write> Visible<W> {
    fn new(inner: W, json: bool) -> Self {
        Self {
            inner,
            style: if json {
                hod_domain::text::Escape::Json
            } else {
                hod_domain::text::Escape::Text
            },
        }
    }
}

impl<W: Write> Write for Visible<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        // `write!` hands over whole `str` pieces, so a piece is valid UTF-8.
        let text = String::from_utf8_lossy(buf);
        self.inner
            .write_all(hod_domain::text::visible(&text, self.style).as_bytes())?;
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}
