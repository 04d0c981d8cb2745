//! The processes of a run: a throwaway PostgreSQL cluster and the `hod` nodes.
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Mutex;
use std::time::{Duration, Instant};

use anyhow::{Context, Result, bail};

/// A throwaway PostgreSQL cluster on a free loopback port.
pub struct Postgres {
    bin: PathBuf,
    dir: PathBuf,
    port: u16,
}

impl Postgres {
    fn as_pg(&self, program: &str) -> Command {
        let exe = self.bin.join(program);
        if is_root() {
            let mut c = Command::new("runuser");
            c.args(["-u", "postgres", "--"]).arg(exe);
            c
        } else {
            Command::new(exe)
        }
    }

    pub fn init(dir: &Path) -> Result<Self> {
        let bin = std::fs::read_dir("/usr/lib/postgresql")
            .context("PostgreSQL's server binaries (apt-get install postgresql)")?
            .filter_map(|e| e.ok().map(|e| e.path().join("bin")))
            .filter(|p| p.join("initdb").exists())
            .max()
            .context("no initdb under /usr/lib/postgresql")?;
        let dir = dir.join("pg");
        std::fs::create_dir_all(&dir)?;
        if is_root() {
            run(Command::new("chown").args(["-R", "postgres"]).arg(&dir))?;
            run(Command::new("chmod").arg("755").arg(dir.parent().unwrap()))?;
        }
        let pg = Self {
            bin,
            port: free_port()?,
            dir,
        };
        run(pg.as_pg("initdb").arg("-D").arg(pg.dir.join("data")).args([
            "-U",
            "postgres",
            "--auth=trust",
            "--encoding=UTF8",
            "--locale=C.UTF-8",
        ]))?;
        pg.start()?;
        Ok(pg)
    }

    pub fn start(&self) -> Result<()> {
        run(self
            .as_pg("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .arg("-l")
            .arg(self.dir.join("server.log"))
            .args(["-w", "-t", "60", "-o"])
            .arg(format!(
                "-c listen_addresses=127.0.0.1 -p {} -k {} -c max_connections=200",
                self.port,
                self.dir.display()
            ))
            .arg("start"))
    }

    /// Stops it as a crash would (`immediate`: no checkpoint, clients cut off).
    pub fn crash(&self) -> Result<()> {
        run(self
            .as_pg("pg_ctl")
            .arg("-D")
            .arg(self.dir.join("data"))
            .args(["-m", "immediate", "stop"]))
    }

    pub fn url(&self) -> String {
        format!("postgres://postgres@127.0.0.1:{}/postgres", self.port)
    }
}

impl Drop for Postgres {
    fn drop(&mut self) {
        let _ = self.crash();
    }
}

pub fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0\n"))
}

pub fn run(cmd: &mut Command) -> Result<()> {
    let out = cmd.output().with_context(|| format!("{cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed: {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(())
}

pub fn free_port() -> Result<u16> {
    Ok(std::net::TcpListener::bind("127.0.0.1:0")?
        .local_addr()?
        .port())
}

/// The `hod` processes and how they are started.
pub struct Cluster {
    pub hod: PathBuf,
    pub env: Vec<(String, String)>,
    pub dir: PathBuf,
    pub nodes: Mutex<Vec<(u16, Option<Child>)>>,
}

impl Cluster {
    fn hod(&self, args: &[&str]) -> Command {
        let mut c = Command::new(&self.hod);
        c.args(args).current_dir(&self.dir);
        for (k, _) in std::env::vars() {
            if k.starts_with("HOD_") {
                c.env_remove(k);
            }
        }
        c.envs(self.env.iter().map(|(k, v)| (k.as_str(), v.as_str())));
        c
    }

    pub fn cli(&self, args: &[&str]) -> Result<String> {
        let out = self.hod(args).output()?;
        if !out.status.success() {
            bail!("hod {args:?}: {}", String::from_utf8_lossy(&out.stderr));
        }
        Ok(String::from_utf8(out.stdout)?)
    }

    pub fn spawn(&self, i: usize) -> Result<()> {
        let port = self.nodes.lock().unwrap()[i].0;
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(self.dir.join(format!("node{i}.log")))?;
        let child = self
            .hod(&["serve", "--addr", &format!("127.0.0.1:{port}")])
            .env("HOD_DATA_DIR", self.dir.join(format!("node{i}")))
            .stdout(Stdio::null())
            .stderr(log)
            .spawn()?;
        self.nodes.lock().unwrap()[i].1 = Some(child);
        Ok(())
    }

    pub fn kill(&self, i: usize) {
        if let Some(mut c) = self.nodes.lock().unwrap()[i].1.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }

    /// Whether node `i`'s process is still running.
    pub fn alive(&self, i: usize) -> bool {
        self.nodes.lock().unwrap()[i]
            .1
            .as_mut()
            .is_some_and(|c| matches!(c.try_wait(), Ok(None)))
    }

    pub fn urls(&self) -> Vec<String> {
        self.nodes
            .lock()
            .unwrap()
            .iter()
            .map(|(p, _)| format!("http://127.0.0.1:{p}"))
            .collect()
    }

    pub async fn wait_ready(&self, i: usize, http: &reqwest::Client) -> Result<()> {
        let url = format!("{}/readyz", self.urls()[i]);
        let deadline = Instant::now() + Duration::from_secs(60);
        while Instant::now() < deadline {
            if http
                .get(&url)
                .send()
                .await
                .is_ok_and(|r| r.status().is_success())
            {
                return Ok(());
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        bail!("node {i} did not become ready (see node{i}.log)")
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        for (_, c) in self.nodes.lock().unwrap().iter_mut() {
            if let Some(c) = c {
                let _ = c.kill();
                let _ = c.wait();
            }
        }
    }
}
