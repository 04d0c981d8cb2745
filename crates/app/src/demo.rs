//! The demo program: today's plan year, the shipped state table, an administrator, the
//! demo CMS files of `data/demo/` imported like any others, and six registered agents in
//! several states and languages. Loading it twice changes nothing.
use hod_db::agents::{self, Registration};
use hod_db::operators::{self, Role};
use hod_db::reference;
use hod_domain::actor::Actor;
use hod_domain::referral::Status;
use hod_domain::{Lang, Npn, PlanYear, UsState};

use crate::import::{ImportKind, ImportOptions, Source};
use crate::{App, AppError, Result, passwords};

pub const ADMIN_USERNAME: &str = "admin";
pub const ADMIN_PASSWORD: &str = "Console-Demo-47!";
pub const HELP_DESK_USERNAME: &str = "helpdesk";
pub const HELP_DESK_PASSWORD: &str = "Desk-Demo-47!";
pub const AGENT_PASSWORD: &str = "Agent-Demo-47!";

struct DemoAgent {
    npn: &'static str,
    username: &'static str,
    phone: &'static str,
    zip: &'static str,
    langs: &'static [&'static str],
    states: &'static [&'static str],
}

const AGENTS: &[DemoAgent] = &[
    DemoAgent {
        npn: "17001001",
        username: "maria.garcia",
        phone: "+17135550101",
        zip: "77002",
        langs: &["en", "es"],
        states: &["TX", "FL"],
    },
    DemoAgent {
        npn: "17001002",
        username: "james.carter",
        phone: "+13055550102",
        zip: "33130",
        langs: &["en"],
        states: &["FL", "AL"],
    },
    DemoAgent {
        npn: "17001003",
        username: "lan.nguyen",
        phone: "+12145550103",
        zip: "75201",
        langs: &["en", "vi"],
        states: &["TX"],
    },
    DemoAgent {
        npn: "17001004",
        username: "ahmed.hassan",
        phone: "+12485550104",
        zip: "48371",
        langs: &["en", "ar"],
        states: &["MI", "OH"],
    },
    DemoAgent {
        npn: "17001005",
        username: "sofia.ramirez",
        phone: "+16025550105",
        zip: "85004",
        langs: &["en", "es"],
        states: &["AZ", "UT"],
    },
    DemoAgent {
        npn: "17001006",
        username: "robert.johnson",
        phone: "+17045550106",
        zip: "28202",
        langs: &["en"],
        states: &["NC", "SC"],
    },
];

/// What `hod demo` prints so that a person can log in.
#[derive(Debug, Clone)]
pub struct DemoLogins {
    pub admin: (String, String),
    pub help_desk: (String, String),
    pub agents: Vec<DemoAgentLogin>,
    pub plan_year: PlanYear,
}

#[derive(Debug, Clone)]
pub struct DemoAgentLogin {
    pub username: String,
    pub password: String,
    pub name: String,
    pub states: Vec<String>,
    pub languages: Vec<String>,
}

/// The demo's CMS files (see `data/demo/README.md`), imported in this order: MLMS first so
/// that the demo accounts exist before eligibility is first worked out.
const DEMO_FILES: [(ImportKind, &str, &str); 4] = [
    (
        ImportKind::Mlms,
        "mlms.csv",
        include_str!("../../../data/demo/mlms.csv"),
    ),
    (
        ImportKind::Rcl,
        "rcl.csv",
        include_str!("../../../data/demo/rcl.csv"),
    ),
    (
        ImportKind::Termination,
        "termination.csv",
        include_str!("../../../data/demo/termination.csv"),
    ),
    (
        ImportKind::Nipr,
        "nipr.xml",
        include_str!("../../../data/demo/nipr.xml"),
    ),
];

/// A sample consumer request of the demo, and what its agent recorded (status, account number).
struct Sample {
    zip: &'static str,
    language: &'static str,
    first: &'static str,
    last: &'static str,
    phone: &'static str,
    contact_by: &'static str,
    reason: &'static str,
    /// The agent who accepts it (`None`: left to the router).
    taker: Option<&'static str>,
    steps: &'static [(Status, &'static str)],
}

/// Writes the plan years into a demo file: `{PY}` is the demo's plan year, `{PY-1}` the one
/// before, and so on.
pub(crate) fn fill_years(text: &str, year: i16) -> String {
    let mut out = text.to_owned();
    for delta in [-4i16, -3, -2, -1, 1] {
        let token = if delta < 0 {
            format!("{{PY{delta}}}")
        } else {
            format!("{{PY+{delta}}}")
        };
        out = out.replace(&token, &(year + delta).to_string());
    }
    out.replace("{PY}", &year.to_string())
}

impl App {
    /// Today's plan year; a standard one (November to January enrollment) is stored when the
    /// program has none yet.
    pub(crate) async fn current_plan_year_or_standard(&self) -> Result<PlanYear> {
        let today = self.today();
        let years = reference::plan_years(&self.db).await?;
        if let Some(py) = PlanYear::find(&years, today) {
            return Ok(*py);
        }
        let py = PlanYear::standard_for(today);
        self.write(async |tx| reference::put_plan_year(tx, &py).await)
            .await?;
        Ok(py)
    }

    pub async fn load_demo(&self) -> Result<DemoLogins> {
        let plan_year = self.current_plan_year_or_standard().await?;

        for (username, email, password, role) in [
            (
                ADMIN_USERNAME,
                "admin@demo.invalid",
                ADMIN_PASSWORD,
                Role::Admin,
            ),
            (
                HELP_DESK_USERNAME,
                "helpdesk@demo.invalid",
                HELP_DESK_PASSWORD,
                Role::HelpDesk,
            ),
        ] {
            let name = hod_domain::Username::parse(username).expect("the demo's usernames");
            if operators::find_by_username(&self.db, &name)
                .await?
                .is_none()
            {
                self.create_operator(username, email, password, role)
                    .await?;
            }
        }

        let mut logins = Vec::new();
        for (i, (kind, name, text)) in DEMO_FILES.into_iter().enumerate() {
            let source = Source {
                name: format!("data/demo/{name}"),
                reader: Box::new(std::io::Cursor::new(
                    fill_years(text, plan_year.year).into_bytes(),
                )),
            };
            let opts = ImportOptions {
                actor: Actor::Demo,
                ..ImportOptions::default()
            };
            self.import(kind, source, opts).await?;
            if i == 0 {
                logins = self.register_demo_agents().await?;
            }
        }
        if hod_db::referrals::count(&self.db).await? == 0 {
            self.demo_referrals().await?;
        }
        Ok(DemoLogins {
            admin: (ADMIN_USERNAME.into(), ADMIN_PASSWORD.into()),
            help_desk: (HELP_DESK_USERNAME.into(), HELP_DESK_PASSWORD.into()),
            agents: logins,
            plan_year,
        })
    }

    /// Sample referrals, once: one followed up, one sold, one waiting on an offer, and one
    /// nobody could take (no demo agent works in Alaska: the unserved queue).
    async fn demo_referrals(&self) -> Result<()> {
        use crate::referrals::{CONSENT_VERSION, Origin, RequestForm};
        let samples = [
            Sample {
                zip: "77002",
                language: "es",
                first: "Rosa",
                last: "Morales",
                phone: "713-555-0142",
                contact_by: "text",
                reason: "new_coverage",
                taker: Some("maria.garcia"),
                steps: &[(Status::FollowUpCompleted, "")],
            },
            Sample {
                zip: "33130",
                language: "en",
                first: "Kevin",
                last: "Brown",
                phone: "305-555-0177",
                contact_by: "call",
                reason: "special_enrollment",
                taker: Some("james.carter"),
                steps: &[
                    (Status::FollowUpCompleted, ""),
                    (Status::QuoteCompleted, ""),
                    (Status::Sold, "FFM-2027-000417"),
                ],
            },
            Sample {
                zip: "85004",
                language: "es",
                first: "Ana",
                last: "Torres",
                phone: "602-555-0123",
                contact_by: "text",
                reason: "change",
                taker: None,
                steps: &[],
            },
            Sample {
                zip: "99501",
                language: "en",
                first: "Sam",
                last: "Walker",
                phone: "907-555-0190",
                contact_by: "call",
                reason: "new_coverage",
                taker: None,
                steps: &[],
            },
        ];
        for Sample {
            zip,
            language,
            first,
            last,
            phone,
            contact_by,
            reason,
            taker,
            steps,
        } in samples
        {
            let form = RequestForm {
                zip: zip.into(),
                language: language.into(),
                first_name: first.into(),
                last_name: last.into(),
                phone: phone.into(),
                contact_by: contact_by.into(),
                reason: reason.into(),
                consent: true,
                consent_version: CONSENT_VERSION.into(),
                ..RequestForm::default()
            };
            let origin = Origin {
                ip: None,
                user_agent: Some("hod demo"),
                ui_lang: language,
                partner: None,
            };
            let submitted = match self.submit_request(&form, origin).await {
                Ok(s) => s,
                // A state whose platform changed in the calendar data: nothing to show there.
                Err(crate::referrals::SubmitError::OtherMarketplace { .. }) => continue,
                Err(e) => return Err(AppError::Other(anyhow::anyhow!("demo referral: {e}"))),
            };
            let Some(username) = taker else { continue };
            let Some(agent) = agents::find_for_login(&self.db, username).await? else {
                continue;
            };
            let offer = self
                .open_offers(agent.id)
                .await?
                .into_iter()
                .find(|o| o.referral_id == submitted.id);
            if let Some(offer) = offer {
                self.accept_offer(agent.id, offer.id)
                    .await
                    .map_err(|e| AppError::Other(anyhow::anyhow!("demo referral: {e}")))?;
                for (status, account) in steps {
                    self.record_status(agent.id, submitted.id, status.id(), "", account)
                        .await
                        .map_err(|e| AppError::Other(anyhow::anyhow!("demo referral: {e}")))?;
                }
            }
        }
        Ok(())
    }

    /// Gives the demo agents (known from the MLMS file) their accounts, once.
    async fn register_demo_agents(&self) -> Result<Vec<DemoAgentLogin>> {
        let now = self.now();
        let mut logins = Vec::new();
        for a in AGENTS {
            let npn = Npn::parse(a.npn).expect("demo NPNs are valid");
            let states: Vec<UsState> = a
                .states
                .iter()
                .map(|s| UsState::parse(s).expect("demo states are valid"))
                .collect();
            let langs: Vec<Lang> = a
                .langs
                .iter()
                .map(|l| Lang::parse(l).expect("demo languages are valid"))
                .collect();
            let agent = agents::find_by_npn(&self.db, &npn).await?.ok_or_else(|| {
                AppError::Other(anyhow::anyhow!(
                    "demo agent {npn} is missing from data/demo/mlms.csv"
                ))
            })?;
            if agent.registered_at.is_none() {
                let hash = passwords::hash(AGENT_PASSWORD).await?;
                self.write(async |tx| -> Result<_> {
                    let reg = Registration {
                        username: a.username,
                        password_hash: &hash,
                        phone: a.phone,
                        contact_method: "email_text_app",
                        zip: a.zip,
                    };
                    agents::register(tx, agent.id, &reg, now).await?;
                    // No code was ever texted to these invented numbers: their pages must not
                    // ask for one.
                    agents::confirm_phone(tx, agent.id, now).await?;
                    agents::set_languages(tx, agent.id, &langs).await?;
                    agents::set_state_preferences(tx, agent.id, &states).await?;
                    hod_db::availability::set_hours(
                        tx,
                        agent.id,
                        &crate::profile::default_hours(),
                        None,
                    )
                    .await?;
                    // Green, so that a demo shows offers at any hour (the hours are still there).
                    hod_db::availability::set_mode(
                        tx,
                        agent.id,
                        hod_domain::availability::Mode::Available,
                    )
                    .await?;
                    Ok(())
                })
                .await?;
                let versions: Vec<String> = hod_db::terms::current(&self.db)
                    .await?
                    .iter()
                    .map(hod_db::terms::TermsDoc::label)
                    .collect();
                self.accept_terms(agent.id, &versions).await?;
            }
            logins.push(DemoAgentLogin {
                username: a.username.into(),
                password: AGENT_PASSWORD.into(),
                name: format!("{} {}", agent.first_name, agent.last_name),
                states: a.states.iter().map(|s| (*s).to_owned()).collect(),
                languages: a.langs.iter().map(|l| (*l).to_owned()).collect(),
            });
        }
        Ok(logins)
    }
}
