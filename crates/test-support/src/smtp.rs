//! A real SMTP server on a loopback port, for tests: it speaks the protocol (RFC 5321:
//! EHLO/HELO, MAIL, RCPT, DATA with dot-unstuffing, RSET, NOOP, QUIT), keeps every message it
//! accepts, and can be told to refuse for a while, temporarily (451) or for good (550).
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};

/// A message the server took.
#[derive(Debug, Clone)]
pub struct Received {
    pub from: String,
    pub to: Vec<String>,
    /// The message as sent (headers and body), dot-unstuffed.
    pub data: Vec<u8>,
}

/// How the server answers the end of a message.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    Accept,
    /// 451: try again later.
    TryLater,
    /// 550: refused for good.
    Refuse,
}

#[derive(Debug, Default)]
struct State {
    received: Vec<Received>,
    /// Answers to use, one per message, before going back to `Accept`.
    answers: std::collections::VecDeque<Answer>,
    /// The answer when `answers` is empty.
    otherwise: Option<Answer>,
    /// How long the server takes to answer the end of a message (after it kept it).
    pace: std::time::Duration,
}

#[derive(Debug)]
pub struct SmtpServer {
    pub addr: SocketAddr,
    state: Arc<Mutex<State>>,
    task: tokio::task::JoinHandle<()>,
}

impl SmtpServer {
    pub async fn start() -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("addr");
        let state = Arc::new(Mutex::new(State::default()));
        let shared = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                // As mail servers do: replies go out at once, not held for more data.
                let _ = stream.set_nodelay(true);
                tokio::spawn(converse(stream, shared.clone()));
            }
        });
        Self { addr, state, task }
    }

    /// `smtp_url` for this server.
    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}?tls=none", self.addr.port())
    }

    /// The messages taken so far, oldest first.
    pub fn received(&self) -> Vec<Received> {
        self.state.lock().expect("not poisoned").received.clone()
    }

    /// Answers the next messages with `answers`, in order.
    pub fn answer_next(&self, answers: &[Answer]) {
        self.state
            .lock()
            .expect("not poisoned")
            .answers
            .extend(answers);
    }

    /// Takes `pace` to answer each message, as a busy server does; a message is kept before
    /// the answer goes, so a client that dies meanwhile never learns it was taken.
    pub fn pace(&self, pace: std::time::Duration) {
        self.state.lock().expect("not poisoned").pace = pace;
    }

    /// Answers every message with `answer` from now on, dropping answers queued with
    /// `answer_next` (`Accept` to recover).
    pub fn answer_all(&self, answer: Answer) {
        let mut s = self.state.lock().expect("not poisoned");
        s.answers.clear();
        s.otherwise = Some(answer);
    }
}

impl Drop for SmtpServer {
    fn drop(&mut self) {
        self.task.abort();
    }
}

async fn converse(stream: TcpStream, state: Arc<Mutex<State>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut reply = async |text: &str| write.write_all(format!("{text}\r\n").as_bytes()).await;
    if reply("220 localhost test SMTP").await.is_err() {
        return;
    }
    let (mut from, mut to) = (String::new(), Vec::new());
    let mut line = String::new();
    loop {
        line.clear();
        if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
            return;
        }
        let command = line.trim_end().to_owned();
        let verb = command
            .split([' ', ':'])
            .next()
            .unwrap_or_default()
            .to_ascii_uppercase();
        let answer = match verb.as_str() {
            "EHLO" => "250-localhost\r\n250-8BITMIME\r\n250 SMTPUTF8".to_owned(),
            "HELO" | "NOOP" => "250 OK".to_owned(),
            "RSET" => {
                (from, to) = (String::new(), Vec::new());
                "250 OK".to_owned()
            }
            "MAIL" => {
                from = address(&command);
                "250 OK".to_owned()
            }
            "RCPT" => {
                to.push(address(&command));
                "250 OK".to_owned()
            }
            "DATA" => {
                if reply("354 end with <CRLF>.<CRLF>").await.is_err() {
                    return;
                }
                let mut data = Vec::new();
                loop {
                    line.clear();
                    if lines.read_line(&mut line).await.unwrap_or(0) == 0 {
                        return;
                    }
                    if line == ".\r\n" {
                        break;
                    }
                    let unstuffed = line.strip_prefix('.').unwrap_or(&line);
                    data.extend_from_slice(unstuffed.as_bytes());
                }
                let (text, pace) = {
                    let mut s = state.lock().expect("not poisoned");
                    let answer = s
                        .answers
                        .pop_front()
                        .or(s.otherwise)
                        .unwrap_or(Answer::Accept);
                    let text = match answer {
                        Answer::Accept => {
                            s.received.push(Received {
                                from: std::mem::take(&mut from),
                                to: std::mem::take(&mut to),
                                data,
                            });
                            "250 OK: queued"
                        }
                        Answer::TryLater => "451 4.3.0 try again later",
                        Answer::Refuse => "550 5.1.1 mailbox unavailable",
                    };
                    (text, s.pace)
                };
                (from, to) = (String::new(), Vec::new());
                tokio::time::sleep(pace).await;
                text.to_owned()
            }
            "QUIT" => {
                let _ = reply("221 bye").await;
                return;
            }
            _ => "502 command not implemented".to_owned(),
        };
        if reply(&answer).await.is_err() {
            return;
        }
    }
}

/// The address in `MAIL FROM:<a@b> …` or `RCPT TO:<a@b>`.
fn address(command: &str) -> String {
    command
        .split_once('<')
        .and_then(|(_, rest)| rest.split_once('>'))
        .map(|(a, _)| a.to_owned())
        .unwrap_or_default()
}
